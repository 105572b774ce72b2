;; A `for i in 2..5` as the compiler emits it: count up, test against the bound + 1; reads channels 2..5.
;; 2 + 1 + 4 * (5 + 7) + 1 = 52
;; claim: 60
;; limit: 1000
;; float: no
;; expect: accept 52
(module
  (import "io" "sr" (func (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.const 2))
    (loop
      (local.set 2 (i32.add (local.get 2) (call 0 (local.get 1))))
      (br_if 0 (i32.ne (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const 6))))
    (local.get 2)))

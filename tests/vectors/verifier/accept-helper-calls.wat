;; run calls a helper with a loop twice: each call counts the helper's cost (34) again.
;; helper: 2 + 1 + 3 * (5 + 5) + 1 = 34; run: 1 + (1 + 34) + 1 + (1 + 34) + 1 = 73
;; claim: 73
;; limit: 1000
;; float: no
;; expect: accept 73
(module
  (import "io" "sr" (func (param i32) (result i32)))
  (func (export "run") (param i32) (result i32)
    (i32.add (call 2 (i32.const 1)) (call 2 (i32.const 2))))
  (func (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.const 3))
    (loop
      (local.set 2 (i32.add (local.get 2) (call 0 (local.get 0))))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (local.get 2)))

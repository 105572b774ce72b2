;; A loop may leave early through an enclosing block: that only shortens it.
;; 1 (block) + 2 + 1 + 8 * (3 + 5) + 1 = 69
;; claim: 69
;; limit: 1000
;; float: no
;; expect: accept 69
(module
  (import "io" "gr" (func (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (local i32)
    (block
      (local.set 1 (i32.const 8))
      (loop
        (br_if 1 (call 0 (i32.const 2)))
        (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1))))))
    (i32.const 0)))

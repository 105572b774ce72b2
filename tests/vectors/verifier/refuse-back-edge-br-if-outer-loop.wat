;; The inner loop jumps back to the start of the outer loop with br_if 1.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.const 4))
    (loop
      (local.set 2 (i32.const 4))
      (loop
        (br_if 1 (local.get 0))
        (br_if 0 (local.tee 2 (i32.sub (local.get 2) (i32.const 1)))))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

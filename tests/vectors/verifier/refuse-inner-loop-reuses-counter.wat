;; The inner loop uses the outer loop's counter.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 3))
    (loop
      (local.set 1 (i32.const 3))
      (loop
        (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

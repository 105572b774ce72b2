;; The loop's bound is the parameter, not a constant.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (loop
      (br_if 0 (i32.lt_s (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0))))
    (i32.const 0)))

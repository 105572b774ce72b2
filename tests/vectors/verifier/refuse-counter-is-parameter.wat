;; No start before the loop, and the counter is the parameter: its first value is unknown.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (loop
      (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (i32.const 0)))

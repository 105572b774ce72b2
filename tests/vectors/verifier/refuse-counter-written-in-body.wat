;; A counted loop whose body also writes the counter: the trip count is no longer known.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 10))
    (loop
      (local.set 1 (i32.add (local.get 1) (i32.const 2)))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

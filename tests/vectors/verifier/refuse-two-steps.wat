;; Two steps in one trip: each alone would be canonical, together the count is wrong.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (loop
      (drop (local.tee 1 (i32.add (local.get 1) (i32.const -1))))
      (br_if 0 (i32.ne (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const 4))))
    (i32.const 0)))

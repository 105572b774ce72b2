;; A second way back into a counted loop, through br_table.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 4))
    (block
      (loop
        (br_table 1 0 (local.get 0))
        (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1))))))
    (i32.const 0)))

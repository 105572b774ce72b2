;; br_table to a block that takes an i32 and one that takes nothing.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (block
      (drop
        (block (result i32)
          (br_table 0 1 (i32.const 7) (local.get 0)))))
    (i32.const 0)))

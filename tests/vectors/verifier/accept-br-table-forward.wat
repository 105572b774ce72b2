;; br_table to enclosing blocks (forward only), and returns inside them.
;; blocks: 1 + (1 + (1 + 2) + 2) + 2, then 1: 10
;; claim: 10
;; limit: 1000
;; float: no
;; expect: accept 10
(module
  (func (export "run") (param i32) (result i32)
    (block
      (block
        (block
          (br_table 0 1 2 (local.get 0)))
        (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30)))

;; The manifest claims more instructions per tick than the target allows.
;; claim: 20000
;; limit: 10000
;; float: yes
;; expect: refuse claim
(module
  (func (export "run") (param i32) (result i32)
    (i32.const 0)))

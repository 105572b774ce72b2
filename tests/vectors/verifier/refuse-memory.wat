;; A linear memory.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse shape
(module
  (memory 1)
  (func (export "run") (param i32) (result i32)
    (i32.const 0)))

;; Two values on the stack at the end of a function that returns one.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    i32.const 1
    i32.const 2))

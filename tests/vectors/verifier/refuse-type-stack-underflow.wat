;; i32.add with one operand.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    local.get 0
    i32.add))

;; local.get 5 in a function with one local.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    local.get 5))

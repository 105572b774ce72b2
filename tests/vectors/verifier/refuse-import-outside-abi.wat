;; An import the device ABI does not have.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse import
(module
  (import "env" "print" (func (param i32)))
  (func (export "run") (param i32) (result i32)
    (call 0 (local.get 0))
    (i32.const 0)))

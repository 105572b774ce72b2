;; call_indirect: rules have no table.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse opcode
;; function: 0
(module
  (type (func (param i32) (result i32)))
  (func (export "run") (param i32) (result i32)
    (call_indirect (type 0) (local.get 0) (i32.const 0))))

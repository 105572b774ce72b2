;; i32.extend8_s came after WebAssembly 1.0.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse opcode
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (i32.extend8_s (local.get 0))))

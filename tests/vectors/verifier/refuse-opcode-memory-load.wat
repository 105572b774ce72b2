;; A memory load in a module without memory (not even valid WebAssembly): outside the ABI's opcodes.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse opcode
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (i32.load (local.get 0))))

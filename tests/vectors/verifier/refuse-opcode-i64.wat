;; An i64 instruction: rules use only i32 and f32.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse opcode
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (drop (i64.const 1))
    (i32.const 0)))

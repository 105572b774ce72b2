;; An immutable global.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse global
(module
  (global i32 (i32.const 0))
  (func (export "run") (param i32) (result i32)
    (global.get 0)))

;; run returns an f32.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    f32.const 1))

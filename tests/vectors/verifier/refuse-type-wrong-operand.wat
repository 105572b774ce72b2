;; i32.add of an i32 and an f32.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    local.get 0
    f32.const 1
    i32.add))

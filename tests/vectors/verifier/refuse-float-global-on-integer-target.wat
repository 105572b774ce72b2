;; f32 state on a target without floating point.
;; claim: 100
;; limit: 1000
;; float: no
;; expect: refuse float
(module
  (global (mut f32) (f32.const 0))
  (func (export "run") (param i32) (result i32)
    (i32.const 0)))

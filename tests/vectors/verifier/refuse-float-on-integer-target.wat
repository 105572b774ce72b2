;; An f32 instruction on a target without floating point.
;; claim: 100
;; limit: 1000
;; float: no
;; expect: refuse float
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (i32.trunc_f32_s (f32.add (f32.convert_i32_s (local.get 0)) (f32.const 0.5)))))

;; f32 state on a target with floating point.
;; 5 + 2 = 7
;; claim: 7
;; limit: 10000
;; float: yes
;; expect: accept 7
(module
  (global (mut f32) (f32.const 0))
  (func (export "run") (param i32) (result i32)
    (global.set 0 (f32.add (global.get 0) (f32.convert_i32_s (local.get 0))))
    (i32.trunc_f32_s (f32.const 1.5))))

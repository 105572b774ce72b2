;; State must not be exported, and run must be the only export.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse export
(module
  (global (export "g") (mut i32) (i32.const 0))
  (func (export "run") (param i32) (result i32)
    (i32.const 0)))

;; run takes no parameter.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse export
(module
  (func (export "run") (result i32)
    (i32.const 0)))

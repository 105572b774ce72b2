;; A start function would run code at load time.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse shape
(module
  (func (export "run") (param i32) (result i32)
    (i32.const 0))
  (func)
  (start 1))

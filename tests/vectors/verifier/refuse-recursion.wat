;; run calls a helper that calls run again: recursion has no bound.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse recursion
(module
  (func (export "run") (param i32) (result i32)
    (call 1 (local.get 0)))
  (func (param i32) (result i32)
    (call 0 (local.get 0))))

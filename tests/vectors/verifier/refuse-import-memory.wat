;; A memory import: rules import only functions.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse import
(module
  (import "io" "mem" (memory 1))
  (func (export "run") (param i32) (result i32)
    (i32.const 0)))

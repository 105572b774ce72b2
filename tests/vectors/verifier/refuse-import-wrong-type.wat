;; io.gr with the type of io.gw.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse import
(module
  (import "io" "gr" (func (param i32 i32)))
  (func (export "run") (param i32) (result i32)
    (i32.const 0)))

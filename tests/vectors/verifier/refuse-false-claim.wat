;; Correct code, but the manifest claims fewer instructions than the 6 it executes.
;; claim: 5
;; limit: 10000
;; float: yes
;; expect: refuse over-claim
;; bound: 6
(module
  (import "io" "sr" (func (param i32) (result i32)))
  (func (export "run") (param i32) (result i32)
    (i32.add (call 0 (i32.const 0)) (i32.const 1))
    (drop)
    (i32.const 0)))

;; The 41-byte module of issue 7: `loop br 0` never ends, and the manifest claims 100 instructions.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32)
    (loop (br 0))
    (unreachable)))

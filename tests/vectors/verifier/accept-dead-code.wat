;; Code after return is never run, but is type-checked with the polymorphic stack, and counted.
;; 3
;; claim: 3
;; limit: 1000
;; float: no
;; expect: accept 3
(module
  (func (export "run") (param i32) (result i32)
    i32.const 1
    return
    i32.add))

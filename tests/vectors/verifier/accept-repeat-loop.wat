;; A `repeat 5` as the compiler emits it: count down, the tee itself is the test.
;; 2 (start) + 1 (loop) + 5 * (3 (the write) + 5 (step, br_if)) + 1 = 44
;; claim: 44
;; limit: 1000
;; float: no
;; expect: accept 44
(module
  (import "io" "gw" (func (param i32 i32)))
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 5))
    (loop
      (call 0 (i32.const 3) (i32.const 1))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

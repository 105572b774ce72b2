;; i32.sub of -2 steps by +2; the loop goes on while the counter is below 9: 2, 4, 6, 8 go on, 10 stops: 5 trips.
;; 2 + 1 + 5 * (3 + 7) + 1 = 54
;; claim: 54
;; limit: 1000
;; float: no
;; expect: accept 54
(module
  (import "io" "gw" (func (param i32 i32)))
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (loop
      (call 0 (local.get 1) (i32.const 1))
      (br_if 0 (i32.lt_s (local.tee 1 (i32.sub (local.get 1) (i32.const -2))) (i32.const 9))))
    (i32.const 0)))

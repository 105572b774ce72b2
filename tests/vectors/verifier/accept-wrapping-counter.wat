;; The counter wraps: 2147483646 -> 2147483647 -> -2147483648 -> -2147483647, where the test fails: 3 trips.
;; 2 + 1 + 3 * 7 + 1 = 25
;; claim: 25
;; limit: 1000
;; float: no
;; expect: accept 25
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 2147483646))
    (loop
      (br_if 0 (i32.ne (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const -2147483647))))
    (i32.const 0)))

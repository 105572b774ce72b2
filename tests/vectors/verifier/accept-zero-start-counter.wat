;; No start before the loop: a declared local nothing wrote yet, outside any loop, is 0. Trips: 1..9 go on, 10 stops.
;; 1 + 10 * 7 + 1 = 72
;; claim: 72
;; limit: 1000
;; float: no
;; expect: accept 72
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (loop
      (br_if 0 (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const 10))))
    (i32.const 0)))

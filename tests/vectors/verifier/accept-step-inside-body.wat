;; The step in the middle of the loop, as binaryen leaves it when it merges the step with the body's own `i + 1`.
;; It still runs once per trip, at the loop's own level; the back edge tests `local.get`. 1, 2, 3 go on, 4 stops.
;; 2 + 1 + 4 * (1 + 4 (the step) + 1 + 1 + 4 (the test and br_if)) + 1 = 48
;; claim: 48
;; limit: 1000
;; float: no
;; expect: accept 48
(module
  (global (mut i32) (i32.const 0))
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (loop
      (global.set 0 (i32.add (global.get 0) (local.tee 1 (i32.add (local.get 1) (i32.const 1)))))
      (br_if 0 (i32.ne (local.get 1) (i32.const 4))))
    (i32.const 0)))

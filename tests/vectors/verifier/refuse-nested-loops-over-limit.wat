;; Each loop alone is fine (100 trips), but nested they run the inner step 10 000 times.
;; Cost: 2 (the start) + 1 (loop) + 100 * (2 + 1 + 100 * 5 + 5) + 1 = 50 804.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse over-claim
;; bound: 50804
(module
  (func (export "run") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.const 100))
    (loop
      (local.set 2 (i32.const 100))
      (loop
        (br_if 0 (local.tee 2 (i32.sub (local.get 2) (i32.const 1)))))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

;; 3 trips around 4 trips: products multiply.
;; 2 + 1 + 3 * (2 + (1 + 4 * 5) + 5) + 1 = 88
;; claim: 88
;; limit: 1000
;; float: no
;; expect: accept 88
(module
  (func (export "run") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.const 3))
    (loop
      (local.set 2 (i32.const 4))
      (loop
        (br_if 0 (local.tee 2 (i32.sub (local.get 2) (i32.const 1)))))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

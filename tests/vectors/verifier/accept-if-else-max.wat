;; An if counts its costlier arm.
;; 1 (local.get) + 1 (if) + max(1, 5) = 7
;; claim: 7
;; limit: 1000
;; float: no
;; expect: accept 7
(module
  (func (export "run") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.const 1))
      (else (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1))))))

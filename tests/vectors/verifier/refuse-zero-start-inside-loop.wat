;; The inner loop's counter has no start; inside another loop it is not 0 on the second entry.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.const 3))
    (loop
      (loop
        (br_if 0 (i32.ne (local.tee 2 (i32.add (local.get 2) (i32.const 1))) (i32.const 5))))
      (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (i32.const 0)))

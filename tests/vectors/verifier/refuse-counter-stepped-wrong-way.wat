;; Counts up from 0 while the counter is not 10... stepping by -1: it would wrap around 2^32 times.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-bound
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (loop
      (br_if 0 (i32.ne (local.tee 1 (i32.add (local.get 1) (i32.const -1))) (i32.const 10))))
    (i32.const 0)))

;; A loop whose way back is a br inside an if (test before the step): not the canonical shape.
;; claim: 10000
;; limit: 10000
;; float: yes
;; expect: refuse loop-form
;; function: 0
(module
  (func (export "run") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (loop
      (if (i32.ne (local.get 1) (i32.const 7))
        (then
          (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br 1))))
    (i32.const 0)))

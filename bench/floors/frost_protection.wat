;; rules/frost_protection.rule written by hand, as small as we could make it within the device ABI: the size floor.
;; The heater is driven only outside 3..6 °C (one unsigned comparison), and then on exactly when below 3 °C.
(module
  (type $run (func (param i32) (result i32)))
  (import "io" "gw" (func $gw (param i32 i32)))
  (import "io" "sr" (func $sr (type $run)))
  (func (export "run") (type $run)
    (if (i32.gt_u (i32.sub (local.tee 0 (call $sr (i32.const 0))) (i32.const 3000)) (i32.const 3000))
      (then (call $gw (i32.const 23) (i32.lt_s (local.get 0) (i32.const 3000)))))
    (call $gw (i32.const 24) (i32.lt_s (local.get 0) (i32.const 0)))
    ;; 10 000 ms while near frost, else the period: a 0/1 times the delay
    (i32.mul (i32.lt_s (local.get 0) (i32.const 8000)) (i32.const 10000))))

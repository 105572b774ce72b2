;; rules/heart_rate_alarm.rule written by hand, as small as we could make it within the device ABI: the size floor.
;; The streak never leaves 0..10, so min(streak + 1, 10) is streak + (streak < 10); an abnormal reading keeps it
;; (a 0/1 times it), any other resets it.
(module
  (type $run (func (param i32) (result i32)))
  (import "io" "gw" (func $gw (param i32 i32)))
  (import "io" "sr" (func $sr (type $run)))
  (global $streak (mut i32) (i32.const 0))
  (func (export "run") (type $run)
    (global.set $streak
      (i32.mul
        (i32.and
          ;; outside 40..180 bpm
          (i32.gt_u (i32.sub (local.tee 0 (call $sr (i32.const 4))) (i32.const 40)) (i32.const 140))
          (i32.gt_s (local.get 0) (i32.const 0)))
        (i32.add (global.get $streak) (i32.lt_s (global.get $streak) (i32.const 10)))))
    (call $gw (i32.const 14) (i32.ge_s (global.get $streak) (i32.const 10)))
    (call $gw (i32.const 15) (i32.eqz (local.get 0)))
    (i32.const 0)))

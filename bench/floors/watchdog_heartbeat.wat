;; rules/watchdog_heartbeat.rule written by hand, as small as we could make it within the device ABI: the size floor.
(module
  (type $run (func (param i32) (result i32)))
  (import "io" "gr" (func $gr (type $run)))
  (import "io" "gw" (func $gw (param i32 i32)))
  (global $last_level (mut i32) (i32.const 0))
  (global $last_edge (mut i32) (i32.const 0))
  (global $dead (mut i32) (i32.const 0))
  (func (export "run") (type $run) (local $level i32)
    (if (i32.xor (local.tee $level (call $gr (i32.const 8))) (global.get $last_level))
      (then
        (global.set $last_level (local.get $level))
        (global.set $last_edge (local.get 0))
        (global.set $dead (i32.const 0)))
      (else
        (global.set $dead
          (i32.or (global.get $dead) (i32.gt_s (i32.sub (local.get 0) (global.get $last_edge)) (i32.const 3000))))))
    (call $gw (i32.const 9) (i32.eqz (global.get $dead)))
    ;; the status LED: on when dead, else blinking with bit 9 of the time (about 1 Hz)
    (call $gw (i32.const 25) (i32.or (global.get $dead) (i32.and (i32.shr_s (local.get 0) (i32.const 9)) (i32.const 1))))
    (i32.const 0)))

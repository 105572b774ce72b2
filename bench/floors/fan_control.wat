;; rules/fan_control.rule written by hand, as small as we could make it within the device ABI: the size floor.
;; The hysteresis is one select on the state: while on, the fan stays on down to OFF; while off, it needs more than ON.
(module
  (type $run (func (param i32) (result i32)))
  (import "io" "gw" (func $gw (param i32 i32)))
  (import "io" "sr" (func $sr (type $run)))
  (global $fan_on (mut i32) (i32.const 0))
  (func (export "run") (type $run)
    (global.set $fan_on
      (select
        (i32.ge_s (local.tee 0 (call $sr (i32.const 0))) (i32.const 26000))
        (i32.gt_s (local.get 0) (i32.const 28000))
        (global.get $fan_on)))
    (call $gw (i32.const 17) (global.get $fan_on))
    (i32.const 0)))

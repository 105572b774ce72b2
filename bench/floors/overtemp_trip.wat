;; rules/overtemp_trip.rule written by hand, as small as we could make it within the device ABI: the size floor.
;; Like the rule, it reads the reset button only while tripped and below the trip point.
(module
  (type $run (func (param i32) (result i32)))
  (import "io" "gr" (func $gr (type $run)))
  (import "io" "gw" (func $gw (param i32 i32)))
  (import "io" "sr" (func $sr (type $run)))
  (global $tripped (mut i32) (i32.const 0))
  (func (export "run") (type $run)
    (global.set $tripped
      (if (result i32) (i32.ge_s (local.tee 0 (call $sr (i32.const 0))) (i32.const 90000))
        (then (i32.const 1))
        (else
          (if (result i32) (global.get $tripped)
            (then (i32.eqz (i32.and (call $gr (i32.const 5)) (i32.lt_s (local.get 0) (i32.const 70000)))))
            (else (i32.const 0))))))
    (call $gw (i32.const 6) (i32.eqz (global.get $tripped)))
    (call $gw (i32.const 7) (global.get $tripped))
    (i32.const 0)))

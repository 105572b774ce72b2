// AssemblyScript twin of rules/valve_interlock.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FILL: i32 = 1;
const DRAIN: i32 = 2;
const SETTLE: i32 = 20;

let open: i32 = 0;
let settle: i32 = 0;

export function run(now: i32): i32 {
  const req = gr(12) | (gr(13) << 1);
  const conflict = req == (FILL | DRAIN);
  const want = conflict || gr(16) == 0 ? 0 : req;
  if (open & ~want) {
    open = 0;
    settle = SETTLE;
  } else if (settle > 0) {
    settle--;
  } else {
    open = want;
  }
  gw(20, open & FILL);
  gw(21, open >> 1);
  gw(26, <i32>conflict);
  return 0;
}

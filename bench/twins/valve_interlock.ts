// AssemblyScript twin of rules/valve_interlock.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FILL: i32 = 1;
const DRAIN: i32 = 2;
const SWITCH_MS: i32 = 2_000;

let open: i32 = 0;
let closedAt: i32 = -SWITCH_MS;

export function run(now: i32): i32 {
  const req = gr(12) | (gr(13) << 1);
  const conflict = req == (FILL | DRAIN);
  const want = conflict || gr(16) == 0 ? 0 : req;
  const closing = open & ~want;
  if (closing != 0) {
    open &= ~closing;
    closedAt = now;
  } else if (want != open && now - closedAt >= SWITCH_MS) {
    open = want;
  }
  gw(20, <i32>(open == FILL));
  gw(21, <i32>(open == DRAIN));
  gw(26, <i32>conflict);
  return 0;
}

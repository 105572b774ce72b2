// AssemblyScript twin of rules/rate_of_rise.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FIXED: i32 = 57_000;
const MAX_RISE: i32 = 133;

let prev: i32 = 0;
let prevAt: i32 = 0;
let primed = false;

export function run(now: i32): i32 {
  const t = sr(0);
  const dt = now - prevAt;
  // The dividend is a bounded temperature difference times 1000, never i32.MIN, so div_s cannot trap here.
  const rate = dt != 0 ? (t - prev) * 1000 / dt : 0;
  gw(19, <i32>(t >= FIXED || (primed && rate > MAX_RISE)));
  prev = t;
  prevAt = now;
  primed = true;
  return 0;
}

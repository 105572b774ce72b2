// AssemblyScript twin of rules/rate_of_rise.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FIXED: i32 = 57_000;
const MAX_RISE: i32 = 133;

let prev: i32 = 125_000;
let prevAt: i32 = 0;

export function run(now: i32): i32 {
  const t = sr(0);
  const dt = now - prevAt;
  // The rule's div() also defines i32.MIN / -1 (it wraps); plain AS code would not guard it, and neither does this.
  const rate = dt != 0 ? (t - prev) * 1000 / dt : 0;
  gw(19, <i32>(t >= FIXED || rate > MAX_RISE));
  prev = t;
  prevAt = now;
  return 0;
}

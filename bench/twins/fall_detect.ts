// AssemblyScript twin of rules/fall_detect.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FREE_FALL: i32 = 400 * 400;
const IMPACT: i32 = 2_500 * 2_500;
const MOVING: i32 = 1_200 * 1_200;
const WINDOW_MS: i32 = 1_000;
const SETTLE_MS: i32 = 1_500;
const STILL_MS: i32 = 3_000;

let fellAt: i32 = 0;
let down = false;

export function run(now: i32): i32 {
  let m2 = 0;
  for (let ch = 1; ch <= 3; ch++) {
    const a = sr(ch);
    m2 += a * a;
  }
  const since = now - fellAt;
  if (m2 < FREE_FALL) fellAt = now;
  else if (m2 > IMPACT && since < WINDOW_MS) down = true;
  else if (m2 > MOVING && since > SETTLE_MS) down = false;
  gw(13, <i32>(down && since >= STILL_MS));
  return 0;
}

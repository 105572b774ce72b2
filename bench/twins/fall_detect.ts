// AssemblyScript twin of rules/fall_detect.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FREE_FALL: i32 = 400 * 400;
const IMPACT: i32 = 2_500 * 2_500;
const STILL_LO: i32 = 850 * 850;
const STILL_HI: i32 = 1_150 * 1_150;
const WINDOW_MS: i32 = 1_000;
const SETTLE_MS: i32 = 500;
const STILL_MS: i32 = 2_000;

const IDLE: i32 = 0;
const FALLING: i32 = 1;
const IMPACTED: i32 = 2;
const ALERT: i32 = 3;

let phase: i32 = IDLE;
let mark: i32 = 0;

export function run(now: i32): i32 {
  let m2 = 0;
  for (let ch = 1; ch <= 3; ch++) {
    const a = sr(ch);
    m2 += a * a;
  }
  const elapsed = now - mark;
  if (gr(11) == 1) {
    phase = IDLE;
  } else if (phase == IDLE) {
    if (m2 < FREE_FALL) {
      phase = FALLING;
      mark = now;
    }
  } else if (phase == FALLING) {
    if (m2 > IMPACT) {
      phase = IMPACTED;
      mark = now;
    } else if (elapsed > WINDOW_MS) {
      phase = IDLE;
    }
  } else if (phase == IMPACTED) {
    const still = m2 >= STILL_LO && m2 <= STILL_HI;
    if (!still && elapsed > SETTLE_MS) phase = IDLE;
    else if (elapsed >= STILL_MS) phase = ALERT;
  }
  gw(13, <i32>(phase == ALERT));
  return 0;
}

// AssemblyScript twin of rules/battery_gauge.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const EMPTY_MV: i32 = 3_300;
const FULL_MV: i32 = 4_200;
const LOW_PCT: i32 = 10;
const BLINK_MS: i32 = 500;

let blink = false;

export function run(now: i32): i32 {
  const pct = min(max((sr(5) - EMPTY_MV) * 100 / (FULL_MV - EMPTY_MV), 0), 100);
  for (let i = 0; i < 4; i++) {
    gw(28 + i, <i32>(pct > i * 25));
  }
  blink = pct < LOW_PCT && !blink;
  gw(32, <i32>blink);
  return pct < LOW_PCT ? BLINK_MS : 0;
}

// AssemblyScript twin of rules/frost_protection.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const HEAT_ON: i32 = 3_000;
const HEAT_OFF: i32 = 6_000;
const ALARM: i32 = 0;
const NEAR: i32 = 8_000;
const FAST_MS: i32 = 10_000;

export function run(now: i32): i32 {
  const t = sr(0);
  if (t < HEAT_ON) gw(23, 1);
  else if (t > HEAT_OFF) gw(23, 0);
  gw(24, <i32>(t < ALARM));
  return t < NEAR ? FAST_MS : 0;
}

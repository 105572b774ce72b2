// AssemblyScript twin of rules/tank_level.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const FILL_BELOW: i32 = 300;
const STOP_ABOVE: i32 = 800;
const HIGH_HIGH: i32 = 950;
const LOW_LOW: i32 = 100;

export function run(now: i32): i32 {
  const supply = sr(7);
  if (supply < 1_000) return 0; // the rule's `requires`: no supply, no level, no change
  const level = sr(6) * 1000 / supply;
  if (level < FILL_BELOW) gw(10, 1);
  else if (level > STOP_ABOVE) gw(10, 0);
  gw(11, <i32>(level > HIGH_HIGH));
  gw(12, <i32>(level < LOW_LOW));
  return 0;
}

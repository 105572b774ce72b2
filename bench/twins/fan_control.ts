// AssemblyScript twin of rules/fan_control.rule: same behaviour, written the way an AS programmer would,
// so the benchmark can compare artifact size and build time.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const ON: i32 = 28_000;
const OFF: i32 = 26_000;

let fanOn = false;

export function run(now: i32): i32 {
  const t = sr(0);
  if (t > ON) fanOn = true;
  else if (t < OFF) fanOn = false;
  gw(17, <i32>fanOn);
  return 0;
}

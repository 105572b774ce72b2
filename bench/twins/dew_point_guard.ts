// AssemblyScript twin of rules/dew_point_guard.rule, in f32 like the rule's float, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const ON_MARGIN: f32 = 2.0;
const OFF_MARGIN: f32 = 4.0;

let running = false;

export function run(now: i32): i32 {
  const air = <f32>sr(0) / 1000.0;
  const rh = <f32>sr(1) / 1000.0;
  const wall = <f32>(sr(8) - 500) / 10.0;
  const dew = air - (100.0 - rh) / 5.0;
  const margin = wall - dew;
  if (margin < ON_MARGIN) running = true;
  else if (margin > OFF_MARGIN) running = false;
  gw(27, <i32>running);
  return margin < 6.0 ? 10_000 : 0;
}

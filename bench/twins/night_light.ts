// AssemblyScript twin of rules/night_light.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const DARK_LUX: i32 = 10;
const HOLD_MS: i32 = 120_000;

let lit = false;
let lastMotion: i32 = 0;

export function run(now: i32): i32 {
  const motion = gr(4) != 0;
  if (motion && (lit || sr(3) < DARK_LUX)) {
    lit = true;
    lastMotion = now;
  } else if (lit && now - lastMotion >= HOLD_MS) {
    lit = false;
  }
  gw(18, <i32>lit);
  return 0;
}

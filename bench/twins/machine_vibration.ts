// AssemblyScript twin of rules/machine_vibration.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const TRIP: i32 = 500;
const DECAY: i32 = 1;

let peak: i32 = 0;

function magnitude(squared: i32): i32 {
  let g = 1_000;
  for (let i = 0; i < 4; i++) {
    g = (g + squared / max(g, 1)) / 2;
  }
  return g;
}

export function run(now: i32): i32 {
  const x = sr(5);
  const y = sr(6);
  const z = sr(7);
  peak = max(abs(magnitude(x * x + y * y + z * z) - 1_000), peak - DECAY);
  gw(21, <i32>(peak > TRIP));
  return 0;
}

// AssemblyScript twin of rules/machine_vibration.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const WARN: i32 = 250;
const TRIP: i32 = 500;
const DECAY: i32 = 1;

let peak: i32 = 0;

function isqrt(n: i32): i32 {
  let rem = n;
  let root = 0;
  let bit = 1 << 30;
  for (let i = 0; i < 16; i++) {
    if (rem >= root + bit) {
      rem -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  return root;
}

export function run(now: i32): i32 {
  const x = sr(5);
  const y = sr(6);
  const z = sr(7);
  const dev = abs(isqrt(x * x + y * y + z * z) - 1_000);
  peak = max(dev, peak - DECAY);
  gw(20, <i32>(peak > WARN));
  gw(21, <i32>(peak > TRIP));
  return 0;
}

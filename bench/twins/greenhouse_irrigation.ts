// AssemblyScript twin of rules/greenhouse_irrigation.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const DRY_MV: i32 = 2_200;
const MIN_TEMP: i32 = 5_000;
const WATER_MS: i32 = 30_000;
const SOAK_MS: i32 = 600_000;

let watering = false;
let soaking = false;
let since: i32 = 0;

export function run(now: i32): i32 {
  const elapsed = now - since;
  if (watering) {
    if (elapsed >= WATER_MS) {
      watering = false;
      soaking = true;
      since = now;
    }
  } else if (soaking) {
    if (elapsed >= SOAK_MS) soaking = false;
  } else if (sr(8) > DRY_MV && sr(0) >= MIN_TEMP) {
    watering = true;
    since = now;
  }
  gw(22, <i32>watering);
  return 0;
}

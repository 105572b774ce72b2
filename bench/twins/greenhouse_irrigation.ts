// AssemblyScript twin of rules/greenhouse_irrigation.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const DRY_MV: i32 = 2_200;
const MIN_TEMP: i32 = 5_000;
const WATER_TICKS: i32 = 3;
const SOAK_TICKS: i32 = 60;

let watering = false;
let wait: i32 = 0;

export function run(now: i32): i32 {
  if (wait > 0) wait--;
  if (wait == 0) {
    if (watering) {
      watering = false;
      wait = SOAK_TICKS;
    } else if (sr(8) > DRY_MV && sr(0) >= MIN_TEMP) {
      watering = true;
      wait = WATER_TICKS;
    }
  }
  gw(22, <i32>watering);
  return 0;
}

// AssemblyScript twin of rules/pump_dry_run.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const LOADED_MV: i32 = 800;
const START_MS: i32 = 3_000;
const DRY_MS: i32 = 5_000;

let running = false;
let fault = false;
let started: i32 = 0;
let loadedAt: i32 = 0;

export function run(now: i32): i32 {
  if (gr(2) == 0) {
    running = false;
    fault = false;
  } else if (!fault) {
    if (!running) {
      running = true;
      started = now;
    }
    if (sr(7) >= LOADED_MV || now - started < START_MS) {
      loadedAt = now;
    } else if (now - loadedAt >= DRY_MS) {
      fault = true;
      running = false;
    }
  }
  gw(3, <i32>running);
  gw(4, <i32>fault);
  return 0;
}

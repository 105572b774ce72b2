// AssemblyScript twin of rules/pump_dry_run.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const LOADED_MV: i32 = 800;
const DRY_MS: i32 = 10_000;

let fault = false;
let loadedAt: i32 = 0;

export function run(now: i32): i32 {
  const request = gr(2) == 1;
  if (!request) {
    fault = false;
    loadedAt = now;
  } else if (sr(7) >= LOADED_MV) {
    loadedAt = now;
  } else if (now - loadedAt >= DRY_MS) {
    fault = true;
  }
  gw(3, <i32>(request && !fault));
  gw(4, <i32>fault);
  return 0;
}

// AssemblyScript twin of rules/watchdog_heartbeat.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const TIMEOUT_MS: i32 = 3_000;

let lastLevel: i32 = 0;
let lastEdge: i32 = 0;
let dead = false;

export function run(now: i32): i32 {
  const level = gr(8);
  if ((level ^ lastLevel) == 1) {
    lastLevel = level;
    lastEdge = now;
    dead = false;
  } else if (now - lastEdge > TIMEOUT_MS) {
    dead = true;
  }
  gw(9, <i32>!dead);
  gw(25, dead ? 1 : (now >> 9) & 1);
  return 0;
}

// AssemblyScript twin of rules/inactivity_reminder.rule, in f32 like the rule's float, for the size and build benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const STEP: f32 = 250.0;
const ALPHA: f32 = 0.05;
const IDLE_MS: i32 = 2_700_000;
const BUZZ_MS: i32 = 3_000;

let avg: f32 = 1000.0;
let inStep = false;
let lastStep: i32 = 0;

export function run(now: i32): i32 {
  const z = <f32>sr(3);
  avg += ALPHA * (z - avg);
  if (!inStep && z > avg + STEP) {
    inStep = true;
    lastStep = now;
  } else if (inStep && z < avg) {
    inStep = false;
  }
  const idle = now - lastStep;
  gw(16, <i32>(idle >= IDLE_MS && idle % IDLE_MS < BUZZ_MS));
  return 0;
}

// AssemblyScript twin of rules/step_counter.rule (f32, like the rule's float), for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const STEP: f32 = 0.5;
const RELEASE: f32 = 0.1;
const ALPHA: f32 = 0.05;
const IDLE_MS: i32 = 2_700_000;
const BUZZ_MS: i32 = 3_000;

let avg: f32 = 1.0;
let inStep = false;
let steps: i32 = 0;
let lastStep: i32 = 0;

export function run(now: i32): i32 {
  let m2: f32 = 0;
  for (let ch = 1; ch <= 3; ch++) {
    const a = <f32>sr(ch) * <f32>0.001;
    m2 += a * a;
  }
  avg += ALPHA * (m2 - avg);
  if (!inStep && m2 > avg + STEP) {
    inStep = true;
    steps++;
    lastStep = now;
  } else if (inStep && m2 < avg + RELEASE) {
    inStep = false;
  }
  const idle = now - lastStep;
  gw(16, <i32>(idle >= IDLE_MS && idle % IDLE_MS < BUZZ_MS));
  return 0;
}

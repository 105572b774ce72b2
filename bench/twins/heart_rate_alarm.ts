// AssemblyScript twin of rules/heart_rate_alarm.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const LOW: i32 = 40;
const HIGH: i32 = 180;
const SUSTAIN: i32 = 10;

let streak: i32 = 0;

function outside(bpm: i32, lo: i32, hi: i32): bool {
  return bpm < lo || bpm > hi;
}

export function run(now: i32): i32 {
  const bpm = sr(4);
  if (bpm > 0 && outside(bpm, LOW, HIGH)) {
    streak = min(streak + 1, SUSTAIN);
  } else {
    streak = 0;
  }
  gw(14, <i32>(streak >= SUSTAIN));
  gw(15, <i32>(bpm == 0));
  return 0;
}

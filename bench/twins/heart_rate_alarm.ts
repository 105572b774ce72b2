// AssemblyScript twin of rules/heart_rate_alarm.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const ALARM_LO: i32 = 40;
const ALARM_HI: i32 = 180;
const WARN_LO: i32 = 50;
const WARN_HI: i32 = 150;
const SUSTAIN: i32 = 10;

let streak: i32 = 0;

function outside(bpm: i32, lo: i32, hi: i32): bool {
  return bpm < lo || bpm > hi;
}

export function run(now: i32): i32 {
  const bpm = sr(4);
  const contact = bpm > 0;
  if (contact && outside(bpm, ALARM_LO, ALARM_HI)) {
    streak = min(streak + 1, SUSTAIN);
  } else {
    streak = 0;
  }
  gw(14, <i32>(streak >= SUSTAIN));
  gw(15, <i32>(!contact || outside(bpm, WARN_LO, WARN_HI)));
  return 0;
}

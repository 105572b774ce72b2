// AssemblyScript twin of rules/pressure_vote_2oo3.rule, for the size and build-time benchmark.
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const TRIP_MV: i32 = 2_520;
const WIRE_MV: i32 = 540;

export function run(now: i32): i32 {
  let votes = 0;
  let faulty = false;
  for (let ch = 5; ch <= 7; ch++) {
    const mv = sr(ch);
    votes += <i32>(mv < WIRE_MV || mv > TRIP_MV);
    faulty = faulty || mv < WIRE_MV;
  }
  gw(8, <i32>(votes < 2));
  gw(9, <i32>faulty);
  return 0;
}

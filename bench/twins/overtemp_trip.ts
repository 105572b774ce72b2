// AssemblyScript twin of rules/overtemp_trip.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "sr") declare function sr(channel: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const TRIP: i32 = 90_000;
const RESET_BELOW: i32 = 70_000;

let tripped = false;

export function run(now: i32): i32 {
  const t = sr(0);
  if (t >= TRIP) tripped = true;
  else if (tripped && gr(5) == 1 && t < RESET_BELOW) tripped = false;
  gw(6, <i32>!tripped);
  gw(7, <i32>tripped);
  return 0;
}

// AssemblyScript twin of rules/debounced_toggle.rule, for the size and build-time benchmark.
@external("io", "gr") declare function gr(pin: i32): i32;
@external("io", "gw") declare function gw(pin: i32, level: i32): void;

const STABLE: i32 = 0x1f;

let history: i32 = 0;
let pressed = false;
let light = false;

export function run(now: i32): i32 {
  history = ((history << 1) | gr(5)) & STABLE;
  if (history == STABLE && !pressed) {
    pressed = true;
    light = !light;
  } else if (history == 0) {
    pressed = false;
  }
  gw(6, <i32>light);
  return 0;
}

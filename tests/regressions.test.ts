// Regressions found by the differential tests (tests/differential.test.ts): each is the smallest rule that showed
// the bug, run the same three ways (reference interpreter, wasm3, Node's WebAssembly) on every target.
import test from 'ava';
import { checkRule, type HandTick } from './support/three-way.js';

const TICKS: HandTick[] = [{ now: 0 }, { now: 41 }, { now: -1 }, { now: 2147483647 }];

// binaryen's duplicate-function elimination merges `run` into a helper whose optimized body is the same (same
// signature (i32) -> i32, same code) and points the `run` export at the helper's internal name ($fn_id). codegen's
// worstCaseInstructions then asks for module.getFunction('run'), gets a null reference, and binaryen aborts
// ("Assertion failed: isRef() ... getHeapType") instead of the compiler producing an artifact. Any lookup of `run`
// by internal name after optimization has this problem; the export's target is the reliable name
// (binaryen.getExportInfo(module.getExport('run')).value).
test('regression: a helper whose body equals the optimized tick does not crash the compiler (fn id(x) = x, tick returns now)', async (t) => {
  const summary = await checkRule(`rule dup
fn id(x: int) -> int {
  return x
}
on tick {
  return now
}`, [TICKS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('regression: an unused helper returning 0 next to an empty tick does not crash the compiler', async (t) => {
  const summary = await checkRule(`rule dup
fn zero(x: int) -> int {
  return 0
}
on tick {
}`, [TICKS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('regression: a bool helper identical to a tick that optimizes to `return 0` (found by the float generator)', async (t) => {
  const summary = await checkRule(`rule dup
uses sensor(7)
fn never(p: int) -> bool {
  return false
}
on tick {
  if 0.1 != 0.1 && sensor(7) > 0 {
    if never(now) {
      return 5
    }
  }
}`, [TICKS], { usesFloat: true });
  t.deepEqual(summary.ran, ['rpi', 'nrf5340']);
});

// In unreachable code the checker can lose a nonzero fact: for `d == 3 && d != 3`, narrow() turns d's range [3, 3]
// into the empty range [4, 3] (for `!= 3`), and ranges.intersect(), seeing lo > hi, "keeps what we had": the
// expression's full range. The `d == 0` guard's nonzero fact is lost with it, so a correctly guarded division is
// refused with E0350. Found by the int generator (`(3 == p) && !(3 == p)` around `if p == 0 then ... else p / p`).
// Harmless at run time (the code never runs) but the spec's rule is that a guarded divisor is accepted.
test('regression: a division guarded by `d == 0` is accepted inside an unsatisfiable condition', async (t) => {
  const summary = await checkRule(`rule dead
on tick {
  let d = now
  if d == 3 && d != 3 {
    return if d == 0 then 0 else 100 / d
  }
}`, [TICKS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

// Eager `||` (codegen.ts binary(): `i32.or(left, right)` when the right side is "eager-safe") evaluates the right side
// even when the left side is true, but the right side was compiled under the checker's facts for "left is false".
// With `x > 1` false, x is in [0, 1], so `x == 1` (bitComparison) and `bool(x)` compile to plain `x`. When the left
// side is true (x = 5), `i32.or(1, 5)` is 5: a "bool" that is neither 0 nor 1. `int(...)`, `==` on bools and states
// then see 5. `&&` is safe (`i32.and(0, anything)` is 0); for `||`, `select(left, 1, right)` keeps it branch-free
// and exact.
const READINGS: HandTick[] = [0, 1, 5, 2, 3].map((v, i) => ({ now: i, sensors: { 0: v } }));

test('regression: eager `||` returns 0 or 1 when its right side relies on the left being false (int(x > 1 || x == 1))', async (t) => {
  const summary = await checkRule(`rule eager_or
uses sensor(0)
requires sensor(0) >= 0
on tick {
  return int(sensor(0) > 1 || sensor(0) == 1)
}`, [READINGS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('regression: a bool state set by eager `||` compares equal to true (x > 1 || bool(x))', async (t) => {
  const summary = await checkRule(`rule eager_or_state
uses sensor(0)
state seen = false
on tick {
  let x = sensor(0) & 7
  seen = x > 1 || bool(x)
  if seen == true {
    return 100
  }
  return 200
}`, [READINGS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

// The documented state ranges ("its initial value joined with every value the tick assigns to it") are never used
// to prove a divisor: check() derives them in trial rounds but stops at the first round with errors
// (`if (trial.hadErrors) break`), and the first round, which knows nothing about states yet, always reports E0350
// for a division by a state. So `1000 / n` is refused although n is 1 initially and assigned only values in 1..100.
// (Letting trial rounds compute ranges without refusing unproven divisors keeps the invariant sound: the final pass
// still proves every divisor, and the range of a / b holds for any nonzero b.)
test('regression: a state assigned only values in 1..100 is a provably nonzero divisor (documented state ranges)', async (t) => {
  const summary = await checkRule(`rule ratio
uses sensor(0)
state n = 1
on tick {
  n = clamp(sensor(0), 1, 100)
  return 1000 / n
}`, [READINGS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('regression: a state that divides by itself in its own clamped update is a provably nonzero divisor', async (t) => {
  const summary = await checkRule(`rule ratio_self
uses sensor(0)
state n = 1
on tick {
  n = clamp(sensor(0) / n, 1, 100)
  return n
}`, [READINGS]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

// binaryen.js's `select` takes (condition, ifTrue, ifFalse), while the text format and wasm evaluate
// (ifTrue, ifFalse, condition). codegen passed them in wasm's order, so min(a, b) picked by the wrong test
// and a square-root helper inside max() was dropped altogether. Found by the example rules' own tests.
test('regression: min, max and clamp pick the right operand (binaryen select takes the condition first)', async (t) => {
  const summary = await checkRule(`rule pick
uses sensor(4)
state streak = 0
on tick {
  streak = min(streak + 1, 3)
  return max(sensor(4) - 100, streak) * 1000 + clamp(sensor(4), 20, 60)
}`, [[{ now: 0, sensors: { 4: 10 } }, { now: 1, sensors: { 4: 150 } }, { now: 2, sensors: { 4: 70 } }, { now: 3, sensors: { 4: 40 } }]]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

// `requires sensor(7) >= 1_000` narrowed the channel as if the condition were false (the fact's polarity was
// inverted), so a division by sensor(7) was refused with E0350. Found by the tank_level example.
test('regression: `requires` narrows an input the way the condition says, making the division legal', async (t) => {
  const summary = await checkRule(`rule ratio
uses sensor(6, 7)
requires sensor(7) >= 1_000
on tick {
  return sensor(6) * 1000 / sensor(7)
}`, [[{ now: 0, sensors: { 6: 600, 7: 3000 } }, { now: 1, sensors: { 6: 600, 7: 0 } }, { now: 2, sensors: { 6: 3300, 7: 1000 } }]]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

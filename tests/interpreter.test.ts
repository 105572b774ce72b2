// Unit tests of the reference interpreter (runner/interpreter.ts) on hand-written rules with known answers. The
// differential tests trust it as the reference, so its own semantics are pinned down here: wrapping arithmetic,
// INT_MIN / -1, remainder signs, shift counts modulo 32, abs(INT_MIN), float-to-int saturation and NaN, clamp,
// div's fallback, short-circuit, `requires` skipping a tick, and inputs read once per tick.
// Operands come from sensors and states, so that the interpreter computes them rather than the checker's folding.
import test from 'ava';
import { analyze } from '../compiler/index.js';
import type { Expr } from '../compiler/ast.js';
import { RuleInterpreter, type TickIo } from '../runner/interpreter.js';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function interpreterFor(source: string, target = 'rpi'): RuleInterpreter {
  const result = analyze(source, { target });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !result.rule) {
    throw new Error(`the test rule does not check:\n${errors.map((e) => `${e.code} ${e.message}`).join('\n')}\n${source}`);
  }
  return new RuleInterpreter(result.rule);
}

/** Inputs for one tick, and a record of what the tick read and wrote. */
class FakeIo implements TickIo {
  readonly reads: string[] = [];
  readonly writes: [number, number][] = [];
  constructor(readonly sensors: Record<number, number> = {}, readonly pins: Record<number, number> = {}) {}
  sensor(channel: number): number {
    this.reads.push(`sensor(${channel})`);
    return this.sensors[channel] ?? 0;
  }
  gpioIn(pin: number): number {
    this.reads.push(`gpio(${pin})`);
    return this.pins[pin] ?? 0;
  }
  gpioOut(pin: number, level: number): void {
    this.writes.push([pin, level]);
  }
}

/** State values by name after the interpreter's latest tick. */
function states(interp: RuleInterpreter): Record<string, number> {
  const values = interp.stateValues();
  return Object.fromEntries(interp.rule.states.map((s, i) => [s.name, values[i]]));
}

test('+, - and * wrap around in 32 bits; so does negating the smallest int', (t) => {
  const interp = interpreterFor(`rule wrap
state a = 2147483647
state b = -2147483648
state c = 65536
state d = 123456789
state e = -2147483648
on tick {
  a = a + 1
  b = b - 1
  c = c * c
  d = d * 1000
  e = -e
}`);
  interp.tick(0, new FakeIo());
  t.deepEqual(states(interp), { a: INT_MIN, b: INT_MAX, c: 0, d: -1097262584, e: INT_MIN });
  interp.tick(0, new FakeIo());
  t.deepEqual(states(interp), { a: INT_MIN + 1, b: INT_MAX - 1, c: 0, d: -2045923520, e: INT_MIN });
});

test('INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0, with / and with div()', (t) => {
  const interp = interpreterFor(`rule divide_min
state m = -2147483648
state q = 0
state r = 0
state f = 0
on tick {
  let d = -1
  q = m / d
  r = m % d
  f = div(m, d, 7)
}`);
  interp.tick(0, new FakeIo());
  t.deepEqual(states(interp), { m: INT_MIN, q: INT_MIN, r: 0, f: INT_MIN });
});

test('/ truncates toward zero and % takes the sign of the dividend', (t) => {
  const interp = interpreterFor(`rule signs
uses sensor(5, 6)
requires sensor(6) != 0
state q = 0
state r = 0
on tick {
  q = sensor(5) / sensor(6)
  r = sensor(5) % sensor(6)
}`);
  const cases: [number, number, number, number][] = [
    [7, 2, 3, 1], [-7, 2, -3, -1], [7, -2, -3, 1], [-7, -2, 3, -1], [6, 3, 2, 0], [-6, 3, -2, 0], [1, 16000, 0, 1],
    [-1, 16000, 0, -1],
  ];
  for (const [a, b, q, r] of cases) {
    interp.tick(0, new FakeIo({ 5: a, 6: b }));
    t.deepEqual(states(interp), { q, r }, `${a} / ${b} and ${a} % ${b}`);
    // -0 would be a different float bit pattern; an int result is never -0.
    t.false(Object.is(states(interp).r, -0));
  }
});

test('shift counts are taken modulo 32 and >> is arithmetic', (t) => {
  const interp = interpreterFor(`rule shifts
uses sensor(5)
state l = 0
state r = 0
state big = 0
on tick {
  let n = sensor(5)
  l = 1 << n
  r = -16 >> n
  big = 0x40000000 << n
}`);
  const cases: [number, number, number, number][] = [
    [0, 1, -16, 0x40000000], [1, 2, -8, INT_MIN], [2, 4, -4, 0], [31, INT_MIN, -1, 0], [32, 1, -16, 0x40000000],
    [33, 2, -8, INT_MIN], [-1, INT_MIN, -1, 0], [64, 1, -16, 0x40000000], [-16000, 1, -16, 0x40000000],
  ];
  for (const [n, l, r, big] of cases) {
    interp.tick(0, new FakeIo({ 5: n }));
    t.deepEqual(states(interp), { l, r, big }, `shift by ${n}`);
  }
});

test('abs of the smallest int is itself; abs of others is the magnitude', (t) => {
  const interp = interpreterFor(`rule absolute
uses sensor(5)
state m = -2147483648
state a = 0
state b = 0
state c = 0
on tick {
  a = abs(m)
  b = abs(sensor(5))
  c = abs(m + 1)
}`);
  interp.tick(0, new FakeIo({ 5: -16000 }));
  t.deepEqual(states(interp), { m: INT_MIN, a: INT_MIN, b: 16000, c: INT_MAX });
  interp.tick(0, new FakeIo({ 5: 5 }));
  t.is(states(interp).b, 5);
});

test('int(float) rounds toward zero, saturates at both ends and maps NaN to 0', (t) => {
  const interp = interpreterFor(`rule convert
uses sensor(5)
state up = 0
state down = 0
state huge = 0
state tiny = 0
state nan = 0
state edge = 0
state low = 0
state infinite = 0.0
on tick {
  let x = float(sensor(5))
  up = int(x / 3.0)
  down = int(-x / 3.0)
  huge = int(x * 1e30)
  tiny = int(-x * 1e30)
  infinite = x * 1e30 * 1e30
  nan = int(infinite - infinite)
  edge = int(2147483647.0 + x * 0.0)
  low = int(-2147483648.0 + x * 0.0)
}`);
  interp.tick(0, new FakeIo({ 5: 1000 }));
  t.deepEqual(states(interp), {
    up: 333, down: -333, huge: INT_MAX, tiny: INT_MIN, nan: 0, edge: INT_MAX, low: INT_MIN, infinite: Infinity,
  });
  // sensor 0: 0 * 1e30 * 1e30 is 0, so inf - inf does not happen and nothing saturates.
  interp.tick(0, new FakeIo({ 5: 0 }));
  t.deepEqual(states(interp), { up: 0, down: 0, huge: 0, tiny: 0, nan: 0, edge: INT_MAX, low: INT_MIN, infinite: 0 });
  interp.tick(0, new FakeIo({ 5: -7 }));
  t.deepEqual(states(interp), {
    up: -2, down: 2, huge: INT_MIN, tiny: INT_MAX, nan: 0, edge: INT_MAX, low: INT_MIN, infinite: -Infinity,
  });
});

test('float arithmetic is 32-bit: results are rounded to f32, -0 and NaN propagate through min and max', (t) => {
  const interp = interpreterFor(`rule floats
uses sensor(5)
state third = 0.0
state zero = -0.0
state lo = 1.0
state hi = 1.0
state nan = 0.0
on tick {
  let x = float(sensor(5))
  third = x / 3.0
  lo = min(zero, 0.0)
  hi = max(zero, 0.0)
  nan = min(x * 1e30 * 1e30 - x * 1e30 * 1e30, 1.0)
}`);
  interp.tick(0, new FakeIo({ 5: 1 }));
  const s = states(interp);
  t.is(s.third, Math.fround(1 / 3));
  t.true(Object.is(s.zero, -0));
  t.true(Object.is(s.lo, -0));
  t.true(Object.is(s.hi, 0));
  t.true(Number.isNaN(s.nan));
});

test('clamp(x, lo, hi) is min(max(x, lo), hi), also when lo > hi', (t) => {
  const interp = interpreterFor(`rule clamped
uses sensor(5)
state a = 0
state b = 0
state c = 0.0
on tick {
  a = clamp(sensor(5), -10, 10)
  b = clamp(sensor(5), 10, 0)
  c = clamp(float(sensor(5)), -0.5, 0.5)
}`);
  const cases: [number, number, number, number][] = [
    [-16000, -10, 0, -0.5], [-10, -10, 0, -0.5], [3, 3, 0, 0.5], [0, 0, 0, 0], [10, 10, 0, 0.5], [16000, 10, 0, 0.5],
  ];
  for (const [x, a, b, c] of cases) {
    interp.tick(0, new FakeIo({ 5: x }));
    t.deepEqual(states(interp), { a, b, c }, `clamp of ${x}`);
  }
});

test('div(a, b, fallback) gives the fallback only when b is 0 (or -0.0)', (t) => {
  const interp = interpreterFor(`rule divided
uses sensor(5, 6)
state q = 0
state f = 0.0
on tick {
  q = div(sensor(5), sensor(6), -1)
  f = div(1.0, float(sensor(6)) * -1.0, 5.5)
}`);
  const cases: [number, number, number, number][] = [
    [7, 0, -1, 5.5], [7, 2, 3, -0.5], [-7, 2, -3, -0.5], [0, -4, 0, 0.25], [16000, 1, 16000, -1],
  ];
  for (const [a, b, q, f] of cases) {
    interp.tick(0, new FakeIo({ 5: a, 6: b }));
    t.deepEqual(states(interp), { q, f }, `div(${a}, ${b})`);
  }
});

test('&& and || short-circuit: the right side is not evaluated (its division by zero never happens)', (t) => {
  const interp = interpreterFor(`rule short
uses sensor(5, 6)
state and = true
state or = false
on tick {
  let d = sensor(6)
  and = d != 0 && 100 / d > 1
  or = d == 0 || 100 % d == 1
}`);
  interp.tick(0, new FakeIo({ 5: 0, 6: 0 }));
  t.deepEqual(states(interp), { and: 0, or: 1 });
  interp.tick(0, new FakeIo({ 6: 3 }));
  t.deepEqual(states(interp), { and: 1, or: 1 });
  interp.tick(0, new FakeIo({ 6: 200 }));
  t.deepEqual(states(interp), { and: 0, or: 0 });
});

test('a tick whose requires does not hold does nothing: no writes, no state change, returns -1', (t) => {
  const interp = interpreterFor(`rule guarded
uses sensor(0), gpio_in(4), gpio_out(10)
requires sensor(0) > 0 && gpio(4) == 1
state n = 0
on tick {
  n = n + 1
  gpio(10) = 1
  return 250
}`);
  const skipped = new FakeIo({ 0: 0 }, { 4: 1 });
  t.is(interp.tick(1000, skipped), -1);
  t.deepEqual(skipped.writes, []);
  t.deepEqual(states(interp), { n: 0 });
  t.is(interp.tick(1000, new FakeIo({ 0: 5 }, { 4: 0 })), -1);
  t.deepEqual(states(interp), { n: 0 });
  const ran = new FakeIo({ 0: 5 }, { 4: 1 });
  t.is(interp.tick(1000, ran), 250);
  t.deepEqual(ran.writes, [[10, 1]]);
  t.deepEqual(states(interp), { n: 1 });
});

test('each input is read at most once per tick, and again on the next tick', (t) => {
  const interp = interpreterFor(`rule once
uses sensor(0), gpio_in(4)
requires sensor(0) < 1000
state seen = 0
on tick {
  seen = gpio(4) + gpio(4)
  return sensor(0) - sensor(0) + sensor(0)
}`);
  // A host whose readings change on every call: the tick must see one value per input.
  let next = 10;
  let reads = 0;
  const io: TickIo = {
    sensor: () => { reads++; return (next += 10); },
    gpioIn: () => { reads++; return 1; },
    gpioOut: () => {},
  };
  t.is(interp.tick(0, io), 20);
  t.is(reads, 2);
  t.deepEqual(states(interp), { seen: 2 });
  t.is(interp.tick(0, io), 30);
  t.is(reads, 4);
});

test('GPIO writes: any nonzero level is 1, bools are 0 or 1, all writes are reported in order', (t) => {
  const interp = interpreterFor(`rule levels
uses sensor(5), gpio_out(10, 11, 12)
on tick {
  gpio(10) = sensor(5)
  gpio(11) = sensor(5) > 0
  gpio(10) = 0
  for i in 0..2 {
    gpio(10 + i) = i == 2
  }
}`);
  const io = new FakeIo({ 5: -7 });
  t.is(interp.tick(0, io), 0);
  t.deepEqual(io.writes, [[10, 1], [11, 0], [10, 0], [10, 0], [11, 0], [12, 1]]);
});

test('the returned delay is any int, computed from `now` with wrapping; `now` itself wraps to 32 bits', (t) => {
  const interp = interpreterFor(`rule delays
on tick {
  if now < 0 {
    return -5
  }
  return now + 1
}`);
  t.is(interp.tick(41, new FakeIo()), 42);
  t.is(interp.tick(INT_MAX, new FakeIo()), INT_MIN);
  t.is(interp.tick(-1, new FakeIo()), -5);
  t.is(interp.tick(2 ** 32 + 6, new FakeIo()), 7);
});

test('functions, loops, loop variables as channels and repeat', (t) => {
  const interp = interpreterFor(`rule loops
uses sensor(0..3)
state total = 0
state count = 0
fn weight(x: int, k: int) -> int {
  if k == 0 {
    return x
  }
  return x * k
}
on tick {
  var acc = 0
  for i in 0..3 {
    acc = acc + weight(sensor(i), i)
  }
  total = acc
  repeat 3 {
    count = count + 1
  }
  for j in 5..3 {
    count = 1000
  }
}`);
  // Channel 2 is air pressure on rpi (30 000..110 000 Pa): readings are saturated to its range, as hosts do.
  interp.tick(0, new FakeIo({ 0: 1, 1: 10, 2: 100, 3: 1000 }));
  t.deepEqual(states(interp), { total: 1 + 10 + 2 * 30_000 + 3000, count: 3 });
  t.deepEqual([...interp.saturations], [[2, 1]]);
  interp.tick(0, new FakeIo({ 0: -1 }));
  t.deepEqual(states(interp), { total: -1 + 2 * 30_000, count: 6 });
  t.deepEqual([...interp.saturations], [[2, 2]]);
});

test('state persists from tick to tick, and reset() brings back the starting values', (t) => {
  const interp = interpreterFor(`rule counter
state n = 5
state lit = false
on tick {
  n = n + 1
  lit = !lit
}`);
  interp.tick(0, new FakeIo());
  interp.tick(0, new FakeIo());
  t.deepEqual(states(interp), { n: 7, lit: 0 });
  const copy = interp.stateValues();
  copy[0] = 99;
  t.is(states(interp).n, 7, 'stateValues() is a copy');
  interp.reset();
  t.deepEqual(states(interp), { n: 5, lit: 0 });
});

test('evaluate() checks an expect condition against outputs, inputs, states and the result', (t) => {
  const result = analyze(`rule expectations
uses sensor(0), gpio_out(17)
state n = 3
on tick {
  gpio(17) = 1
}
test "t" {
  expect gpio(17) == 1 && sensor(0) > 10 && n == 3 && result == 500
}`, { target: 'rpi' });
  t.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), []);
  const interp = new RuleInterpreter(result.rule!);
  const cond = result.rule!.tests[0].body.statements[0] as { kind: 'expect'; cond: Expr };
  const ctx = (sensor0: number, result: number) => ({
    stateValue: (i: number) => interp.stateValues()[i], sensor: () => sensor0, gpio: () => 1, now: 0, result,
  });
  t.is(interp.evaluate(cond.cond, ctx(11, 500)), 1);
  t.is(interp.evaluate(cond.cond, ctx(10, 500)), 0);
  t.is(interp.evaluate(cond.cond, ctx(11, 0)), 0);
});

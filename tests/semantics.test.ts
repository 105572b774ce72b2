// The meaning of each construct, checked on the artifact itself: rules whose `on tick` returns the
// value under test, run on wasm3 and on Node's WebAssembly, against values worked out by hand.
import test from 'ava';
import { runRule, type TickInput } from './support/run-rule.js';

const MIN = -2147483648;
const MAX = 2147483647;

interface Case {
  name: string;
  source: string;
  ticks: TickInput[];
  returns: number[];
  target?: string;
}

function rule(body: string, header = 'uses sensor(5..11)'): string {
  return `rule t\n${header}\non tick {\n${body}\n}\n`;
}

const cases: Case[] = [
  { name: 'int + wraps', source: rule('return now + 1', ''), ticks: [{ now: MAX }, { now: 5 }], returns: [MIN, 6] },
  { name: 'int * wraps', source: rule('return now * 65536', ''), ticks: [{ now: 65536 }, { now: -3 }], returns: [0, -196608] },
  {
    name: 'INT_MIN / -1 wraps instead of trapping',
    source: rule('let d = sensor(5) - 16_001\n  return now / d', 'uses sensor(5)'),
    ticks: [{ now: MIN, sensors: { 5: 16000 } }, { now: 7, sensors: { 5: 15999 } }, { now: -7, sensors: { 5: 15999 } }],
    returns: [MIN, -3, 3],
  },
  {
    name: '% takes the sign of the dividend and INT_MIN % -1 is 0',
    source: rule('let d = sensor(5) - 16_001\n  return now % d', 'uses sensor(5)'),
    ticks: [{ now: MIN, sensors: { 5: 16000 } }, { now: -7, sensors: { 5: 15998 } }, { now: 7, sensors: { 5: 15998 } }],
    returns: [0, -1, 1],
  },
  {
    name: 'shift counts are taken modulo 32 and >> is arithmetic',
    source: rule('let n = sensor(8)\n  return (now << n) + (now >> n)', 'uses sensor(8)'),
    ticks: [{ now: 1, sensors: { 8: 33 } }, { now: -16, sensors: { 8: 2 } }, { now: 3, sensors: { 8: 32 } }],
    returns: [2, -64 + -4, 6],
  },
  { name: 'abs of the smallest int is itself', source: rule('return abs(now)', ''), ticks: [{ now: MIN }, { now: -5 }, { now: 5 }], returns: [MIN, 5, 5] },
  {
    name: 'min, max and clamp',
    source: rule('return min(now, 10) * 1000 + max(now, -3) * 10 + clamp(now, 0, 5)', ''),
    ticks: [{ now: 7 }, { now: -9 }, { now: 20 }],
    returns: [7000 + 70 + 5, -9000 - 30 + 0, 10000 + 200 + 5],
  },
  {
    name: 'div gives the fallback for a zero divisor',
    source: rule('return div(now, sensor(8), 77)', 'uses sensor(8)'),
    ticks: [{ now: 100, sensors: { 8: 0 } }, { now: 100, sensors: { 8: 7 } }, { now: -100, sensors: { 8: 7 } }],
    returns: [77, 14, -14],
  },
  {
    name: 'bitwise operators',
    source: rule('return (now & 0xF0) | (now ^ 0b11) & 0x0F | (~now & 0x100)', ''),
    ticks: [{ now: 0x1234 }],
    returns: [((0x1234 & 0xF0) | ((0x1234 ^ 0b11) & 0x0F)) | (~0x1234 & 0x100)],
  },
  {
    name: 'int() of a float saturates, rounds toward zero, and maps NaN to 0',
    source: rule(`let f = float(now)
  let inf = f * 1e30 * 1e30
  if sensor(8) == 0 { return int(inf) }
  if sensor(8) == 1 { return int(-inf) }
  if sensor(8) == 2 { return int(inf - inf) }
  return int(f / 2.0)`, 'uses sensor(8)'),
    ticks: [{ now: 5, sensors: { 8: 0 } }, { now: 5, sensors: { 8: 1 } }, { now: 5, sensors: { 8: 2 } }, { now: -7, sensors: { 8: 3 } }, { now: 7 }],
    returns: [MAX, MIN, 0, -3, 3],
  },
  {
    name: 'float comparisons follow IEEE-754, NaN included',
    source: rule(`let inf = float(now) * 1e30 * 1e30
  let nan = inf - inf
  return int(nan == nan) + 2 * int(nan != nan) + 4 * int(nan < 1.0) + 8 * int(float(now) > 0.5)`, ''),
    ticks: [{ now: 1 }],
    returns: [2 + 8],
  },
  {
    name: 'bool() of ints and floats, and int() of bools',
    source: rule('return int(bool(now)) + 2 * int(bool(float(now) - 1.0))', ''),
    ticks: [{ now: 0 }, { now: 1 }, { now: 2 }],
    returns: [2, 1, 3],
  },
  {
    name: 'if-then-else expressions and short-circuit && ||',
    source: rule('let d = sensor(8)\n  let ok = d != 0 && 100 / d > 10\n  return if ok || now > 1000 then 1 else 2', 'uses sensor(8)'),
    ticks: [{ now: 0, sensors: { 8: 0 } }, { now: 0, sensors: { 8: 5 } }, { now: 0, sensors: { 8: 50 } }, { now: 2000, sensors: { 8: 0 } }],
    returns: [2, 1, 2, 1],
  },
  {
    name: 'an early return narrows what follows: the divisor is nonzero after `if b == 0 { return }`',
    source: rule('let b = sensor(9)\n  if b == 0 { return -1 }\n  return sensor(8) / b', 'uses sensor(8..9)'),
    ticks: [{ sensors: { 8: 100, 9: 0 } }, { sensors: { 8: 100, 9: 7 } }],
    returns: [-1, 14],
  },
  {
    name: 'for loops sum over an inclusive range',
    source: rule('var s = 0\n  for i in 1..10 { s = s + i * now }\n  return s', ''),
    ticks: [{ now: 1 }, { now: 3 }],
    returns: [55, 165],
  },
  {
    name: 'a long loop stays a loop and still counts right',
    source: rule('var s = 0\n  for i in 0..99 { s = s + i }\n  return s + now', ''),
    ticks: [{ now: 1 }],
    returns: [4951],
  },
  {
    name: 'repeat runs its body N times, nested',
    source: rule('var s = 0\n  repeat 3 {\n    repeat 4 { s = s + now }\n  }\n  return s', ''),
    ticks: [{ now: 2 }],
    returns: [24],
  },
  {
    name: 'a for variable picks sensor channels',
    source: rule('var s = 0\n  for ch in 8..11 { s = s * 10 + sensor(ch) }\n  return s', 'uses sensor(8..11)'),
    ticks: [{ sensors: { 8: 1, 9: 2, 10: 3, 11: 4 } }],
    returns: [1234],
  },
  {
    name: 'functions, nested calls, early returns',
    source: `rule t
fn sq(x: int) -> int { return x * x }
fn sign(x: int) -> int {
  if x > 0 { return 1 }
  if x < 0 { return -1 }
  return 0
}
on tick { return sq(now) * sign(now - 10) }
`,
    ticks: [{ now: 3 }, { now: 10 }, { now: 12 }],
    returns: [-9, 0, 144],
  },
  {
    name: 'state persists from tick to tick',
    source: 'rule t\nstate n = 40\non tick {\n  n = n + 1\n  return n\n}\n',
    ticks: [{}, {}, {}],
    returns: [41, 42, 43],
  },
  {
    name: 'float state',
    source: 'rule t\nstate x = 0.5\non tick {\n  x = x * 2.0\n  return int(x)\n}\n',
    ticks: [{}, {}, {}],
    returns: [1, 2, 4],
  },
  {
    name: 'falling off the end returns 0',
    source: rule('if now > 5 { return 250 }', ''),
    ticks: [{ now: 1 }, { now: 9 }],
    returns: [0, 250],
  },
];

for (const c of cases) {
  for (const backend of ['wasm3', 'node'] as const) {
    test(`${c.name} (${backend})`, async (t) => {
      const run = await runRule(c.source, c.ticks, { backend, target: c.target });
      t.deepEqual(run.ticks.map((x) => x.returned), c.returns);
    });
  }
}

const MIXED = `rule mixed
uses sensor(0), gpio_in(4), gpio_out(10..13, 17)
requires sensor(0) >= 0 && gpio(4) >= 0     # names a pin: checked by the artifact, not a bound
state count = 0
on tick {
  let t = sensor(0)
  for i in 0..3 {
    gpio(10 + i) = t > i * 10
  }
  gpio(17) = gpio(4) == 1 && t == sensor(0)
  count = count + 1
  return t + sensor(0)
}
`;

test('loop-variable pins, bool writes, requires and read-once inputs', async (t) => {
  const run = await runRule(MIXED, [
    { now: 0, sensors: { 0: 25 }, gpio: { 4: 1 } },
    { now: 100, sensors: { 0: -5 }, gpio: { 4: 1 } },
    { now: 200, sensors: { 0: 5 }, gpio: { 4: 0 } },
  ]);
  t.deepEqual(run.ticks[0], { writes: { 10: 1, 11: 1, 12: 1, 13: 0, 17: 1 }, returned: 50 });
  // `requires` fails: the tick does nothing at all, and says so.
  t.deepEqual(run.ticks[1], { writes: {}, returned: -1 });
  t.deepEqual(run.ticks[2], { writes: { 10: 1, 11: 0, 12: 0, 13: 0, 17: 0 }, returned: 10 });
  t.is(run.state('count'), 2, 'the skipped tick did not count');
  // sensor(0) appears four times in the rule, and is read once per tick.
  for (const reads of run.reads) t.is(reads.sensor[0], 1);
});

test('an input used once is read where it is used, not cached', async (t) => {
  const run = await runRule('rule t\nuses gpio_in(3), gpio_out(5)\non tick {\n  if now > 10 { gpio(5) = gpio(3) }\n}\n',
    [{ now: 1, gpio: { 3: 1 } }, { now: 20, gpio: { 3: 1 } }]);
  t.deepEqual(run.reads.map((r) => r.gpio[3] ?? 0), [0, 1]);
  t.deepEqual(run.ticks.map((x) => x.writes), [{}, { 5: 1 }]);
});

// Differential tests of the compiler: random valid rules (tests/support/rule-generator.ts) are compiled for every
// target and run three ways, tick by tick, with random inputs and `now` values: the reference interpreter on the
// checked syntax tree, the artifact on wasm3 and the artifact on Node's WebAssembly (tests/support/three-way.ts).
// They must agree on the returned delay, the last level of every pin written and every observable state value.
// A target is skipped only when the rule legitimately does not fit it (size, instructions, state slots, loop trips,
// or a float on stm32); any other compile error on a generated rule fails the test with the rule's source.
//
// The runs are seeded and their number is fixed (never cut short by a time limit), so CI checks the same rules every
// time, and each test asserts that every one of them ran. On a failure the report has fast-check's seed, the path
// of the shrunk case and the rule's source with the three outcomes, then (for a disagreement or a compiler exception)
// the rule minimized line by line, still failing the same way on the same target. Environment knobs:
//   DIFF_SEED=n          base seed (each property adds its own offset; the report names the seed it used)
//   DIFF_RUNS_SCALE=x    multiply the number of rules per property (e.g. 10 for a long bug hunt)
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import {
  FLOAT_RULES, FN_RULES, INT_RULES, LOOP_RULES, ruleArbitrary, runsArbitrary, type AbstractTick, type GeneratorOptions,
  type RuleCase,
} from './support/rule-generator.js';
import {
  checkRule, DisagreementError, HarnessFailure, minimizeSource, newStats, UnexpectedCompileError, type HandTick, type Outcome,
  type Stats,
} from './support/three-way.js';

const BASE_SEED = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : 20_240_917;
const SCALE = process.env.DIFF_RUNS_SCALE ? Number(process.env.DIFF_RUNS_SCALE) : 1;
/** Ticks per run (state carries over from one to the next), and runs per compiled rule (each from a fresh install). */
const MAX_TICKS = 8;
const MAX_RUNS = 4;

function summarize(stats: Stats, seconds: number): string {
  const bytes = [...stats.bytes].sort((a, b) => a - b);
  const ran = Object.entries(stats.ran).map(([k, v]) => `${k} ${v}`).join(', ');
  const skipped = Object.entries(stats.skipped).sort().map(([k, v]) => `${k} ${v}`).join(', ');
  return `${stats.rules} rules in ${seconds.toFixed(1)} s; three-way runs: ${ran} (${stats.ticks} ticks); `
    + `skipped: ${skipped || 'none'}; artifact bytes median ${bytes[bytes.length >> 1] ?? '-'}, max ${bytes[bytes.length - 1] ?? '-'}`;
}

/**
 * The property: every generated rule behaves the same three ways on every target it fits. Returns the statistics
 * so that each test can also check that its generator reaches what it is meant to exercise. On a failure the
 * report has fast-check's seed, path and shrunk case, and below it the rule minimized line by line.
 */
async function differential(t: ExecutionContext, options: GeneratorOptions, numRuns: number, seedOffset: number): Promise<Stats> {
  const seed = BASE_SEED + seedOffset;
  const stats = newStats();
  const started = performance.now();
  const runs = Math.round(numRuns * SCALE);
  t.log(`seed ${seed}, ${runs} rules`);
  /** The first failure's signature: shrinking keeps to candidates that fail the same way, not some other bug. */
  let failing: string | undefined;
  const details = await fc.check(
    // Shrinking a choice sequence is slow to converge (every candidate is compiled again), so it is capped; the
    // source-level minimizer below does better.
    fc.asyncProperty(fc.limitShrink(ruleArbitrary(options), 150), fc.limitShrink(runsArbitrary(MAX_RUNS, MAX_TICKS), 50),
      async (rule, ticks) => {
        try {
          // Statistics count the generated cases, not fast-check's shrinking attempts after a failure.
          await checkRule(rule.source, ticks, { usesFloat: rule.usesFloat, stats: failing ? undefined : stats, features: rule.features });
        } catch (e) {
          if (!(e instanceof HarnessFailure)) throw e;
          if (failing !== undefined && e.signature !== failing) return;
          failing = e.signature;
          throw e;
        }
      }),
    { seed, numRuns: runs, includeErrorInReport: true },
  );
  t.log(summarize(stats, (performance.now() - started) / 1000));
  if (details.failed) {
    t.fail(`${fc.defaultReportMessage(details)}${await minimized(details.counterexample, details.errorInstance)}`);
  } else {
    // Every rule of the fixed list was checked: nothing interrupted or skipped the run.
    t.is(details.numRuns, runs);
    t.false(details.interrupted);
    t.is(stats.rules, runs);
  }
  return stats;
}

/** The failing rule of a counterexample, minimized while it fails the same way on the same target. */
async function minimized(counterexample: [RuleCase, AbstractTick[][]] | null, error: unknown): Promise<string> {
  if (!counterexample || !(error instanceof HarnessFailure) || !error.minimizable) return '';
  const [rule, ticks] = counterexample;
  const check = async (source: string) => { await checkRule(source, ticks, { targets: [error.target], usesFloat: rule.usesFloat }); };
  const small = await minimizeSource(rule.source, error.signature, check);
  try {
    await check(small);
  } catch (e) {
    return `\n\nMINIMIZED (${error.signature}):\n${(e as Error).message}`;
  }
  return '';
}

function assertReached(t: ExecutionContext, stats: Stats, features: string[]): void {
  const missing = features.filter((f) => !stats.features[f]);
  t.deepEqual(missing, [], `the generator never produced: ${missing.join(', ')}`);
}

test.serial('int rules: interpreter, wasm3 and Node agree on rpi, stm32 and nrf5340', async (t) => {
  const stats = await differential(t, INT_RULES, 500, 0);
  // Most generated rules must fit even the smallest target, or the test would prove little.
  t.true((stats.ran.stm32 ?? 0) >= stats.rules * 0.4, `only ${stats.ran.stm32} of ${stats.rules} rules ran on stm32`);
  t.true((stats.ran.rpi ?? 0) >= stats.rules * 0.5, `only ${stats.ran.rpi} of ${stats.rules} rules ran on rpi`);
  assertReached(t, stats, [
    'state-assign', 'gpio-write', 'gpio-read', 'sensor', 'now', 'requires', 'return', 'early-return', 'if', 'else-if',
    'cond', 'logic', 'short-circuit', 'narrowing', 'div-op', 'mod-op', 'div-builtin', 'shift', 'min-max', 'abs',
    'clamp', 'int-of-bool', 'bool-of', 'for', 'repeat', 'fn', 'fn-call', 'const', 'loop-sensor', 'loop-pin-write',
    'identity', 'state-shape', 'fact-sensitive',
  ]);
});

test.serial('float rules: the three agree on rpi and nrf5340, and stm32 refuses them with E0401', async (t) => {
  const stats = await differential(t, FLOAT_RULES, 400, 1);
  t.true((stats.ran.rpi ?? 0) >= stats.rules * 0.5, `only ${stats.ran.rpi} of ${stats.rules} rules ran on rpi`);
  t.true((stats.skipped['stm32 E0401'] ?? 0) >= stats.rules * 0.5, 'most float rules should reach stm32 and be refused');
  assertReached(t, stats, ['float', 'float-div', 'float-extreme', 'float-of-int', 'int-of-float', 'div-builtin', 'min-max', 'clamp', 'abs']);
});

test.serial('loop-heavy rules: loop variables as channels, pins and divisors, nested and early-returning loops', async (t) => {
  const stats = await differential(t, LOOP_RULES, 400, 2);
  t.true((stats.ran.stm32 ?? 0) >= stats.rules * 0.4, `only ${stats.ran.stm32} of ${stats.rules} rules ran on stm32`);
  assertReached(t, stats, ['for', 'for-empty', 'repeat', 'loop-sensor', 'loop-pin-read', 'loop-pin-write', 'loop-divisor', 'early-return']);
});

test.serial('function-heavy rules: helpers with int, bool and float parameters calling each other', async (t) => {
  const stats = await differential(t, FN_RULES, 300, 3);
  t.true((stats.ran.rpi ?? 0) >= stats.rules * 0.5, `only ${stats.ran.rpi} of ${stats.rules} rules ran on rpi`);
  assertReached(t, stats, ['fn', 'fn-call', 'float', 'narrowing']);
});

// ---- hand-picked edge cases, run the same three ways -----------------------------------------------------------

interface EdgeCase {
  name: string;
  source: string;
  ticks: HandTick[];
  /** Targets that must run it (the others may skip it for limits, or refuse its floats). */
  mustRun: string[];
  float?: boolean;
}

const ALL = ['rpi', 'stm32', 'nrf5340'];
const FLOAT_TARGETS = ['rpi', 'nrf5340'];
/** Readings for channel 0, whose range (-40000..125000) is the same on every target. */
const readings = (values: number[], nows: number[] = values.map((_, i) => i * 1000)): HandTick[] =>
  values.map((v, i) => ({ now: nows[i], sensors: { 0: v, 1: v, 2: v, 3: v } }));

const EDGE_CASES: EdgeCase[] = [
  {
    name: 'INT_MIN / -1 and INT_MIN % -1 at run time',
    mustRun: ALL,
    ticks: readings([-1, 1, -40000, 7, -1]),
    source: `rule e_divmin
uses sensor(0)
requires sensor(0) != 0
state m = -2147483648
state q = 0
state r = 0
on tick {
  q = m / sensor(0)
  r = m % sensor(0)
  m = m + q - q
}`,
  },
  {
    name: 'abs of INT_MIN and of wrapped products',
    mustRun: ALL,
    ticks: readings([0, -1, 125000, -40000, 32768]),
    source: `rule e_abs
uses sensor(0)
state m = -2147483648
state a = 0
state b = 0
on tick {
  a = abs(m)
  b = abs(sensor(0) * 65536)
  m = m + sensor(0)
}`,
  },
  {
    name: 'shift counts at and beyond 32, negative counts, arithmetic right shift',
    mustRun: ALL,
    ticks: readings([-40000, 1, 125000, -1, 3, 0, 99, -7]),
    source: `rule e_shift
uses sensor(0)
state n = -9
state l = 0
state r = 0
state u = 0
on tick {
  l = 1 << n
  r = sensor(0) >> n
  u = sensor(0) << (n - 1)
  n = n + 7
}`,
  },
  {
    name: 'wrapping +, - and * around INT_MAX',
    mustRun: ALL,
    ticks: readings([125000, 125000, -40000, 1, 0]),
    source: `rule e_wrap
uses sensor(0)
state x = 2147480000
state y = 0
state z = 0
on tick {
  x = x + sensor(0)
  y = x * 3
  z = -x - 1
  return x
}`,
  },
  {
    name: 'int() of NaN, of infinities and near the int range edges',
    mustRun: FLOAT_TARGETS,
    float: true,
    ticks: readings([0, 1, -1, 100000, 125000, -40000, 99999]),
    source: `rule e_trunc
uses sensor(0)
state i = 0
state j = 0
state k = 0
state big = 0.0
on tick {
  let x = float(sensor(0))
  big = x * 1e30 * 1e30
  i = int(big - big)
  j = int(x * 21474.836)
  k = int(x * 1e30)
  return int(x * -21474.836)
}`,
  },
  {
    name: '-0.0 and NaN through min, max, abs, negation and bool()',
    mustRun: FLOAT_TARGETS,
    float: true,
    ticks: readings([-5, 5, 0, -1, 2]),
    source: `rule e_zero
uses sensor(0), gpio_out(10, 11)
state z = -0.0
state lo = 1.0
state hi = 1.0
state n = 0.0
state a = 0.0
on tick {
  let x = float(sensor(0)) * 0.0
  lo = min(z, x)
  hi = max(z, x)
  n = max(float(sensor(0)) * 1e30 * 1e30 * 0.0, 1.0)
  a = abs(-z)
  gpio(10) = bool(n)
  gpio(11) = bool(x)
  z = -z
}`,
  },
  {
    name: 'denormal floats and int-to-float rounding above 2^24',
    mustRun: FLOAT_TARGETS,
    float: true,
    ticks: readings([1, 3, -1, 125000, 0], [0, 2147483647, -2147483648, 16777217, 33554435]),
    source: `rule e_denormal
uses sensor(0)
state d = 0.0
state e = 0.0
state f = 0.0
state g = 0.0
on tick {
  d = float(sensor(0)) * 1e-45
  e = d * 0.5
  f = float(sensor(0)) * 1e-40 / 3.0
  g = float(now) + float(sensor(0) * 16777)
}`,
  },
  {
    name: 'loops whose bounds are at the ends of the int range',
    mustRun: ALL,
    ticks: readings([1, 2]),
    source: `rule e_bounds
state a = 0
state b = 0
on tick {
  for i in 2147483645..2147483647 {
    a = a + i
  }
  for j in -2147483648..-2147483646 {
    b = b ^ j
  }
  return a
}`,
  },
  {
    name: 'a loop variable picks channels and pins, with inputs also read outside the loop',
    mustRun: ['rpi', 'nrf5340'], // unrolled: 180 bytes
    ticks: [
      { now: 0, sensors: { 0: 5, 1: 7, 2: -3, 3: 5 } },
      { now: 1, sensors: { 0: -40000, 1: 0, 2: 1, 3: 125000 } },
    ],
    source: `rule e_pins
uses sensor(0..3), gpio_out(10..13)
state best = -2147483648
on tick {
  for i in 0..3 {
    gpio(10 + i) = sensor(i) > sensor(0)
    best = max(best, sensor(3 - i))
  }
  return sensor(2)
}`,
  },
  {
    name: 'return from inside a loop, and falling off the end',
    mustRun: ALL,
    ticks: [
      { now: 0, sensors: { 0: 0, 1: 0, 2: 2000, 3: 5000 } },
      { now: 0, sensors: { 0: 0, 1: 0, 2: 0, 3: 0 } },
      { now: 0, sensors: { 0: 1001, 1: 0, 2: 0, 3: 0 } },
    ],
    source: `rule e_early
uses sensor(0..3)
on tick {
  for i in 0..3 {
    if sensor(i) > 1000 {
      return i + 1
    }
  }
}`,
  },
  {
    name: 'a tick whose requires fail changes nothing',
    mustRun: ALL,
    ticks: [
      { now: 0, sensors: { 0: 5 }, pins: { 2: 1 } },
      { now: 1, sensors: { 0: -5 }, pins: { 2: 1 } },
      { now: 2, sensors: { 0: 5 }, pins: { 2: 0 } },
      { now: 3, sensors: { 0: 0 }, pins: { 2: 7 } },
    ],
    source: `rule e_requires
uses sensor(0), gpio_in(2), gpio_out(10)
requires sensor(0) >= 0 && gpio(2) == 1
state n = 0
on tick {
  n = n + 1
  gpio(10) = n & 1
  return n
}`,
  },
  {
    name: 'div() with a zero divisor at run time, int and float',
    mustRun: FLOAT_TARGETS,
    float: true,
    ticks: readings([0, 1, -1, 4, 6, -2147483647]),
    source: `rule e_div
uses sensor(0)
state q = 0
state f = 0.0
state m = 0
on tick {
  q = div(sensor(0), sensor(0) & 3, -77)
  f = div(1.0, float(sensor(0)) * 0.0, 2.5)
  m = div(-2147483648 + (sensor(0) & 0), (sensor(0) & 1) - 1 - (sensor(0) & 1), 5)
}`,
  },
  {
    name: 'clamp with lo > hi, and min/max at the int range ends',
    mustRun: ALL,
    ticks: readings([0, -40000, 125000, 17]),
    source: `rule e_clamp
uses sensor(0)
state c = 0
state d = 0
state e = 0
on tick {
  c = clamp(sensor(0), sensor(0) + 1, sensor(0) - 1)
  d = clamp(sensor(0) * 100000, -2147483648, 2147483647)
  e = min(sensor(0) * 65536, max(sensor(0), -2147483648))
}`,
  },
  {
    name: 'GPIO inputs compared with 0 and 1, and levels other than 0 and 1',
    mustRun: ALL,
    ticks: [{ now: 0, pins: { 2: 0, 3: 1 } }, { now: 0, pins: { 2: 2, 3: 0 } }, { now: 0, pins: { 2: 1, 3: 1 } }],
    source: `rule e_gpio
uses gpio_in(2, 3), gpio_out(10, 11, 12)
state x = 0
on tick {
  gpio(10) = gpio(2) == 1
  gpio(11) = !(gpio(3) == 0)
  gpio(12) = gpio(2) < 1
  x = gpio(2) + gpio(3) * 2
}`,
  },
  {
    name: '`now` wraps around and returned delays may be negative',
    mustRun: ALL,
    ticks: [0, 2147483647, -2147483648, -1, 1000].map((now) => ({ now })),
    source: `rule e_now
state last = 0
on tick {
  let d = now - last
  last = now
  if d < 0 {
    return d
  }
  return now + 1
}`,
  },
  {
    name: 'unrolled loop variables as divisors: a / (i - 4) and a % (i + 1)',
    mustRun: ALL,
    ticks: readings([-40000, 125000, 7, -1]),
    source: `rule e_loopdiv
uses sensor(0)
state acc = 0
on tick {
  for i in 0..3 {
    acc = acc + sensor(0) / (i - 4) + sensor(0) % (i + 1)
  }
}`,
  },
  {
    name: 'functions with int, bool and float parameters and early returns',
    mustRun: FLOAT_TARGETS,
    float: true,
    ticks: readings([0, 5, -5, 125000]),
    source: `rule e_fns
uses sensor(0), gpio_out(10)
state s = 0
state f = 0.0
fn pick(a: int, b: bool, c: float) -> float {
  if b {
    return c * 2.0
  }
  if a < 0 {
    return -c
  }
  return float(a) + c
}
fn scale(x: int) -> int {
  for i in 1..3 {
    if x > i * 1000 {
      return x / i
    }
  }
  return x
}
on tick {
  f = pick(sensor(0), sensor(0) > 4, 1.5)
  s = scale(sensor(0)) + int(f)
  gpio(10) = f > 0.0
}`,
  },
];

for (const edge of EDGE_CASES) {
  test(`edge case: ${edge.name}`, async (t) => {
    const summary = await checkRule(edge.source, [edge.ticks], { usesFloat: edge.float ?? false });
    for (const target of edge.mustRun) t.true(summary.ran.includes(target), `${target}: ${JSON.stringify(summary.skipped)}`);
  });
}

// ---- the harness itself can fail -------------------------------------------------------------------------------

const toggle = `rule toggle
uses sensor(0), gpio_out(10)
state lit = false
on tick {
  lit = !lit
  gpio(10) = lit
  return sensor(0)
}`;

test('sanity: a wrong reference result, write or state is reported as a disagreement with the source', async (t) => {
  const ticks: HandTick[] = [{ now: 0, sensors: { 0: 5 } }, { now: 1, sensors: { 0: 6 } }];
  await t.notThrowsAsync(checkRule(toggle, [ticks, ticks]));
  const mutations: [string, (o: Outcome, tick: number) => Outcome][] = [
    ['returned', (o) => ({ ...o, returned: (o.returned as number) + 1 })],
    ['write', (o) => ({ ...o, writes: { ...o.writes, 10: 1 - o.writes[10] } })],
    ['state', (o, tick) => (tick === 1 ? { ...o, states: { ...o.states, lit: 7 } } : o)],
    ['extra write', (o) => ({ ...o, writes: { ...o.writes, 11: 0 } })],
  ];
  for (const [what, mutateReference] of mutations) {
    const error = await t.throwsAsync(checkRule(toggle, [ticks], { mutateReference }), { instanceOf: DisagreementError }, what);
    t.regex(error?.message ?? '', /disagree on target rpi/, what);
    t.regex(error?.message ?? '', /--- source ---\nrule toggle/, what);
  }
});

test('sanity: the property fails, with the seed and the rule source, when the reference is off by one', async (t) => {
  let calls = 0;
  const error = await t.throwsAsync(fc.assert(
    fc.asyncProperty(ruleArbitrary(INT_RULES), runsArbitrary(1, 3), async (rule, runs) => {
      calls++;
      await checkRule(rule.source, runs, {
        targets: ['rpi'],
        mutateReference: (o) => ({ ...o, returned: typeof o.returned === 'number' ? o.returned + 1 : o.returned }),
      });
    }),
    { seed: BASE_SEED, numRuns: 50, endOnFailure: true, includeErrorInReport: true },
  ));
  t.true(calls >= 1);
  t.regex(error?.message ?? '', /seed: -?\d+/);
  t.regex(error?.message ?? '', /rule source/);
  t.regex(error?.message ?? '', /DisagreementError|disagree/);
});

test('sanity: a compile error that is not about limits fails loudly with the source', async (t) => {
  const error = await t.throwsAsync(checkRule(`rule bad
uses sensor(0)
on tick {
  return sensor(0) / sensor(0)
}`, [[{ now: 0 }]]), { instanceOf: UnexpectedCompileError });
  t.regex(error?.message ?? '', /E0350/);
  t.regex(error?.message ?? '', /rule bad/);
  // A float rule must be refused by stm32 with E0401, and one that is not marked as float must not be.
  await t.throwsAsync(checkRule(`rule f
on tick {
  return int(1.5 * float(now))
}`, [[{ now: 0 }]]), { instanceOf: UnexpectedCompileError, message: /stm32/ });
  const summary = await checkRule(`rule f
on tick {
  return int(1.5 * float(now))
}`, [[{ now: 3 }]], { usesFloat: true });
  t.deepEqual(summary, { ran: ['rpi', 'nrf5340'], skipped: { stm32: ['E0401'] } });
});

test('sanity: a failing rule is minimized to the statements that make it fail', async (t) => {
  const big = `rule big
uses sensor(0, 1), gpio_out(10, 11)
const K = 7
state a = 0
state b = false
on tick {
  a = a + sensor(0) * K
  if sensor(1) > 3 {
    b = !b
    gpio(11) = b
  } else {
    a = a - 1
  }
  gpio(10) = a > 100
  return a & 255
}`;
  const ticks: HandTick[][] = [[{ now: 0, sensors: { 0: 50, 1: 5 } }, { now: 1, sensors: { 0: 1, 1: 0 } }]];
  // A stand-in for a compiler bug: the reference gets pin 11 wrong whenever the tick writes it.
  const mutateReference = (o: Outcome): Outcome => (11 in o.writes ? { ...o, writes: { ...o.writes, 11: 1 - o.writes[11] } } : o);
  const check = async (source: string) => { await checkRule(source, ticks, { targets: ['rpi'], mutateReference }); };
  await t.throwsAsync(check(big), { instanceOf: DisagreementError });
  const small = await minimizeSource(big, 'disagreement on rpi', check);
  t.log(small);
  t.true(small.split('\n').filter((l) => l.trim()).length <= 6, small);
  t.regex(small, /gpio\(11\) = /);
  await t.throwsAsync(check(small), { instanceOf: DisagreementError });
});

// LoadedRule.runBatch, on both backends: a batch of prepared ticks must do exactly what the same ticks do one run()
// at a time (results, writes, state after every tick, saturations and failed assumptions, traps), over every example
// rule and over the differential generator's rules (a fixed seed and count), with traps mid-batch; and the callers
// that replay scripted inputs with it (`rules run --steps`, through Simulation.runSteps) must say what step() says.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { Manifest } from '../contract/manifest.js';
import { loadTarget, type TargetProfile } from '../contract/targets.js';
import { compile, type CompileResult } from '../compiler/index.js';
import {
  CapabilityViolation, InvalidReading, RuleBusy, RuleNotRunnable, RuleTrap, loadRuleOn, type EngineBackend, type LoadedRule,
  type RuleIo,
} from '../engine/index.js';
import { Simulation, type Step } from '../runner/simulate.js';
import { addRun, binaryen, build, importIo, manifestFor, recordingIo, rpi, sensorRule, tickRule } from './support/engine-fixtures.js';
import { examples } from './support/examples.js';
import { FLOAT_RULES, FN_RULES, INT_RULES, LOOP_RULES, ruleArbitrary, ticksArbitrary, type GeneratorOptions } from './support/rule-generator.js';
import { concreteInputs } from './support/three-way.js';
import { prng } from '../bench/prng.js';

const { i32, none } = binaryen;
const BACKENDS: EngineBackend[] = ['wasm3', 'node'];

/** One tick's inputs in the manifest's order: what a RuleIo returns for each declared pin and channel. */
interface Row { now: number; levels: number[]; readings: number[] }

/** What one tick did, the same way for run() and runBatch(). */
type Record = { returned: number; writes: [number, number][]; globals: number[]; saturated: number[] }
  | { trap: string; hostError: string; globals: number[] };

interface Trace { ticks: Record[]; counters: ReturnType<LoadedRule['counters']>; state: string; lastError: string | undefined }

const globalsOf = (rule: LoadedRule) => Array.from({ length: rule.globalCount }, (_, i) => rule.getGlobal(i));
const describeHostError = (trap: RuleTrap) =>
  (trap.hostError instanceof Error ? `${trap.hostError.name}: ${trap.hostError.message}` : String(trap.hostError));

/** The ticks one run() at a time, with a RuleIo serving the rows. */
function perTick(backend: EngineBackend, bytes: Uint8Array, manifest: Manifest, target: TargetProfile, rows: Row[]): Trace {
  const { gpio_in: pins, sensor: channels } = manifest.capabilities;
  let row: Row = rows[0];
  const writes: [number, number][] = [];
  const io: RuleIo = {
    readGpio: (pin) => row.levels[pins.indexOf(pin)],
    readSensor: (channel) => row.readings[channels.indexOf(channel)],
    writeGpio: (pin, level) => { writes.push([pin, level]); },
  };
  const rule = loadRuleOn(backend, bytes, { manifest, target, io });
  const ticks: Record[] = [];
  try {
    for (row of rows) {
      writes.length = 0;
      const before = rule.counters().saturations;
      let returned: number;
      try {
        returned = rule.run(row.now);
      } catch (e) {
        if (!(e instanceof RuleTrap)) throw e;
        ticks.push({ trap: e.message, hostError: describeHostError(e), globals: globalsOf(rule) });
        break;
      }
      const after = rule.counters().saturations;
      ticks.push({ returned, writes: [...writes], globals: globalsOf(rule), saturated: channels.filter((ch) => after[ch] !== before[ch]) });
    }
    return { ticks, counters: rule.counters(), state: rule.state, lastError: rule.lastError?.message };
  } finally {
    rule.close();
  }
}

/** The same ticks in one runBatch, on a rule whose RuleIo must never be called. */
function batched(t: ExecutionContext, backend: EngineBackend, bytes: Uint8Array, manifest: Manifest, target: TargetProfile, rows: Row[]): Trace {
  const io = recordingIo();
  const rule = loadRuleOn(backend, bytes, { manifest, target, io });
  try {
    const batch = rule.createBatch(rows.length, { globals: true, saturations: true });
    rows.forEach((r, i) => batch.setTick(i, r.now, r.levels, r.readings));
    const { completed, trap } = rule.runBatch(batch);
    const ticks: Record[] = [];
    for (let i = 0; i < completed; i++) {
      ticks.push({ returned: batch.returned[i], writes: batch.writesAt(i), globals: batch.globalsAt(i), saturated: batch.saturatedAt(i) });
    }
    if (trap) ticks.push({ trap: trap.message, hostError: describeHostError(trap), globals: globalsOf(rule) });
    else t.is(completed, rows.length);
    t.deepEqual(io.calls, [], 'a batch never calls the RuleIo');
    return { ticks, counters: rule.counters(), state: rule.state, lastError: rule.lastError?.message };
  } finally {
    rule.close();
  }
}

/** Asserts that run() tick by tick and runBatch agree on `rows`; returns whether the ticks trapped. */
function assertSame(t: ExecutionContext, backend: EngineBackend, bytes: Uint8Array, manifest: Manifest, target: TargetProfile,
  rows: Row[], label: string): boolean {
  const one = perTick(backend, bytes, manifest, target, rows);
  const many = batched(t, backend, bytes, manifest, target, rows);
  t.deepEqual(many, one, `${label} (${backend}): runBatch differs from run() tick by tick`);
  return one.state === 'failed';
}

/** Deterministic rows for a manifest: levels 0/1 (and other truthy or falsy numbers), readings in and out of range. */
function rowsFor(manifest: Manifest, seed: number, count: number, period: number): Row[] {
  const next = prng(seed);
  const rows: Row[] = [];
  let now = seed % 2 === 0 ? 0 : 2_147_483_647 - 10 * period; // odd seeds cross the int32 wrap
  for (let i = 0; i < count; i++) {
    const levels = manifest.capabilities.gpio_in.map(() => [0, 1, 1, 0, 2, -1, 0.5, 0][Math.floor(next() * 8)]);
    const readings = manifest.ranges.map((r) => {
      const span = r.max - r.min;
      const pick = next();
      // Mostly in range, sometimes beyond it (saturated and counted), sometimes with a fraction (truncated).
      return pick < 0.7 ? Math.round(r.min + next() * span) : pick < 0.85 ? r.max + 1 + Math.round(next() * span) : r.min - 0.5 - next() * span;
    });
    rows.push({ now, levels, readings });
    now += next() < 0.1 ? 0 : period;
  }
  return rows;
}

// ---- every example rule ---------------------------------------------------------------------------------------

for (const ex of examples()) {
  test(`${ex.name}: runBatch is run() tick by tick on both backends, with a NaN reading trapping mid-batch`, async (t) => {
    const target = loadTarget(ex.targets[0]);
    const result = await compile(ex.source, { target, file: ex.path });
    const { wasm, manifest } = result.artifact!;
    const rows = rowsFor(manifest, ex.name.length, 200, manifest.periodMs);
    for (const backend of BACKENDS) {
      t.false(assertSame(t, backend, wasm, manifest, target, rows, ex.name), `${ex.name} should not trap on numbers`);
      if (manifest.capabilities.sensor.length === 0) continue;
      // A NaN on every declared channel from some tick on: the first tick that reads one traps. A rule may read its
      // channels only in some states (a lamp already lit), so the NaNs start ever earlier until one is read.
      const trapped = [120, 40, 1].some((from) => {
        const trapping = rows.map((r, i) => (i < from ? r : { ...r, readings: r.readings.map(() => NaN) }));
        return assertSame(t, backend, wasm, manifest, target, trapping, `${ex.name} with NaN readings from tick ${from}`);
      });
      t.true(trapped, `${ex.name} never read a NaN channel`);
    }
  });
}

// ---- the differential generator's rules -------------------------------------------------------------------------

const GENERATED: [string, GeneratorOptions, number][] = [['int', INT_RULES, 60], ['float', FLOAT_RULES, 30], ['loop', LOOP_RULES, 30], ['fn', FN_RULES, 30]];

for (const [kind, options, count] of GENERATED) {
  test(`generated ${kind} rules (fixed seed, ${count} rules): runBatch is run() tick by tick on both backends`, async (t) => {
    // A fixed seed and count: CI checks the same rules every time.
    const rules = fc.sample(ruleArbitrary(options), { seed: 20_261_130 + kind.length, numRuns: count });
    const tickSets = fc.sample(ticksArbitrary(24), { seed: 7_001 + kind.length, numRuns: count });
    const target = rpi;
    let ran = 0;
    let trapped = 0;
    for (const [i, rule] of rules.entries()) {
      const result: CompileResult = await compile(rule.source, { target });
      if (!result.artifact) continue; // over a limit of rpi: the differential tests say which refusals are expected
      ran++;
      const { wasm, manifest } = result.artifact;
      const { gpio_in: pins, sensor: channels } = manifest.capabilities;
      const rows: Row[] = tickSets[i].map((tick, k) => {
        const inputs = concreteInputs(tick, target);
        // Every third tick reads its channels far out of range, so saturation is exercised on every channel.
        return { now: inputs.now, levels: pins.map((p) => inputs.pins.get(p) ?? 0),
          readings: channels.map((ch) => (inputs.sensors.get(ch) ?? 0) * (k % 3 === 2 ? 1000 : 1)) };
      });
      // And a second run of the same ticks that ends in a NaN on every channel, to trap the rules that read one.
      const withNaN = [...rows, ...rows.slice(0, 3).map((r) => ({ ...r, readings: r.readings.map(() => NaN) }))];
      for (const backend of BACKENDS) {
        assertSame(t, backend, wasm, manifest, target, rows, `rule #${i}\n${rule.source}`);
        if (assertSame(t, backend, wasm, manifest, target, withNaN, `rule #${i} with NaN readings\n${rule.source}`)) trapped++;
      }
    }
    t.true(ran >= count * 0.6, `only ${ran} of ${count} generated rules built for rpi`);
    t.true(trapped > 0, 'no generated rule trapped on a NaN reading');
  });
}

// ---- traps, counters, writes and misuse, on a rule made for it -------------------------------------------------

function loadTick(backend: EngineBackend): { rule: LoadedRule; io: ReturnType<typeof recordingIo>; manifest: Manifest } {
  const bytes = tickRule();
  const manifest = manifestFor(bytes, { capabilities: { sensor: [0, 1], gpio_out: [17, 18] } });
  manifest.ranges = [{ channel: 0, min: 0, max: 50_000 }, { channel: 1, min: 0, max: 100_000 }];
  const io = recordingIo({ 0: 7, 1: 8 });
  return { rule: loadRuleOn(backend, bytes, { manifest, target: rpi, io }), io, manifest };
}

function both(title: string, body: (t: ExecutionContext, backend: EngineBackend) => void): void {
  for (const backend of BACKENDS) test(`${title} (${backend})`, (t) => body(t, backend));
}

both('a trap stops the batch at its tick: earlier ticks kept, that tick undone, the rule failed until reset', (t, backend) => {
  const { rule, io } = loadTick(backend);
  const batch = rule.createBatch(5, { globals: true, saturations: true });
  [[0, 60_000, 0], [5, 1, 1], [101, 2, 1e9], [-1, 3, 3], [7, 4, 4]].forEach(([now, r0, r1], i) => batch.setTick(i, now, [], [r0, r1]));
  const { completed, trap } = rule.runBatch(batch);
  t.is(completed, 3);
  t.true(trap instanceof RuleTrap);
  t.is(trap?.wasm3Message, '[trap] unreachable executed');
  t.is(rule.state, 'failed');
  t.is(rule.lastError, trap);
  t.deepEqual([...batch.returned.subarray(0, 3)], [50_000, -1, 100_000]);
  t.deepEqual([0, 1, 2].map((i) => batch.writesAt(i)), [[[17, 0], [18, 1]], [[17, 0], [18, 1]], [[17, 0], [18, 1]]]);
  t.deepEqual([0, 1, 2].map((i) => batch.globalsAt(i)), [[41], [42], [43]]);
  t.deepEqual([0, 1, 2].map((i) => batch.saturatedAt(i)), [[0], [], [1]]);
  t.is(rule.getGlobal(0), 43, 'the trapping tick\'s increment is undone');
  t.deepEqual(batch.writesAt(3), [], 'the trapping tick leaves no writes');
  t.deepEqual(rule.counters(), { saturations: { 0: 1, 1: 1 }, assumptionFailures: 1 });
  t.deepEqual(io.calls, [], 'nothing reached the RuleIo');
  t.throws(() => rule.runBatch(batch), { instanceOf: RuleNotRunnable });
  t.throws(() => rule.run(0), { instanceOf: RuleNotRunnable });
  rule.reset();
  t.deepEqual(rule.runBatch(batch, 2), { completed: 2, trap: undefined });
  t.is(rule.getGlobal(0), 42);
});

both('a batch adds to the counters and state that run() left, and run() carries on after it', (t, backend) => {
  const { rule, io } = loadTick(backend);
  io.sensors.set(0, 70_000);
  t.is(rule.run(0), 50_000);
  t.is(rule.run(5), -1);
  const batch = rule.createBatch(2);
  batch.setTick(0, 5, [], [70_000, 0]);
  batch.setTick(1, 6, [], [-3, 0]);
  t.deepEqual(rule.runBatch(batch), { completed: 2, trap: undefined });
  t.deepEqual([...batch.returned], [-1, 0]);
  t.deepEqual(rule.counters(), { saturations: { 0: 2, 1: 0 }, assumptionFailures: 2 });
  t.is(rule.getGlobal(0), 44);
  t.is(rule.run(1), 50_000);
  t.is(rule.getGlobal(0), 45);
  t.deepEqual(rule.counters(), { saturations: { 0: 3, 1: 0 }, assumptionFailures: 2 });
});

both('a NaN reading in a batch is reported as NaN, not as a non-number an earlier run() read', (t, backend) => {
  const { rule, io } = loadTick(backend);
  io.readSensor = () => ('wet' as unknown as number);
  t.throws(() => rule.run(0), { instanceOf: RuleTrap, message: /returned wet for channel 0/ });
  rule.reset();
  const batch = rule.createBatch(2);
  batch.setTick(0, 1, [], [1, 2]);
  batch.setTick(1, 2, [], [NaN, 2]);
  const { completed, trap } = rule.runBatch(batch);
  t.is(completed, 1);
  t.true(trap?.hostError instanceof InvalidReading);
  t.regex(trap?.message ?? '', /returned NaN for channel 0; it must return a number/);
});

both('a capability violation in a batch traps like in run(), for small and large numbers alike', (t, backend) => {
  // 3 is found through the binding's lookup table, 300 and -1 by its scan.
  for (const channel of [3, 300, -1]) {
    const bytes = sensorRule(channel);
    const rule = loadRuleOn(backend, bytes, { manifest: manifestFor(bytes, { capabilities: { sensor: [0] } }), target: rpi, io: recordingIo() });
    const batch = rule.createBatch(1);
    batch.setTick(0, 0, [], [1]);
    const { completed, trap } = rule.runBatch(batch);
    t.is(completed, 0);
    t.true(trap?.hostError instanceof CapabilityViolation);
    t.regex(trap?.message ?? '', new RegExp(`used sensor channel ${channel} through io\\.sr, but its manifest does not declare it`));
  }
});

both('runBatch refuses, running nothing, a batch of another layout, a bad count, a now that is not finite, and reentry', (t, backend) => {
  const { rule, io } = loadTick(backend);
  const other = loadRuleOn(backend, sensorRule(0), { manifest: manifestFor(sensorRule(0), { capabilities: { sensor: [0] } }), target: rpi, io: recordingIo() });
  t.throws(() => rule.runBatch(other.createBatch(1)), { instanceOf: TypeError, message: /made for other pins, channels or globals/ });
  const batch = rule.createBatch(3);
  [0, 1, 2].forEach((i) => batch.setTick(i, i, [], [i, i]));
  t.throws(() => rule.runBatch(batch, 4), { instanceOf: RangeError });
  t.throws(() => rule.runBatch(batch, 1.5), { instanceOf: RangeError });
  t.throws(() => rule.runBatch({} as never), { instanceOf: TypeError });
  batch.setNow(2, NaN);
  t.throws(() => rule.runBatch(batch), { instanceOf: TypeError, message: 'runBatch: tick 2 needs a finite number of milliseconds as now, not NaN' });
  batch.setNow(1, Infinity);
  t.throws(() => rule.runBatch(batch), { message: /tick 1 needs a finite number of milliseconds as now, not Infinity/ });
  t.is(rule.getGlobal(0), 40, 'no tick ran');
  t.deepEqual(rule.runBatch(batch, 1), { completed: 1, trap: undefined }, 'the rows before count are all that is checked');
  t.deepEqual(rule.runBatch(batch, 0), { completed: 0, trap: undefined });
  t.is(rule.getGlobal(0), 41);
  t.throws(() => batch.setLevel(0, 4, 1), { instanceOf: RangeError, message: /GPIO pin 4 is not a declared input/ });
  t.throws(() => batch.setReading(0, 9, 1), { instanceOf: RangeError, message: /sensor channel 9 is not declared/ });
  t.throws(() => batch.globalsAt(0), { message: /does not record globals/ });
  // From inside a RuleIo callback of the rule's own tick.
  let inner: unknown;
  io.writeGpio = () => { try { rule.runBatch(batch, 1); } catch (e) { inner = e; } };
  rule.run(1);
  t.true(inner instanceof RuleBusy);
  rule.close();
  t.throws(() => rule.runBatch(batch, 1), { instanceOf: RuleNotRunnable });
  other.close();
});

both('now wraps to int32 in a batch as in run(), and levels read by truthiness', (t, backend) => {
  const echo = build((m) => {
    importIo(m, 'gr', 'gw');
    addRun(m, () => m.block(null, [
      m.call('gw', [m.i32.const(17), m.call('gr', [m.i32.const(4)], i32)], none),
      m.return(m.i32.add(m.local.get(0, i32), m.call('gr', [m.i32.const(4)], i32))),
    ]));
  });
  const manifest = manifestFor(echo, { capabilities: { gpio_in: [4], gpio_out: [17] } });
  const rule = loadRuleOn(backend, echo, { manifest, target: rpi, io: recordingIo() });
  const nows = [2 ** 31, -(2 ** 31) - 1, 2 ** 32 + 7, 1e15 + 0.9, -7.9, 123.5];
  const levels = [NaN, 0, -0, 0.25, -3, 1];
  const batch = rule.createBatch(nows.length);
  nows.forEach((now, i) => batch.setTick(i, now, [levels[i]]));
  t.deepEqual(rule.runBatch(batch), { completed: nows.length, trap: undefined });
  const level = (v: number) => (v ? 1 : 0);
  t.deepEqual([...batch.returned], nows.map((now, i) => ((now | 0) + level(levels[i])) | 0));
  t.deepEqual(nows.map((_, i) => batch.writesAt(i)), levels.map((v) => [[17, level(v)]]));
});

// ---- a real caller: `rules run --steps` (Simulation.runSteps) ------------------------------------------------------

/** Steps for a rule: inputs change on some steps and carry over on others, time advances unevenly. */
function stepsFor(result: CompileResult, count: number, seed: number): Step[] {
  const { gpio_in: pins, sensor: channels } = result.artifact!.manifest.capabilities;
  const picks = fc.sample(fc.nat({ max: 999 }), { seed, numRuns: count * 4 });
  return Array.from({ length: count }, (_, i) => {
    const step: Step = { now: i * 700 + (picks[i * 4] % 300) };
    if (picks[i * 4 + 1] % 3 === 0) {
      step.sensors = Object.fromEntries(channels.map((ch, k) => {
        const info = result.target.sensors.find((s) => s.channel === ch)!;
        return [String(ch), Math.round(info.min + ((picks[i * 4 + 2] + k * 97) % 1000) / 999 * (info.max - info.min))];
      }));
    }
    if (picks[i * 4 + 3] % 2 === 0) step.gpio = Object.fromEntries(pins.map((p, k) => [String(p), (picks[i * 4 + 3] >> (k + 1)) & 1]));
    return step;
  });
}

test('Simulation.runSteps (rules run --steps) says what step() says for every example, counters after each step included', async (t) => {
  for (const ex of examples()) {
    const target = loadTarget(ex.targets[0]);
    const result = await compile(ex.source, { target, file: ex.path });
    const steps = stepsFor(result, 60, ex.name.length);
    const one = new Simulation(result);
    const many = new Simulation(result);
    try {
      const expected = steps.map((s) => ({ outcome: one.step(s), counters: one.counters() }));
      const run = many.runSteps(steps);
      t.is(run.error, undefined);
      t.deepEqual(run.outcomes.map((outcome, i) => ({ outcome, counters: run.counters[i] })), expected, ex.name);
      t.deepEqual(many.counters(), one.counters());
      // And the simulation carries on from there, step by step, as the other one does.
      const more = { now: 99_999 };
      t.deepEqual(many.step(more), one.step(more), `${ex.name}: the step after the batch`);
    } finally {
      one.close();
      many.close();
    }
  }
});

test('Simulation.runSteps runs the steps before one whose inputs it refuses, then reports it', async (t) => {
  const target = loadTarget('rpi');
  const source = examples().find((e) => e.name === 'fan_control')!.source;
  const result = await compile(source, { target });
  const steps: Step[] = [{ now: 0, sensors: { 0: 29_000 } }, { now: 500 }, { now: 1000, sensors: { 0: 999_999 } }, { now: 1500 }];
  const sim = new Simulation(result);
  try {
    const run = sim.runSteps(steps);
    t.is(run.outcomes.length, 2);
    t.deepEqual(run.outcomes.map((o) => o.writes), [{ 17: 1 }, { 17: 1 }]);
    t.regex(run.error?.message ?? '', /sensor 0 = 999999 is outside the channel's range/);
  } finally {
    sim.close();
  }
});

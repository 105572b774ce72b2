// The size optimizations of codegen.ts, one small rule each: the exact artifact size and the instruction shape
// that only the optimization gives, and the same behaviour as the reference interpreter on edge inputs (three
// ways: interpreter, wasm3, Node). Then the hand-written WAT floors of bench/floors/: every example artifact is at
// or under its floor on every target, and the floor behaves like the artifact.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compile, ruleTargets, wasmToText } from '../compiler/index.js';
import { loadTarget } from '../contract/targets.js';
import { validateArtifact } from '../engine/index.js';
import { assembleFloor } from '../bench/floors.js';
import { checkRule, type HandTick } from './support/three-way.js';
import { prng } from '../bench/prng.js';
import { repoRoot as ROOT } from './support/paths.js';

const MIN = -2147483648;
const MAX = 2147483647;

async function built(source: string): Promise<{ size: number; code: string }> {
  const result = await compile(source, { target: 'rpi' });
  if (!result.artifact) throw new Error(result.diagnostics.map((d) => `${d.code} ${d.message}`).join('; '));
  const text = (await wasmToText(result.artifact.wasm))!;
  // The code section only: one line, so shapes can be matched with regular expressions.
  return { size: result.artifact.wasm.length, code: text.slice(text.indexOf('(func')).replace(/\s+/g, ' ') };
}

const count = (text: string, what: RegExp) => (text.match(new RegExp(what, 'g')) ?? []).length;

const nows = (...values: number[]): HandTick[] => values.map((now) => ({ now }));

test('a range test `lo <= x && x <= hi` is one unsigned comparison, exact at the bounds and at INT_MIN/INT_MAX', async (t) => {
  const source = 'rule r\nuses gpio_out(1)\non tick {\n  gpio(1) = now >= -5 && now <= 7\n}\n';
  const { size, code } = await built(source);
  t.regex(code, /i32\.le_u/);
  t.is(count(code, /i32\.(lt|le|gt|ge)_s/), 0);
  t.is(size, 65); // two signed comparisons and an `and`: 68
  const summary = await checkRule(source, [nows(MIN, MIN + 1, -6, -5, 0, 7, 8, MAX - 1, MAX)]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('a range wider than 2^31 still tests right: `x - lo` and the width are compared unsigned', async (t) => {
  for (const [op, join] of [['>=', '&&'], ['<', '||']] as const) {
    const other = op === '>=' ? '<=' : '>';
    const source = `rule r\nuses gpio_out(1)\non tick {\n  gpio(1) = now ${op} -2_147_483_000 ${join} now ${other} 2_147_483_000\n}\n`;
    const { code } = await built(source);
    t.regex(code, op === '>=' ? /i32\.le_u/ : /i32\.gt_u/);
    const summary = await checkRule(source, [nows(MIN, -2_147_483_001, -2_147_483_000, -1, 0, 2_147_483_000, 2_147_483_001, MAX)]);
    t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
  }
});

test('a boolean latch with hysteresis is one select on the state, no `if`', async (t) => {
  const source = `rule latch
uses sensor(0), gpio_out(17)
state fan = false
on tick {
  let t = sensor(0)
  if t > 28_000 { fan = true }
  else if t < 26_000 { fan = false }
  gpio(17) = fan
}
`;
  const { size, code } = await built(source);
  t.is(count(code, /\(if/), 0);
  t.is(count(code, /\(select/), 1);
  t.is(size, 98); // as binaryen leaves it, an if/else-if with two global.sets: 108; as `fan = t > ON | fan & t >= OFF`: 99
  const temps = [25_999, 26_000, 27_000, 28_000, 28_001, 27_000, 26_000, 25_999, 27_000, 30_000, -40_000];
  const summary = await checkRule(source, [temps.map((v, i) => ({ now: i, sensors: { 0: v } }))]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('an if/else-if writing one pin is one write under one range test', async (t) => {
  const source = `rule pins
uses sensor(0), gpio_out(23)
on tick {
  let t = sensor(0)
  if t < 3_000 { gpio(23) = 1 }
  else if t > 6_000 { gpio(23) = 0 }
}
`;
  const { size, code } = await built(source);
  t.is(count(code, /\(call/), 2); // the sensor read and one write
  t.regex(code, /i32\.gt_u/);
  t.is(size, 88); // two writes under two ifs: 96; one write under two signed comparisons: 91
  const temps = [2_999, 3_000, 4_500, 6_000, 6_001, -40_000, 125_000];
  const summary = await checkRule(source, [temps.map((v, i) => ({ now: i, sensors: { 0: v } }))]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('`if c then K else 0` for a boolean c is c * K', async (t) => {
  const source = 'rule r\nuses sensor(0)\non tick {\n  return if sensor(0) < 8_000 then 10_000 else 0\n}\n';
  const { size, code } = await built(source);
  t.regex(code, /i32\.mul/);
  t.is(count(code, /select|\(if/), 0);
  t.is(size, 59); // a select of two constants: 61
  const summary = await checkRule(source, [[7_999, 8_000, -40_000].map((v, i) => ({ now: i, sensors: { 0: v } }))]);
  t.deepEqual(summary.ran, ['rpi', 'stm32', 'nrf5340']);
});

test('a counter capped with min(n + 1, K), n never above K, is n + (n < K); not when n may exceed K', async (t) => {
  const capped = `rule r
uses sensor(0), gpio_out(1)
state n = 0
on tick {
  if sensor(0) > 100 { n = min(n + 1, 10) } else { n = 0 }
  gpio(1) = n >= 10
}
`;
  const { size, code } = await built(capped);
  t.is(count(code, /select|\(if|local\.tee/), 0);
  t.is(size, 97); // a select on a tee'd n + 1: 109
  const ticks = Array.from({ length: 14 }, (_, i) => ({ now: i, sensors: { 0: i === 12 ? 0 : 500 } }));
  t.deepEqual((await checkRule(capped, [ticks])).ran, ['rpi', 'stm32', 'nrf5340']);
  // n starts at 50: min(n + 1, 10) must give 10 at once, not 50 + 0.
  const uncapped = capped.replace('state n = 0', 'state n = 50');
  t.regex((await built(uncapped)).code, /select/);
  t.deepEqual((await checkRule(uncapped, [ticks])).ran, ['rpi', 'stm32', 'nrf5340']);
});

test('a reset guarded by the state (`s && gpio(5) == 1 && ...`) reads the pin only while s holds', async (t) => {
  const source = `rule r
uses sensor(0), gpio_in(5), gpio_out(7)
state tripped = false
on tick {
  let t = sensor(0)
  if t >= 90_000 { tripped = true }
  else if tripped && gpio(5) == 1 && t < 70_000 { tripped = false }
  gpio(7) = tripped
}
`;
  const { size, code } = await built(source);
  // The one read of pin 5 sits in the arm taken when tripped.
  t.regex(code, /\(if \(result i32\) \(global\.get \$global\$0\) \(then \(i32\.and \(call \$fimport\$0 \(i32\.const 5\)/);
  t.is(size, 123); // the guard `if tripped then gpio(5) else 0` kept inside the `and`: 126
  const ticks: HandTick[] = [[80_000, 1], [95_000, 0], [80_000, 1], [60_000, 0], [60_000, 1], [60_000, 1], [91_000, 1]]
    .map(([v, pin], i) => ({ now: i, sensors: { 0: v }, pins: { 5: pin } }));
  t.deepEqual((await checkRule(source, [ticks])).ran, ['rpi', 'stm32', 'nrf5340']);
});

test('a local set right before the expression that first reads it becomes a tee', async (t) => {
  const source = `rule r
uses gpio_in(8), gpio_out(9)
state last = 0
state edge = 0
on tick {
  let level = gpio(8)
  if level != last {
    last = level
    edge = now
  }
  gpio(9) = now - edge > 3_000
}
`;
  const { size, code } = await built(source);
  t.regex(code, /\(if \(i32\.ne \(local\.tee \$1 \(call/);
  t.is(size, 109); // local.set, then local.get in the condition: 111
  const ticks: HandTick[] = [[0, 0], [1, 1000], [1, 5000], [0, 5001], [0, 9000]].map(([pin, now]) => ({ now, pins: { 8: pin } }));
  t.deepEqual((await checkRule(source, [ticks])).ran, ['rpi', 'stm32', 'nrf5340']);
});

// ---- the hand-written floors --------------------------------------------------------------------------------------

const FLOORS = join(ROOT, 'bench', 'floors');
const floorNames = readdirSync(FLOORS).filter((f) => f.endsWith('.wat')).map((f) => basename(f, '.wat')).sort();

test('there are at least five hand-written floors, each of an example rule', (t) => {
  t.true(floorNames.length >= 5);
  for (const name of floorNames) t.notThrows(() => readFileSync(join(ROOT, 'rules', `${name}.rule`)));
});

for (const name of floorNames) {
  test(`floor ${name}: follows the ABI, behaves like the artifact, and no target's artifact is bigger`, async (t) => {
    const source = readFileSync(join(ROOT, 'rules', `${name}.rule`), 'utf8');
    const targets = ruleTargets(source)!;
    const floor = await assembleFloor(join(FLOORS, `${name}.wat`));
    for (const target of targets) {
      const profile = loadTarget(target);
      const { artifact } = await compile(source, { target: profile });
      t.truthy(artifact, `${name} builds for ${target}`);
      t.true(artifact!.wasm.length <= floor.length, `${name} for ${target}: ${artifact!.wasm.length} B, floor ${floor.length} B`);
      // Same imports and state slots as the artifact, so its manifest fits the floor too.
      t.deepEqual(validateArtifact(floor, { ...artifact!.manifest, size: floor.length, sha256: sha256(floor) }, profile), []);
    }
    // Same outputs and delays tick by tick on pseudo-random readings within the manifest's ranges.
    const { artifact } = await compile(source, { target: targets[0] });
    const manifest = artifact!.manifest;
    const rnd = prng(name.length * 7919);
    const sensors = new Map<number, number>();
    const pins = new Map<number, number>();
    const instance = (bytes: Uint8Array, writes: string[]) => new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), {
      io: {
        gr: (p: number) => pins.get(p) ?? 0,
        sr: (c: number) => sensors.get(c) ?? 0,
        gw: (p: number, level: number) => { writes.push(`${p}=${level ? 1 : 0}`); },
      },
    }).exports.run as (now: number) => number;
    const oursWrites: string[] = [];
    const floorWrites: string[] = [];
    const ours = instance(artifact!.wasm, oursWrites);
    const theirs = instance(floor, floorWrites);
    let now = 0;
    for (let tick = 0; tick < 3_000; tick++) {
      for (const r of manifest.ranges) {
        const near = [r.min, r.max, 0, 1_000, 26_000, 28_000, 3_000, 6_000, 8_000, 70_000, 90_000, 40, 180][Math.floor(rnd() * 13)];
        const v = rnd() < 0.3 ? near + Math.floor(rnd() * 3) - 1 : r.min + rnd() * (r.max - r.min);
        sensors.set(r.channel, Math.round(Math.min(r.max, Math.max(r.min, v))));
      }
      for (const p of manifest.capabilities.gpio_in) pins.set(p, rnd() < 0.5 ? 1 : 0);
      oursWrites.length = 0;
      floorWrites.length = 0;
      const a = ours(now | 0);
      const b = theirs(now | 0);
      if (a !== b || oursWrites.join() !== floorWrites.join()) {
        t.fail(`tick ${tick}: artifact ${oursWrites.join()} -> ${a}, floor ${floorWrites.join()} -> ${b}`);
        return;
      }
      now += rnd() < 0.1 ? Math.floor(rnd() * 100_000) : manifest.periodMs;
    }
    t.pass();
  });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---- the rewrites on many small rules of the shapes they target ---------------------------------------------------

test('latches, pin chains, range tests and choices with random bounds agree three ways, bounds at the int extremes included', async (t) => {
  const rnd = prng(20261130);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const bound = () => pick([MIN + 1, -2_147_483_000, -70_000, -5, 0, 1, 7, 26_000, 28_000, 2_147_483_000, MAX - 1]);
  const cmp = () => pick(['<', '<=', '>', '>='] as const);
  const subject = () => pick(['now', 'sensor(0)']);
  const templates: (() => string)[] = [
    () => `state v = ${pick(['true', 'false'])}\non tick {\n  let x = ${subject()}\n  if x ${cmp()} ${bound()} { v = ${pick(['true', 'false', '!v'])} }\n`
      + `  else if x ${cmp()} ${bound()} { v = ${pick(['true', 'false', 'x > 3'])} }\n  gpio(3) = v\n}`,
    () => `state n = ${pick([0, 5, 10, 50])}\non tick {\n  if ${subject()} ${cmp()} ${bound()} { n = min(n + 1, 10) } else { n = ${pick([0, 'max(n - 1, 0)'])} }\n  return n\n}`,
    () => `on tick {\n  let x = ${subject()}\n  if x ${cmp()} ${bound()} { gpio(3) = ${pick(['1', '0', 'x > 9'])} }\n`
      + `  else if x ${cmp()} ${bound()} { gpio(3) = ${pick(['1', '0', 'x < 9'])} }\n}`,
    () => `on tick {\n  let x = ${subject()}\n  gpio(3) = x ${cmp()} ${bound()} ${pick(['&&', '||'])} x ${cmp()} ${bound()}\n}`,
    () => `on tick {\n  return if ${subject()} ${cmp()} ${bound()} then ${pick([0, 1, 500, -7, MAX])} else ${pick([0, 1, 9])}\n}`,
    () => `state s = ${pick(['true', 'false'])}\non tick {\n  let x = ${subject()}\n  if x >= ${bound()} { s = true }\n`
      + `  else if s && gpio(5) == 1 && x < ${bound()} { s = false }\n  gpio(3) = s\n}`,
  ];
  const ticks: HandTick[] = Array.from({ length: 24 }, (_, i) => ({
    now: pick([MIN, MIN + 1, -2_147_483_001, -2_147_483_000, -6, -5, 0, 7, 8, 26_000, 28_001, 2_147_483_000, 2_147_483_001, MAX, i]),
    sensors: { 0: pick([-40_000, -5, 0, 1, 7, 25_999, 26_000, 28_000, 28_001, 70_000, 125_000]) },
    pins: { 5: i % 3 === 0 ? 1 : 0 },
  }));
  let ran = 0;
  for (let i = 0; i < 48; i++) {
    const source = `rule r${i}\nuses sensor(0), gpio_in(5), gpio_out(3)\n${templates[i % templates.length]()}\n`;
    try {
      const summary = await checkRule(source, [ticks], { targets: ['rpi'] });
      ran += summary.ran.length;
    } catch (e) {
      t.fail(`${(e as Error).message}\n${source}`);
      return;
    }
  }
  t.true(ran >= 40, `${ran} of 48 rules ran`);
});

test('int(float) of a value known to be well inside the int range is one truncation, without the saturating helper', async (t) => {
  const known = 'rule r\nuses sensor(0)\non tick {\n  let c = float(sensor(0)) / 1000.0\n  return int(c * 1.8 + 32.0)\n}\n';
  const { size, code } = await built(known);
  t.regex(code, /i32\.trunc_f32_s/);
  t.is(count(code, /f32\.abs|f32\.ne|\(call \$[^f]/), 0);
  t.is(size, 70); // with the NaN and range checks: 114
  const temps = [-40_000, -17_778, -1, 0, 1, 37_000, 125_000];
  const ticks = temps.map((v, i) => ({ now: i, sensors: { 0: v } }));
  t.deepEqual((await checkRule(known, [ticks], { usesFloat: true })).ran, ['rpi', 'nrf5340']);
  // float(now) * 4.0 can leave the int range: the checks stay, and saturate.
  const unknown = 'rule r\non tick {\n  return int(float(now) * 4.0)\n}\n';
  t.regex((await built(unknown)).code, /f32\.abs/);
  t.deepEqual((await checkRule(unknown, [nows(MIN, -600_000_000, -1, 0, 1, 600_000_000, MAX)], { usesFloat: true })).ran, ['rpi', 'nrf5340']);
});

test('in-artifact assumptions in a row are one guard', async (t) => {
  const source = `rule r
uses sensor(0..3), gpio_out(1)
requires sensor(0) < sensor(1)
requires sensor(2) < sensor(3)
on tick {
  gpio(1) = sensor(0) > 5
}
`;
  const { code } = await built(source);
  t.is(count(code, /\(return/), 1); // one guard per `requires`: 2
  const ticks: HandTick[] = [[1, 2, 3, 4], [2, 1, 3, 4], [1, 2, 4, 3], [2, 1, 4, 3], [6, 9, 0, 1]]
    .map(([a, b, c, d], i) => ({ now: i, sensors: { 0: a, 1: b, 2: c, 3: d } }));
  t.deepEqual((await checkRule(source, [ticks])).ran, ['rpi', 'stm32', 'nrf5340']);
});

// The module verifier on what the compiler really produces: every example and a fixed sample of generated rules are
// accepted with a bound equal to the manifest's claim, and the bound is never below the instructions a tick really
// executes, measured on an instrumented copy. Its type checker is also held against V8's on mutated modules.
import test from 'ava';
import fc from 'fast-check';
import { compile } from '../compiler/index.js';
import { loadTarget, type TargetProfile } from '../contract/targets.js';
import { verifyModule, type Verdict } from '../contract/verify.js';
import { examples } from './support/examples.js';
import { MeasuredRule, type MeasuringIo } from './support/instrument.js';
import { FLOAT_RULES, FN_RULES, INT_RULES, LOOP_RULES, ruleArbitrary, type GeneratorOptions } from './support/rule-generator.js';
import { verifierVectors, watToWasm } from './support/vectors.js';

const TARGETS = ['rpi', 'stm32', 'nrf5340'].map((name) => loadTarget(name));
/** Fixed: CI checks the same rules every run, and never cuts the sample short. */
const SEED = 7_2026;
const RULES_PER_GENERATOR = 20;
const TICKS_PER_ARTIFACT = 25;

function verifyFor(wasm: Uint8Array, claim: number, target: TargetProfile): Verdict {
  return verifyModule(wasm, { claim, targetLimit: target.maxInstructionsPerTick, floatingPoint: target.floatingPoint });
}

/** Inputs drawn from a seeded generator: readings within the target's range (as hosts saturate them), any level. */
function randomIo(target: TargetProfile, random: () => number): MeasuringIo {
  const ranges = new Map(target.sensors.map((s) => [s.channel, s] as const));
  return {
    gr: () => (random() < 0.5 ? 0 : 1),
    gw: () => {},
    sr: (channel) => {
      const r = ranges.get(channel);
      if (!r) return 0;
      const pick = random();
      // The edges of the range are where branches flip most often.
      return pick < 0.15 ? r.min : pick < 0.3 ? r.max : Math.floor(r.min + random() * (r.max - r.min + 1));
    },
  };
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The most instructions any of `ticks` random ticks executed. */
function measure(wasm: Uint8Array, target: TargetProfile, seed: number, ticks: number): number {
  const random = seededRandom(seed);
  const rule = new MeasuredRule(wasm, randomIo(target, random));
  let most = 0;
  for (let i = 0; i < ticks; i++) most = Math.max(most, rule.tick(Math.floor(random() * 2 ** 32)));
  return most;
}

test('every example artifact is accepted, with a bound equal to its manifest\'s claim and above what it executes', async (t) => {
  let checked = 0;
  for (const example of examples()) {
    for (const name of example.targets) {
      const target = loadTarget(name);
      const { artifact } = await compile(example.source, { target, file: example.path });
      if (!artifact) {
        t.fail(`${example.name} does not build for ${name}`);
        continue;
      }
      const verdict = verifyFor(artifact.wasm, artifact.manifest.maxInstructionsPerTick, target);
      if (!verdict.ok) {
        t.fail(`${example.name} on ${name}: ${verdict.refusal.code}: ${verdict.refusal.message}`);
        continue;
      }
      t.is(verdict.bound, artifact.manifest.maxInstructionsPerTick, `${example.name} on ${name}`);
      const measured = measure(artifact.wasm, target, checked, 200);
      t.true(measured <= verdict.bound, `${example.name} on ${name}: executed ${measured} > bound ${verdict.bound}`);
      t.true(measured > 0);
      checked++;
    }
  }
  t.true(checked >= 30, `only ${checked} artifacts`);
});

const generators: [string, GeneratorOptions][] = [['int', INT_RULES], ['loop', LOOP_RULES], ['fn', FN_RULES], ['float', FLOAT_RULES]];

for (const [index, [name, options]] of generators.entries()) {
  test(`generated ${name} rules: every artifact is accepted and no tick executes more than the bound`, async (t) => {
    const rules = fc.sample(ruleArbitrary(options), { seed: SEED + index, numRuns: RULES_PER_GENERATOR });
    let artifacts = 0;
    let loops = 0;
    let tightest = 0;
    for (const [r, rule] of rules.entries()) {
      for (const target of TARGETS) {
        const { artifact } = await compile(rule.source, { target });
        if (!artifact) continue; // a rule may legitimately not fit a target; the differential tests check why
        artifacts++;
        const verdict = verifyFor(artifact.wasm, artifact.manifest.maxInstructionsPerTick, target);
        if (!verdict.ok) {
          t.fail(`refused on ${target.name}: ${verdict.refusal.code}: ${verdict.refusal.message}\n${rule.source}`);
          continue;
        }
        t.true(verdict.bound <= artifact.manifest.maxInstructionsPerTick);
        if (artifact.wasm.includes(0x03)) loops++;
        const measured = measure(artifact.wasm, target, r, TICKS_PER_ARTIFACT);
        if (measured > verdict.bound) t.fail(`on ${target.name}: a tick executed ${measured} > bound ${verdict.bound}\n${rule.source}`);
        tightest = Math.max(tightest, measured / verdict.bound);
      }
    }
    t.log(`${artifacts} artifacts from ${rules.length} rules; the closest tick came to ${(tightest * 100).toFixed(0)} % of its bound`);
    t.true(artifacts >= RULES_PER_GENERATOR, `only ${artifacts} artifacts`);
    t.true(loops > 0 || name !== 'loop', 'the loop generator produced no artifact with a loop opcode byte');
  });
}

test('the measured count equals the bound on the vectors whose path does not depend on their inputs', (t) => {
  const straight = ['accept-minimal', 'accept-repeat-loop', 'accept-nested-loops', 'accept-wrapping-counter', 'accept-helper-calls',
    'accept-float-state', 'accept-zero-start-counter', 'accept-step-by-sub-negative'];
  const vectors = verifierVectors().filter((v) => v.expect.verdict === 'accept');
  t.true(straight.every((name) => vectors.some((v) => v.name === name)));
  for (const v of vectors) {
    const wasm = watToWasm(v.path);
    const verdict = verifyModule(wasm, { claim: v.claim, targetLimit: v.limit, floatingPoint: v.floatingPoint });
    if (!verdict.ok) {
      t.fail(`${v.name} refused`);
      continue;
    }
    const measured = measure(wasm, loadTarget('rpi'), 1, 50);
    if (straight.includes(v.name)) t.is(measured, verdict.bound, v.name);
    else t.true(measured <= verdict.bound, v.name);
  }
});

test('whatever the verifier accepts, V8 validates too: mutated artifacts, fixed seed', async (t) => {
  const target = loadTarget('rpi');
  const seeds: Uint8Array[] = [];
  for (const example of examples().filter((e) => e.targets.includes('rpi'))) {
    const { artifact } = await compile(example.source, { target });
    if (artifact) seeds.push(artifact.wasm);
  }
  const random = seededRandom(SEED);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 5_000; i++) {
    const bytes = Uint8Array.from(seeds[i % seeds.length]);
    const edits = 1 + Math.floor(random() * 3);
    for (let e = 0; e < edits; e++) {
      const at = 8 + Math.floor(random() * (bytes.length - 8));
      bytes[at] = random() < 0.5 ? Math.floor(random() * 256) : bytes[at] ^ (1 << Math.floor(random() * 8));
    }
    let verdict: Verdict;
    try {
      verdict = verifyFor(bytes, target.maxInstructionsPerTick, target);
    } catch (e) {
      t.fail(`the verifier threw on ${Buffer.from(bytes).toString('hex')}: ${(e as Error).stack}`);
      return;
    }
    if (verdict.ok) {
      accepted++;
      if (!WebAssembly.validate(bytes)) t.fail(`accepted but invalid for V8: ${Buffer.from(bytes).toString('hex')}`);
    } else {
      refused++;
    }
  }
  t.log(`${accepted} mutants accepted, ${refused} refused`);
  t.true(accepted > 50 && refused > 1000);
});

test('truncated and garbled modules are refused as malformed, never thrown', (t) => {
  const bytes = watToWasm(verifierVectors().find((v) => v.name === 'accept-helper-calls')!.path);
  for (let length = 0; length < bytes.length; length++) {
    const verdict = verifyFor(bytes.subarray(0, length), 1000, loadTarget('rpi'));
    t.false(verdict.ok, `accepted a prefix of ${length} bytes`);
    if (!verdict.ok) t.true(['malformed', 'export'].includes(verdict.refusal.code), `${length}: ${verdict.refusal.code}`);
  }
});

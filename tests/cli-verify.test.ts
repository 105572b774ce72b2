// `rules verify` through the real CLI: the verdict, the reason and the bound, exit 0 when accepted, 1 when refused,
// 2 when a file or the target is missing; and the example in docs/device-abi.md is what it prints.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rules } from './support/cli.js';
import { repoRoot } from './support/paths.js';
import { vectorsDir, watToWasm } from './support/vectors.js';

const dir = mkdtempSync(join(tmpdir(), 'rules-verify-'));
const built = rules(['build', join(repoRoot, 'rules', 'fan_control.rule'), '--target', 'stm32', '--out', join(dir, 'build', 'stm32')]);
const fanWasm = join(dir, 'build', 'stm32', 'fan_control.wasm');
const fanManifest = JSON.parse(readFileSync(join(dir, 'build', 'stm32', 'fan_control.manifest.json'), 'utf8'));

function noStackTrace(t: { false: (v: boolean, m?: string) => void }, text: string): void {
  t.false(/\n\s+at .+:\d+:\d+\)?/.test(text), `stack trace in output:\n${text}`);
}

test('an artifact from rules build is accepted: exit 0, the bound equals the manifest\'s claim', (t) => {
  t.is(built.code, 0, built.stderr);
  const r = rules(['verify', fanWasm, '--target', 'stm32']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${fanWasm}: accepted for stm32: at most ${fanManifest.maxInstructionsPerTick} instructions per tick ` +
    `(the manifest claims ${fanManifest.maxInstructionsPerTick}; stm32 allows 1000)\n`);
  const json = JSON.parse(rules(['verify', fanWasm, '--target', 'stm32', '--json']).stdout);
  t.like(json, { verdict: 'accepted', bound: fanManifest.maxInstructionsPerTick, claim: fanManifest.maxInstructionsPerTick, limit: 1000, code: null });
  t.true(json.functions.length >= 1);
});

test('the loop br 0 module claiming 100 instructions is refused: exit 1, the reason names function and offset', (t) => {
  const wasm = join(dir, 'forever.wasm');
  writeFileSync(wasm, watToWasm(join(vectorsDir, 'refuse-loop-br-0-forever.wat')));
  writeFileSync(join(dir, 'forever.manifest.json'), JSON.stringify({ maxInstructionsPerTick: 100 }));
  const r = rules(['verify', wasm, '--target', 'rpi']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /forever\.wasm: refused for rpi \(loop-form\): function 0, loop at offset 0x[0-9a-f]+: expected the canonical counted loop/);
  const json = JSON.parse(rules(['verify', wasm, '--target', 'rpi', '--json']).stdout);
  t.like(json, { verdict: 'refused', code: 'loop-form', function: 0, bound: null, claim: 100, limit: 10000 });
  t.is(typeof json.offset, 'number');
});

test('a false claim is refused with the computed bound; --manifest names another manifest', (t) => {
  const low = join(dir, 'low.manifest.json');
  writeFileSync(low, JSON.stringify({ ...fanManifest, maxInstructionsPerTick: 3 }));
  const r = rules(['verify', fanWasm, '--target', 'stm32', '--manifest', low]);
  t.is(r.code, 1);
  t.regex(r.stdout, new RegExp(`refused for stm32 \\(over-claim\\): one tick may execute ${fanManifest.maxInstructionsPerTick} instructions, ` +
    `more than the 3 the manifest claims\n  computed bound: ${fanManifest.maxInstructionsPerTick} instructions per tick\n`));
  const over = join(dir, 'over.manifest.json');
  writeFileSync(over, JSON.stringify({ maxInstructionsPerTick: 5000 }));
  const o = rules(['verify', fanWasm, '--target', 'stm32', '--manifest', over, '--json']);
  t.is(o.code, 1);
  t.like(JSON.parse(o.stdout), { verdict: 'refused', code: 'claim' });
});

test('missing files, a manifest without a claim and an unknown target exit 2 with a message', (t) => {
  const noManifest = join(dir, 'lonely.wasm');
  writeFileSync(noManifest, readFileSync(fanWasm));
  const notJson = join(dir, 'bad.manifest.json');
  writeFileSync(notJson, '{ nope');
  const noClaim = join(dir, 'noclaim.manifest.json');
  writeFileSync(noClaim, '{"rule": "x"}');
  for (const [args, message] of [
    [['verify', join(dir, 'missing.wasm'), '--target', 'rpi'], /cannot read the artifact .*missing\.wasm: ENOENT/],
    [['verify', noManifest, '--target', 'rpi'], /cannot read the manifest .*lonely\.manifest\.json: ENOENT/],
    [['verify', fanWasm, '--target', 'rpi', '--manifest', notJson], /is not JSON/],
    [['verify', fanWasm, '--target', 'rpi', '--manifest', noClaim], /has no maxInstructionsPerTick/],
    [['verify', fanWasm, '--target', 'esp32'], /unknown target "esp32"/],
    [['verify', fanWasm], /target/],
  ] as [string[], RegExp][]) {
    const r = rules(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    noStackTrace(t, r.stderr);
  }
});

test('the rules verify example in docs/device-abi.md is what the command prints', (t) => {
  const doc = readFileSync(join(repoRoot, 'docs', 'device-abi.md'), 'utf8');
  const m = /\$ rules verify build\/stm32\/fan_control\.wasm --target stm32\n(.+)\n/.exec(doc);
  t.truthy(m, 'the example is missing from docs/device-abi.md');
  const r = rules(['verify', 'build/stm32/fan_control.wasm', '--target', 'stm32'], { cwd: dir });
  t.is(r.stdout, `${m![1]}\n`);
});

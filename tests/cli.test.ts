// The command line as users meet it: exit codes (0 ok, 1 rule errors, 2 usage), outputs on disk,
// --json, and clear messages instead of stack traces for bad input.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rules } from './support/cli.js';

const FAN = `# Fan on above 28 °C, off below 26 °C.
rule fan_control "Fan with hysteresis"
uses sensor(0), gpio_out(17)
every 500ms

const ON  = 28_000
const OFF = 26_000

on tick {
  let t = sensor(0)
  if t > ON { gpio(17) = 1 }
  else if t < OFF { gpio(17) = 0 }
}

test "turns the fan on when hot" {
  sensor(0) = 29_000
  tick
  expect gpio(17) == 1
}
`;

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function noStackTrace(t: { false: (v: boolean, m?: string) => void }, text: string): void {
  t.false(/\n\s+at .+:\d+:\d+\)?/.test(text), `stack trace in output:\n${text}`);
}

test('build writes the artifact and manifest into build/<target> and exits 0', (t) => {
  const dir = workspace({ 'fan.rule': FAN });
  const r = rules(['build', 'fan.rule', '--target', 'stm32'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /fan_control: \d+\/160 B, imports io.gw io.sr, <= \d+ instructions\/tick/);
  const wasm = readFileSync(join(dir, 'build', 'stm32', 'fan_control.wasm'));
  const manifest = JSON.parse(readFileSync(join(dir, 'build', 'stm32', 'fan_control.manifest.json'), 'utf8'));
  t.is(manifest.size, wasm.length);
  t.is(manifest.rule, 'fan_control');
  t.is(manifest.target, 'stm32');
  t.is(manifest.abi, 1);
  t.is(manifest.periodMs, 500);
  t.deepEqual(manifest.capabilities, { sensor: [0], gpio_in: [], gpio_out: [17] });
  t.deepEqual(manifest.imports, ['io.gw', 'io.sr']);
  t.is(manifest.version, 1);
  t.regex(manifest.sha256, /^[0-9a-f]{64}$/);
  t.regex(manifest.sourceSha256, /^[0-9a-f]{64}$/);
  t.is(manifest.compiler.name, 'rules');
});

test('build with errors exits 1, shows file:line:col with a caret and a hint, and writes nothing', (t) => {
  const bad = FAN.replace('let t = sensor(0)', 'let t = sensor(0) / sensor(0)');
  const dir = workspace({ 'fan.rule': bad });
  const r = rules(['build', 'fan.rule', '--target', 'rpi', '--out', 'out'], { cwd: dir });
  t.is(r.code, 1);
  t.regex(r.stderr, /fan\.rule:10:23: error\[E0350\]: the divisor may be zero/);
  t.regex(r.stderr, /10 \|   let t = sensor\(0\) \/ sensor\(0\)\n\s+\|\s+\^{9}/);
  t.regex(r.stderr, /= hint: use `div\(a, b, fallback\)`/);
  t.false(existsSync(join(dir, 'out', 'fan_control.wasm')));
  noStackTrace(t, r.stderr);
});

test('a rule that stops building leaves no stale artifact behind', (t) => {
  const dir = workspace({ 'fan.rule': FAN });
  t.is(rules(['build', 'fan.rule', '-t', 'rpi', '-o', 'out'], { cwd: dir }).code, 0);
  t.true(existsSync(join(dir, 'out', 'fan_control.wasm')));
  writeFileSync(join(dir, 'fan.rule'), FAN.replace('gpio(17) = 1', 'gpio(18) = 1'));
  t.is(rules(['build', 'fan.rule', '-t', 'rpi', '-o', 'out'], { cwd: dir }).code, 1);
  t.false(existsSync(join(dir, 'out', 'fan_control.wasm')));
  t.false(existsSync(join(dir, 'out', 'fan_control.manifest.json')));
});

test('all errors of a file are reported, not just the first', (t) => {
  const dir = workspace({ 'r.rule': 'rule r\nuses gpio_out(1)\non tick {\n  gpio(2) = 1\n  x = 3\n  gpio(1) = nope\n}\n' });
  const r = rules(['check', 'r.rule', '-t', 'rpi'], { cwd: dir });
  t.is(r.code, 1);
  t.is(r.stderr.match(/error\[/g)?.length, 3);
});

test('--json gives the diagnostics as data', (t) => {
  const dir = workspace({ 'r.rule': 'rule r\nuses sensor(0..1), gpio_out(1)\non tick {\n  gpio(1) = sensor(0) / sensor(1) > 2\n}\n' });
  const r = rules(['build', 'r.rule', '-t', 'rpi', '--json'], { cwd: dir });
  t.is(r.code, 1);
  const out = JSON.parse(r.stdout);
  t.false(out.ok);
  const [d] = out.rules[0].diagnostics;
  t.like(d, { file: 'r.rule', code: 'E0350', severity: 'error', line: 4, column: 25, endLine: 4, endColumn: 34 });
  t.truthy(d.hint);
});

test('--json on success lists the manifest and paths', (t) => {
  const dir = workspace({ 'fan.rule': FAN });
  const r = rules(['build', 'fan.rule', '-t', 'nrf5340', '--json', '-o', 'o'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.true(out.ok);
  t.is(out.rules[0].manifest.target, 'nrf5340');
  t.is(out.rules[0].wasm, join('o', 'fan_control.wasm'));
});

test('warnings do not fail the build', (t) => {
  const dir = workspace({ 'r.rule': 'rule r\nuses sensor(0..3), gpio_out(1)\non tick { gpio(1) = sensor(0) > 0 }\n' });
  const r = rules(['build', 'r.rule', '-t', 'rpi'], { cwd: dir });
  t.is(r.code, 0);
  t.regex(r.stderr, /warning\[W0201\]: sensor\(1, 2, 3\) is declared but never used/);
});

test('two rules with the same name are refused', (t) => {
  const dir = workspace({ 'a.rule': FAN, 'b.rule': FAN });
  const r = rules(['build', 'a.rule', 'b.rule', '-t', 'rpi', '-o', 'out'], { cwd: dir });
  t.is(r.code, 1);
  t.regex(r.stderr, /error\[E0701\]: rule `fan_control` is also defined in a\.rule/);
  t.true(existsSync(join(dir, 'out', 'fan_control.wasm')), 'the first one still builds');
});

test('usage errors exit 2 with a message, never a stack trace', (t) => {
  const dir = workspace({ 'fan.rule': FAN, 'notes.txt': 'x' });
  const cases: [string[], RegExp][] = [
    [['build', 'fan.rule'], /Missing required argument: target/],
    [['build', 'fan.rule', '--target', 'esp32'], /unknown target "esp32"; choose one of: nrf5340, rpi, stm32/],
    [['build', 'missing.rule', '--target', 'rpi'], /no such file or directory: missing\.rule/],
    [['build', 'notes.txt', '--target', 'rpi'], /notes\.txt is not a \.rule file/],
    [['frobnicate'], /Unknown argument: frobnicate/],
    [[], /name a command/],
    [['build', 'fan.rule', '-t', 'rpi', '--rule-version', '0'], /--rule-version must be a positive integer/],
    [['inspect', 'nothing.wasm'], /cannot read nothing\.wasm/],
    [['run', 'fan.rule', '-t', 'rpi', '--sensor', 'zero=1'], /expected CH=VALUE/],
  ];
  for (const [args, message] of cases) {
    const r = rules(args, { cwd: dir });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
    noStackTrace(t, r.stderr);
  }
});

test('check runs every check but writes nothing', (t) => {
  const dir = workspace({ 'fan.rule': FAN });
  const r = rules(['check', 'fan.rule', '-t', 'stm32'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /1 rule OK for stm32/);
  t.false(existsSync(join(dir, 'build')));
  const big = rules(['check', join(process.cwd(), 'tests/golden/E0501-artifact-too-big.rule'), '-t', 'stm32'], { cwd: dir });
  t.is(big.code, 1);
  t.regex(big.stderr, /error\[E0501\]: rule `r` compiles to \d+ bytes; target stm32 allows 160/);
  t.regex(big.stderr, /= note: by section: type \d+ B, import \d+ B/);
});

test('inspect shows sections, imports, exports and the code', (t) => {
  const dir = workspace({ 'fan.rule': FAN, 'junk.wasm': 'not wasm at all' });
  t.is(rules(['build', 'fan.rule', '-t', 'rpi', '-o', '.'], { cwd: dir }).code, 0);
  const r = rules(['inspect', 'fan_control.wasm'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /sections:\n\s+type\s+\d+ B/);
  t.regex(r.stdout, /io\.sr\s+\(i32\) -> i32/);
  t.regex(r.stdout, /run\s+\(i32\) -> i32/);
  t.regex(r.stdout, /\(call \$fimport\$\d+\n?\s*\(i32\.const 17\)/);
  const json = JSON.parse(rules(['inspect', 'fan_control.wasm', '--json'], { cwd: dir }).stdout);
  t.is(json.size, readFileSync(join(dir, 'fan_control.wasm')).length);
  t.deepEqual(json.exports.map((e: { name: string }) => e.name), ['run']);
  const junk = rules(['inspect', 'junk.wasm'], { cwd: dir });
  t.is(junk.code, 1);
  t.regex(junk.stderr, /not a valid WebAssembly module/);
});

test('targets lists the three profiles with their limits', (t) => {
  const r = rules(['targets']);
  t.is(r.code, 0);
  t.regex(r.stdout, /max artifact\s+192 B\s+200 B\s+160 B/);
  t.regex(r.stdout, /floating point\s+yes\s+yes\s+no/);
  const json = JSON.parse(rules(['targets', '--json']).stdout);
  t.deepEqual(json.map((p: { name: string }) => p.name), ['nrf5340', 'rpi', 'stm32']);
});

test('test runs the test blocks on wasm3 and reports a failing expect with its values', (t) => {
  const dir = workspace({ 'good.rule': FAN, 'bad.rule': FAN.replace('fan_control', 'fan_bad').replace('expect gpio(17) == 1', 'expect gpio(17) == 0') });
  const ok = rules(['test', 'good.rule', '--target', 'stm32'], { cwd: dir });
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.regex(ok.stdout, /good\.rule \(fan_control, stm32, wasm3\)\n  passed  turns the fan on when hot/);
  t.regex(ok.stdout, /^1 passed, 0 failed$/m);
  const bad = rules(['test', 'bad.rule', '-t', 'rpi'], { cwd: dir });
  t.is(bad.code, 1);
  t.regex(bad.stdout, /FAILED  turns the fan on when hot/);
  t.regex(bad.stdout, /bad\.rule:18:3: expect gpio\(17\) == 0/);
  t.regex(bad.stdout, /gpio\(17\) = 1/);
  t.regex(bad.stdout, /^0 passed, 1 failed$/m);
});

test('test without --target runs on every target the rule builds for, and fails one that builds nowhere', (t) => {
  const floaty = FAN.replace('fan_control', 'fan_float').replace('let t = sensor(0)', 'let t = int(float(sensor(0)) * 1.0)');
  const dir = workspace({ 'fan.rule': FAN, 'float.rule': floaty, 'broken.rule': FAN.replace('fan_control', 'broken').replace('gpio(17) = 1', 'gpio(99) = 1') });
  const r = rules(['test', 'fan.rule', 'float.rule'], { cwd: dir });
  t.is(r.code, 0, r.stdout + r.stderr);
  for (const target of ['rpi', 'stm32', 'nrf5340']) t.regex(r.stdout, new RegExp(`fan\\.rule \\(fan_control, ${target}, wasm3\\)`));
  t.regex(r.stdout, /float\.rule: not tested on stm32: it does not build there \(E0401: floating point/);
  t.regex(r.stdout, /^5 passed, 0 failed$/m);
  const broken = rules(['test', 'broken.rule'], { cwd: dir });
  t.is(broken.code, 1);
  t.regex(broken.stdout, /broken\.rule: does not build for rpi; its tests did not run/);
  t.regex(broken.stdout, /^0 passed, 1 failed$/m);
});

test('run prints each tick, and --steps --json prints one JSON line per step', (t) => {
  const dir = workspace({ 'fan.rule': FAN, 'steps.json': JSON.stringify([
    { now: 0, sensors: { 0: 29000 } },
    { now: 500 },
    { now: 1000, sensors: { 0: 25000 } },
  ]) });
  const r = rules(['run', 'fan.rule', '-t', 'rpi', '--sensor', '0=29000', '--ticks', '2'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /tick 0 at 0 ms: gpio\(17\) = 1; returned 0 \(the period, 500 ms\)\ntick 1 at 500 ms: gpio\(17\) = 1/);
  const s = rules(['run', 'fan.rule', '-t', 'rpi', '--steps', 'steps.json', '--json'], { cwd: dir });
  t.is(s.code, 0, s.stderr);
  const lines = s.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const counters = { saturations: { 0: 0 }, assumptionFailures: 0 };
  t.deepEqual(lines, [
    { step: 0, now: 0, writes: { 17: 1 }, returned: 0, state: {}, saturated: {}, counters },
    { step: 1, now: 500, writes: { 17: 1 }, returned: 0, state: {}, saturated: {}, counters },
    { step: 2, now: 1000, writes: { 17: 0 }, returned: 0, state: {}, saturated: {}, counters },
  ]);
  writeFileSync(join(dir, 'bad-steps.json'), '[{"now": "soon"}]');
  const bad = rules(['run', 'fan.rule', '-t', 'rpi', '--steps', 'bad-steps.json'], { cwd: dir });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /step 0: "now" must be an integer/);
});

test('run and test show the readings saturated to the manifest\'s ranges and the failed assumptions', (t) => {
  const rule = `rule latch
uses sensor(8, 9), gpio_out(5)
requires sensor(8) <= 8_000
requires sensor(9) < sensor(8)
on tick { gpio(5) = sensor(8) > 7_000 }
test "an overpressure beyond the assumed range still trips" {
  sensor(8) = 9_500
  tick
  expect gpio(5) == 1
}
`;
  const dir = workspace({ 'latch.rule': rule });
  const r = rules(['run', 'latch.rule', '-t', 'rpi', '--sensor', '8=9500', '--sensor', '9=9000', '--ticks', '2'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /tick 0 at 0 ms: no writes; returned -1 .*\n.*requires on line 4 does not hold/);
  t.regex(r.stdout, /readings saturated to the manifest's ranges: sensor\(8\) 2; failed assumptions: 2\n$/);
  const s = rules(['test', 'latch.rule', '-t', 'rpi'], { cwd: dir });
  t.is(s.code, 0, s.stdout + s.stderr);
  t.regex(s.stdout, /passed  an overpressure beyond the assumed range still trips\n {6}readings saturated to the manifest's ranges: sensor\(8\) 1; failed assumptions: 0\n/);
});

test('targets line: building a folder for another target skips those rules with a note; naming one is an error', (t) => {
  const dir = workspace({});
  mkdirSync(join(dir, 'rules'));
  writeFileSync(join(dir, 'rules', 'fan.rule'), FAN);
  writeFileSync(join(dir, 'rules', 'pi_only.rule'), FAN.replace('fan_control "Fan with hysteresis"', 'pi_only\ntargets rpi, nrf5340'));
  const folder = rules(['build', 'rules', '-t', 'stm32', '-o', 'out'], { cwd: dir });
  t.is(folder.code, 0, folder.stdout + folder.stderr);
  t.regex(folder.stdout, /^pi_only: skipped, written for rpi, nrf5340 \(rules[/\\]pi_only\.rule\)$/m);
  t.regex(folder.stdout, /^1 rule built for stm32, 1 skipped$/m);
  t.false(existsSync(join(dir, 'out', 'pi_only.wasm')));
  const named = rules(['build', join('rules', 'pi_only.rule'), '-t', 'stm32', '-o', 'out'], { cwd: dir });
  t.is(named.code, 1);
  t.regex(named.stderr, /error\[E0508\]: rule `pi_only` is written for rpi, nrf5340 \(its `targets` line\), not for stm32/);
  t.is(rules(['build', 'rules', '-t', 'rpi', '-o', 'out'], { cwd: dir }).code, 0);
  t.true(existsSync(join(dir, 'out', 'pi_only.wasm')));
  // rules test without --target tests exactly the targets the line names.
  const tested = rules(['test', join('rules', 'pi_only.rule')], { cwd: dir });
  t.is(tested.code, 0, tested.stdout);
  t.regex(tested.stdout, /pi_only, rpi, wasm3/);
  t.regex(tested.stdout, /pi_only, nrf5340, wasm3/);
  t.notRegex(tested.stdout, /stm32/);
});

test('the examples build for a folder on every target, skipping those not written for it', (t) => {
  for (const target of ['rpi', 'stm32', 'nrf5340']) {
    const dir = workspace({});
    const r = rules(['check', join(process.cwd(), 'rules'), '-t', target], { cwd: dir });
    t.is(r.code, 0, `${target}: ${r.stdout}${r.stderr}`);
  }
});

const COUNTER = `rule counter
uses sensor(0), gpio_in(4), gpio_out(17)
every 1s
requires sensor(0) >= 0 || gpio(4) == 0

state seen = 0

on tick {
  if gpio(4) == 1 {
    seen = seen + 1
    gpio(17) = seen > 1
    return 250
  }
}
`;

test('run shows state values, the returned delay, saturated readings, and why a tick did nothing', (t) => {
  const dir = workspace({ 'counter.rule': COUNTER, 'steps.json': JSON.stringify([
    { now: 0, sensors: { 0: 10 }, gpio: { 4: 1 } },
    { now: 250, gpio: { 4: 0 } },
    { now: 1250, sensors: { 0: -5 }, gpio: { 4: 1 } },
  ]) });
  const r = rules(['run', 'counter.rule', '-t', 'rpi', '--sensor', '0=10', '--gpio', '4=1', '--ticks', '2'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^tick 0 at 0 ms: gpio\(17\) = 0; returned 250 ms; state seen = 1$/m);
  t.regex(r.stdout, /^tick 1 at 250 ms: gpio\(17\) = 1; returned 250 ms; state seen = 2$/m);
  const s = rules(['run', 'counter.rule', '-t', 'rpi', '--steps', 'steps.json', '--json'], { cwd: dir });
  t.is(s.code, 0, s.stderr);
  const [first, idle, skipped] = s.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(first.state, { seen: 1 });
  t.is(first.returned, 250);
  t.is(first.idle, undefined);
  t.regex(idle.idle, /no pin was written and no state changed/);
  t.regex(skipped.idle, /requires on line 4 does not hold \(requires sensor\(0\) >= 0 \|\| gpio\(4\) == 0\)/);
  t.deepEqual(skipped.state, { seen: 1 });
  const text = rules(['run', 'counter.rule', '-t', 'rpi', '--sensor', '0=-5', '--gpio', '4=1'], { cwd: dir });
  t.regex(text.stdout, /^  did nothing: requires on line 4 does not hold/m);
  // Out of range: refused like a test's reading, or saturated as hosts do when asked, and said so.
  const refused = rules(['run', 'counter.rule', '-t', 'rpi', '--sensor', '0=200000'], { cwd: dir });
  t.is(refused.code, 2);
  t.regex(refused.stderr, /sensor 0 = 200000 is outside the channel's range -40000\.\.125000/);
  const saturated = rules(['run', 'counter.rule', '-t', 'rpi', '--sensor', '0=200000', '--gpio', '4=1', '--saturate'], { cwd: dir });
  t.is(saturated.code, 0, saturated.stderr);
  t.regex(saturated.stdout, /note: sensor 0 = 200000 is outside its range: the rule saw 125000 \(saturated\)/);
  const json = rules(['run', 'counter.rule', '-t', 'rpi', '--sensor', '0=200000', '--saturate', '--json'], { cwd: dir });
  t.deepEqual(JSON.parse(json.stdout).saturated, { 0: { given: 200000, value: 125000 } });
});

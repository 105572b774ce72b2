// Hostile options and paths, as a table: every failure a user can cause ends with one clear line,
// the right exit code (2 usage or environment, 1 a rule's problem), no stack trace, and no hang.
import test from 'ava';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rules } from './support/cli.js';
import { rulesDir } from './support/paths.js';

const HANG_GUARD_MS = 60_000;

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-hostile-'));
  writeFileSync(join(dir, 'fan.rule'), readFileSync(join(rulesDir, 'fan_control.rule')));
  writeFileSync(join(dir, 'file'), 'x');
  writeFileSync(join(dir, 'noise.rule'), randomBytes(4096));
  writeFileSync(join(dir, 'latin1.rule'), Buffer.from('rule caf\xe9\n', 'latin1'));
  writeFileSync(join(dir, 'big.rule'), `rule big\n${'# padding\n'.repeat(110_000)}`);
  writeFileSync(join(dir, 'steps.json'), '[{"now": 0, "sensors": {"0": 29000}}]');
  writeFileSync(join(dir, 'broken.json'), '[{"now": 0,');
  writeFileSync(join(dir, 'ctl.rule'), 'rule r\x1b[31m\nuses gpio_out(1)\non tick { gpio(1) = 1 }\n');
  mkdirSync(join(dir, 'folder'));
  mkdirSync(join(dir, 'linked'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  symlinkSync(join(dir, 'nowhere.rule'), join(dir, 'linked', 'gone.rule'));
  return dir;
}

interface Case { args: string[]; code: number; message: RegExp; stream?: 'stderr' }

const cases: Case[] = [
  // repeated options
  { args: ['build', 'fan.rule', '-t', 'stm32', '-t', 'rpi'], code: 2, message: /^rules: --target was given 2 times \(stm32, rpi\); give it once/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--out', 'a', '--out', 'b'], code: 2, message: /^rules: --out was given 2 times \(a, b\)/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--ticks', '1', '--ticks', '2'], code: 2, message: /--ticks was given 2 times/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--sensor', '0=1', '--sensor', '0=2'], code: 2, message: /--sensor 0 is given twice/ },
  // bad numbers
  { args: ['run', 'fan.rule', '-t', 'rpi', '--ticks', '0'], code: 2, message: /^rules: --ticks must be a whole number from 1 to 100000/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--ticks', 'abc'], code: 2, message: /^rules: --ticks must be a whole number/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--ticks', '1e12'], code: 2, message: /^rules: --ticks must be a whole number/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--ticks', '1.5'], code: 2, message: /^rules: --ticks must be a whole number/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--every', '0'], code: 2, message: /^rules: --every must be a whole number of milliseconds/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--every', '-5'], code: 2, message: /^rules: --every must be a whole number of milliseconds/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--rule-version', '0'], code: 2, message: /^rules: --rule-version must be a positive integer/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--rule-version', 'abc'], code: 2, message: /^rules: --rule-version must be a positive integer/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--max-errors', '-1'], code: 2, message: /^rules: --max-errors must be a whole number/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--sensor', '0=99999999999'], code: 2, message: /expected CH=VALUE with 32-bit integers/ },
  // unwritable, special and wrong-kind paths
  { args: ['build', 'fan.rule', '-t', 'rpi', '--out', 'file/sub'], code: 2, message: /^rules: cannot use the output folder file\/sub .*file is not a folder/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--out', 'file'], code: 2, message: /^rules: cannot use the output folder file .*is not a folder/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--out', 'dangling'], code: 2, message: /dangling is a symbolic link to nothing/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--out', '/proc/nope'], code: 2, message: /^rules: cannot create the output folder \/proc\/nope/ },
  { args: ['build', 'fan.rule', '-t', 'rpi', '--out', '/dev/null'], code: 2, message: /^rules: cannot use the output folder \/dev\/null: \/dev\/null is not a folder/ },
  { args: ['build', 'dangling', '-t', 'rpi'], code: 2, message: /^rules: dangling is a symbolic link to nothing/ },
  { args: ['build', 'linked', '-t', 'rpi'], code: 2, message: /gone\.rule is a symbolic link to nothing/ },
  { args: ['build', 'folder', '-t', 'rpi'], code: 2, message: /^rules: no \.rule files in folder/ },
  { args: ['build', '/dev/null', '-t', 'rpi'], code: 2, message: /^rules: \/dev\/null is not a file or a folder/ },
  { args: ['build', 'fan.rule/', '-t', 'rpi'], code: 2, message: /^rules: (no such file or directory|cannot read) fan\.rule\// },
  { args: ['build', 'line\nbreak.rule', '-t', 'rpi'], code: 2, message: /^rules: no such file or directory: line\\x0abreak\.rule$/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--steps', 'folder'], code: 2, message: /^rules: cannot read the steps file folder: it is a folder/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--steps', 'missing.json'], code: 2, message: /^rules: cannot read the steps file missing\.json: no such file/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--steps', 'broken.json'], code: 2, message: /^rules: broken\.json: .*JSON/ },
  { args: ['inspect', 'folder'], code: 2, message: /^rules: cannot read folder: it is a folder/ },
  // conflicting and undeclared inputs for `rules run`
  { args: ['run', 'fan.rule', '-t', 'rpi', '--steps', 'steps.json', '--ticks', '3'], code: 2, message: /--steps gives every input and time itself; drop --ticks/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--steps', 'steps.json', '--sensor', '0=1'], code: 2, message: /drop --sensor/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--sensor', '5=100'], code: 2, message: /does not declare sensor\(5\); its channels: 0/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--gpio', '17=1'], code: 2, message: /gpio 17 is an output of rule `fan_control`/ },
  { args: ['run', 'fan.rule', '-t', 'rpi', '--sensor', '0=999999'], code: 2, message: /sensor 0 = 999999 is outside the channel's range -40000\.\.125000/ },
  // files that are not rules: refused as such, in one line, exit 1
  { args: ['build', 'noise.rule', '-t', 'rpi', '--out', 'o'], code: 1, message: /^noise\.rule: error\[E0002\]: not a text file/ },
  { args: ['check', 'latin1.rule', '-t', 'rpi'], code: 1, message: /^latin1\.rule: error\[E0002\]: not a text file: it is not valid UTF-8$/ },
  { args: ['check', 'big.rule', '-t', 'rpi'], code: 1, message: /^big\.rule: error\[E0003\]: the file is \d+ bytes; a rule file may be at most 262144 bytes/ },
  { args: ['test', 'noise.rule', '-t', 'rpi'], code: 1, message: /^noise\.rule: error\[E0002\]: not a text file/ },
  { args: ['run', 'noise.rule', '-t', 'rpi', '--ticks', 'abc'], code: 2, message: /^rules: --ticks must be a whole number/ },
  { args: ['inspect', 'noise.rule'], code: 1, message: /^noise\.rule: error: not a valid WebAssembly module/ },
];

for (const c of cases) {
  test(`hostile: rules ${c.args.map((a) => JSON.stringify(a).slice(1, -1)).join(' ')}`, (t) => {
    const dir = workspace();
    const r = rules(c.args, { cwd: dir, timeoutMs: HANG_GUARD_MS });
    t.false(r.timedOut, 'the command hung');
    t.is(r.code, c.code, r.stdout + r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    t.is(lines.length, 1, `one line expected on stderr, got:\n${r.stderr}`);
    t.regex(lines[0], c.message);
    t.notRegex(r.stderr, /internal error|\n\s+at .+:\d+:\d+/);
    // Nothing unprintable reaches the terminal.
    t.notRegex(r.stderr + r.stdout, /[\x00-\x08\x0b-\x1f\x7f]/);
  });
}

test('unprintable bytes in a rule are escaped in messages, and carets still line up', (t) => {
  const dir = workspace();
  const r = rules(['check', 'ctl.rule', '-t', 'rpi'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  t.is(r.code, 1);
  t.notRegex(r.stderr, /\x1b/);
  t.regex(r.stderr, /1 \| rule r\\x1b\[31m\n\s+\|\s{7}\^/);
});

test('errors stop after 20 per file with "and N more", and --max-errors changes the cap', (t) => {
  const dir = workspace();
  const body = Array.from({ length: 30 }, (_, i) => `  gpio(${i + 2}) = 1`).join('\n');
  writeFileSync(join(dir, 'many.rule'), `rule many\nuses gpio_out(1)\non tick {\n  gpio(1) = 1\n${body}\n}\n`);
  const r = rules(['check', 'many.rule', '-t', 'rpi'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  t.is(r.code, 1);
  t.is(r.stderr.match(/error\[E0301\]/g)?.length, 20);
  t.regex(r.stderr, /^many\.rule: and 10 more diagnostics \(--max-errors 0 shows them all\)$/m);
  const five = rules(['check', 'many.rule', '-t', 'rpi', '--max-errors', '5'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  t.is(five.stderr.match(/error\[E0301\]/g)?.length, 5);
  t.regex(five.stderr, /and 25 more diagnostics/);
  const all = rules(['check', 'many.rule', '-t', 'rpi', '--max-errors', '0', '--json'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  t.is(JSON.parse(all.stdout).rules[0].diagnostics.length, 30);
});

test('a huge rule is refused before code generation, within the hang guard', (t) => {
  const dir = workspace();
  const lines = Array.from({ length: 5000 }, (_, i) => `  if sensor(${i % 4}) > ${i} { s = s + ${i} }`).join('\n');
  writeFileSync(join(dir, 'huge.rule'), `rule huge\nuses sensor(0..3), gpio_out(1)\nstate s = 0\non tick {\n${lines}\n  gpio(1) = s > 3\n}\n`);
  const r = rules(['build', 'huge.rule', '-t', 'rpi', '-o', 'o'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  t.false(r.timedOut);
  t.is(r.code, 1);
  t.regex(r.stderr, /error\[E0509\]: rule `huge` is too large for any target: its code has \d+ operations/);
});

test('-h and -v work like --help and --version', (t) => {
  const help = rules(['-h']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /rules build <paths\.\.>/);
  const version = rules(['-v']);
  t.is(version.code, 0);
  t.is(version.stdout.trim(), JSON.parse(readFileSync(join(rulesDir, '..', 'package.json'), 'utf8')).version);
});

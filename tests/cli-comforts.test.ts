// The comforts of a modern CLI, run as a user would: colour only where it helps, shell completion,
// watch mode, progress for slow work, and a package that installs and runs outside the clone.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { rules, withoutColor } from './support/cli.js';
import { cliPath, repoRoot, rulesDir } from './support/paths.js';
import { Progress } from '../cli/progress.js';

const BAD = 'rule r\nuses gpio_out(1)\non tick { gpio(2) = 1 }\n';

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-comforts-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('colour: on when asked (--color, FORCE_COLOR), off with --no-color, NO_COLOR, and when not a terminal', (t) => {
  const dir = workspace({ 'bad.rule': BAD });
  const esc = /\x1b\[/;
  t.notRegex(rules(['check', 'bad.rule', '-t', 'rpi'], { cwd: dir }).stderr, esc, 'a pipe is not a terminal: no colour');
  const forced = rules(['check', 'bad.rule', '-t', 'rpi', '--color'], { cwd: dir });
  t.regex(forced.stderr, /\x1b\[31;1merror\[E0301\]\x1b\[0m/);
  t.regex(rules(['check', 'bad.rule', '-t', 'rpi'], { cwd: dir, env: withoutColor({ FORCE_COLOR: '1' }) }).stderr, esc);
  t.notRegex(rules(['check', 'bad.rule', '-t', 'rpi', '--no-color'], { cwd: dir, env: withoutColor({ FORCE_COLOR: '1' }) }).stderr, esc);
  t.notRegex(rules(['check', 'bad.rule', '-t', 'rpi'], { cwd: dir, env: withoutColor({ FORCE_COLOR: '1', NO_COLOR: '1' }) }).stderr, esc);
});

test('rules completion prints a bash completion script that completes commands', (t) => {
  const script = rules(['completion']);
  t.is(script.code, 0, script.stderr);
  t.regex(script.stdout, /complete -o bashdefault -o default -F _rules_yargs_completions rules/);
  const words = rules(['--get-yargs-completions', 'rules', 'bu']);
  t.regex(words.stdout, /^build/m);
});

test('progress: a line for a slow file at once, for a long run after a second, never off a terminal', (t) => {
  const written: string[] = [];
  let now = 0;
  const tty = { isTTY: true, write: (s: string) => written.push(s) };
  const p = new Progress(3, 'building', false, tty, () => now);
  p.starting(0, 'small.rule', 100);
  t.deepEqual(written, [], 'a quick start shows nothing');
  p.starting(0, 'big.rule', 10_000);
  t.regex(written.pop()!, /building \[\.+\] 0\/3 0\.0s big\.rule/);
  now = 1500;
  p.update(2);
  t.regex(written.pop()!, /building \[#{16}\.{8}\] 2\/3 1\.5s/);
  p.done();
  t.is(written.pop(), '\r\x1b[K');
  const pipe: string[] = [];
  const off = new Progress(3, 'building', false, { isTTY: false, write: (s: string) => pipe.push(s) }, () => 5000);
  off.starting(0, 'big.rule', 10_000);
  off.update(1);
  t.deepEqual(pipe, []);
});

/** Waits until `output()` matches, or fails after the hang guard. */
async function until(output: () => string, pattern: RegExp, what: string): Promise<void> {
  const end = Date.now() + 90_000;
  while (!pattern.test(output())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const command of ['build', 'test'] as const) {
  test(`rules ${command} --watch runs again when a rule file is saved, and stops on SIGTERM`, async (t) => {
    const fan = readFileSync(join(rulesDir, 'fan_control.rule'), 'utf8');
    const dir = workspace({ 'fan.rule': fan });
    const args = command === 'build' ? ['build', 'fan.rule', '-t', 'rpi', '-o', 'out', '--watch'] : ['test', 'fan.rule', '-t', 'rpi', '--watch'];
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: dir, env: withoutColor() });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await until(() => out, new RegExp(`\\] ${command} #1 ok in \\d+ ms; watching for changes`), 'the first run');
      // Break the rule: the next run fails and says so.
      writeFileSync(join(dir, 'fan.rule'), fan.replace('gpio(17) = fan_on', 'gpio(18) = fan_on'));
      await until(() => out, new RegExp(`\\] ${command} #2 failed in \\d+ ms`), 'the run after the save');
      t.regex(out, /error\[E0301\]: GPIO pin 18 is not declared/);
      writeFileSync(join(dir, 'fan.rule'), fan);
      await until(() => out, new RegExp(`\\] ${command} #3 ok`), 'the run after the fix');
    } finally {
      child.kill('SIGTERM');
    }
    t.is(await closed, 0, 'SIGTERM stops the watcher cleanly');
    if (command === 'build') t.true(existsSync(join(dir, 'out', 'fan_control.wasm')));
  });
}

test('npm pack makes a package that installs and runs rules --version', (t) => {
  const work = mkdtempSync(join(tmpdir(), 'rules-pack-'));
  // --ignore-scripts: dist/ is already built by the test run, and pack must not rebuild it.
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  t.is(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const paths = info.files.map((f) => f.path);
  t.true(paths.includes('dist/cli/rules.js'));
  t.true(paths.includes('targets/rpi.json'));
  t.true(paths.includes('scripts/build-wasm3.mjs'));
  t.true(paths.includes('engine/native/wasm3_node.c'));
  t.false(paths.some((p) => p.startsWith('tests/') || p.startsWith('dist/tests/') || p.startsWith('node_modules/') || p.startsWith('.cache/')),
    'no tests, dependencies or caches in the package');
  t.false(paths.some((p) => /engine\/native\/wasm3\/|(^|\/)m3_[a-z_]+\.c$/.test(p)), 'no third-party source in the package');
  // Install it as npm does a global package (the package under lib/node_modules, its bin linked), offline: from
  // the tarball, with the dependencies the clone has installed (a registry install would fetch the same ones).
  const prefix = join(work, 'prefix');
  const lib = join(prefix, 'lib', 'node_modules');
  mkdirSync(lib, { recursive: true });
  const untar = spawnSync('tar', ['xzf', join(work, info.filename), '-C', lib], { encoding: 'utf8' });
  t.is(untar.status, 0, untar.stderr);
  renameSync(join(lib, 'package'), join(lib, 'rules'));
  symlinkSync(join(repoRoot, 'node_modules'), join(lib, 'rules', 'node_modules'));
  const pkg = JSON.parse(readFileSync(join(lib, 'rules', 'package.json'), 'utf8'));
  mkdirSync(join(prefix, 'bin'));
  chmodSync(join(lib, 'rules', pkg.bin.rules), 0o755);
  symlinkSync(join(lib, 'rules', pkg.bin.rules), join(prefix, 'bin', 'rules'));
  const bin = join(prefix, 'bin', 'rules');
  t.true(existsSync(bin));
  t.regex(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin runs on its own');
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8', env: withoutColor(), timeout: 60_000 });
  t.is(version.status, 0, version.stderr);
  t.is(version.stdout.trim(), JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  // And it compiles, outside the clone, with its own target profiles.
  const dir = workspace({ 'fan.rule': readFileSync(join(rulesDir, 'fan_control.rule'), 'utf8') });
  const build = spawnSync(bin, ['check', 'fan.rule', '-t', 'stm32'], { cwd: dir, encoding: 'utf8', env: withoutColor(), timeout: 60_000 });
  t.is(build.status, 0, build.stdout + build.stderr);
  t.regex(build.stdout, /1 rule OK for stm32/);
});

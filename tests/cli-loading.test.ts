// What a command loads, observed in real CLI processes: only the command named and the libraries its path
// needs, so `rules flash` starts fast (bench/flash.ts measures it; this guards it without timing anything).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mosquitto } from '../devices/mqtt/mosquitto.js';
import { rules } from './support/cli.js';
import { packagesOf, runLogged, type LoadedRun } from './support/loaded-modules.js';
import { repoRoot, rulesDir } from './support/paths.js';
import { ptyProgram, waitFor } from './support/pty.js';
import { vectorsDir } from './support/bundle-vectors.js';

const fakeBoard = join(repoRoot, 'dist', 'tests', 'support', 'fake-board-serve.js');
const trustedKey = join(vectorsDir, 'trusted.key');
const trustedPub = join(vectorsDir, 'trusted.pub');

/** The heavy parts a serial command must not load: the compiler's back end, MQTT, the broker, the wasm3 engine. */
type Checks = { true(v: boolean, m?: string): void; false(v: boolean, m?: string): void };

function assertLean(t: Checks, run: LoadedRun, what: string, options: { compiler: boolean }): void {
  const packages = packagesOf(run.modules);
  for (const heavy of ['binaryen', 'mqtt', 'aedes']) if (!options.compiler || heavy !== 'binaryen') t.false(packages.has(heavy), `${what} loaded ${heavy}`);
  t.false(run.modules.some((m) => m.startsWith('dist/engine/') || m.endsWith('wasm3.node')), `${what} loaded the wasm3 engine`);
  if (!options.compiler) t.false(run.modules.some((m) => /^dist\/compiler\/(codegen|checker|parser|lexer|index)\.js$/.test(m)), `${what} loaded the compiler`);
}

/** Proof that the log sees ES modules, CommonJS modules and native addons, so an absence above means something. */
function assertSerialStackSeen(t: Checks, run: LoadedRun, what: string): void {
  const packages = packagesOf(run.modules);
  for (const needed of ['yargs', 'serialport', '@serialport/bindings-cpp', 'cborg']) t.true(packages.has(needed), `${what} should load ${needed}; the log has ${[...packages].join(', ')}`);
  t.true(run.modules.some((m) => m.endsWith('.node')), `${what}: the serial binding's native addon is in the log`);
  // yargs' one-file CommonJS build, not its forty ES modules (cli/rules.ts, loadYargs).
  t.true(run.modules.includes('node_modules/yargs/build/index.cjs'), `${what} loads yargs' CommonJS build`);
  t.false(run.modules.some((m) => m.startsWith('node_modules/yargs/build/lib/')), `${what} loaded yargs' ES modules`);
}

function commandModules(run: LoadedRun): string[] {
  return run.modules.filter((m) => m.startsWith('dist/cli/commands/')).sort();
}

test('rules flash (a bundle or a source) and rules device load neither binaryen, mqtt, aedes nor the wasm3 engine', async (t) => {
  const board = await ptyProgram(`node ${fakeBoard} --target stm32 --trust ${trustedPub}`);
  t.teardown(() => board.stop());
  const bundle = await runLogged(['flash', join(vectorsDir, 'valid-v2.bundle'), '--port', board.path]);
  t.is(bundle.code, 0, bundle.stderr);
  t.regex(bundle.stdout, /now runs \w+ v2 \(running\)/);
  assertSerialStackSeen(t, bundle, 'rules flash');
  assertLean(t, bundle, 'rules flash x.bundle', { compiler: false });
  t.deepEqual(commandModules(bundle), ['dist/cli/commands/device-shared.js', 'dist/cli/commands/flash.js', 'dist/cli/commands/shared.js']);

  // From source the compiler and binaryen load (the log sees modules imported on demand), still nothing of MQTT.
  const source = await runLogged(['flash', join(rulesDir, 'fan_control.rule'), '--port', board.path, '--key', trustedKey, '--rule-version', '3']);
  t.is(source.code, 0, source.stderr);
  t.true(packagesOf(source.modules).has('binaryen'), 'building from source loads binaryen on demand');
  assertLean(t, source, 'rules flash x.rule', { compiler: true });

  for (const action of [['list'], ['info'], ['status', 'fan_control']]) {
    const device = await runLogged(['device', ...action, '--port', board.path]);
    t.is(device.code, 0, device.stderr);
    assertSerialStackSeen(t, device, `rules device ${action[0]}`);
    assertLean(t, device, `rules device ${action[0]}`, { compiler: false });
    t.deepEqual(commandModules(device), ['dist/cli/commands/device-shared.js', 'dist/cli/commands/device.js', 'dist/cli/commands/shared.js']);
  }
});

test('rules agent loads mqtt and the engine, but neither binaryen nor aedes, and no serial library without --serial', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const state = mkdtempSync(join(tmpdir(), 'rules-agent-loading-'));
  const run = await runLogged(['agent', '--broker', broker.url, '--id', 'gw-loading', '--trust', trustedPub, '--state', state, '--json'], {
    whileRunning: async (child, output) => {
      await waitFor(() => output().includes('"started"') || child.exitCode !== null, 30_000, 'the agent to start');
      child.kill('SIGTERM');
    },
  });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /"event":"started"/);
  const packages = packagesOf(run.modules);
  t.true(packages.has('mqtt'), 'the agent loads mqtt');
  t.true(run.modules.includes('dist/engine/engine.js'), 'the agent loads the engine');
  for (const heavy of ['binaryen', 'aedes', 'serialport', '@serialport/bindings-cpp']) t.false(packages.has(heavy), `rules agent loaded ${heavy}`);
  t.false(run.modules.some((m) => /^dist\/compiler\/codegen\.js$/.test(m)), 'rules agent loaded the compiler');
});

test('a named command loads only its own file; --help, completion and unknown commands load them all', async (t) => {
  const version = await runLogged(['--version']);
  t.is(version.code, 0, version.stderr);
  t.regex(version.stdout, /^\d+\.\d+\.\d+\n$/);
  t.deepEqual(commandModules(version), [], 'rules --version loads no command');
  const targets = await runLogged(['--max-errors', '3', '--no-color', 'targets']);
  t.is(targets.code, 0, targets.stderr);
  t.deepEqual(commandModules(targets), ['dist/cli/commands/shared.js', 'dist/cli/commands/targets.js']);
  // Every command's own file, by the names `rules` lists when none is given.
  const names = /name a command: (.+) \(see rules --help\)/.exec(rules([]).stderr)?.[1].split(', ') ?? [];
  t.true(names.length >= 17, `the command list: ${names.join(', ')}`);
  const everyCommand = names.map((name) => `dist/cli/commands/${name}.js`);
  for (const args of [['--help'], ['completion'], ['--get-yargs-completions', 'rules', 'fl'], ['no-such-command'], ['--json', 'targets']]) {
    const run = await runLogged(args);
    const loaded = commandModules(run);
    t.deepEqual(everyCommand.filter((file) => !loaded.includes(file)), [], `rules ${args.join(' ')} registers every command`);
  }
  // An option yargs does not know takes the next word as its value: no command, so the list of all of them.
  const before = rules(['--json', 'targets']);
  t.is(before.code, 2);
  t.regex(before.stderr, /^rules: name a command: build, check, .*, demo \(see rules --help\)\n$/);
});

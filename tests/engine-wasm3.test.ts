// Tests of rules running on wasm3 through the native binding: results, io, state and reset, traps, run-time
// capability checks, refusal of bad modules, isolation between rules, and loading in worker threads.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import {
  CapabilityViolation, HOST_CALL_TRAP, RuleNotRunnable, RuleRejected, RuleTrap, loadRule, wasm3Version, type LoadedRule,
} from '../engine/index.js';
import {
  addRun, binaryen, build, divideRule, echoRule, fanRule, handRule, importIo, manifestFor, plusOneRule, recordingIo,
  rpi, sensorRule, unreachableRule, type ManifestChanges, type RecordingIo,
} from './support/engine-fixtures.js';

const fanCapabilities: ManifestChanges = { capabilities: { sensor: [0], gpio_out: [17] } };

function load(bytes: Uint8Array, changes: ManifestChanges = {}, io: RecordingIo = recordingIo()): { rule: LoadedRule; io: RecordingIo } {
  return { rule: loadRule(bytes, { manifest: manifestFor(bytes, changes), target: rpi, io }), io };
}

function trapOf(t: import('ava').ExecutionContext, run: () => unknown): RuleTrap {
  const error = t.throws(run, { instanceOf: RuleTrap });
  return error as RuleTrap;
}

test('the binding reports wasm3 0.5.0', (t) => {
  t.is(wasm3Version(), '0.5.0');
});

test('a valid rule runs on wasm3, returns its delay and its writes reach the io handler', (t) => {
  const { rule, io } = load(fanRule(), fanCapabilities, recordingIo({ 0: 29_000 }));
  t.is(rule.backend, 'wasm3');
  t.is(rule.run(0), 500);
  t.deepEqual(io.calls, ['sr(0)', 'gw(17, 1)']);
  io.sensors.set(0, 27_000);
  t.is(rule.run(500), 0);
  io.sensors.set(0, 25_000);
  t.is(rule.run(1000), 0);
  t.deepEqual(io.writes, [[17, 1], [17, 0]]);
  t.is(load(plusOneRule()).rule.run(41), 42);
});

test('globals are readable, and reset() brings them back to their initializers', (t) => {
  const { rule, io } = load(fanRule(), fanCapabilities, recordingIo({ 0: 29_000 }));
  t.is(rule.globalCount, 2);
  t.is(rule.getGlobal(0), 7);
  t.is(rule.getGlobal(1), -1.5);
  rule.run(0);
  io.sensors.set(0, 21_500);
  rule.run(1);
  rule.run(2);
  t.is(rule.getGlobal(0), 10);
  t.is(rule.getGlobal(1), 21.5);
  rule.reset();
  t.is(rule.getGlobal(0), 7);
  t.is(rule.getGlobal(1), -1.5);
  rule.run(3);
  t.is(rule.getGlobal(0), 8);
  t.throws(() => rule.getGlobal(2), { instanceOf: RangeError, message: /has 2 globals; there is no global 2/ });
});

test('a trap comes back as RuleTrap with wasm3\'s message and disables only that rule until reset()', (t) => {
  const { rule } = load(divideRule());
  const other = load(plusOneRule()).rule;
  t.is(rule.run(4), 250);
  const trap = trapOf(t, () => rule.run(0));
  t.is(trap.wasm3Message, '[trap] integer divide by zero');
  t.regex(trap.message, /rule "test_rule" trapped: \[trap\] integer divide by zero/);
  t.is(rule.state, 'failed');
  t.is(rule.lastError, trap);
  t.throws(() => rule.run(4), { instanceOf: RuleNotRunnable, message: /disabled after a trap .*reset\(\)/ });

  t.is(other.run(1), 2, 'a rule loaded before the trap keeps working');
  t.is(load(plusOneRule()).rule.run(9), 10, 'a rule loaded after the trap works');

  rule.reset();
  t.is(rule.state, 'ready');
  t.is(rule.lastError, undefined);
  t.is(rule.run(4), 250);

  const unreachable = load(unreachableRule()).rule;
  t.is(unreachable.run(3), 3);
  t.is(trapOf(t, () => unreachable.run(-1)).wasm3Message, '[trap] unreachable executed');
});

test('an undeclared pin or channel traps the rule with a message naming it; the host sees only declared ones', (t) => {
  const reader = load(echoRule(5, 17), { capabilities: { gpio_in: [4], gpio_out: [17] } });
  const readTrap = trapOf(t, () => reader.rule.run(0));
  t.is(readTrap.wasm3Message, HOST_CALL_TRAP);
  t.true(readTrap.hostError instanceof CapabilityViolation);
  t.regex(readTrap.message, /used GPIO input pin 5 through io\.gr, but its manifest does not declare it in gpio_in \(declared: 4\)/);
  t.deepEqual(reader.io.calls, ['gr(4)'], 'the declared input is read before the tick; pin 5 never reaches the host');

  const writer = load(echoRule(4, 18), { capabilities: { gpio_in: [4], gpio_out: [17] } });
  t.regex(trapOf(t, () => writer.rule.run(0)).message, /GPIO output pin 18 through io\.gw.*gpio_out \(declared: 17\)/);
  t.deepEqual(writer.io.calls, ['gr(4)']);
  t.deepEqual(writer.io.writes, []);

  const sensor = load(sensorRule(3), { capabilities: { sensor: [0, 1] } });
  t.regex(trapOf(t, () => sensor.rule.run(0)).message, /sensor channel 3 through io\.sr.*sensor \(declared: 0, 1\)/);
});

test('an exception from the host io traps the rule instead of escaping', (t) => {
  const io = recordingIo();
  const failure = new Error('I2C bus fault');
  io.readSensor = () => { throw failure; };
  const { rule } = load(sensorRule(0), { capabilities: { sensor: [0] } }, io);
  const trap = trapOf(t, () => rule.run(0));
  t.is(trap.hostError, failure);
  t.regex(trap.message, /trapped: I2C bus fault/);
});

test('sensor readings are saturated to the channel\'s range; GPIO levels are normalized to 0/1', (t) => {
  const { rule, io } = load(sensorRule(0), { capabilities: { sensor: [0] } });
  const read = (value: number) => { io.sensors.set(0, value); return rule.run(0); };
  t.is(read(22_000), 22_000);
  t.is(read(1e9), 125_000);
  t.is(read(-1e9), -40_000);
  t.is(read(Infinity), 125_000);
  t.is(read(21.7), 21);
  t.regex(trapOf(t, () => read(NaN)).message, /returned NaN for channel 0/);

  const pressure = load(sensorRule(2), { capabilities: { sensor: [2] } });
  t.is(pressure.rule.run(0), 30_000, 'a reading of 0 Pa is raised to the profile minimum');

  const echo = load(echoRule(4, 17), { capabilities: { gpio_in: [4], gpio_out: [17] } }, recordingIo({}, { 4: 5 }));
  t.is(echo.rule.run(0), 1);
  const writeSeven = build((m) => {
    importIo(m, 'gw');
    addRun(m, () => m.block(null, [m.call('gw', [m.i32.const(17), m.i32.const(7)], binaryen.none), m.i32.const(0)], binaryen.i32));
  });
  const seven = load(writeSeven, { capabilities: { gpio_out: [17] } });
  seven.rule.run(0);
  t.deepEqual(seven.io.writes, [[17, 1]]);
});

test('bad modules are refused with reasons and never reach wasm3', (t) => {
  const bad: [string, Uint8Array, ManifestChanges, RegExp][] = [
    ['memory', build((m) => { m.setMemory(1, 1); addRun(m, () => m.local.get(0, binaryen.i32)); }), {}, /linear memory/],
    ['wrong import', build((m) => {
      m.addFunctionImport('x', 'env', 'abort', binaryen.none, binaryen.none);
      addRun(m, () => m.block(null, [m.call('x', [], binaryen.none), m.i32.const(0)], binaryen.i32));
    }), {}, /"env\.abort"/],
    ['non-MVP', handRule([0x20, 0x00, 0xc0]), {}, /not WebAssembly 1\.0/],
    ['truncated', fanRule().subarray(0, fanRule().length - 3), {}, /not a readable WebAssembly module/],
    ['garbage', Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff), {}, /magic number/],
  ];
  for (const [what, bytes, changes, reason] of bad) {
    const error = t.throws(() => load(bytes, changes), { instanceOf: RuleRejected }, what) as RuleRejected;
    t.true(error.problems.length > 0, what);
    t.regex(error.problems.join('\n'), reason, what);
    t.regex(error.message, /^rule "test_rule" was refused:\n {2}- /, what);
  }
  const wrongHash = fanRule();
  const manifest = manifestFor(wrongHash, fanCapabilities);
  manifest.sha256 = '0'.repeat(64);
  const error = t.throws(() => loadRule(wrongHash, { manifest, target: rpi, io: recordingIo() }), { instanceOf: RuleRejected });
  t.deepEqual(error?.problems.length, 1);
  t.is(load(plusOneRule()).rule.run(1), 2, 'the engine still works');
});

test('two rules loaded side by side are isolated', (t) => {
  const a = load(fanRule(), fanCapabilities, recordingIo({ 0: 30_000 }));
  const b = load(fanRule(), fanCapabilities, recordingIo({ 0: 20_000 }));
  a.rule.run(0);
  a.rule.run(1);
  a.rule.run(2);
  t.is(a.rule.getGlobal(0), 10);
  t.is(b.rule.getGlobal(0), 7);
  b.rule.run(0);
  t.is(b.rule.getGlobal(1), 20);
  t.is(a.rule.getGlobal(1), 30);
  t.deepEqual(a.io.writes, [[17, 1], [17, 1], [17, 1]]);
  t.deepEqual(b.io.writes, [[17, 0]]);
  a.rule.close();
  t.is(b.rule.run(1), 0);
  t.is(b.rule.getGlobal(0), 9);
});

test('close() releases a rule; using it afterwards is a clear error', (t) => {
  const { rule } = load(fanRule(), fanCapabilities);
  rule.close();
  rule.close();
  t.is(rule.state, 'closed');
  t.throws(() => rule.run(0), { instanceOf: RuleNotRunnable, message: /rule "test_rule" is closed/ });
  t.throws(() => rule.getGlobal(0), { instanceOf: RuleNotRunnable });
  t.throws(() => rule.reset(), { instanceOf: RuleNotRunnable });
});

test('now wraps to int32 like on the device; run() refuses a non-number', (t) => {
  const { rule } = load(plusOneRule());
  t.is(rule.run(2 ** 32 + 5), 6);
  t.is(rule.run(2 ** 31 - 1), -(2 ** 31));
  t.throws(() => rule.run(Number.NaN), { instanceOf: TypeError, message: /finite number/ });
});

test('a host handler cannot re-enter or close its own rule while it runs', (t) => {
  const io = recordingIo();
  let rule: LoadedRule | undefined;
  io.readSensor = () => rule!.run(1);
  rule = load(sensorRule(0), { capabilities: { sensor: [0] } }, io).rule;
  t.regex(trapOf(t, () => rule!.run(0)).message, /the rule is running; a host handler cannot call back into it/);

  const closing = recordingIo();
  let victim: LoadedRule | undefined;
  closing.readSensor = () => { victim!.close(); return 0; };
  victim = load(sensorRule(0), { capabilities: { sensor: [0] } }, closing).rule;
  t.regex(trapOf(t, () => victim!.run(0)).message, /cannot close it/);
  victim.reset();
  t.is(victim.state, 'ready');
});

test('many rules can be loaded and closed in a row', (t) => {
  const bytes = fanRule();
  for (let i = 0; i < 500; i++) {
    const { rule } = load(bytes, fanCapabilities, recordingIo({ 0: i * 100 }));
    rule.run(i);
    if (i % 2 === 0) rule.close(); // the rest are left to the garbage collector's finalizer
  }
  t.pass();
});

test('the binding loads and runs rules in worker threads', async (t) => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const engine = await import(workerData.engineUrl);
      const fixtures = await import(workerData.fixturesUrl);
      const bytes = fixtures.plusOneRule();
      const rule = engine.loadRule(bytes, { manifest: fixtures.manifestFor(bytes), target: fixtures.rpi, io: fixtures.recordingIo() });
      parentPort.postMessage(rule.run(workerData.now));
      rule.close();
    })().catch((e) => parentPort.postMessage('error: ' + e.message));
  `;
  const runInWorker = (now: number) => new Promise<unknown>((resolve, reject) => {
    const worker = new Worker(code, {
      eval: true,
      workerData: {
        now,
        engineUrl: new URL('../engine/index.js', import.meta.url).href,
        fixturesUrl: new URL('./support/engine-fixtures.js', import.meta.url).href,
      },
    });
    worker.once('message', (message) => { resolve(message); void worker.terminate(); });
    worker.once('error', reject);
  });
  t.deepEqual(await Promise.all([runInWorker(1), runInWorker(99)]), [2, 100]);
  t.is(load(plusOneRule()).rule.run(0), 1, 'the main thread still runs rules');
});

// Tests of what a tick is, on both backends (wasm3 and Node's WebAssembly) alike: inputs read once before `run`,
// readings saturated to the manifest's ranges and counted, writes applied together after `run` returns (the last
// level per pin), a trapping tick with no effect at all, and the counters a host reports.
import test, { type ExecutionContext } from 'ava';
import type { Manifest } from '../contract/manifest.js';
import { InvalidReading, RuleTrap, loadRuleOn, type EngineBackend, type LoadedRule } from '../engine/index.js';
import { validateArtifact } from '../engine/validate.js';
import { manifestFor, recordingIo, rpi, tickRule, type RecordingIo } from './support/engine-fixtures.js';

const BACKENDS: EngineBackend[] = ['wasm3', 'node'];

/** Channel 0 narrowed to 0..50 000 (rpi's profile says -40 000..125 000), channel 1 at the profile's 0..100 000. */
function tickManifest(bytes: Uint8Array): Manifest {
  const manifest = manifestFor(bytes, { capabilities: { sensor: [0, 1], gpio_out: [17, 18] } });
  manifest.ranges = [{ channel: 0, min: 0, max: 50_000 }, { channel: 1, min: 0, max: 100_000 }];
  return manifest;
}

function loadTick(backend: EngineBackend, io: RecordingIo = recordingIo()): { rule: LoadedRule; io: RecordingIo } {
  const bytes = tickRule();
  return { rule: loadRuleOn(backend, bytes, { manifest: tickManifest(bytes), target: rpi, io }), io };
}

function both(title: string, body: (t: ExecutionContext, backend: EngineBackend) => void): void {
  for (const backend of BACKENDS) test(`${title} (${backend})`, (t) => body(t, backend));
}

both('readings saturate to the manifest\'s ranges, not the profile\'s, and each saturated tick is counted per channel', (t, backend) => {
  const { rule, io } = loadTick(backend);
  t.deepEqual(rule.counters(), { saturations: { 0: 0, 1: 0 }, assumptionFailures: 0 });
  io.sensors.set(0, 60_000);
  t.is(rule.run(0), 50_000, 'within the profile but above the manifest\'s max');
  io.sensors.set(0, -100);
  t.is(rule.run(1), 0);
  io.sensors.set(0, 42_000.9);
  t.is(rule.run(2), 42_000, 'fractions truncate and are not saturations');
  io.sensors.set(1, 1e12);
  t.is(rule.run(101), 100_000);
  t.deepEqual(rule.counters(), { saturations: { 0: 2, 1: 1 }, assumptionFailures: 0 });
  io.sensors.set(0, 99_999);
  t.is(rule.run(102), 100_000, 'channel 0 is out of range but the tick reads only channel 1');
  t.deepEqual(rule.counters().saturations, { 0: 2, 1: 2 });
});

both('a negative return is passed through and counted as a failed assumption; resetCounters and reset zero the counters', (t, backend) => {
  const { rule, io } = loadTick(backend);
  io.sensors.set(0, 70_000);
  t.is(rule.run(5), -1);
  t.is(rule.run(5), -1);
  t.is(rule.run(6), 50_000);
  t.deepEqual(rule.counters(), { saturations: { 0: 1, 1: 0 }, assumptionFailures: 2 });
  const snapshot = rule.counters();
  snapshot.assumptionFailures = 99;
  t.is(rule.counters().assumptionFailures, 2, 'counters() returns a copy');
  rule.resetCounters();
  t.deepEqual(rule.counters(), { saturations: { 0: 0, 1: 0 }, assumptionFailures: 0 });
  t.is(rule.getGlobal(0), 43, 'resetCounters leaves the rule\'s state alone');
  rule.run(5);
  rule.reset();
  t.deepEqual(rule.counters(), { saturations: { 0: 0, 1: 0 }, assumptionFailures: 0 });
  t.is(rule.getGlobal(0), 40);
});

both('inputs are read once before run and writes reach the io together after it returns, the last level per pin', (t, backend) => {
  const io = recordingIo({ 0: 1000, 1: 2000 });
  let rule: LoadedRule | undefined;
  const seenAtWrite: number[] = [];
  const write = io.writeGpio;
  io.writeGpio = (pin, level) => {
    seenAtWrite.push(rule!.getGlobal(0)); // the tick's state change is already done: run has returned
    write(pin, level);
  };
  rule = loadTick(backend, io).rule;
  t.is(rule.run(0), 1000);
  t.deepEqual(io.calls, ['sr(0)', 'sr(1)', 'gw(17, 0)', 'gw(18, 1)']);
  t.deepEqual(seenAtWrite, [41, 41]);
});

both('a tick that traps has no effect: no writes, the globals as before, and the rule disabled until reset', (t, backend) => {
  const { rule, io } = loadTick(backend);
  rule.run(0);
  t.is(rule.getGlobal(0), 41);
  io.calls.length = 0;
  io.writes.length = 0;
  const trap = t.throws(() => rule.run(-1), { instanceOf: RuleTrap });
  t.is(trap?.wasm3Message, '[trap] unreachable executed');
  t.deepEqual(io.writes, [], 'the writes made before the trap are discarded');
  t.deepEqual(io.calls, ['sr(0)', 'sr(1)'], 'the inputs were read, nothing was written');
  t.is(rule.getGlobal(0), 41, 'the increment before the trap is undone');
  t.is(rule.state, 'failed');
  rule.reset();
  t.is(rule.run(0), 0);
  t.deepEqual(io.writes, [[17, 0], [18, 1]]);
});

both('a reading that is not a number traps only the tick that reads it', (t, backend) => {
  const io = recordingIo({ 0: 1000 });
  io.readSensor = (channel) => (channel === 1 ? ('wet' as unknown as number) : 1000);
  const { rule } = loadTick(backend, io);
  t.is(rule.run(0), 1000, 'channel 1 is read from the host but the rule does not use it');
  const trap = t.throws(() => rule.run(101), { instanceOf: RuleTrap });
  t.true(trap?.hostError instanceof InvalidReading);
  t.regex(trap?.message ?? '', /returned wet for channel 1; it must return a number/);
  t.is(rule.getGlobal(0), 41);
});

both('an exception from the io while the inputs are read fails the tick before run', (t, backend) => {
  const io = recordingIo();
  const failure = new Error('I2C bus fault');
  io.readSensor = () => { throw failure; };
  const { rule } = loadTick(backend, io);
  const trap = t.throws(() => rule.run(0), { instanceOf: RuleTrap });
  t.is(trap?.hostError, failure);
  t.is(rule.getGlobal(0), 40, 'run never started');
  t.deepEqual(io.writes, []);
});

test('validation refuses ranges that do not cover the declared channels or leave the profile\'s range', (t) => {
  const bytes = tickRule();
  const problems = (edit: (m: Manifest) => void): string[] => {
    const manifest = tickManifest(bytes);
    edit(manifest);
    return validateArtifact(bytes, manifest, rpi);
  };
  t.deepEqual(problems(() => {}), []);
  t.deepEqual(problems((m) => { m.ranges = m.ranges.slice(1); }),
    ['the manifest declares sensor channel 0 but gives no range for it in "ranges"']);
  t.deepEqual(problems((m) => { m.ranges[0] = { channel: 0, min: -50_000, max: 0 }; }),
    ['the manifest\'s range for sensor channel 0 is -50000..0, outside target "rpi"\'s range -40000..125000 for it']);
  t.deepEqual(problems((m) => { m.ranges[1] = { channel: 1, min: 10, max: 9 }; }),
    ['the manifest\'s range for sensor channel 1 is 10..9: min is above max']);
  t.deepEqual(problems((m) => { m.ranges.push({ channel: 2, min: 0, max: 1 }); }),
    ['the manifest\'s "ranges" has sensor channel 2, which its capabilities do not declare']);
  t.deepEqual(problems((m) => { m.ranges.push({ channel: 1, min: 0, max: 1 }); }),
    ['the manifest\'s "ranges" lists sensor channel 1 more than once']);
  t.deepEqual(problems((m) => { m.ranges[0] = { channel: 0, min: 0.5, max: 1 }; }),
    ['the manifest\'s "ranges" has an entry {"channel":0,"min":0.5,"max":1}; each must be {channel, min, max} with int32 values',
      'the manifest declares sensor channel 0 but gives no range for it in "ranges"']);
  t.deepEqual(problems((m) => { (m as unknown as { ranges: unknown }).ranges = undefined; }),
    ['the manifest\'s "ranges" must list {channel, min, max} for every declared sensor channel']);
});

// Shared fixtures for the engine tests: rule modules built with binaryen or by hand, manifests that match them,
// and an io double that records what a rule did.
import type { Manifest } from '../../contract/manifest.js';
import type { ImportName } from '../../contract/abi.js';
import { loadTarget, type TargetProfile } from '../../contract/targets.js';
import type { RuleIo } from '../../engine/engine.js';
import { parseWasmModule } from '../../contract/wasm-module.js';
import { sha256Hex } from '../../contract/abi.js';

const { default: binaryen } = await import('binaryen');
export { binaryen };
export type BinaryenModule = InstanceType<typeof binaryen.Module>;

export const rpi: TargetProfile = loadTarget('rpi');
export const stm32: TargetProfile = loadTarget('stm32');

const { i32, f32, none } = binaryen;
const i32x2 = binaryen.createType([i32, i32]);

/** Builds a module with binaryen (MVP unless told otherwise) and returns its binary. */
export function build(define: (m: BinaryenModule) => void, features: number = binaryen.Features.MVP): Uint8Array {
  const m = new binaryen.Module();
  try {
    m.setFeatures(features);
    define(m);
    if (!m.validate()) throw new Error('the fixture module does not validate in binaryen');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

export function importIo(m: BinaryenModule, ...names: ('gr' | 'gw' | 'sr')[]): void {
  for (const name of names) {
    if (name === 'gw') m.addFunctionImport('gw', 'io', 'gw', i32x2, none);
    else m.addFunctionImport(name, 'io', name, i32, i32);
  }
}

export function addRun(m: BinaryenModule, body: (m: BinaryenModule) => number, vars: number[] = []): void {
  m.addFunction('run', i32, i32, vars, body(m));
  m.addFunctionExport('run', 'run');
}

const now = (m: BinaryenModule) => m.local.get(0, i32);

/** run(now) = now + 1, no imports, no state. */
export function plusOneRule(): Uint8Array {
  return build((m) => addRun(m, () => m.i32.add(now(m), m.i32.const(1))));
}

/**
 * The spec's fan rule with a tick counter: state g0 = ticks (i32, starts at 7), g1 = last reading / 1000 as f32;
 * drives pin 17 high above 28 000 and low below 26 000 on sensor 0; returns 500 when hot, else 0.
 */
export function fanRule(): Uint8Array {
  return build((m) => {
    importIo(m, 'sr', 'gw');
    m.addGlobal('ticks', i32, true, m.i32.const(7));
    m.addGlobal('lastC', f32, true, m.f32.const(-1.5));
    addRun(m, () => m.block(null, [
      m.global.set('ticks', m.i32.add(m.global.get('ticks', i32), m.i32.const(1))),
      m.local.set(1, m.call('sr', [m.i32.const(0)], i32)),
      m.global.set('lastC', m.f32.div(m.f32.convert_s.i32(m.local.get(1, i32)), m.f32.const(1000))),
      m.if(m.i32.gt_s(m.local.get(1, i32), m.i32.const(28_000)),
        m.block(null, [m.call('gw', [m.i32.const(17), m.i32.const(1)], none), m.return(m.i32.const(500))])),
      m.if(m.i32.lt_s(m.local.get(1, i32), m.i32.const(26_000)), m.call('gw', [m.i32.const(17), m.i32.const(0)], none)),
      m.return(m.i32.const(0)),
    ]), [i32]);
  });
}

/** run(now) = 1000 / now: traps with "integer divide by zero" at now = 0. */
export function divideRule(): Uint8Array {
  return build((m) => addRun(m, () => m.i32.div_s(m.i32.const(1000), now(m))));
}

/** run(now) executes `unreachable` when now is negative, else returns now. */
export function unreachableRule(): Uint8Array {
  return build((m) => addRun(m, () => m.block(null, [
    m.if(m.i32.lt_s(now(m), m.i32.const(0)), m.unreachable()),
    m.return(now(m)),
  ])));
}

/** Reads GPIO `readPin`, writes it to `writePin`, returns the level read. */
export function echoRule(readPin: number, writePin: number): Uint8Array {
  return build((m) => {
    importIo(m, 'gr', 'gw');
    addRun(m, () => m.block(null, [
      m.local.set(1, m.call('gr', [m.i32.const(readPin)], i32)),
      m.call('gw', [m.i32.const(writePin), m.local.get(1, i32)], none),
      m.return(m.local.get(1, i32)),
    ]), [i32]);
  });
}

/** Returns sensor `channel`'s reading. */
export function sensorRule(channel: number): Uint8Array {
  return build((m) => {
    importIo(m, 'sr');
    addRun(m, () => m.call('sr', [m.i32.const(channel)], i32));
  });
}

/**
 * Exercises wrapping arithmetic, shifts, a bounded loop and f32: state g0 (i32) accumulates a hash of the reading
 * of sensor `channel` and `now`; g1 (f32) a running average. Returns the hash.
 */
export function mixerRule(channel = 0): Uint8Array {
  return build((m) => {
    importIo(m, 'sr', 'gw');
    m.addGlobal('hash', i32, true, m.i32.const(0x1234567));
    m.addGlobal('avg', f32, true, m.f32.const(0));
    const reading = () => m.local.get(1, i32);
    const k = () => m.local.get(2, i32);
    addRun(m, () => m.block(null, [
      m.local.set(1, m.call('sr', [m.i32.const(channel)], i32)),
      m.local.set(2, m.i32.const(0)),
      m.loop('mix', m.block(null, [
        m.global.set('hash', m.i32.xor(
          m.i32.mul(m.global.get('hash', i32), m.i32.const(0x01000193)),
          m.i32.add(m.i32.shl(reading(), k()), m.i32.shr_s(now(m), k())))),
        // The canonical counted loop hosts verify (device-abi.md §4.5): the step and the only back edge at the end.
        m.br('mix', m.i32.lt_u(m.local.tee(2, m.i32.add(k(), m.i32.const(1)), i32), m.i32.const(5))),
      ])),
      m.global.set('avg', m.f32.add(
        m.f32.mul(m.global.get('avg', f32), m.f32.const(0.75)),
        m.f32.mul(m.f32.convert_s.i32(reading()), m.f32.const(0.25)))),
      m.call('gw', [m.i32.const(4), m.i32.and(m.global.get('hash', i32), m.i32.const(1))], none),
      m.local.set(3, m.i32.rem_s(m.global.get('hash', i32), m.i32.const(97))),
      m.return(m.select(m.i32.gt_s(m.local.get(3, i32), m.i32.const(0)), m.global.get('hash', i32),
        m.i32.trunc_s.f32(m.global.get('avg', f32)))),
    ]), [i32, i32, i32]);
  });
}

// ---- hand-written binaries, for what binaryen will not emit ----------------------------------------------------

export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value >>>= 7;
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

export const name = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text, 'utf8')];
export const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
export const vec = (...items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const wasm = (...sections: number[][]): Uint8Array =>
  Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);

export const I32 = 0x7f;
export const TYPE_I32_TO_I32 = [0x60, 1, I32, 1, I32];

/** A module with one function `run: (i32) -> i32` whose body is `instructions` (without the final end). */
export function handRule(instructions: number[], extraSections: { before?: number[][]; after?: number[][] } = {}): Uint8Array {
  const body = [0x00, ...instructions, 0x0b];
  return wasm(
    section(1, vec(TYPE_I32_TO_I32)),
    section(3, vec([0])),
    ...(extraSections.before ?? []),
    section(7, vec([...name('run'), 0x00, 0])),
    section(10, vec([...uleb(body.length), ...body])),
    ...(extraSections.after ?? []),
  );
}

// ---- manifests and io ------------------------------------------------------------------------------------------

export interface ManifestChanges {
  rule?: string;
  target?: TargetProfile;
  capabilities?: Partial<Manifest['capabilities']>;
  imports?: ImportName[];
  stateSlots?: number;
  maxInstructionsPerTick?: number;
}

/** A manifest that matches `bytes`: size, hash, imports and state slots from the module itself. */
export function manifestFor(bytes: Uint8Array, changes: ManifestChanges = {}): Manifest {
  const parsed = parseWasmModule(bytes);
  const imports = parsed.ok ? parsed.module.imports.map((i) => `${i.module}.${i.name}` as ImportName) : [];
  const target = changes.target ?? rpi;
  const sensor = changes.capabilities?.sensor ?? [];
  return {
    rule: changes.rule ?? 'test_rule',
    description: 'engine test fixture',
    version: 1,
    target: target.name,
    abi: 1,
    size: bytes.length,
    sha256: sha256Hex(bytes),
    imports: changes.imports ?? imports,
    capabilities: { sensor: [], gpio_in: [], gpio_out: [], ...changes.capabilities },
    ranges: sensor.flatMap((channel) => target.sensors.filter((s) => s.channel === channel).map((s) => ({ channel, min: s.min, max: s.max }))),
    periodMs: 100,
    stateSlots: changes.stateSlots ?? (parsed.ok ? parsed.module.globals.length : 0),
    // The verifier holds the module to this claim; fixtures claim what the target allows, unless a test says less.
    maxInstructionsPerTick: changes.maxInstructionsPerTick ?? target.maxInstructionsPerTick,
    sourceSha256: '0'.repeat(64),
    compiler: { name: 'rules', version: 'test' },
  };
}

export interface RecordingIo extends RuleIo {
  sensors: Map<number, number>;
  inputs: Map<number, number>;
  writes: [pin: number, level: number][];
  calls: string[];
}

/** An io double: readings come from the maps, writes and calls are logged in order. */
export function recordingIo(sensors: Record<number, number> = {}, inputs: Record<number, number> = {}): RecordingIo {
  const io: RecordingIo = {
    sensors: new Map(Object.entries(sensors).map(([k, v]) => [Number(k), v])),
    inputs: new Map(Object.entries(inputs).map(([k, v]) => [Number(k), v])),
    writes: [],
    calls: [],
    readGpio(pin) {
      io.calls.push(`gr(${pin})`);
      return io.inputs.get(pin) ?? 0;
    },
    writeGpio(pin, level) {
      io.calls.push(`gw(${pin}, ${level})`);
      io.writes.push([pin, level]);
    },
    readSensor(channel) {
      io.calls.push(`sr(${channel})`);
      return io.sensors.get(channel) ?? 0;
    },
  };
  return io;
}

/**
 * The rule the tick and batch tests share: g0 += 1; gw(17, 1); gw(18, 9); gw(17, 0); then: now < 0 traps (after the
 * writes and the state change); now == 5 returns -1 (an assumption failed); now > 100 returns sr(1); otherwise sr(0).
 */
export function tickRule(): Uint8Array {
  return build((m) => {
    importIo(m, 'sr', 'gw');
    m.addGlobal('count', i32, true, m.i32.const(40));
    const now = () => m.local.get(0, i32);
    addRun(m, () => m.block(null, [
      m.global.set('count', m.i32.add(m.global.get('count', i32), m.i32.const(1))),
      m.call('gw', [m.i32.const(17), m.i32.const(1)], none),
      m.call('gw', [m.i32.const(18), m.i32.const(9)], none),
      m.call('gw', [m.i32.const(17), m.i32.const(0)], none),
      m.if(m.i32.lt_s(now(), m.i32.const(0)), m.unreachable()),
      m.if(m.i32.eq(now(), m.i32.const(5)), m.return(m.i32.const(-1))),
      m.if(m.i32.gt_s(now(), m.i32.const(100)), m.return(m.call('sr', [m.i32.const(1)], i32))),
      m.return(m.call('sr', [m.i32.const(0)], i32)),
    ], i32));
  });
}

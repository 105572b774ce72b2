// Runs one rule three ways on every target and demands the same behaviour tick by tick: the reference interpreter on
// the checked syntax tree, the compiled artifact on wasm3 (loadRule) and on Node's WebAssembly (loadRuleOnNode).
// Per tick they must return the same delay, leave every written pin at the same last level and hold the same state
// (read through the artifact's state slots). Used by the differential and the regression tests.
import type { Diagnostic } from '../../compiler/diagnostics.js';
import { compile, type CompileResult } from '../../compiler/index.js';
import { loadTarget, sensorChannel, type TargetProfile } from '../../compiler/targets.js';
import { loadRule, loadRuleOnNode, RuleTrap, type LoadedRule, type RuleIo } from '../../engine/engine.js';
import { RuleInterpreter } from '../../runner/interpreter.js';
import { CHANNELS, INPUT_PINS, sensorReading, type AbstractTick } from './rule-generator.js';

export const TARGET_NAMES = ['rpi', 'stm32', 'nrf5340'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Errors that only say the rule does not fit a target: size, instructions, state slots, loop trips. */
export const LIMIT_ERRORS = new Set(['E0501', 'E0502', 'E0503', 'E0506']);
/** A float on a target without floating point. */
export const FLOAT_ERROR = 'E0401';

/** Inputs of one tick on one target. */
export interface TickInputs {
  now: number;
  sensors: Map<number, number>;
  pins: Map<number, number>;
}

/** What one execution did in one tick. */
export interface Outcome {
  /** The delay `run` returned, or what went wrong (a trap, an interpreter error). */
  returned: number | string;
  /** Pin -> last level written during the tick. */
  writes: Record<number, number>;
  /** State name -> value after the tick; unobservable states (optimized away but assigned) are left out. */
  states: Record<string, number>;
}

export class DisagreementError extends Error {
  override name = 'DisagreementError';
}

export class UnexpectedCompileError extends Error {
  override name = 'UnexpectedCompileError';
}

export interface Stats {
  rules: number;
  /** Executions compared, per target. */
  ran: Record<string, number>;
  /** Targets skipped, by reason (error codes). */
  skipped: Record<string, number>;
  ticks: number;
  features: Record<string, number>;
  bytes: number[];
}

export function newStats(): Stats {
  return { rules: 0, ran: {}, skipped: {}, ticks: 0, features: {}, bytes: [] };
}

export interface CheckSummary {
  /** Targets the rule ran on, three ways. */
  ran: string[];
  /** Targets that legitimately refused it, with the error codes. */
  skipped: Record<string, string[]>;
}

export interface CheckOptions {
  targets?: readonly string[];
  /** Whether the rule uses floats: then a target without floating point must refuse it with E0401. */
  usesFloat?: boolean;
  /** For the harness's own sanity tests: changes what the reference produced before the comparison. */
  mutateReference?: (outcome: Outcome, tick: number) => Outcome;
  stats?: Stats;
  features?: readonly string[];
}

function describeError(d: Diagnostic): string {
  return `${d.code} ${d.span ? `${d.span.line}:${d.span.column} ` : ''}${d.message}`;
}

/**
 * A hand-written tick: readings by channel (unset ones read 0) and input levels by pin. Each reading is clamped into
 * the target's range for the channel, as the engine would, so that all three executions see the same value.
 */
export interface HandTick {
  now: number;
  sensors?: Record<number, number>;
  pins?: Record<number, number>;
}

/**
 * The inputs of a tick on a target. A generated tick picks each channel's reading inside the target's range for
 * it (the engine saturates readings outside the range, and the interpreter would not).
 */
export function concreteInputs(tick: AbstractTick | HandTick, target: TargetProfile): TickInputs {
  const sensors = new Map<number, number>();
  const pins = new Map<number, number>();
  if (Array.isArray(tick.sensors)) {
    const abstract = tick as AbstractTick;
    for (const ch of CHANNELS) {
      const info = sensorChannel(target, ch)!;
      sensors.set(ch, sensorReading(abstract.sensors[ch] ?? 0, info.min, info.max));
    }
    INPUT_PINS.forEach((pin, i) => pins.set(pin, abstract.pins[i] ?? 0));
  } else {
    const hand = tick as HandTick;
    for (const info of target.sensors) {
      sensors.set(info.channel, Math.min(info.max, Math.max(info.min, hand.sensors?.[info.channel] ?? 0)));
    }
    for (const [pin, level] of Object.entries(hand.pins ?? {})) pins.set(Number(pin), level);
  }
  return { now: tick.now, sensors, pins };
}

/** NaNs are all equal; otherwise Object.is (so 0 and -0 differ). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)) return true;
  return Object.is(a, b);
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (!sameValue(a.returned, b.returned)) return false;
  const keysEqual = (x: Record<string, number>, y: Record<string, number>) => {
    const kx = Object.keys(x).sort();
    const ky = Object.keys(y).sort();
    return kx.length === ky.length && kx.every((k, i) => k === ky[i] && sameValue(x[k], y[k]));
  };
  return keysEqual(a.writes, b.writes) && keysEqual(a.states, b.states);
}

function show(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

export function describeOutcome(o: Outcome): string {
  const writes = Object.entries(o.writes).map(([p, l]) => `${p}=${l}`).join(', ');
  const states = Object.entries(o.states).map(([n, v]) => `${n}=${show(v)}`).join(', ');
  return `returned ${typeof o.returned === 'number' ? show(o.returned) : o.returned}; writes {${writes}}; states {${states}}`;
}

export function describeInputs(inputs: TickInputs): string {
  const sensors = [...inputs.sensors].map(([ch, v]) => `${ch}:${v}`).join(' ');
  const pins = [...inputs.pins].map(([p, v]) => `${p}:${v}`).join(' ');
  return `now=${inputs.now} sensors{${sensors}} gpio_in{${pins}}`;
}

/** A board that the engine's io imports read and write. */
class Board {
  inputs: TickInputs = { now: 0, sensors: new Map(), pins: new Map() };
  writes: Record<number, number> = {};
  readonly io: RuleIo = {
    readGpio: (pin) => this.inputs.pins.get(pin) ?? 0,
    writeGpio: (pin, level) => { this.writes[pin] = level; },
    readSensor: (ch) => this.inputs.sensors.get(ch) ?? 0,
  };
}

function compiledTick(rule: LoadedRule, board: Board, inputs: TickInputs, result: CompileResult): Outcome {
  board.inputs = inputs;
  board.writes = {};
  let returned: number | string;
  try {
    returned = rule.run(inputs.now);
  } catch (e) {
    if (!(e instanceof RuleTrap)) throw e;
    returned = `trap: ${e.wasm3Message}${e.hostError ? ` (${String(e.hostError)})` : ''}`;
  }
  const states: Record<string, number> = {};
  for (const slot of result.artifact!.stateSlots) {
    if (slot.global !== null) states[slot.name] = rule.getGlobal(slot.global);
    else if (!slot.assigned) states[slot.name] = slot.initial;
  }
  return { returned, writes: { ...board.writes }, states };
}

function referenceTick(interpreter: RuleInterpreter, inputs: TickInputs, result: CompileResult): Outcome {
  const writes: Record<number, number> = {};
  let returned: number | string;
  try {
    returned = interpreter.tick(inputs.now, {
      sensor: (ch) => inputs.sensors.get(ch) ?? 0,
      gpioIn: (pin) => inputs.pins.get(pin) ?? 0,
      gpioOut: (pin, level) => { writes[pin] = level; },
    });
  } catch (e) {
    returned = `interpreter error: ${(e as Error).message}`;
  }
  const values = interpreter.stateValues();
  const states: Record<string, number> = {};
  result.artifact!.stateSlots.forEach((slot, i) => {
    if (slot.global !== null || !slot.assigned) states[slot.name] = values[i];
  });
  return { returned, writes, states };
}

/**
 * Compiles `source` for each target and runs it three ways over `ticks`. Throws UnexpectedCompileError when a
 * target refuses the rule for any reason but a limit (or a float on a target without floating point), and
 * DisagreementError, with the source, the inputs so far and the three outcomes, at the first tick that differs.
 */
export type Tick = AbstractTick | HandTick;

export async function checkRule(source: string, runs: readonly (readonly Tick[])[], options: CheckOptions = {}): Promise<CheckSummary> {
  const summary: CheckSummary = { ran: [], skipped: {} };
  const stats = options.stats;
  if (stats) {
    stats.rules++;
    for (const f of options.features ?? []) stats.features[f] = (stats.features[f] ?? 0) + 1;
  }
  for (const name of options.targets ?? TARGET_NAMES) {
    const target = loadTarget(name);
    const result = await compile(source, { target });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    const floatRefused = !target.floatingPoint && options.usesFloat;
    if (floatRefused) {
      if (errors.length === 0 || errors.some((e) => e.code !== FLOAT_ERROR && !LIMIT_ERRORS.has(e.code))) {
        throw new UnexpectedCompileError(`target ${name} has no floating point but did not refuse this float rule with ${FLOAT_ERROR} alone:\n`
          + `${errors.map((e) => `${describeError(e)}`).join('\n') || '(no errors)'}\n--- source ---\n${source}`);
      }
      if (stats) stats.skipped[`${name} ${FLOAT_ERROR}`] = (stats.skipped[`${name} ${FLOAT_ERROR}`] ?? 0) + 1;
      summary.skipped[name] = [FLOAT_ERROR];
      continue;
    }
    if (errors.length > 0) {
      if (errors.every((e) => LIMIT_ERRORS.has(e.code))) {
        summary.skipped[name] = [...new Set(errors.map((e) => e.code))].sort();
        if (stats) {
          const key = `${name} ${[...new Set(errors.map((e) => e.code))].sort().join('+')}`;
          stats.skipped[key] = (stats.skipped[key] ?? 0) + 1;
        }
        continue;
      }
      throw new UnexpectedCompileError(`target ${name} refused a generated rule:\n`
        + `${errors.map((e) => `${describeError(e)}`).join('\n')}\n--- source ---\n${source}`);
    }
    runThreeWays(source, result, runs, options);
    summary.ran.push(name);
    if (stats) {
      stats.ran[name] = (stats.ran[name] ?? 0) + 1;
      stats.ticks += runs.reduce((n, r) => n + r.length, 0);
      stats.bytes.push(result.artifact!.wasm.length);
    }
  }
  return summary;
}

/**
 * The three executions of one compiled rule, compared after every tick. Each run of ticks starts from the rule as
 * installed: the interpreter and both engines are reset() between runs.
 */
export function runThreeWays(source: string, result: CompileResult, runs: readonly (readonly Tick[])[], options: CheckOptions = {}): void {
  const artifact = result.artifact!;
  const target = result.target;
  const interpreter = new RuleInterpreter(result.rule!);
  const wasm3Board = new Board();
  const nodeBoard = new Board();
  const wasm3 = loadRule(artifact.wasm, { manifest: artifact.manifest, target, io: wasm3Board.io });
  let node: LoadedRule | undefined;
  try {
    node = loadRuleOnNode(artifact.wasm, { manifest: artifact.manifest, target, io: nodeBoard.io });
    runs.forEach((ticks, run) => {
      if (run > 0) {
        interpreter.reset();
        wasm3.reset();
        node!.reset();
      }
      const history: string[] = [];
      for (let i = 0; i < ticks.length; i++) {
        const inputs = concreteInputs(ticks[i], target);
        history.push(`  tick #${i}: ${describeInputs(inputs)}`);
        let reference = referenceTick(interpreter, inputs, result);
        if (options.mutateReference) reference = options.mutateReference(reference, i);
        const onWasm3 = compiledTick(wasm3, wasm3Board, inputs, result);
        const onNode = compiledTick(node!, nodeBoard, inputs, result);
        if (!sameOutcome(reference, onWasm3) || !sameOutcome(reference, onNode)) {
          throw new DisagreementError([
            `the three executions disagree on target ${target.name} at tick #${i}${runs.length > 1 ? ` of run #${run} (each run starts from a fresh install)` : ''}`,
            `  interpreter: ${describeOutcome(reference)}`,
            `  wasm3:       ${describeOutcome(onWasm3)}`,
            `  node:        ${describeOutcome(onNode)}`,
            `inputs so far:`, ...history,
            `artifact: ${artifact.wasm.length} bytes; state slots ${JSON.stringify(artifact.stateSlots.map((s) => [s.name, s.global, s.assigned]))}`,
            `--- source ---`, source,
          ].join('\n'));
        }
        // A trap disables the compiled rule until reset(); the executions agreed on it, so this run ends here.
        if (typeof onWasm3.returned === 'string') break;
      }
    });
  } finally {
    wasm3.close();
    node?.close();
  }
}

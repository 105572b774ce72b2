// Runs one rule three ways on every target and demands the same behaviour tick by tick: the reference interpreter on
// the checked syntax tree, the compiled artifact on wasm3 (loadRule) and on Node's WebAssembly (loadRuleOnNode).
// Per tick they must return the same delay, leave every written pin at the same last level and hold the same state
// (read through the artifact's state slots). Used by the differential and the regression tests.
import type { Diagnostic } from '../../compiler/diagnostics.js';
import { compile, type CompileResult } from '../../compiler/index.js';
import { loadTarget, sensorChannel, type TargetProfile } from '../../contract/targets.js';
import { loadRule, loadRuleOnNode, RuleTrap, type LoadedRule, type RuleIo } from '../../engine/engine.js';
import { RuleInterpreter } from '../../runner/interpreter.js';
import { CHANNELS, INPUT_PINS, sensorReading, type AbstractTick } from './rule-generator.js';

export const TARGET_NAMES = ['rpi', 'stm32', 'nrf5340'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Errors that only say the rule does not fit a target: size, instructions, state slots, loop trips. */
export const LIMIT_ERRORS = new Set(['E0501', 'E0502', 'E0503', 'E0506']);
/**
 * Errors that say the rule does not fit a target: its limits, or a `requires` bound that the target's range for the
 * channel excludes (generated rules bound channels whose ranges differ from target to target).
 */
export const TARGET_ERRORS = new Set([...LIMIT_ERRORS, 'E0370']);
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

/** A failure of the three-way check; `signature` says what failed where, to recognize it in a smaller rule. */
export class HarnessFailure extends Error {
  /**
   * @param minimizable whether a smaller rule failing with the same signature shows the same bug (a disagreement,
   *   a compiler exception); a refusal (say E0350) is not, since removing a narrowing `if` also causes one.
   */
  constructor(message: string, readonly signature: string, readonly target: string, readonly minimizable = true) {
    super(message);
  }
}

export class DisagreementError extends HarnessFailure {
  override name = 'DisagreementError';
}

/** The compiler refused a generated rule for a reason other than a limit, or threw. */
export class UnexpectedCompileError extends HarnessFailure {
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

function codes(errors: Diagnostic[]): string {
  return [...new Set(errors.map((e) => e.code))].sort().join('+');
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
    let result: CompileResult;
    try {
      result = await compile(source, { target });
    } catch (e) {
      const first = String((e as Error)?.message ?? e).split('\n')[0];
      throw new UnexpectedCompileError(`the compiler threw on target ${name}: ${first}\n--- source ---\n${source}`,
        `compiler threw on ${name}: ${first.slice(0, 60)}`, name);
    }
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    const floatRefused = !target.floatingPoint && options.usesFloat;
    if (floatRefused) {
      if (errors.length === 0 || errors.some((e) => e.code !== FLOAT_ERROR && !TARGET_ERRORS.has(e.code))) {
        throw new UnexpectedCompileError(`target ${name} has no floating point but did not refuse this float rule with ${FLOAT_ERROR} alone:\n`
          + `${errors.map((e) => `${describeError(e)}`).join('\n') || '(no errors)'}\n--- source ---\n${source}`,
        `float rule not refused on ${name}: ${codes(errors)}`, name, false);
      }
      if (stats) stats.skipped[`${name} ${FLOAT_ERROR}`] = (stats.skipped[`${name} ${FLOAT_ERROR}`] ?? 0) + 1;
      summary.skipped[name] = [FLOAT_ERROR];
      continue;
    }
    if (errors.length > 0) {
      if (errors.every((e) => TARGET_ERRORS.has(e.code))) {
        summary.skipped[name] = [...new Set(errors.map((e) => e.code))].sort();
        if (stats) {
          const key = `${name} ${[...new Set(errors.map((e) => e.code))].sort().join('+')}`;
          stats.skipped[key] = (stats.skipped[key] ?? 0) + 1;
        }
        continue;
      }
      throw new UnexpectedCompileError(`target ${name} refused a generated rule:\n`
        + `${errors.map((e) => `${describeError(e)}`).join('\n')}\n--- source ---\n${source}`,
      `refused on ${name}: ${codes(errors)}`, name, false);
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
  if (!runs.every((run) => Array.isArray(run))) throw new TypeError('runThreeWays takes a list of runs, each a list of ticks');
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
          ].join('\n'), `disagreement on ${target.name}`, target.name);
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

// ---- minimizing a failing rule -----------------------------------------------------------------------------------

/** Candidate simplifications of a rule: fewer lines, unwrapped blocks, subexpressions replaced by constants. */
function* simplifications(source: string): Generator<string> {
  const lines = source.split('\n');
  const join = (ls: string[]) => ls.join('\n');
  // Whole blocks (declarations, ifs, loops) and else branches, then single lines.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/{\s*$/.test(line) && !/^\s*}/.test(line) && !/^\s*on tick/.test(line)) {
      let end = i;
      // Follow `} else ... {` continuations to the end of the whole statement.
      let depth = 0;
      for (let j = i; j < lines.length; j++) {
        for (const ch of lines[j]) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
        if (depth === 0 && !(j + 1 < lines.length && /^\s*else\b/.test(lines[j + 1]))) { end = j; break; }
      }
      yield join([...lines.slice(0, i), ...lines.slice(end + 1)]);
      // Unwrap a block without else: keep its body.
      if (end > i && /^\s*}\s*$/.test(lines[end]) && !lines.slice(i + 1, end).some((l) => /^\s*}\s*else/.test(l))) {
        yield join([...lines.slice(0, i), ...lines.slice(i + 1, end), ...lines.slice(end + 1)]);
      }
    }
    if (/^\s*}\s*else\b.*{\s*$/.test(line)) {
      // Drop an else branch: from `} else {` up to its closing brace, keeping that brace.
      let depth = 1;
      for (let j = i + 1; j < lines.length; j++) {
        for (const ch of lines[j]) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
        if (depth <= 0) { yield join([...lines.slice(0, i), '}', ...lines.slice(j + 1)]); break; }
      }
    }
  }
  for (let i = 0; i < lines.length; i++) {
    if (/[{}]/.test(lines[i]) || /^\s*rule\b/.test(lines[i])) continue;
    if (lines[i].trim() === '') continue;
    yield join([...lines.slice(0, i), ...lines.slice(i + 1)]);
  }
  // Parenthesized subexpressions and calls replaced by a constant or by one of their operands.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    for (let start = 0; start < line.length; start++) {
      if (line[start] !== '(') continue;
      let depth = 0;
      let end = -1;
      for (let j = start; j < line.length; j++) {
        if (line[j] === '(') depth++;
        else if (line[j] === ')') { depth--; if (depth === 0) { end = j; break; } }
      }
      if (end < 0) continue;
      let from = start;
      while (from > 0 && /[A-Za-z0-9_]/.test(line[from - 1])) from--;
      const inner = line.slice(start + 1, end);
      const replacements = ['0', '1', 'true', 'false', '0.0'];
      // Operands at the top level of the group, for `(a op b)` -> `a`, `f(a, b)` -> `a`.
      const parts: string[] = [];
      let d = 0;
      let last = 0;
      for (let j = 0; j < inner.length; j++) {
        if (inner[j] === '(') d++;
        else if (inner[j] === ')') d--;
        else if (d === 0 && (inner[j] === ',' || inner[j] === ' ')) {
          if (j > last) parts.push(inner.slice(last, j));
          last = j + 1;
        }
      }
      if (inner.length > last) parts.push(inner.slice(last));
      for (const p of parts) if (/^[A-Za-z0-9_.(]/.test(p) && p !== inner) replacements.push(p);
      for (const r of replacements) {
        const changed = line.slice(0, from) + r + line.slice(end + 1);
        if (changed !== line) yield join([...lines.slice(0, i), changed, ...lines.slice(i + 1)]);
      }
    }
  }
}

/**
 * Shrinks a failing rule's source while `check` still fails with the same signature, by removing blocks and lines
 * and replacing subexpressions. Gives up after `budgetMs`. Returns the smallest failing source found.
 */
export async function minimizeSource(source: string, signature: string, check: (candidate: string) => Promise<void>,
  budgetMs = 30_000): Promise<string> {
  const deadline = performance.now() + budgetMs;
  const stillFails = async (candidate: string) => {
    try {
      await check(candidate);
      return false;
    } catch (e) {
      return e instanceof HarnessFailure && e.signature === signature;
    }
  };
  let best = source;
  let progress = true;
  while (progress && performance.now() < deadline) {
    progress = false;
    for (const candidate of simplifications(best)) {
      if (performance.now() >= deadline) break;
      if (candidate.length < best.length && await stillFails(candidate)) {
        best = candidate;
        progress = true;
        break;
      }
    }
  }
  const tidy = best.replace(/\n{3,}/g, '\n\n');
  return tidy !== best && await stillFails(tidy) ? tidy : best;
}

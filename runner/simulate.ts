// Drives a compiled rule by hand, step by step, on an engine: the library behind `rules run`.
// Inputs are checked like a test's readings (declared, in range), and each step reports what the
// rule did: writes, state values, the returned delay, and why a tick did nothing.
import type { CompileResult } from '../compiler/index.js';
import { SourceMap } from '../compiler/diagnostics.js';
import { loadRuleOn, type EngineBackend, type LoadedRule, type RuleCounters } from '../engine/engine.js';
import { saturateReading } from './rule-tests.js';
import { sensorChannel } from '../contract/targets.js';
import { SimulatedBoard } from './board.js';
import { RuleInterpreter } from './interpreter.js';

export interface Step {
  now: number;
  sensors?: Record<string, number>;
  gpio?: Record<string, number>;
}

export interface StepOutcome {
  step: number;
  now: number;
  /** Pins written during the step, with the last level written. */
  writes: Record<string, number>;
  returned: number;
  /** Each state by name after the step; null for one the compiler removed because nothing reads it. */
  state: Record<string, number | null>;
  /** Readings outside their channel's range, given and as the host hands them to the rule (saturated). */
  saturated: Record<string, { given: number; value: number }>;
  /** Why the tick did nothing (no write, no state change); absent when it did something. */
  idle?: string;
}

export class StepsError extends Error {}

/**
 * What Simulation.runSteps did: an outcome per step that ran, with the counters as they stood after it, and the
 * error that stopped the run at step `outcomes.length` (a StepsError for inputs it refused, or the RuleTrap), if any.
 */
export interface StepsRun {
  outcomes: StepOutcome[];
  counters: RuleCounters[];
  error?: Error;
}

/** Checks the shape of a steps file; throws StepsError with the first problem. */
export function parseSteps(json: unknown): Step[] {
  if (!Array.isArray(json)) throw new StepsError('the steps file must hold a JSON array of steps');
  if (json.length > MAX_STEPS) throw new StepsError(`the steps file has ${json.length} steps; at most ${MAX_STEPS} are run`);
  return json.map((raw, i) => {
    const where = `step ${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StepsError(`${where} must be an object`);
    const s = raw as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!['now', 'sensors', 'gpio'].includes(key)) throw new StepsError(`${where}: unknown key "${key}" (use now, sensors, gpio)`);
    }
    if (!isInt32(s.now)) throw new StepsError(`${where}: "now" must be an integer number of milliseconds (32-bit)`);
    const table = (key: 'sensors' | 'gpio') => {
      const t = s[key];
      if (t === undefined) return undefined;
      if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new StepsError(`${where}: "${key}" must be an object such as {"0": 29000}`);
      for (const [k, v] of Object.entries(t)) {
        if (!/^\d{1,9}$/.test(k)) throw new StepsError(`${where}: "${key}" key "${k}" is not a ${key === 'gpio' ? 'pin' : 'channel'} number`);
        if (!isInt32(v)) throw new StepsError(`${where}: ${key}.${k} must be an integer (32-bit)`);
      }
      return t as Record<string, number>;
    };
    return { now: s.now as number, sensors: table('sensors'), gpio: table('gpio') };
  });
}

/** At most this many ticks or steps in one run: enough to watch a rule, too few to hang. */
export const MAX_STEPS = 100_000;

function isInt32(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647;
}

/**
 * Checks inputs against the rule, as `rules test` checks a test's readings: only declared
 * sensor channels and input pins, levels 0 or 1, readings within the channel's range unless
 * `saturate` (then they are clamped as the host would, and reported). Throws StepsError.
 */
export function checkInputs(result: CompileResult, step: Step, saturate: boolean): Record<string, number> {
  const rule = result.rule!;
  const caps = rule.capabilities;
  for (const [key, value] of Object.entries(step.gpio ?? {})) {
    const pin = Number(key);
    if (caps.gpio_out.includes(pin)) {
      throw new StepsError(`gpio ${pin} is an output of rule \`${rule.header.name}\`; only input pins (${list(caps.gpio_in)}) can be set`);
    }
    if (!caps.gpio_in.includes(pin)) {
      throw new StepsError(`rule \`${rule.header.name}\` does not declare gpio_in(${pin}); its input pins: ${list(caps.gpio_in)}`);
    }
    if (value !== 0 && value !== 1) throw new StepsError(`gpio ${pin} = ${value}: an input pin is 0 or 1`);
  }
  const saturated: Record<string, number> = {};
  for (const [key, value] of Object.entries(step.sensors ?? {})) {
    const channel = Number(key);
    if (!caps.sensor.includes(channel)) {
      throw new StepsError(`rule \`${rule.header.name}\` does not declare sensor(${channel}); its channels: ${list(caps.sensor)}`);
    }
    const info = sensorChannel(result.target, channel);
    if (info && (value < info.min || value > info.max)) {
      if (!saturate) {
        throw new StepsError(`sensor ${channel} = ${value} is outside the channel's range ${info.min}..${info.max} (${info.unit}) on ${result.target.name}; ` +
          'hosts saturate such readings: --saturate does the same and says so');
      }
      saturated[key] = Math.min(info.max, Math.max(info.min, value));
    }
  }
  return saturated;
}

function list(numbers: number[]): string {
  return numbers.length ? numbers.join(', ') : 'none';
}

/** One loaded instance of a rule on a simulated board; state carries from step to step. */
export class Simulation {
  private readonly board = new SimulatedBoard();
  private readonly loaded: LoadedRule;
  /** Runs beside the engine only to evaluate `requires` lines, to say why a tick did nothing. */
  private readonly interpreter;
  private count = 0;

  constructor(private readonly result: CompileResult, backend: EngineBackend = 'wasm3', private readonly saturate = false) {
    const artifact = result.artifact!;
    this.loaded = loadRuleOn(backend, artifact.wasm, { manifest: artifact.manifest, target: result.target, io: this.board.io() });
    this.interpreter = new RuleInterpreter(result.rule!);
  }

  /** What the engine counted so far: readings saturated to the manifest's ranges, failed assumptions. */
  counters(): RuleCounters {
    return this.loaded.counters();
  }

  step(step: Step): StepOutcome {
    const saturated = this.setInputs(step);
    this.board.clearWrites();
    const before = this.stateValues();
    const returned = this.loaded.run(step.now);
    const writes: Record<string, number> = {};
    for (const [pin, level] of this.board.writes) writes[String(pin)] = level;
    return this.outcome(step, returned, writes, before, this.stateValues(), saturated);
  }

  /**
   * The steps in order, like step() on each, but run in one engine batch (LoadedRule.runBatch): the inputs of every
   * step are known in advance. Inputs are checked first; a step they refuse ends the run there (the steps before it
   * still run), as does a trap. Afterwards the simulation carries on from the last step, like after step().
   */
  runSteps(steps: readonly Step[]): StepsRun {
    const start = { sensors: new Map(this.board.sensors), inputs: new Map(this.board.inputs) };
    // Pass 1: check the inputs and lay them out as batch rows, the board's carried-over values filling the gaps.
    const { gpio_in: pins, sensor: channels } = this.result.artifact!.manifest.capabilities;
    let refused: Error | undefined;
    const saturations: StepOutcome['saturated'][] = [];
    for (const step of steps) {
      try {
        saturations.push(this.setInputs(step));
      } catch (e) {
        if (!(e instanceof StepsError)) throw e;
        refused = e;
        break;
      }
    }
    const count = saturations.length;
    const batch = this.loaded.createBatch(count, { globals: true, saturations: true });
    this.board.sensors.clear();
    this.board.inputs.clear();
    start.sensors.forEach((v, k) => this.board.sensors.set(k, v));
    start.inputs.forEach((v, k) => this.board.inputs.set(k, v));
    for (let t = 0; t < count; t++) {
      this.setInputs(steps[t]);
      batch.setTick(t, steps[t].now, pins.map((pin) => this.board.inputs.get(pin) ?? 0),
        channels.map((ch) => this.board.sensors.get(ch) ?? 0));
    }
    // Pass 2: one batch; then each step's outcome from its rows, the board's inputs replayed to explain idle steps.
    const counters = this.loaded.counters();
    const before = this.stateValues();
    const { completed, trap } = this.loaded.runBatch(batch);
    this.board.sensors.clear();
    this.board.inputs.clear();
    start.sensors.forEach((v, k) => this.board.sensors.set(k, v));
    start.inputs.forEach((v, k) => this.board.inputs.set(k, v));
    const run: StepsRun = { outcomes: [], counters: [] };
    let previous = before;
    for (let t = 0; t < completed; t++) {
      this.setInputs(steps[t]);
      const writes: Record<string, number> = {};
      for (const [pin, level] of batch.writesAt(t)) {
        writes[String(pin)] = level;
        this.board.outputs.set(pin, level);
      }
      const globals = batch.globalsAt(t);
      const state = this.stateValues((index) => globals[index]);
      run.outcomes.push(this.outcome(steps[t], batch.returned[t], writes, previous, state, saturations[t]));
      previous = state;
      for (const channel of batch.saturatedAt(t)) counters.saturations[channel]++;
      if (batch.returned[t] < 0) counters.assumptionFailures++;
      run.counters.push({ saturations: { ...counters.saturations }, assumptionFailures: counters.assumptionFailures });
    }
    if (trap) {
      this.setInputs(steps[completed]); // the trapping step's inputs were read, as with step()
      run.error = trap;
    } else if (refused) {
      run.error = refused;
    }
    return run;
  }

  /** Puts a step's inputs on the board (checked; see checkInputs); returns the readings saturated to the profile. */
  private setInputs(step: Step): StepOutcome['saturated'] {
    const clamped = checkInputs(this.result, step, this.saturate);
    const saturated: StepOutcome['saturated'] = {};
    for (const [ch, v] of Object.entries(step.sensors ?? {})) {
      // The board holds what the host reads; the host saturates (device-abi.md), so the rule sees clamped values.
      this.board.sensors.set(Number(ch), clamped[ch] ?? v);
      if (clamped[ch] !== undefined) saturated[ch] = { given: v, value: clamped[ch] };
    }
    for (const [pin, v] of Object.entries(step.gpio ?? {})) this.board.inputs.set(Number(pin), v);
    return saturated;
  }

  private outcome(step: Step, returned: number, writes: Record<string, number>, before: Record<string, number | null>,
    state: Record<string, number | null>, saturated: StepOutcome['saturated']): StepOutcome {
    const outcome: StepOutcome = { step: this.count++, now: step.now, writes, returned, state, saturated };
    const changed = Object.keys(state).some((k) => state[k] !== before[k]);
    if (Object.keys(writes).length === 0 && !changed) outcome.idle = this.whyIdle(step.now, returned);
    return outcome;
  }

  private stateValues(global: (index: number) => number = (index) => this.loaded.getGlobal(index)): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const slot of this.result.artifact!.stateSlots) {
      out[slot.name] = slot.global !== null ? global(slot.global) : slot.assigned ? null : slot.initial;
    }
    return out;
  }

  /** A failed `requires` line, named with the values it saw; else the tick simply had nothing to do. */
  private whyIdle(now: number, returned: number): string {
    const rule = this.result.rule!;
    const ctx = {
      stateValue: () => 0,
      sensor: (ch: number) => saturateReading(this.result.target, ch, this.board.sensors.get(ch) ?? 0, this.result.artifact!.manifest.ranges),
      gpio: (pin: number) => (this.board.inputs.get(pin) ? 1 : 0),
      now: now | 0, result: 0,
    };
    const map = new SourceMap(this.result.source);
    // Bounds on channels never stop a tick (readings saturate to them); the other lines are checked.
    for (const req of rule.checkedRequires) {
      if (!this.interpreter.evaluate(req, ctx)) {
        return `requires on line ${req.span.line} does not hold (${map.lineText(req.span.line).trim()}): the tick skipped its body`;
      }
    }
    if (returned < 0) return `the rule returned ${returned}: an assumption failed`;
    return rule.capabilities.gpio_out.length === 0 && rule.states.length === 0
      ? 'the rule has no outputs and no state'
      : 'no pin was written and no state changed: the conditions that drive them did not hold';
  }

  close(): void {
    this.loaded.close();
  }
}

/** Runs the steps in order on one instance, in one batch; throws what stopped them (a StepsError, a RuleTrap). */
export function simulate(result: CompileResult, steps: Step[], backend: EngineBackend = 'wasm3'): StepOutcome[] {
  const sim = new Simulation(result, backend);
  try {
    const { outcomes, error } = sim.runSteps(steps);
    if (error) throw error;
    return outcomes;
  } finally {
    sim.close();
  }
}

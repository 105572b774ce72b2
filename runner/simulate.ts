// Drives a compiled rule by hand, step by step, on an engine: the library behind `rules run`.
import type { CompileResult } from '../compiler/index.js';
import { loadRuleOn, type EngineBackend } from '../engine/engine.js';
import { SimulatedBoard } from './board.js';

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
}

export class StepsError extends Error {}

/** Checks the shape of a steps file; throws StepsError with the first problem. */
export function parseSteps(json: unknown): Step[] {
  if (!Array.isArray(json)) throw new StepsError('the steps file must hold a JSON array of steps');
  return json.map((raw, i) => {
    const where = `step ${i}`;
    if (typeof raw !== 'object' || raw === null) throw new StepsError(`${where} must be an object`);
    const s = raw as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!['now', 'sensors', 'gpio'].includes(key)) throw new StepsError(`${where}: unknown key "${key}" (use now, sensors, gpio)`);
    }
    if (!Number.isInteger(s.now)) throw new StepsError(`${where}: "now" must be an integer number of milliseconds`);
    const table = (key: 'sensors' | 'gpio') => {
      const t = s[key];
      if (t === undefined) return undefined;
      if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new StepsError(`${where}: "${key}" must be an object such as {"0": 29000}`);
      for (const [k, v] of Object.entries(t)) {
        if (!/^\d+$/.test(k)) throw new StepsError(`${where}: "${key}" key "${k}" is not a ${key === 'gpio' ? 'pin' : 'channel'} number`);
        if (!Number.isInteger(v)) throw new StepsError(`${where}: ${key}.${k} must be an integer`);
      }
      return t as Record<string, number>;
    };
    return { now: s.now as number, sensors: table('sensors'), gpio: table('gpio') };
  });
}

/** One loaded instance of a rule on a simulated board; state carries from step to step. */
export class Simulation {
  private readonly board = new SimulatedBoard();
  private readonly loaded;
  private count = 0;

  constructor(result: CompileResult, backend: EngineBackend = 'wasm3') {
    const artifact = result.artifact!;
    this.loaded = loadRuleOn(backend, artifact.wasm, { manifest: artifact.manifest, target: result.target, io: this.board.io() });
  }

  step(step: Step): StepOutcome {
    for (const [ch, v] of Object.entries(step.sensors ?? {})) this.board.sensors.set(Number(ch), v);
    for (const [pin, v] of Object.entries(step.gpio ?? {})) this.board.inputs.set(Number(pin), v);
    this.board.clearWrites();
    const returned = this.loaded.run(step.now);
    const writes: Record<string, number> = {};
    for (const [pin, level] of this.board.writes) writes[String(pin)] = level;
    return { step: this.count++, now: step.now, writes, returned };
  }

  close(): void {
    this.loaded.close();
  }
}

/** Runs the steps in order on one instance. */
export function simulate(result: CompileResult, steps: Step[], backend: EngineBackend = 'wasm3'): StepOutcome[] {
  const sim = new Simulation(result, backend);
  try {
    return steps.map((s) => sim.step(s));
  } finally {
    sim.close();
  }
}

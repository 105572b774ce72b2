// A table of prepared ticks for LoadedRule.runBatch, and what each tick did: for callers that replay inputs known in
// advance (`rules run --steps`, tests, benchmarks), so that many ticks cost one native call instead of one each.
import type { Manifest } from '../contract/manifest.js';
import type { RuleTrap } from './engine.js';
import { NOT_WRITTEN } from './tick-frame.js';

/** What a batch records besides the returned values and the writes. */
export interface BatchOptions {
  /** Every global after each tick (i32 or f32, widened to a number): batch.globalsAt(t). */
  globals?: boolean;
  /** The channels whose reading was saturated in each tick (counted in the rule's counters): batch.saturatedAt(t). */
  saturations?: boolean;
}

/** What runBatch did: `completed` ticks ran; on a trap, the tick at index `completed` trapped and had no effect. */
export interface BatchOutcome {
  completed: number;
  /** The trap that stopped the batch (the rule is then 'failed', as after a trapping run()); undefined if none. */
  trap: RuleTrap | undefined;
}

/** The columns of a batch's tables, from a rule's manifest and module. */
export interface BatchLayout {
  readonly gpioIn: readonly number[];
  readonly sensor: readonly number[];
  readonly gpioOut: readonly number[];
  readonly globalCount: number;
}

export function batchLayout(manifest: Manifest, globalCount: number): BatchLayout {
  const { gpio_in: gpioIn, gpio_out: gpioOut, sensor } = manifest.capabilities;
  return { gpioIn: [...gpioIn], sensor: [...sensor], gpioOut: [...gpioOut], globalCount };
}

/** Two layouts with the same columns take the same batches. */
export function layoutKey(layout: BatchLayout): string {
  return JSON.stringify([layout.gpioIn, layout.sensor, layout.gpioOut, layout.globalCount]);
}

/**
 * The tables, one row per tick. `inputs` row t (width 1 + gpio_in + sensor columns): `now` in ms (wrapped to an
 * int32 like run()'s argument), the input levels in the manifest's `gpio_in` order (any truthy number reads as 1),
 * then the raw sensor readings in `sensor` order (saturated and truncated when the rule reads them, like a RuleIo's
 * readings; NaN traps the tick that reads the channel). After runBatch, for each completed tick: `returned[t]`,
 * `written` row t (per `gpio_out` pin, NOT_WRITTEN or the last level written, 0 or 1), and when asked `globals`
 * row t and `saturated` row t (1 per channel whose reading the tick had to saturate). Rows from the trapping tick
 * on hold nothing meaningful.
 */
export class TickBatch {
  readonly width: number;
  readonly inputs: Float64Array;
  readonly returned: Int32Array;
  readonly written: Int32Array;
  readonly globals: Float64Array | null;
  readonly saturated: Uint8Array | null;
  /** Which rules can run this batch: those whose layout has this key. */
  readonly key: string;
  private readonly pinColumn: Map<number, number>;
  private readonly channelColumn: Map<number, number>;

  constructor(readonly layout: BatchLayout, readonly capacity: number, options: BatchOptions = {}) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`a batch holds a whole number of ticks, not ${capacity}`);
    const { gpioIn, sensor, gpioOut, globalCount } = layout;
    this.width = 1 + gpioIn.length + sensor.length;
    this.inputs = new Float64Array(capacity * this.width);
    this.returned = new Int32Array(capacity);
    this.written = new Int32Array(capacity * gpioOut.length).fill(NOT_WRITTEN);
    this.globals = options.globals ? new Float64Array(capacity * globalCount) : null;
    this.saturated = options.saturations ? new Uint8Array(capacity * sensor.length) : null;
    this.key = layoutKey(layout);
    this.pinColumn = new Map(gpioIn.map((pin, i) => [pin, 1 + i]));
    this.channelColumn = new Map(sensor.map((ch, k) => [ch, 1 + gpioIn.length + k]));
  }

  /** Row t of the inputs: `now`, then levels and readings in the manifest's order (missing ones are left as they are). */
  setTick(t: number, now: number, levels: ArrayLike<number> = [], readings: ArrayLike<number> = []): void {
    const row = this.row(t);
    const { gpioIn, sensor } = this.layout;
    if (levels.length > gpioIn.length || readings.length > sensor.length) {
      throw new RangeError(`the rule declares ${gpioIn.length} input pins and ${sensor.length} sensor channels`);
    }
    this.inputs[row] = now;
    for (let i = 0; i < levels.length; i++) this.inputs[row + 1 + i] = levels[i];
    for (let k = 0; k < readings.length; k++) this.inputs[row + 1 + gpioIn.length + k] = readings[k];
  }

  setNow(t: number, now: number): void {
    this.inputs[this.row(t)] = now;
  }

  /** The level of declared input `pin` in tick t. */
  setLevel(t: number, pin: number, level: number): void {
    const column = this.pinColumn.get(pin);
    if (column === undefined) throw new RangeError(`GPIO pin ${pin} is not a declared input (gpio_in: ${this.layout.gpioIn.join(', ') || 'none'})`);
    this.inputs[this.row(t) + column] = level;
  }

  /** The raw reading of declared sensor `channel` in tick t. */
  setReading(t: number, channel: number, reading: number): void {
    const column = this.channelColumn.get(channel);
    if (column === undefined) throw new RangeError(`sensor channel ${channel} is not declared (sensor: ${this.layout.sensor.join(', ') || 'none'})`);
    this.inputs[this.row(t) + column] = reading;
  }

  /** Copies row `from` of the inputs to row `to` (a tick that keeps the previous inputs), `now` included. */
  copyInputs(from: number, to: number): void {
    const source = this.row(from);
    this.inputs.copyWithin(this.row(to), source, source + this.width);
  }

  /** The pins tick t wrote, with the last level of each, in `gpio_out` order (what run() hands to writeGpio). */
  writesAt(t: number): [pin: number, level: number][] {
    this.row(t);
    const { gpioOut } = this.layout;
    const out: [number, number][] = [];
    for (let k = 0; k < gpioOut.length; k++) {
      const level = this.written[t * gpioOut.length + k];
      if (level !== NOT_WRITTEN) out.push([gpioOut[k], level]);
    }
    return out;
  }

  /** Every global after tick t (a batch made with `globals: true`). */
  globalsAt(t: number): number[] {
    this.row(t);
    if (!this.globals) throw new TypeError('this batch does not record globals; create it with { globals: true }');
    const n = this.layout.globalCount;
    return Array.from(this.globals.subarray(t * n, t * n + n));
  }

  /** The channels whose reading tick t saturated (a batch made with `saturations: true`). */
  saturatedAt(t: number): number[] {
    this.row(t);
    if (!this.saturated) throw new TypeError('this batch does not record saturations; create it with { saturations: true }');
    const { sensor } = this.layout;
    return sensor.filter((_, k) => this.saturated![t * sensor.length + k] !== 0);
  }

  private row(t: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= this.capacity) throw new RangeError(`tick ${t} is outside the batch (0..${this.capacity - 1})`);
    return t * this.width;
  }
}

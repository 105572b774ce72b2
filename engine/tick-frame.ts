// The io of one tick as both backends run it (device-abi.md, "What a host must do", item 5): inputs read once
// before `run`, checked and saturated reads, writes buffered and applied together after `run` returns.
import type { Manifest } from '../contract/manifest.js';

/** What a rule can touch on the device; the engine calls it only for declared pins and channels. */
export interface RuleIo {
  /** Level of a GPIO input; any truthy value reads as 1. Called once per tick per declared input pin, before `run`. */
  readGpio(pin: number): number;
  /**
   * Drives a GPIO output; `level` is always 0 or 1 here. Called after `run` returns, once per pin the tick wrote,
   * with the last level written, in the order of the manifest's `gpio_out`; never for a tick that trapped.
   */
  writeGpio(pin: number, level: number): void;
  /**
   * A sensor reading in the channel's fixed-point unit; called once per tick per declared channel, before `run`.
   * The engine saturates it to the manifest's range for the channel (and truncates fractions) before the rule
   * sees it; NaN or a non-number traps the rule when it reads the channel.
   */
  readSensor(channel: number): number;
}

/** A pin or channel the manifest does not declare (the compiler should have made this impossible). */
export class CapabilityViolation extends Error {
  override name = 'CapabilityViolation';
  constructor(readonly rule: string, readonly importName: 'io.gr' | 'io.gw' | 'io.sr', readonly resource: string,
    declared: readonly number[], capability: string) {
    super(`rule "${rule}" used ${resource} through ${importName}, but its manifest does not declare it in ` +
      `${capability} (declared: ${declared.length ? declared.join(', ') : 'none'})`);
  }
}

/** A reading the host's sensor reader gave that is not a number. */
export class InvalidReading extends TypeError {
  override name = 'InvalidReading';
  constructor(readonly channel: number, readonly reading: unknown) {
    super(`the host's sensor reader returned ${String(reading)} for channel ${channel}; it must return a number`);
  }
}

/** No write this tick, in TickFrame.written. */
export const NOT_WRITTEN = -1;

/**
 * The per-rule buffers of a tick. The wasm3 backend hands the typed arrays to C, which reads and writes them
 * directly (engine/native/wasm3_node.c); the Node backend runs the same checks in JS (the handlers below).
 * Layout: `readings` holds the input levels (0/1) in `gpio_in` order, then the raw sensor readings in `sensor`
 * order; `written` holds, in `gpio_out` order, NOT_WRITTEN or the last level written this tick; `saturations`
 * the counts per channel; `saturatedThisTick` marks channels already counted in this tick.
 */
export class TickFrame {
  readonly inputs: Int32Array;
  readonly outputs: Int32Array;
  readonly channels: Int32Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly readings: Float64Array;
  readonly written: Int32Array;
  readonly saturations: Float64Array;
  readonly saturatedThisTick: Uint8Array;
  /** For the binding: [0] `now` for the tick, [1] what `run` returned, [2] how many ticks of a batch returned < 0. */
  readonly control = new Int32Array(3);
  /** What a sensor reader returned when it was not a number, by channel index, for the trap's message. */
  private readonly invalid: unknown[];

  constructor(readonly manifest: Manifest) {
    const { gpio_in: gpioIn, gpio_out: gpioOut, sensor } = manifest.capabilities;
    this.inputs = Int32Array.from(gpioIn);
    this.outputs = Int32Array.from(gpioOut);
    this.channels = Int32Array.from(sensor);
    // Validation has checked that `ranges` covers every declared channel.
    const range = (ch: number) => manifest.ranges.find((r) => r.channel === ch)!;
    this.min = Float64Array.from(sensor, (ch) => range(ch).min);
    this.max = Float64Array.from(sensor, (ch) => range(ch).max);
    this.readings = new Float64Array(gpioIn.length + sensor.length);
    this.written = new Int32Array(gpioOut.length).fill(NOT_WRITTEN);
    this.saturations = new Float64Array(sensor.length);
    this.saturatedThisTick = new Uint8Array(sensor.length);
    this.invalid = new Array(sensor.length);
  }

  /** Reads every declared input once, before `run`; an exception from the io escapes (the caller traps). */
  fill(io: RuleIo): void {
    const { inputs, channels, readings } = this;
    const n = inputs.length;
    for (let i = 0; i < n; i++) readings[i] = io.readGpio(inputs[i]) ? 1 : 0;
    for (let k = 0; k < channels.length; k++) {
      const reading = io.readSensor(channels[k]);
      if (typeof reading === 'number') {
        readings[n + k] = reading;
        if (reading !== reading) this.invalid[k] = reading; // NaN: not what an earlier tick's non-number was
      } else {
        readings[n + k] = NaN;
        this.invalid[k] = reading;
      }
    }
  }

  /**
   * Takes a tick's inputs from row `offset` of a batch's inputs (engine/tick-batch.ts: `now`, then levels and
   * readings) instead of a RuleIo, as fill() would have read them: levels as 0/1 by truthiness, readings raw.
   */
  load(inputs: Float64Array, offset: number): void {
    const { readings } = this;
    const n = this.inputs.length;
    for (let i = 0; i < n; i++) readings[i] = inputs[offset + 1 + i] ? 1 : 0;
    for (let k = 0; k < this.channels.length; k++) readings[n + k] = inputs[offset + 1 + n + k];
  }

  /** Forgets the non-numbers earlier ticks read: a batch's readings are numbers, NaN included. */
  forgetInvalid(): void {
    this.invalid.fill(undefined);
  }

  /** Starts a tick on the Node backend (the binding does the same in C): no writes yet, no channel counted. */
  begin(): void {
    this.written.fill(NOT_WRITTEN);
    this.saturatedThisTick.fill(0);
  }

  /** Hands the tick's writes to the io, after `run` returned. */
  apply(io: RuleIo): void {
    const { outputs, written } = this;
    for (let k = 0; k < outputs.length; k++) {
      if (written[k] !== NOT_WRITTEN) io.writeGpio(outputs[k], written[k]);
    }
  }

  /** Forgets the writes of a tick that trapped (Node backend; the binding does it in C). */
  discard(): void {
    this.written.fill(NOT_WRITTEN);
  }

  invalidReading(channelIndex: number): InvalidReading {
    const raw = this.invalid[channelIndex];
    return new InvalidReading(this.channels[channelIndex], raw === undefined ? NaN : raw);
  }

  violation(importName: 'io.gr' | 'io.gw' | 'io.sr', value: number): CapabilityViolation {
    const { rule, capabilities } = this.manifest;
    if (importName === 'io.gr') return new CapabilityViolation(rule, importName, `GPIO input pin ${value}`, capabilities.gpio_in, 'gpio_in');
    if (importName === 'io.gw') return new CapabilityViolation(rule, importName, `GPIO output pin ${value}`, capabilities.gpio_out, 'gpio_out');
    return new CapabilityViolation(rule, importName, `sensor channel ${value}`, capabilities.sensor, 'sensor');
  }

  /** The io imports in JS, reading and writing this frame: what the C trampolines do, for the Node backend. */
  handlers(): { gr(pin: number): number; gw(pin: number, level: number): void; sr(channel: number): number } {
    const { inputs, outputs, channels, min, max, readings, written, saturations, saturatedThisTick } = this;
    const n = inputs.length;
    return {
      gr: (pin) => {
        const i = inputs.indexOf(pin);
        if (i < 0) throw this.violation('io.gr', pin);
        return readings[i];
      },
      gw: (pin, level) => {
        const k = outputs.indexOf(pin);
        if (k < 0) throw this.violation('io.gw', pin);
        written[k] = level !== 0 ? 1 : 0;
      },
      sr: (channel) => {
        const k = channels.indexOf(channel);
        if (k < 0) throw this.violation('io.sr', channel);
        const reading = readings[n + k];
        if (Number.isNaN(reading)) throw this.invalidReading(k);
        let value = Math.trunc(reading);
        if (value < min[k]) value = min[k];
        else if (value > max[k]) value = max[k];
        else return value;
        if (saturatedThisTick[k] === 0) {
          saturatedThisTick[k] = 1;
          saturations[k]++;
        }
        return value;
      },
    };
  }
}

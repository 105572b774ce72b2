// A simulated board for tests and `rules run`: sensor readings and input levels that the caller
// sets, and the last level written to each output pin (with every write of the current tick).
import type { RuleIo } from '../engine/engine.js';

export class SimulatedBoard {
  readonly sensors = new Map<number, number>();
  readonly inputs = new Map<number, number>();
  readonly outputs = new Map<number, number>();
  /** Writes since the last clearWrites(), in order. */
  writes: [number, number][] = [];

  io(): RuleIo {
    return {
      readGpio: (pin) => this.inputs.get(pin) ?? 0,
      writeGpio: (pin, level) => {
        this.outputs.set(pin, level);
        this.writes.push([pin, level]);
      },
      readSensor: (channel) => this.sensors.get(channel) ?? 0,
    };
  }

  clearWrites(): void {
    this.writes = [];
  }
}

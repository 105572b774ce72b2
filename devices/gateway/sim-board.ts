// The gateway's simulated board (`rules agent --gpio sim`): sensor readings a script or the operator sets,
// and output levels the rules drive, with an event per change so the agent can print or test them.
import { EventEmitter } from 'node:events';
import type { RuleIo } from '../../engine/engine.js';

export interface GpioChange {
  pin: number;
  level: number;
  rule: string;
}

export interface GatewayBoard {
  /** The io a rule sees; `rule` names the writer in change events. */
  io(rule: string): RuleIo;
  close(): void;
}

export class SimulatedGatewayBoard extends EventEmitter<{ change: [GpioChange] }> implements GatewayBoard {
  readonly sensors = new Map<number, number>();
  readonly inputs = new Map<number, number>();
  readonly outputs = new Map<number, number>();

  io(rule: string): RuleIo {
    return {
      readGpio: (pin) => this.inputs.get(pin) ?? 0,
      writeGpio: (pin, level) => {
        if (this.outputs.get(pin) === level) return;
        this.outputs.set(pin, level);
        this.emit('change', { pin, level, rule });
      },
      readSensor: (channel) => this.sensors.get(channel) ?? 0,
    };
  }

  close(): void {
    this.removeAllListeners();
  }
}

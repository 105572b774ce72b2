// The gateway's real GPIO (`rules agent --gpio chip0`): the Linux GPIO character device, driven through
// libgpiod's tools (Debian `gpiod`: gpioget, gpioset), so the agent needs no native code of its own.
// Inputs are read when a tick reads them; an output is set only when its level changes.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { RuleIo } from '../../engine/engine.js';
import type { GatewayBoard, GpioChange } from './sim-board.js';

export class GpioToolError extends Error {
  override name = 'GpioToolError';
}

function run(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 2_000 });
  if (r.error) {
    throw new GpioToolError((r.error as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${tool} is not installed: on Raspberry Pi OS or Debian, \`apt-get install gpiod\``
      : `${tool} ${args.join(' ')}: ${r.error.message}`);
  }
  if (r.status !== 0) throw new GpioToolError(`${tool} ${args.join(' ')}: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`}`);
  return r.stdout;
}

export class LinuxGpioBoard extends EventEmitter<{ change: [GpioChange] }> implements GatewayBoard {
  private readonly levels = new Map<number, number>();

  /** @param chip the GPIO chip, as gpiodetect names it: chip0, or a path such as /dev/gpiochip0. */
  constructor(readonly chip: string, readonly sensors = new Map<number, number>()) {
    super();
    if (!/^(chip\d+|\/dev\/gpiochip\d+)$/.test(chip)) throw new GpioToolError(`--gpio ${chip}: name a GPIO chip, such as chip0`);
    // Fails early, with the tool's own words, when the chip is missing or not ours to open.
    run('gpioinfo', [chip]);
  }

  io(rule: string): RuleIo {
    return {
      readGpio: (pin) => Number(run('gpioget', [this.chip, String(pin)]).trim()) ? 1 : 0,
      writeGpio: (pin, level) => {
        if (this.levels.get(pin) === level) return;
        run('gpioset', [this.chip, `${pin}=${level}`]);
        this.levels.set(pin, level);
        this.emit('change', { pin, level, rule });
      },
      readSensor: (channel) => this.sensors.get(channel) ?? 0,
    };
  }

  close(): void {
    this.removeAllListeners();
  }
}

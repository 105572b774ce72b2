// The gateway's real GPIO (`rules agent --gpio chip0`): the Linux GPIO character device, driven through
// libgpiod's tools (Debian `gpiod`: gpioget, gpioset), so the agent needs no native code of its own.
// Inputs are read when a tick reads them; an output is set only when its level changes. Both generations of the
// tools are spoken: libgpiod 1.x (Raspberry Pi OS bookworm, Debian 12) and 2.x (Debian 13), whose syntax differs.
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

/** `chip0`, `gpiochip0`, `0` or `/dev/gpiochip0` as the device path both generations of the tools accept. */
export function gpioChipPath(chip: string): string {
  const m = /^(?:\/dev\/gpiochip|gpiochip|chip)?(\d+)$/.exec(chip);
  if (!m) throw new GpioToolError(`--gpio ${chip}: name a GPIO chip, such as chip0 (or gpiochip0, /dev/gpiochip0)`);
  return `/dev/gpiochip${m[1]}`;
}

/**
 * The command lines of one libgpiod generation. 1.x takes the chip as the first argument and opens a bare
 * name under /dev (so `chip0` would mean /dev/chip0); 2.x takes it with -c, prints `"4"=active` unless asked for
 * --numeric, and its gpioset keeps running until killed unless -t0 says to exit after setting.
 */
interface GpiodSyntax {
  info(chip: string): string[];
  get(chip: string, pin: number): string[];
  set(chip: string, pin: number, level: number): string[];
}

const GPIOD_V1: GpiodSyntax = {
  info: (chip) => [chip],
  get: (chip, pin) => [chip, String(pin)],
  set: (chip, pin, level) => [chip, `${pin}=${level}`],
};

const GPIOD_V2: GpiodSyntax = {
  info: (chip) => ['-c', chip],
  get: (chip, pin) => ['--numeric', '-c', chip, String(pin)],
  set: (chip, pin, level) => ['-t0', '-c', chip, `${pin}=${level}`],
};

function gpiodSyntax(): GpiodSyntax {
  const version = run('gpioinfo', ['--version']);
  const major = /\bv(\d+)\./.exec(version)?.[1];
  if (major === '1') return GPIOD_V1;
  if (major === '2') return GPIOD_V2;
  throw new GpioToolError(`gpioinfo --version: expected libgpiod 1.x or 2.x, got ${JSON.stringify(version.split('\n')[0])}`);
}

export class LinuxGpioBoard extends EventEmitter<{ change: [GpioChange] }> implements GatewayBoard {
  private readonly levels = new Map<number, number>();
  private readonly path: string;
  private readonly syntax: GpiodSyntax;

  /** @param chip the GPIO chip: chip0, gpiochip0, 0 or /dev/gpiochip0. */
  constructor(readonly chip: string, readonly sensors = new Map<number, number>()) {
    super();
    this.path = gpioChipPath(chip);
    this.syntax = gpiodSyntax();
    // Fails early, with the tool's own words, when the chip is missing or not ours to open.
    run('gpioinfo', this.syntax.info(this.path));
  }

  io(rule: string): RuleIo {
    return {
      readGpio: (pin) => Number(run('gpioget', this.syntax.get(this.path, pin)).trim()) ? 1 : 0,
      writeGpio: (pin, level) => {
        if (this.levels.get(pin) === level) return;
        run('gpioset', this.syntax.set(this.path, pin, level));
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

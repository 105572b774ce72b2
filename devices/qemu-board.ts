// The emulated boards: the device host firmware (scripts/build-firmware.mjs) running under QEMU, its SMP UART on one
// pseudo-terminal and its events link (GPIO changes out, scripted inputs in) on another. Used by the end-to-end
// tests and by scripts/qemu-board.mjs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync as writeSyncTo, constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ReadStream } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { keyId } from '../contract/bundle.js';
import { existsSync } from 'node:fs';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const repoRoot = findRoot();

/** One GPIO change the board reported. */
export interface GpioEvent {
  pin: number;
  level: 0 | 1;
  ms: number;
}

export interface QemuBoard {
  /** Which emulated board and which target profile its firmware is built for. */
  readonly board: 'stm32f4' | 'm33';
  readonly target: 'stm32' | 'nrf5340';
  /** The pseudo-terminal carrying SMP: what `rules flash --port` takes. */
  readonly port: string;
  /** Every GPIO change since boot, in order. */
  readonly gpio: GpioEvent[];
  /** Resolves with the first change (since boot) of `pin` to `level`, or rejects after `timeoutMs`. */
  waitForGpio(pin: number, level: 0 | 1, timeoutMs?: number, since?: number): Promise<GpioEvent>;
  /** Sets what a sensor channel or an input pin reads from now on (QEMU models neither). */
  setSensor(channel: number, value: number): Promise<void>;
  setInput(pin: number, level: 0 | 1): Promise<void>;
  /** The firmware's state line: board, target, trusted keys, installed rules, and how its host opened. */
  status(): Promise<{ board: string; target: string; keys: number; rules: number; storage: string; status: string }>;
  /** Heap and stack high-water marks, in bytes, as the firmware measures them. */
  stats(): Promise<{ heap: number; stack: number }>;
  /** Everything the events link printed, for failure messages. */
  readonly log: string[];
  /** Stops QEMU (always: the tests call it in `finally` or `t.teardown`). */
  stop(): Promise<void>;
  /** Cuts the power: SIGKILL, at whatever point the firmware is. */
  powerCut(): Promise<void>;
}

export interface QemuBoardOptions {
  /** Raw 32-byte Ed25519 public keys to provision (the firmware trusts these and no others). */
  trustedKeys: Uint8Array[];
  /** QEMU is killed after this long whatever happens (default 4 minutes). */
  lifetimeMs?: number;
  /** Another firmware image to run instead of the one the build makes. */
  elf?: string;
  /**
   * Keep slot storage in this file (through Arm semihosting) instead of RAM only, so the board keeps its rules
   * when QEMU is killed and started again on the same file: a power cut.
   */
  flashFile?: string;
}

const MACHINES = {
  stm32f4: { machine: 'netduinoplus2', image: 'stm32f4-qemu', target: 'stm32', keysAddress: 0x080e0000 },
  m33: { machine: 'mps2-an505', image: 'm33-qemu', target: 'nrf5340', keysAddress: 0x100f0000 },
} as const;

let firmwareBuilt = false;

/** Builds the firmware images if they are out of date; throws with the build's own message if it cannot. */
export function ensureFirmware(): void {
  if (firmwareBuilt) return;
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-firmware.mjs'), '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Cortex-M firmware is not built:\n${r.stderr}${r.stdout}`);
  firmwareBuilt = true;
}

export function firmwarePath(board: 'stm32f4' | 'm33'): string {
  const image = MACHINES[board].image;
  return join(repoRoot, 'devices', 'host', 'build', image, `rules-host-${image}.elf`);
}

/** Where the QEMU images look for their emulator options ("SEMI": slot storage in the semihosting file). */
const EMULATOR_OPTIONS_OFFSET = 0x1000;

/** The provisioning area's contents: "RKEY", a little-endian count, then per key its 8-byte id and 32 bytes. */
export function provisioningBlob(keys: Uint8Array[], emulatorOptions?: string): Buffer {
  const header = Buffer.alloc(8);
  header.write('RKEY', 0, 'latin1');
  header.writeUInt32LE(keys.length, 4);
  const entries = keys.map((key) => {
    if (key.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
    return Buffer.concat([keyId(key), Buffer.from(key)]);
  });
  const blob = Buffer.concat([header, ...entries]);
  if (!emulatorOptions) return blob;
  const withOptions = Buffer.alloc(EMULATOR_OPTIONS_OFFSET + 4);
  blob.copy(withOptions);
  withOptions.write(emulatorOptions, EMULATOR_OPTIONS_OFFSET, 'latin1');
  return withOptions;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function startQemuStm32(options: QemuBoardOptions): Promise<QemuBoard> {
  return startQemuBoard('stm32f4', options);
}

export function startQemuM33(options: QemuBoardOptions): Promise<QemuBoard> {
  return startQemuBoard('m33', options);
}

export async function startQemuBoard(board: 'stm32f4' | 'm33', options: QemuBoardOptions): Promise<QemuBoard> {
  if (!options.elf) ensureFirmware();
  const spec = MACHINES[board];
  const dir = mkdtempSync(join(tmpdir(), `rules-qemu-${board}-`));
  const keysFile = join(dir, 'keys.bin');
  writeFileSync(keysFile, provisioningBlob(options.trustedKeys, options.flashFile ? 'SEMI' : undefined));
  if (options.flashFile && /[,\s]/.test(options.flashFile)) throw new Error(`the flash file's path may not hold commas or spaces: ${options.flashFile}`);
  const semihosting = options.flashFile ? ['-semihosting-config', `enable=on,target=native,arg=${options.flashFile}`] : [];
  const child = spawn('qemu-system-arm', ['-M', spec.machine, '-nographic', '-monitor', 'none', '-nodefaults',
    '-serial', 'pty', '-serial', 'pty', '-kernel', options.elf ?? firmwarePath(board),
    '-device', `loader,file=${keysFile},addr=0x${spec.keysAddress.toString(16)},force-raw=on`, ...semihosting],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (e: NodeJS.ErrnoException) => {
    reject(new Error(e.code === 'ENOENT'
      ? 'qemu-system-arm is not installed; install it with `sudo apt-get install qemu-system-arm` (Debian/Ubuntu) or `brew install qemu` (macOS)'
      : `cannot start qemu-system-arm: ${e.message}`));
  }));
  spawnFailed.catch(() => undefined);
  // setTimeout takes at most 2^31 - 1 ms (about 24 days).
  const lifetime = setTimeout(() => child.kill('SIGKILL'), Math.min(options.lifetimeMs ?? 240_000, 2 ** 31 - 1));
  lifetime.unref();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    live.delete(child);
    clearTimeout(lifetime);
    resolve();
  }));
  const fds: number[] = [];
  let events: ReadStream | undefined;
  const powerCut = async () => {
    if (!exited) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
    await stop();
  };
  const stop = async () => {
    events?.destroy();
    for (const fd of fds.splice(0)) closeSync(fd);
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exitedPromise;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ptys = await Promise.race([ptysOf(child, 2, 10_000), spawnFailed]);
    // Holding the ptys open keeps QEMU from treating them as disconnected (and dropping output) between clients.
    for (const pty of ptys) fds.push(openSync(pty, fsConstants.O_RDWR | fsConstants.O_NOCTTY));
    const eventsFd = openSync(ptys[1]!, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
    events = new ReadStream(eventsFd);
    const link = new EventsLink(events, eventsFd);
    await link.request('stats', (e) => e.event === 'stats', 15_000);
    return {
      board,
      target: spec.target,
      port: ptys[0]!,
      gpio: link.gpio,
      log: link.lines,
      waitForGpio: (pin, level, timeoutMs = 10_000, since = 0) => link.waitForGpio(pin, level, timeoutMs, since),
      setSensor: async (channel, value) => {
        await link.request(`sensor ${channel} ${value}`, (e) => e.event === 'set' && e.sensor === channel, 5000);
      },
      setInput: async (pin, level) => {
        await link.request(`gpio ${pin} ${level}`, (e) => e.event === 'set' && e.gpio === pin, 5000);
      },
      status: async () => {
        const e = await link.request('status', (x) => x.event === 'status', 5000);
        return { board: String(e.board), target: String(e.target), keys: Number(e.keys), rules: Number(e.rules), storage: String(e.storage), status: String(e.status) };
      },
      stats: async () => {
        const e = await link.request('stats', (x) => x.event === 'stats', 5000);
        return { heap: Number(e.heap), stack: Number(e.stack) };
      },
      stop,
      powerCut,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Reads QEMU's "char device redirected to /dev/pts/N (label serialK)" lines. */
function ptysOf(child: ChildProcess, count: number, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const found: string[] = [];
    let output = '';
    const timer = setTimeout(() => reject(new Error(`QEMU did not report its pseudo-terminals: ${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/redirected to (\/dev\/pts\/\d+) \(label serial(\d+)\)/g)) found[Number(m[2])] = m[1]!;
      if (found.filter(Boolean).length === count) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`QEMU exited (${code}) before the board started: ${output}`));
    });
  });
}

type EventRecord = Record<string, unknown>;

class EventsLink {
  readonly lines: string[] = [];
  readonly gpio: GpioEvent[] = [];
  private readonly listeners = new Set<(e: EventRecord) => void>();
  private partial = '';

  constructor(stream: ReadStream, private readonly fd: number) {
    stream.on('data', (chunk: Buffer) => {
      this.partial += chunk.toString('latin1');
      let newline;
      while ((newline = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, newline).trim();
        this.partial = this.partial.slice(newline + 1);
        if (line) this.onLine(line);
      }
    });
    stream.on('error', () => { /* the pty goes away when QEMU stops */ });
  }

  private onLine(line: string): void {
    this.lines.push(line);
    let event: EventRecord;
    try {
      event = JSON.parse(line) as EventRecord;
    } catch {
      return;
    }
    if (event.event === 'gpio') this.gpio.push({ pin: Number(event.pin), level: event.level ? 1 : 0, ms: Number(event.ms) });
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Sends a command line (again every second until answered: the firmware may still be booting). */
  request(command: string, isAnswer: (e: EventRecord) => boolean, timeoutMs: number): Promise<EventRecord> {
    return new Promise((resolve, reject) => {
      const send = () => writeAll(this.fd, `${command}\n`);
      const resend = setInterval(send, 1000);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the board did not answer "${command}"; its events link said:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      const listener = (e: EventRecord) => {
        if (!isAnswer(e)) return;
        done();
        resolve(e);
      };
      const done = () => {
        clearInterval(resend);
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
      send();
    });
  }

  waitForGpio(pin: number, level: 0 | 1, timeoutMs: number, since: number): Promise<GpioEvent> {
    const seen = this.gpio.slice(since).find((g) => g.pin === pin && g.level === level);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`pin ${pin} did not go ${level ? 'high' : 'low'} within ${timeoutMs} ms; the events link said:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      const listener = (e: EventRecord) => {
        if (e.event === 'gpio' && Number(e.pin) === pin && (e.level ? 1 : 0) === level) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve({ pin, level, ms: Number(e.ms) });
        }
      };
      this.listeners.add(listener);
    });
  }
}

function writeAll(fd: number, text: string): void {
  // A tty write of a short line completes at once; EAGAIN cannot happen on a blocking descriptor.
  const bytes = Buffer.from(text, 'latin1');
  let written = 0;
  while (written < bytes.length) written += writeSyncTo(fd, bytes.subarray(written));
}

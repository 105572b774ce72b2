// The boards the end-to-end suite runs against, behind one interface: the virtual board (`rules board`, the
// C host on a pty) and the emulated STM32 and Cortex-M33 boards (the firmware under QEMU). The suite only
// swaps how a board starts; everything else goes through the real CLI and a real pseudo-terminal.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePublicKeyText, rawPublicKey } from '../../contract/bundle.js';
import { cliPath } from './paths.js';
import { stopChild, waitFor } from './pty.js';

export interface GpioChange { pin: number; level: number }

export interface TestBoard {
  kind: string;
  target: string;
  /** The serial port a client opens. */
  port: string;
  /** Every GPIO change since the board started. */
  gpio: GpioChange[];
  /** Waits for `pin` to reach `level` in a change after the first `since` changes. */
  waitForGpio(pin: number, level: number, timeoutMs?: number, since?: number): Promise<void>;
  setSensor(channel: number, value: number): Promise<void>;
  stop(): Promise<void>;
}

export interface BoardKind {
  name: string;
  target: string;
  /** Why this kind cannot run here, or null. */
  unavailable(): string | null;
  start(options: { trustedPub: string; sensors: Record<number, number> }): Promise<TestBoard>;
}

const virtualBoard = (target: string): BoardKind => ({
  name: `virtual-${target}`,
  target,
  unavailable: () => null,
  async start({ trustedPub, sensors }) {
    const dir = mkdtempSync(join(tmpdir(), 'rules-e2e-virtual-'));
    const link = join(dir, 'tty');
    const args = [cliPath, 'board', '--link', link, '--trust', trustedPub, '--target', target, '--state', dir, '--json'];
    for (const [ch, v] of Object.entries(sensors)) args.push('--sensor', `${ch}=${v}`);
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const gpio: GpioChange[] = [];
    const lines: string[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        lines.push(line);
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          if (e.event === 'gpio') gpio.push({ pin: Number(e.pin), level: Number(e.level) ? 1 : 0 });
        } catch { /* a text line */ }
      }
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    await waitFor(() => existsSync(link) || child.exitCode !== null, 10_000, 'the virtual board');
    if (child.exitCode !== null) throw new Error(`the virtual board did not start: ${stderr}`);
    return {
      kind: `virtual-${target}`, target, port: link, gpio,
      waitForGpio: (pin, level, timeoutMs = 10_000, since = 0) => waitFor(() => gpio.slice(since).some((g) => g.pin === pin && g.level === level),
        timeoutMs, `pin ${pin} ${level ? 'high' : 'low'} (board said: ${lines.slice(-10).join(' | ')})`),
      setSensor: async (channel, value) => { child.stdin.write(`sensor ${channel} ${value}\n`); },
      stop: () => stopChild(child),
    };
  },
});

const qemuBoard = (board: 'stm32f4' | 'm33', target: string): BoardKind => ({
  name: `qemu-${board}`,
  target,
  unavailable: () => (spawnSync('qemu-system-arm', ['--version']).status === 0 ? null : 'qemu-system-arm is not installed'),
  async start({ trustedPub, sensors }) {
    const { startQemuBoard } = await import('../../devices/qemu-board.js');
    const key = rawPublicKey(parsePublicKeyText(readFileSync(trustedPub, 'utf8')));
    const q = await startQemuBoard(board, { trustedKeys: [key] });
    for (const [ch, v] of Object.entries(sensors)) await q.setSensor(Number(ch), v);
    return {
      kind: `qemu-${board}`, target: q.target, port: q.port,
      get gpio() { return q.gpio.map((g) => ({ pin: g.pin, level: g.level })); },
      waitForGpio: async (pin, level, timeoutMs = 20_000, since = 0) => { await q.waitForGpio(pin, level as 0 | 1, timeoutMs, since); },
      setSensor: (channel, value) => q.setSensor(channel, value),
      stop: () => q.stop(),
    };
  },
});

export const boardKinds: BoardKind[] = [virtualBoard('stm32'), qemuBoard('stm32f4', 'stm32'), qemuBoard('m33', 'nrf5340')];

/** Run by default: every kind; RULES_E2E_BOARDS=virtual-stm32 (say) narrows it. */
export const DEFAULT_BOARD_KINDS = ['virtual-stm32', 'qemu-stm32f4', 'qemu-m33'];

/** The kinds to run: the defaults, or those named in RULES_E2E_BOARDS (comma-separated). */
export function selectedBoardKinds(): BoardKind[] {
  const wanted = process.env.RULES_E2E_BOARDS?.split(',').map((s) => s.trim()).filter(Boolean) ?? DEFAULT_BOARD_KINDS;
  return boardKinds.filter((k) => wanted.includes(k.name));
}

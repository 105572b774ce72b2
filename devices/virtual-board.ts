// The virtual board (devices/host/posix): the C device host on this machine, its serial port a
// pseudo-terminal behind a symlink, its flash a file. This module finds the binary and turns a target
// profile and trusted public keys into its arguments; `rules board` and the tests start it through here.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetProfile } from '../contract/targets.js';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BOARD_BINARY = join(PACKAGE_ROOT, 'devices', 'host', 'build', 'posix', 'rules-board');
export const HOST_TESTS_BINARY = join(PACKAGE_ROOT, 'devices', 'host', 'build', 'posix', 'rules-host-tests');

export class BoardError extends Error {}

export interface TrustedKey {
  /** The key id: the first 8 bytes of the SHA-256 of the raw key (docs/bundle.md §1). */
  id: Uint8Array;
  /** The 32 raw bytes of the Ed25519 public key. */
  key: Uint8Array;
}

/** Reads a public key file (`rules-ed25519 <base64 of 32 bytes> [comment]`, docs/bundle.md §1). */
export function readPublicKeyFile(path: string): TrustedKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BoardError(`cannot read the public key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith('#')) ?? '';
  const [prefix, b64] = line.split(/\s+/);
  if (prefix !== 'rules-ed25519' || !b64 || !/^[A-Za-z0-9+/]{43}=$/.test(b64)) {
    throw new BoardError(`${path} is not a rules public key: expected one line \`rules-ed25519 <base64 of 32 bytes>\` as \`rules keygen\` writes`);
  }
  const key = new Uint8Array(Buffer.from(b64, 'base64'));
  return { id: new Uint8Array(createHash('sha256').update(key).digest().subarray(0, 8)), key };
}

export interface BoardOptions {
  /** The symlink to create to the board's pseudo-terminal. */
  link: string;
  target: TargetProfile;
  trusted: TrustedKey[];
  /** Where the board keeps its flash (flash.bin); default the current directory. */
  stateDir?: string;
  /** Initial sensor readings, channel to value. */
  sensors?: Record<number, number>;
  /** Initial GPIO input levels, pin to level. */
  gpioInputs?: Record<number, number>;
  json?: boolean;
}

/** The binary's arguments for these options (see docs/devices.md). */
export function boardArguments(o: BoardOptions): string[] {
  const t = o.target;
  const args = ['--link', o.link, '--target', t.name, '--gpio', `${t.gpio.min}:${t.gpio.max}`,
    '--max-artifact', String(t.maxArtifactBytes), '--max-state', String(t.maxStateSlots),
    '--max-instructions', String(t.maxInstructionsPerTick), '--max-loop-trips', String(t.maxLoopTrips),
    '--min-period', String(t.minPeriodMs)];
  if (t.floatingPoint) args.push('--float');
  for (const s of t.sensors) args.push('--channel', `${s.channel}:${s.min}:${s.max}`);
  for (const k of o.trusted) args.push('--trust', `${Buffer.from(k.id).toString('hex')}:${Buffer.from(k.key).toString('hex')}`);
  if (o.stateDir) args.push('--state', o.stateDir);
  for (const [ch, v] of Object.entries(o.sensors ?? {})) args.push('--sensor', `${ch}=${v}`);
  for (const [pin, v] of Object.entries(o.gpioInputs ?? {})) args.push('--gpio-in', `${pin}=${v}`);
  if (o.json) args.push('--json');
  return args;
}

export function boardBinary(): string {
  if (!existsSync(BOARD_BINARY)) {
    throw new BoardError(`the virtual board is not built (${BOARD_BINARY} is missing); run \`npm install\`, which builds it`);
  }
  return BOARD_BINARY;
}

/** Starts the board with piped stdin (for `sensor`/`gpio` commands) and stdout. */
export function startBoard(o: BoardOptions, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(boardBinary(), boardArguments(o), { stdio: ['pipe', 'pipe', 'pipe'], env });
}

// Starts the fault-injecting relay (fault-relay.ts) between a board's serial pty and a new client pty.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { stopChild, waitFor } from './pty.js';

export interface Faults { drop?: number; corrupt?: number; delay?: number; stallAfter?: number; stallMs?: number; cutAfter?: number; seed?: number }

export interface Relay {
  /** The client's end: what `rules flash --port` takes. */
  port: string;
  /** Resolves when the relay exits (after a cut, or stop). */
  exited: Promise<void>;
  /** The relay's last statistics line. */
  stats(): Record<string, number> | null;
  stop(): Promise<void>;
}

const relayScript = join(repoRoot, 'dist', 'tests', 'support', 'fault-relay.js');

export async function startRelay(boardPort: string, faults: Faults = {}, port = join(mkdtempSync(join(tmpdir(), 'rules-relay-')), 'tty')): Promise<Relay> {
  const statsFile = join(mkdtempSync(join(tmpdir(), 'rules-relay-stats-')), 'stats.json');
  const args = [`--board ${boardPort}`, `--stats ${statsFile}`];
  for (const [k, v] of Object.entries(faults)) if (v !== undefined) args.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${v}`);
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${port}`, `SYSTEM:${process.execPath} ${relayScript} ${args.join(' ')}`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => existsSync(port) || child.exitCode !== null, 5000, 'the relay\'s pty');
  if (child.exitCode !== null) throw new Error(`the relay did not start: ${stderr}`);
  return {
    port,
    exited,
    stats: () => {
      try {
        return JSON.parse(readFileSync(statsFile, 'utf8'));
      } catch {
        return null;
      }
    },
    stop: () => stopChild(child),
  };
}

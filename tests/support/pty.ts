// Real pseudo-terminals for serial tests: socat puts a program's stdin/stdout behind a pty and links
// it at a path, as a USB serial port would appear. The caller stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyProgram {
  path: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `command` (a shell command line) with its stdio on a pty linked at the returned path. */
export async function ptyProgram(command: string, dir = mkdtempSync(join(tmpdir(), 'rules-pty-'))): Promise<PtyProgram> {
  const path = join(dir, 'tty');
  const child = spawn('socat', [`pty,raw,echo=0,link=${path}`, `SYSTEM:${command.replace(/,/g, '\\,')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  await waitFor(() => existsSync(path) || child.exitCode !== null, 5000, `socat to link ${path}`);
  if (child.exitCode !== null) throw new Error(`socat failed: ${stderr}`);
  return { path, child, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 2000).unref();
  });
}

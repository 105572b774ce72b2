// Runs the built CLI as a user would, capturing its output and exit code.
import { spawn, spawnSync } from 'node:child_process';
import { cliPath } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed after the time bound: the command hung. */
  timedOut: boolean;
}

export interface CliOptions {
  cwd?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** A hang guard, not a performance bound. */
  timeoutMs?: number;
}

export function rules(args: string[], options: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd, input: options.input, encoding: 'utf8', env: options.env ?? withoutColor(), timeout: options.timeoutMs, killSignal: 'SIGKILL',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' };
}

/** The same, without blocking the test's event loop (for commands that run while the test acts). */
export function rulesAsync(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return nodeScriptAsync(cliPath, args, options);
}

/** Any of the package's Node scripts (the CLI, the bench) run that way. */
export function nodeScriptAsync(script: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd, env: options.env ?? withoutColor() });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = options.timeoutMs ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutMs) : undefined;
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr, timedOut }); });
  });
}

/** The environment of the tests' own process, minus what would turn colour on. */
export function withoutColor(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  return { ...env, ...extra };
}


// Runs the built CLI as a user would and lists what it loaded, to check that a command loads only the
// libraries its path needs (tests/cli-loading.test.ts). Observed, not inferred from the import graph.
import { spawn, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPath, repoRoot } from './paths.js';
import { withoutColor, type CliResult } from './cli.js';

const preload = join(repoRoot, 'dist', 'tests', 'support', 'module-log.js');

export interface LoadedRun extends CliResult {
  /** Every module the process loaded: repo-relative paths (`dist/…`, `node_modules/…`) and `node:` builtins. */
  modules: string[];
}

export interface LoadedRunOptions {
  /** Called once the process runs; for commands that run until stopped (resolve when they should be). */
  whileRunning?: (child: ReturnType<typeof spawn>, output: () => string) => Promise<void>;
  spawn?: SpawnOptions;
}

export function runLogged(args: string[], options: LoadedRunOptions = {}): Promise<LoadedRun> {
  const log = join(mkdtempSync(join(tmpdir(), 'rules-modules-')), 'modules.txt');
  const child = spawn(process.execPath, ['--import', preload, cliPath, ...args], {
    env: withoutColor({ RULES_MODULE_LOG: log }), stdio: ['ignore', 'pipe', 'pipe'], ...options.spawn,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return (async () => {
    if (options.whileRunning) await options.whileRunning(child, () => stdout);
    const code = await exited;
    let lines: string[] = [];
    try {
      lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    } catch { /* nothing logged: the checks below fail on the empty list */ }
    const modules = [...new Set(lines.map((url) => url.startsWith('file:') ? relative(repoRoot, fileURLToPath(url)) : url))];
    return { code, stdout, stderr, timedOut: false, modules };
  })();
}

/** The npm packages among the modules, by name (`@scope/name` or `name`); a nested copy counts under its own name. */
export function packagesOf(modules: string[]): Set<string> {
  const names = new Set<string>();
  for (const m of modules) {
    const at = m.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const parts = m.slice(at + 'node_modules/'.length).split('/');
    names.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  return names;
}

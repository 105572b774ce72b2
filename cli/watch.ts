// `--watch` for build and test: run once, then again whenever a watched file changes, with a clear
// screen on a terminal and one status line after each run. Stops on Ctrl-C (SIGINT) or SIGTERM.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { paint } from './output.js';

export interface WatchOptions {
  /** Files and folders to watch (folders recursively). */
  paths: string[];
  /** What `build` or `test` does once; returns its exit code. Usage errors are reported by it. */
  runOnce: () => Promise<number>;
  label: string;
}

const SETTLE_MS = 120;

export function watchAndRerun(options: WatchOptions): Promise<number> {
  return new Promise((resolve) => {
    const watchers: FSWatcher[] = [];
    let running = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    let runs = 0;

    const cycle = async (): Promise<void> => {
      if (running) { again = true; return; }
      running = true;
      // A clear screen only where there is a screen; in a pipe or a log, runs follow each other.
      if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      const started = Date.now();
      const code = await options.runOnce().catch((e: unknown) => {
        process.stderr.write(`rules: ${(e as Error).message}\n`);
        return 2;
      });
      runs++;
      const time = new Date().toTimeString().slice(0, 8);
      const status = code === 0 ? paint('ok', 'green', 'bold') : paint(code === 1 ? 'failed' : 'error', 'red', 'bold');
      process.stdout.write(`[${time}] ${options.label} #${runs} ${status} in ${Date.now() - started} ms; watching for changes (Ctrl-C stops)\n`);
      running = false;
      if (again) { again = false; void cycle(); }
    };

    const changed = (): void => {
      clearTimeout(timer);
      // Editors save in several steps (write, rename, chmod): one run for the lot.
      timer = setTimeout(() => void cycle(), SETTLE_MS);
    };

    for (const path of options.paths) {
      try {
        // A file is watched through its folder: editors often save by renaming a new file over the old one.
        if (statSync(path).isDirectory()) {
          watchers.push(watch(path, { recursive: true }, changed));
        } else {
          const name = basename(path);
          watchers.push(watch(dirname(path), (_, file) => { if (file === null || file === name) changed(); }));
        }
      } catch (e) {
        process.stderr.write(`rules: cannot watch ${path}: ${(e as Error).message}\n`);
      }
    }
    const stop = (): void => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    void cycle();
  });
}

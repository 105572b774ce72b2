// Options and output helpers that several commands share: the target option, file collection,
// and printing diagnostics as text or JSON.
import type { Argv } from 'yargs';
import { targetNames, TargetError } from '../../contract/targets.js';
import { describeFileError, knownFileError, UsageError } from '../files.js';
import { diagnosticToJson, escapeUnprintable, formatDiagnostic, plural } from '../format.js';
import { output, paint } from '../output.js';
import type { BuildOutcome } from '../../compiler/build.js';

export type SetExit = (code: number) => void;

export function withTarget<T>(y: Argv<T>, required: boolean) {
  return y.option('target', {
    alias: 't',
    type: 'string',
    describe: `device target (${targetNames().join(', ')})`,
    demandOption: required,
  });
}

export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'print machine-readable JSON' });
}

/** "cannot open build/x.wasm: permission denied" for a file system error; null for anything else. */
export function fileErrorMessage(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || !knownFileError(err.code)) return null;
  const what = err.syscall ? `cannot ${err.syscall.replace(/^(open|mkdir|rename|unlink|rmdir|write|read|scandir|stat|lstat)$/, (m) => ({
    open: 'open', mkdir: 'create the folder', rename: 'rename', unlink: 'remove', rmdir: 'remove the folder', write: 'write',
    read: 'read', scandir: 'list the folder', stat: 'read', lstat: 'read',
  } as Record<string, string>)[m])}` : 'file error';
  return `${what}${err.path ? ` ${err.path}` : ''}: ${describeFileError(err.code)}`;
}

/** Runs a command body, turning usage and environment problems into a message and exit code 2. */
export async function guarded(setExit: SetExit, body: () => Promise<number> | number): Promise<void> {
  setExit(await exitCodeOf(body));
}

/** The body's exit code; a usage or environment problem is printed as one line and gives 2; a bug is thrown. */
export async function exitCodeOf(body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const fileError = fileErrorMessage(e);
    if (e instanceof UsageError || e instanceof TargetError || fileError !== null) {
      process.stderr.write(`rules: ${escapeUnprintable(fileError ?? (e as Error).message)}\n`);
      return 2;
    }
    throw e;
  }
}

export function withWatch<T>(y: Argv<T>) {
  return y.option('watch', { alias: 'w', type: 'boolean', default: false, describe: 'run again whenever a rule file changes (Ctrl-C stops)' });
}

/** A file's diagnostics on stderr: errors first up to --max-errors, then "and N more". */
export function printDiagnostics(outcome: BuildOutcome): void {
  const { result } = outcome;
  if (outcome.readError) {
    process.stderr.write(`${escapeUnprintable(result.file)}: ${paint(`error[${outcome.readErrorCode ?? 'E0001'}]`, 'red', 'bold')}: ${escapeUnprintable(outcome.readError)}\n`);
    return;
  }
  const { shown, more } = capped(result.diagnostics);
  for (const d of shown) process.stderr.write(`${formatDiagnostic(result.file, result.source, d)}\n\n`);
  if (more > 0) {
    process.stderr.write(`${escapeUnprintable(result.file)}: and ${plural(more, 'more diagnostic')} (--max-errors 0 shows them all)\n\n`);
  }
}

/** The first --max-errors diagnostics in source order, and how many were left out. */
function capped<T>(items: T[]): { shown: T[]; more: number } {
  if (output.maxErrors === 0 || items.length <= output.maxErrors) return { shown: items, more: 0 };
  return { shown: items.slice(0, output.maxErrors), more: items.length - output.maxErrors };
}

export function diagnosticsJson(outcome: BuildOutcome) {
  if (outcome.readError) {
    return [{ file: outcome.result.file, code: outcome.readErrorCode ?? 'E0001', severity: 'error', message: outcome.readError,
      line: null, column: null, endLine: null, endColumn: null, hint: null, notes: [] }];
  }
  return capped(outcome.result.diagnostics).shown.map((d) => diagnosticToJson(outcome.result.file, outcome.result.source, d));
}

/** How many diagnostics --max-errors left out of diagnosticsJson. */
export function diagnosticsOmitted(outcome: BuildOutcome): number {
  return outcome.readError ? 0 : capped(outcome.result.diagnostics).more;
}

/** One line for a rule skipped because its `targets` line leaves the target out. */
export function skipNote(outcome: BuildOutcome): string {
  const header = outcome.result.program?.header;
  const names = header?.targets?.names.map((n) => n.name).join(', ') ?? '';
  return `${header?.name ?? outcome.result.file}: skipped, written for ${names} (${outcome.result.file})`;
}

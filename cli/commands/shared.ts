// Options and output helpers that several commands share: the target option, file collection,
// and printing diagnostics as text or JSON.
import type { Argv } from 'yargs';
import { targetNames, TargetError } from '../../contract/targets.js';
import { UsageError } from '../files.js';
import { diagnosticToJson, formatDiagnostic } from '../format.js';
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

/** Runs a command body, turning usage and environment problems into a message and exit code 2. */
export async function guarded(setExit: SetExit, body: () => Promise<number> | number): Promise<void> {
  try {
    setExit(await body());
  } catch (e) {
    if (e instanceof UsageError || e instanceof TargetError) {
      process.stderr.write(`rules: ${e.message}\n`);
      setExit(2);
      return;
    }
    throw e;
  }
}

export function printDiagnostics(outcome: BuildOutcome): void {
  const { result } = outcome;
  if (outcome.readError) {
    process.stderr.write(`${result.file}: error: cannot read the file: ${outcome.readError}\n`);
    return;
  }
  for (const d of result.diagnostics) process.stderr.write(`${formatDiagnostic(result.file, result.source, d)}\n\n`);
}

export function diagnosticsJson(outcome: BuildOutcome) {
  if (outcome.readError) {
    return [{ file: outcome.result.file, code: 'E0001', severity: 'error', message: `cannot read the file: ${outcome.readError}`,
      line: null, column: null, endLine: null, endColumn: null, hint: null, notes: [] }];
  }
  return outcome.result.diagnostics.map((d) => diagnosticToJson(outcome.result.file, outcome.result.source, d));
}

/** One line for a rule skipped because its `targets` line leaves the target out. */
export function skipNote(outcome: BuildOutcome): string {
  const header = outcome.result.program?.header;
  const names = header?.targets?.names.map((n) => n.name).join(', ') ?? '';
  return `${header?.name ?? outcome.result.file}: skipped, written for ${names} (${outcome.result.file})`;
}

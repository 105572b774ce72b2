// Builds many rule files for one target: reads sources, compiles each, refuses two rules with
// one name, and writes each artifact and manifest atomically (temp file, then rename).
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compile, analyze, type CompileResult } from './index.js';
import { writeFileAtomic } from '../contract/atomic-file.js';
import { manifestJson } from '../contract/manifest.js';
import type { TargetProfile } from '../contract/targets.js';

export interface BuildOptions {
  target: TargetProfile;
  /** Where artifacts go; null checks without writing anything. */
  outDir: string | null;
  ruleVersion?: number;
  /** Skip code generation (front-end checks only). */
  checkOnly?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Before each file is compiled, with its size: for a progress line while a slow one builds. */
  onStart?: (done: number, file: string, bytes: number) => void;
  /**
   * Files (or, with true, every file) to skip rather than fail when their `targets` line leaves this
   * target out: files found in a folder, not named by the user.
   */
  skipOtherTargets?: ReadonlySet<string> | boolean;
}

export interface BuildOutcome {
  result: CompileResult;
  wasmPath?: string;
  manifestPath?: string;
  /** Set when the file could not be read, or is not a rule's text: the message, and its code. */
  readError?: string;
  readErrorCode?: 'E0001' | 'E0002' | 'E0003';
  /** Set when the rule is not written for this target and was skipped: why, in one line. */
  skipped?: string;
}

export async function buildRules(files: string[], options: BuildOptions): Promise<BuildOutcome[]> {
  const outcomes: BuildOutcome[] = [];
  const byName = new Map<string, string>();
  const written = new Set<string>();
  for (const [i, file] of files.entries()) {
    const read = readRuleSource(file);
    if ('error' in read) {
      outcomes.push({ result: { file, source: '', target: options.target, diagnostics: [] }, readError: read.error, readErrorCode: read.code });
      options.onProgress?.(i + 1, files.length);
      continue;
    }
    const { source } = read;
    options.onStart?.(i, file, source.length);
    const compileOptions = { target: options.target, file, ruleVersion: options.ruleVersion };
    const result = options.checkOnly ? analyze(source, compileOptions) : await compile(source, compileOptions);
    const name = result.program?.header?.name;
    if (name && byName.has(name)) {
      result.diagnostics.push({
        code: 'E0701', severity: 'error', span: result.program!.header!.nameSpan,
        message: `rule \`${name}\` is also defined in ${byName.get(name)}; their artifacts would overwrite each other`,
        hint: 'give every rule its own name',
      });
      result.artifact = undefined;
      result.rule = undefined;
    } else if (name) {
      byName.set(name, file);
    }
    const outcome: BuildOutcome = { result };
    const otherTarget = result.diagnostics.find((d) => d.code === 'E0508');
    const skippable = options.skipOtherTargets === true || (options.skipOtherTargets instanceof Set && options.skipOtherTargets.has(file));
    if (otherTarget && skippable && !result.diagnostics.some((d) => d.severity === 'error' && d.code !== 'E0508')) {
      outcome.skipped = otherTarget.message;
      outcomes.push(outcome);
      options.onProgress?.(i + 1, files.length);
      continue;
    }
    if (result.artifact && options.outDir !== null) {
      mkdirSync(options.outDir, { recursive: true });
      outcome.wasmPath = join(options.outDir, `${result.artifact.manifest.rule}.wasm`);
      outcome.manifestPath = join(options.outDir, `${result.artifact.manifest.rule}.manifest.json`);
      writeFileAtomic(outcome.wasmPath, result.artifact.wasm, { durable: false });
      writeFileAtomic(outcome.manifestPath, manifestJson(result.artifact.manifest), { durable: false });
      written.add(result.artifact.manifest.rule);
    } else if (name && options.outDir !== null && !options.checkOnly && !written.has(name)) {
      // A failed rule leaves no artifact behind, not even an older one that could be shipped by mistake.
      rmSync(join(options.outDir, `${name}.wasm`), { force: true });
      rmSync(join(options.outDir, `${name}.manifest.json`), { force: true });
    }
    outcomes.push(outcome);
    options.onProgress?.(i + 1, files.length);
  }
  return outcomes;
}

/** The largest rule file read: far above any rule that fits a target, far below what takes long to refuse. */
export const MAX_SOURCE_BYTES = 256 * 1024;

/**
 * Reads a rule file, refusing before any compiling what cannot be a rule: a file too big (E0003),
 * or bytes that are not UTF-8 text (E0002: NUL bytes, invalid UTF-8, or mostly control characters).
 */
export function readRuleSource(file: string): { source: string } | { error: string; code: 'E0001' | 'E0002' | 'E0003' } {
  let bytes: Buffer;
  try {
    const size = statSync(file).size;
    if (size > MAX_SOURCE_BYTES) {
      return { code: 'E0003', error: `the file is ${size} bytes; a rule file may be at most ${MAX_SOURCE_BYTES} bytes (256 KiB)` };
    }
    bytes = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { code: 'E0001', error: `cannot read the file: ${err.code ?? err.message}` };
  }
  if (bytes.length > MAX_SOURCE_BYTES) {
    return { code: 'E0003', error: `the file is over ${MAX_SOURCE_BYTES} bytes; a rule file may be at most ${MAX_SOURCE_BYTES} bytes (256 KiB)` };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { code: 'E0002', error: `not a text file: it has a NUL byte at offset ${nul}` };
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { code: 'E0002', error: 'not a text file: it is not valid UTF-8' };
  }
  let control = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f) control++;
  }
  if (control > 8 && control * 100 > source.length) {
    return { code: 'E0002', error: `not a text file: ${control} of its ${source.length} characters are control characters` };
  }
  return { source: source.charCodeAt(0) === 0xfeff ? source.slice(1) : source };
}

/** A skipped rule (written for other targets) has no errors, and no artifact either. */
export function hasErrors(outcome: BuildOutcome): boolean {
  if (outcome.skipped !== undefined) return false;
  return outcome.readError !== undefined || outcome.result.diagnostics.some((d) => d.severity === 'error');
}

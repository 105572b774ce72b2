// The compiler's front door: source text and a target in, diagnostics and (when there are no
// errors) a size-checked artifact with its manifest out. Phases run in order, sharing one collector.
import { Diagnostics, SourceMap, type Diagnostic } from './diagnostics.js';
import { lex } from './lexer.js';
import { parse } from './parser.js';
import { check, type CheckedRule } from './checker.js';
import { generate, type StateSlot } from './codegen.js';
import { loadTarget, targetNames, type TargetProfile } from '../contract/targets.js';
import { COMPILER_NAME, compilerVersion, type Manifest } from '../contract/manifest.js';
import { ABI_VERSION, sha256Hex } from '../contract/abi.js';
import { parseWasmModule } from '../contract/wasm-module.js';
import { allExpressions, allStatements, ownExpressions, type Program, type Stmt } from './ast.js';

export { wasmToText } from './codegen.js';
export { compilerVersion } from '../contract/manifest.js';

export interface CompileOptions {
  target: string | TargetProfile;
  /** Shown in diagnostics. */
  file?: string;
  /** The rule's version for the manifest and anti-rollback; default 1. */
  ruleVersion?: number;
}

export interface Artifact {
  wasm: Uint8Array;
  manifest: Manifest;
  stateSlots: StateSlot[];
}

export interface CompileResult {
  file: string;
  source: string;
  target: TargetProfile;
  diagnostics: Diagnostic[];
  program?: Program;
  rule?: CheckedRule;
  artifact?: Artifact;
}

/** The targets a rule's `targets` line names, or null when it has none (it is meant for any target). */
export function ruleTargets(source: string): string[] | null {
  const diagnostics = new Diagnostics();
  const program = parse(lex(source, new SourceMap(source), diagnostics), diagnostics);
  return program.header?.targets?.names.map((n) => n.name) ?? null;
}

/** Front end only: parse and check. Used by `rules check` and by `compile`. */
export function analyze(source: string, options: CompileOptions): CompileResult {
  const target = typeof options.target === 'string' ? loadTarget(options.target) : options.target;
  const file = options.file ?? '<source>';
  const diagnostics = new Diagnostics();
  const map = new SourceMap(source);
  const tokens = lex(source, map, diagnostics);
  const program = parse(tokens, diagnostics);
  const rule = check(program, target, diagnostics) ?? undefined;
  return { file, source, target, diagnostics: diagnostics.sorted(), program, rule: diagnostics.hasErrors ? undefined : rule };
}

export async function compile(source: string, options: CompileOptions): Promise<CompileResult> {
  const result = analyze(source, options);
  if (!result.rule) return result;
  const { rule, target } = result;
  const diagnostics = new Diagnostics();
  diagnostics.items.push(...result.diagnostics);
  // Refused before binaryen runs: code generation and the size notes grow with the rule, and a
  // rule this large could never fit anywhere, so any input fails or builds within seconds.
  const operations = codeOperations(rule);
  const limit = maxOperations();
  if (operations > limit) {
    diagnostics.error('E0509', rule.header.nameSpan,
      `rule \`${rule.header.name}\` is too large for any target: its code has ${operations} operations; ` +
      `the largest target takes ${largestArtifactBytes()} bytes, and no rule of more than ${limit} operations fits that`,
      'split the rule into several smaller rules');
    result.diagnostics = diagnostics.sorted();
    result.rule = undefined;
    return result;
  }
  const code = await generate(rule, { maxBytes: target.maxArtifactBytes, maxInstructions: target.maxInstructionsPerTick });
  const header = rule.header;
  if (code.maxInstructionsPerTick > target.maxInstructionsPerTick) {
    diagnostics.error('E0506', rule.tick.span,
      `one tick executes up to ${code.maxInstructionsPerTick} instructions; target ${target.name} allows ${target.maxInstructionsPerTick}`,
      'do less per tick: fewer loop iterations, or spread the work over several ticks');
  }
  if (code.wasm.length > target.maxArtifactBytes) {
    diagnostics.error('E0501', header.nameSpan,
      `rule \`${header.name}\` compiles to ${code.wasm.length} bytes; target ${target.name} allows ${target.maxArtifactBytes}`,
      'split the rule in two, or simplify it: the notes show where the bytes go',
      [...sizeNotes(code.wasm), ...await statementCosts(rule, source, code.wasm.length)]);
  }
  result.diagnostics = diagnostics.sorted();
  if (diagnostics.hasErrors) return result;
  const manifest: Manifest = {
    rule: header.name,
    description: header.description,
    version: options.ruleVersion ?? 1,
    target: target.name,
    abi: ABI_VERSION,
    size: code.wasm.length,
    sha256: sha256Hex(code.wasm),
    imports: code.imports,
    capabilities: rule.capabilities,
    ranges: rule.sensorRanges,
    periodMs: rule.periodMs,
    stateSlots: code.stateSlots.filter((s) => s.global !== null).length,
    maxInstructionsPerTick: code.maxInstructionsPerTick,
    sourceSha256: sha256Hex(source),
    compiler: { name: COMPILER_NAME, version: compilerVersion() },
  };
  result.artifact = { wasm: code.wasm, manifest, stateSlots: code.stateSlots };
  return result;
}

/**
 * The operations of the code that reaches the artifact: statements, and expressions that do not
 * fold to a constant, in `on tick` and the functions (tests are not part of the artifact; a loop
 * body counts once). Each costs at least a byte or so of code, hence the limit below.
 */
export function codeOperations(rule: CheckedRule): number {
  return [rule.tick.body, ...rule.fns.map((f) => f.body)]
    .reduce((sum, block) => sum + block.statements.reduce((n, s) => n + statementOperations(s), 0), 0);
}

/** Bytes of the largest target's artifact cap. */
function largestArtifactBytes(): number {
  return Math.max(...targetNames().map((n) => loadTarget(n).maxArtifactBytes));
}

/** Operations per byte no real rule comes near (measured rules emit 2 to 3 bytes per operation). */
const OPERATIONS_PER_BYTE = 4;

/** The most operations a rule may have before it is refused as too large for any target (E0509). */
export function maxOperations(): number {
  return OPERATIONS_PER_BYTE * largestArtifactBytes();
}

/** Where the bytes of an oversized artifact go: sections, then functions by body size. */
function sizeNotes(wasm: Uint8Array): string[] {
  const parsed = parseWasmModule(wasm);
  if (!parsed.ok) return [];
  const m = parsed.module;
  const notes = [`by section: ${m.sections.map((s) => `${s.name} ${s.totalSize} B`).join(', ')}`];
  const tick = m.exports.find((e) => e.name === 'run')?.index;
  if (m.codes.length > 1) {
    const bodies = [...m.codes].sort((a, b) => b.size - a.size);
    notes.push(`by function: ${bodies.map((c) => `${c.functionIndex === tick ? '`on tick`' : `helper #${c.functionIndex}`} ${c.size} B`).join(', ')}`);
  }
  return notes;
}

const MEASURED_STATEMENTS = 8;

function statementOperations(statement: Stmt): number {
  let ops = 0;
  for (const s of allStatements([statement])) {
    ops++;
    for (const e of ownExpressions(s)) for (const x of allExpressions(e)) if (x.constant === undefined) ops++;
  }
  return ops;
}

/**
 * The statements of `on tick` that cost the most: the artifact is rebuilt without each one in
 * turn (a `let` stays, since later statements use it), and the difference in size is its cost.
 */
async function statementCosts(rule: CheckedRule, source: string, fullSize: number): Promise<string[]> {
  const statements = rule.tick.body.statements;
  const costs: { line: number; text: string; bytes: number }[] = [];
  // Rebuilding costs a code generation each: only the biggest statements are measured, so this stays linear.
  const measured = new Set([...statements.entries()].filter(([, s]) => s.kind !== 'let')
    .map(([i, s]) => ({ i, ops: statementOperations(s) })).sort((a, b) => b.ops - a.ops).slice(0, MEASURED_STATEMENTS).map((x) => x.i));
  for (const [i, s] of statements.entries()) {
    if (!measured.has(i)) continue;
    const without = { ...rule, tick: { ...rule.tick, body: { ...rule.tick.body, statements: statements.filter((_, j) => j !== i) } } };
    const code = await generate(without, { maxBytes: Infinity, maxInstructions: Infinity });
    const firstLine = source.slice(s.span.start, s.span.end).split('\n')[0].trim();
    costs.push({ line: s.span.line, text: firstLine.length > 40 ? `${firstLine.slice(0, 37)}...` : firstLine, bytes: fullSize - code.wasm.length });
  }
  const top = costs.filter((c) => c.bytes > 0).sort((a, b) => b.bytes - a.bytes).slice(0, 3);
  if (top.length === 0) return [];
  return [`biggest contributors: ${top.map((c) => `line ${c.line} \`${c.text}\` ${c.bytes} B`).join('; ')}`];
}

// Turns a checked rule into a WebAssembly module with binaryen, the only module that talks to it:
// the device ABI's shape, binaryen's size optimizations, and the worst-case instruction count.
import type binaryenType from 'binaryen';
import { setFlagsFromString } from 'node:v8';
import { allExpressions, allStatements, ownExpressions, type BinaryExpr, type Block, type CallExpr, type Expr, type FnDecl, type ForStmt, type Stmt, type Symbol, type Type } from './ast.js';
import { evaluateWith, loopSymbolsIn, statementReturns, type CheckedRule, type InputKey } from './checker.js';
import { isBit, excludesZero, contains } from './ranges.js';
import { INT_MIN } from './evaluate.js';
import type { ImportName } from '../contract/abi.js';
import { COST_CEILING, verifyModule } from '../contract/verify.js';

type Binaryen = typeof binaryenType;
type Ref = number;

let binaryenModule: Binaryen | null = null;

/**
 * binaryen is large; it is loaded on first use so that commands which do not compile start fast.
 * Its WebAssembly runs on V8's baseline compiler only: a build is short, and optimizing binaryen's
 * hot functions in the background cost more than it saved (100 rules: 4.9 s with, 1.9 s without,
 * measured on the 2-core development machine). The flag must be set before binaryen is compiled.
 */
export async function loadBinaryen(): Promise<Binaryen> {
  if (!binaryenModule) {
    setFlagsFromString('--liftoff-only');
    binaryenModule = (await import('binaryen')).default;
  }
  return binaryenModule;
}

export interface StateSlot {
  name: string;
  type: Type;
  initial: number;
  /** Index of the global in the artifact, or null when the optimizer removed it. */
  global: number | null;
  /** Whether the tick ever assigns it: a removed state that is never assigned keeps its initial value. */
  assigned: boolean;
}

export interface CodegenResult {
  wasm: Uint8Array;
  imports: ImportName[];
  stateSlots: StateSlot[];
  maxInstructionsPerTick: number;
}

const FLOAT_TO_INT = 'float_to_int';

const IMPORTS: Record<'gr' | 'gw' | 'sr', ImportName> = { gr: 'io.gr', gw: 'io.gw', sr: 'io.sr' };

/** Loop labels carry their trip count, so the instruction count can be read off optimized code. */
const LOOP_LABEL = /^trips(\d+)_/;

/** A float whose magnitude is known to be at most this truncates to int without a trap: 2^30, half the limit. */
const TRUNCATES_SAFELY = 2 ** 30;

/** Loops up to this many trips may be unrolled when that makes the artifact smaller. */
const UNROLL_LIMIT = 16;

interface Variant { unrollLoops: boolean; peephole: boolean; optimize: boolean }

export interface Limits { maxBytes: number; maxInstructions: number }

/**
 * Generates the artifact. A rule with loops is built twice, loops kept and loops unrolled, and
 * the smaller artifact that fits the limits wins: which is smaller depends on the loop body.
 */
export async function generate(rule: CheckedRule, limits: Limits): Promise<CodegenResult> {
  const binaryen = await loadBinaryen();
  const unrolls = hasUnrollableLoops(rule) ? [false, true] : [false];
  // Hosts refuse any loop that is not in the canonical counted form (device-abi.md §4.5), and binaryen may
  // rewrite a counter's step (reusing a value it computed earlier, for one). Only variants the verifier
  // accepts are shipped: first the optimized ones, then without the rewrites, then binaryen's output
  // without its optimizer, whose loops are exactly the ones the code generator wrote.
  for (const mode of ['optimized', 'no-peephole', 'unoptimized'] as const) {
    const variants: Variant[] = unrolls.map((unrollLoops) => ({ unrollLoops, peephole: mode === 'optimized', optimize: mode !== 'unoptimized' }));
    const results = variants.map((v) => generateVariant(binaryen, rule, v)).filter((r) => verifiable(r));
    if (results.length === 0) continue;
    const fits = (r: CodegenResult) => r.wasm.length <= limits.maxBytes && r.maxInstructionsPerTick <= limits.maxInstructions;
    results.sort((a, b) => Number(fits(b)) - Number(fits(a)) || a.wasm.length - b.wasm.length
      || a.maxInstructionsPerTick - b.maxInstructionsPerTick);
    return results[0];
  }
  throw new Error('internal compiler error: no form of this rule passes the module verifier');
}

/** Whether the module verifier accepts the code, whatever the target (targets' limits are checked elsewhere). */
function verifiable(r: CodegenResult): boolean {
  return verifyModule(r.wasm, { claim: COST_CEILING, targetLimit: COST_CEILING, floatingPoint: true }).ok;
}

function containsLoop(stmts: Stmt[]): boolean {
  for (const s of allStatements(stmts)) if (s.kind === 'for' || s.kind === 'repeat') return true;
  return false;
}

/** Whether some loop runs between 2 and UNROLL_LIMIT times, so that unrolling it is an option. */
function hasUnrollableLoops(rule: CheckedRule): boolean {
  for (const body of [rule.tick.body, ...rule.fns.map((f) => f.body)]) {
    for (const s of allStatements(body.statements)) {
      const loop = s.kind === 'for' ? s.symbol as Extract<Symbol, { kind: 'loop' }> : null;
      const trips = loop ? loop.to - loop.from + 1 : s.kind === 'repeat' ? s.count.constant ?? 0 : 0;
      if (trips >= 2 && trips <= UNROLL_LIMIT) return true;
    }
  }
  return false;
}

function generateVariant(binaryen: Binaryen, rule: CheckedRule, variant: Variant): CodegenResult {
  const module = new binaryen.Module();
  try {
    module.setFeatures(binaryen.Features.MVP);
    new ModuleBuilder(binaryen, module, rule, variant).build();
    if (!module.validate()) throw new Error('internal compiler error: binaryen rejected the generated module');
    if (variant.optimize) optimize(binaryen, module);
    if (variant.peephole) {
      new Peephole(binaryen, module).run();
      if (!module.validate()) throw new Error('internal compiler error: binaryen rejected the rewritten module');
      module.optimize();
    }
    return {
      wasm: module.emitBinary(),
      imports: finalImports(binaryen, module),
      stateSlots: stateSlots(binaryen, module, rule),
      maxInstructionsPerTick: worstCaseInstructions(binaryen, module),
    };
  } finally {
    module.dispose();
  }
}

function optimize(binaryen: Binaryen, module: binaryenType.Module): void {
  binaryen.setOptimizeLevel(2);
  binaryen.setShrinkLevel(2);
  binaryen.setDebugInfo(false);
  // A second round sometimes finds more after the first round's inlining and merging; more rounds
  // were measured to find nothing on the examples.
  let size = Infinity;
  for (let round = 0; round < 2; round++) {
    module.optimize();
    const next = module.emitBinary().length;
    if (next >= size) break;
    size = next;
  }
}

function finalImports(binaryen: Binaryen, module: binaryenType.Module): ImportName[] {
  const out: ImportName[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module === 'io' && info.base) out.push(IMPORTS[info.base as 'gr' | 'gw' | 'sr']);
  }
  return out.sort();
}

function stateSlots(binaryen: Binaryen, module: binaryenType.Module, rule: CheckedRule): StateSlot[] {
  const position = new Map<string, number>();
  for (let i = 0; i < module.getNumGlobals(); i++) {
    position.set(binaryen.getGlobalInfo(module.getGlobalByIndex(i)).name, i);
  }
  const assigned = assignedStates(rule);
  return rule.states.map((s) => ({
    name: s.name, type: s.type, initial: s.initial,
    global: position.get(globalName(s.index)) ?? null,
    assigned: assigned.has(s.index),
  }));
}

function assignedStates(rule: CheckedRule): Set<number> {
  const out = new Set<number>();
  for (const s of allStatements(rule.tick.body.statements)) {
    if (s.kind === 'assign' && s.symbol?.kind === 'state') out.add(s.symbol.index);
  }
  return out;
}

function globalName(stateIndex: number): string {
  return `state${stateIndex}`;
}

function fnName(fn: FnDecl): string {
  return `fn_${fn.name}`;
}

/**
 * Worst case over all paths of one call of `run`: `if` takes its costlier arm, a loop its body
 * times its trip count, a call the callee's cost. Each IR node counts as one instruction.
 */
function worstCaseInstructions(binaryen: Binaryen, module: binaryenType.Module): number {
  const costs = new Map<string, number>();
  const functionCost = (name: string): number => {
    const known = costs.get(name);
    if (known !== undefined) return known;
    const info = binaryen.getFunctionInfo(module.getFunction(name));
    if (info.module) return 0; // an import: its call instruction is counted at the call
    costs.set(name, 0);
    const cost = exprCost(info.body);
    costs.set(name, cost);
    return cost;
  };
  // The typed accessors are much cheaper than getExpressionInfo, which copies every field.
  const B = binaryen as any;
  const exprCost = (ref: Ref): number => {
    if (!ref) return 0;
    const id = binaryen.getExpressionId(ref);
    switch (id) {
      case binaryen.BlockId: {
        let n = B.Block.getName(ref) ? 1 : 0;
        const count = B.Block.getNumChildren(ref);
        for (let i = 0; i < count; i++) n += exprCost(B.Block.getChildAt(ref, i));
        return n;
      }
      case binaryen.IfId:
        return 1 + exprCost(B.If.getCondition(ref)) + Math.max(exprCost(B.If.getIfTrue(ref)), exprCost(B.If.getIfFalse(ref)));
      case binaryen.LoopId: {
        const m = LOOP_LABEL.exec(B.Loop.getName(ref) ?? '');
        return 1 + (m ? Number(m[1]) : 1) * exprCost(B.Loop.getBody(ref));
      }
      case binaryen.BreakId:
        return 1 + exprCost(B.Break.getCondition(ref)) + exprCost(B.Break.getValue(ref));
      case binaryen.CallId: {
        let n = 1 + functionCost(B.Call.getTarget(ref));
        const count = B.Call.getNumOperands(ref);
        for (let i = 0; i < count; i++) n += exprCost(B.Call.getOperandAt(ref, i));
        return n;
      }
      case binaryen.UnaryId: return 1 + exprCost(B.Unary.getValue(ref));
      case binaryen.BinaryId: return 1 + exprCost(B.Binary.getLeft(ref)) + exprCost(B.Binary.getRight(ref));
      case binaryen.SelectId:
        return 1 + exprCost(B.Select.getIfTrue(ref)) + exprCost(B.Select.getIfFalse(ref)) + exprCost(B.Select.getCondition(ref));
      case binaryen.LocalSetId: return 1 + exprCost(B.LocalSet.getValue(ref));
      case binaryen.GlobalSetId: return 1 + exprCost(B.GlobalSet.getValue(ref));
      case binaryen.DropId: return 1 + exprCost(B.Drop.getValue(ref));
      case binaryen.ReturnId: return 1 + exprCost(B.Return.getValue(ref));
      case binaryen.LocalGetId:
      case binaryen.GlobalGetId:
      case binaryen.ConstId:
      case binaryen.NopId:
        return 1;
      default:
        throw new Error(`internal compiler error: unexpected instruction (binaryen id ${id}) in the instruction count`);
    }
  };
  // Not the name 'run': binaryen may merge `run` with an identical helper and keep the helper's name.
  return functionCost(binaryen.getExportInfo(module.getExport('run')).value);
}

interface FnContext {
  /** Local index for each checker local id (lets, vars, loop variables). */
  locals: Map<number, number>;
  /** Types of the locals beyond the parameters. */
  vars: number[];
  paramCount: number;
  /** Unrolled loop variables and their value in the current copy. */
  loopValues: Map<Symbol, number>;
  /** Locals holding inputs read once at the start of the tick. */
  cached: Map<string, number>;
  /** The initializer of each `let` (immutable), by symbol id: what is known of its value. */
  lets: Map<number, Expr>;
  fn: FnDecl | null;
}

class ModuleBuilder {
  private readonly i32: number;
  private readonly f32: number;
  private readonly usedImports = new Set<'gr' | 'gw' | 'sr'>();
  private loopCounter = 0;
  private needsFloatToInt = false;

  constructor(private readonly b: Binaryen, private readonly m: binaryenType.Module, private readonly rule: CheckedRule,
    private readonly variant: Variant) {
    this.i32 = b.i32;
    this.f32 = b.f32;
  }

  build(): void {
    const { b, m, rule } = this;
    for (const s of rule.states) {
      const init = s.type === 'float' ? m.f32.const(s.initial) : m.i32.const(s.initial);
      m.addGlobal(globalName(s.index), this.wasmType(s.type), true, init);
    }
    for (const fn of rule.fns) this.buildFn(fn);
    this.buildRun();
    // Imports are declared after the code so that only the ones used are added.
    if (this.usedImports.has('gr')) m.addFunctionImport('gr', 'io', 'gr', b.i32, b.i32);
    if (this.usedImports.has('gw')) m.addFunctionImport('gw', 'io', 'gw', b.createType([b.i32, b.i32]), b.none);
    if (this.usedImports.has('sr')) m.addFunctionImport('sr', 'io', 'sr', b.i32, b.i32);
    m.addFunctionExport('run', 'run');
  }

  private wasmType(t: Type): number {
    return t === 'float' ? this.f32 : this.i32;
  }

  private newContext(fn: FnDecl | null, paramCount: number): FnContext {
    return { locals: new Map(), vars: [], paramCount, loopValues: new Map(), cached: new Map(), lets: new Map(), fn };
  }

  private addLocal(ctx: FnContext, type: Type): number {
    ctx.vars.push(this.wasmType(type));
    return ctx.paramCount + ctx.vars.length - 1;
  }

  private buildFn(fn: FnDecl): void {
    const ctx = this.newContext(fn, fn.params.length);
    const body = this.tail(fn.body.statements, ctx, null);
    const params = this.b.createType(fn.params.map((p) => this.wasmType(p.type)));
    this.m.addFunction(fnName(fn), params, this.wasmType(fn.result), ctx.vars, body);
  }

  private buildRun(): void {
    const { m, rule } = this;
    const ctx = this.newContext(null, 1);
    const prologue: Ref[] = [];
    for (const input of rule.cachedInputs) {
      const local = this.addLocal(ctx, 'int');
      prologue.push(m.local.set(local, this.readInput(input)));
      ctx.cached.set(`${input.io}:${input.index}`, local);
    }
    // A tick whose assumptions do not hold does nothing and says so with a negative result; bounds
    // on single channels are not here: hosts saturate readings to them (the manifest's `ranges`).
    for (const req of rule.checkedRequires) {
      prologue.push(m.if(this.not(this.expr(req, ctx)), m.return(m.i32.const(-1))));
    }
    const body = this.tail(rule.tick.body.statements, ctx, m.i32.const(0));
    m.addFunction('run', this.i32, this.i32, ctx.vars, prologue.length ? m.block(null, [...prologue, body], this.i32) : body);
  }

  private readInput(input: InputKey): Ref {
    const name = input.io === 'sensor' ? 'sr' : 'gr';
    this.usedImports.add(name);
    return this.m.call(name, [this.m.i32.const(input.index)], this.i32);
  }

  // ---- statements ----------------------------------------------------------------------

  /**
   * Statements whose value is the function's result: a `return` at the end becomes the value
   * itself rather than a branch, which is smaller. `fallback` is the value of falling off the end.
   */
  private tail(stmts: Stmt[], ctx: FnContext, fallback: Ref | null): Ref {
    const { m } = this;
    const out: Ref[] = [];
    const resultType = ctx.fn ? this.wasmType(ctx.fn.result) : this.i32;
    for (let i = 0; i < stmts.length; i++) {
      const s = stmts[i];
      const last = i === stmts.length - 1 || statementReturns(s);
      if (last && s.kind === 'return') {
        out.push(this.expr(s.value, ctx));
        return m.block(null, out, resultType);
      }
      if (last && s.kind === 'if' && (s.else || fallback !== null)) {
        const elseRef = !s.else ? this.cloneFallback(fallback!)
          : s.else.kind === 'if' ? this.tail([s.else], ctx, fallback !== null ? this.cloneFallback(fallback) : null)
            : this.tail(s.else.statements, ctx, fallback !== null ? this.cloneFallback(fallback) : null);
        out.push(m.if(this.expr(s.cond, ctx), this.tail(s.then.statements, ctx, fallback), elseRef));
        return m.block(null, out, resultType);
      }
      out.push(this.stmt(s, ctx));
    }
    if (fallback !== null) out.push(fallback);
    return m.block(null, out, out.length ? this.b.auto : resultType);
  }

  /** binaryen expressions are trees: a fallback used twice must be a fresh node. */
  private cloneFallback(ref: Ref): Ref {
    return this.m.copyExpression(ref);
  }

  private block(block: Block, ctx: FnContext): Ref {
    return this.m.block(null, block.statements.map((s) => this.stmt(s, ctx)), this.b.none);
  }

  private stmt(s: Stmt, ctx: FnContext): Ref {
    const { m } = this;
    switch (s.kind) {
      case 'let': {
        const sym = s.symbol!;
        const local = this.addLocal(ctx, (sym as { type: Type }).type);
        ctx.locals.set((sym as { id: number }).id, local);
        if (!s.mutable) ctx.lets.set((sym as { id: number }).id, s.init);
        return m.local.set(local, this.expr(s.init, ctx));
      }
      case 'assign': {
        const sym = s.symbol!;
        const value = this.expr(s.value, ctx);
        if (sym.kind === 'state') return m.global.set(globalName(sym.index), value);
        return m.local.set(ctx.locals.get((sym as { id: number }).id)!, value);
      }
      case 'io-assign': {
        this.usedImports.add('gw');
        // The host treats any nonzero level as high, so a bool or an int needs no normalizing.
        return m.call('gw', [this.expr(s.target, ctx), this.expr(s.value, ctx)], this.b.none);
      }
      case 'if': {
        const otherwise = !s.else ? undefined : s.else.kind === 'if' ? this.stmt(s.else, ctx) : this.block(s.else, ctx);
        return m.if(this.expr(s.cond, ctx), this.block(s.then, ctx), otherwise);
      }
      case 'for':
        return this.forLoop(s, ctx);
      case 'repeat': {
        const n = s.count.constant!;
        if (n <= 0) return m.nop();
        if (n === 1) return this.block(s.body, ctx);
        if (this.variant.unrollLoops && n <= UNROLL_LIMIT) {
          return m.block(null, Array.from({ length: n }, () => this.block(s.body, ctx)));
        }
        const counter = this.addLocal(ctx, 'int');
        const label = this.loopLabel(n);
        return m.block(null, [
          m.local.set(counter, m.i32.const(n)),
          m.loop(label, m.block(null, [
            this.block(s.body, ctx),
            m.br(label, m.local.tee(counter, m.i32.sub(m.local.get(counter, this.i32), m.i32.const(1)), this.i32)),
          ])),
        ]);
      }
      case 'return':
        return m.return(this.expr(s.value, ctx));
      default:
        throw new Error(`internal compiler error: statement ${s.kind} outside a test`);
    }
  }

  /**
   * A loop whose variable picks an input that is read once per tick (and kept in a local) must be
   * unrolled: each iteration needs its own local.
   */
  private mustUnroll(s: ForStmt, ctx: FnContext): boolean {
    if (!s.picksIo || this.rule.cachedInputs.length === 0) return false;
    const sym = s.symbol as Extract<Symbol, { kind: 'loop' }>;
    const reads: CallExpr[] = [];
    for (const st of allStatements(s.body.statements)) {
      for (const top of ownExpressions(st)) {
        for (const e of allExpressions(top)) {
          if (e.kind === 'call' && (e.callee === 'sensor' || e.callee === 'gpio') && loopSymbolsIn(e.args[0]).includes(sym)) reads.push(e);
        }
      }
    }
    for (const read of reads) {
      for (let v = sym.from; v <= sym.to; v++) {
        const index = evaluateWith(read.args[0], new Map(ctx.loopValues).set(sym, v));
        const cached = this.rule.cachedInputs.some((c) => c.io === read.callee && (index === undefined || c.index === index));
        if (cached) return true;
      }
    }
    return false;
  }

  private loopLabel(trips: number): string {
    return `trips${trips}_${this.loopCounter++}`;
  }

  private forLoop(s: ForStmt, ctx: FnContext): Ref {
    const { m } = this;
    const sym = s.symbol as Extract<Symbol, { kind: 'loop' }>;
    if (sym.to < sym.from) return m.nop();
    const trips = sym.to - sym.from + 1;
    if (this.mustUnroll(s, ctx) || (this.variant.unrollLoops && trips <= UNROLL_LIMIT) || trips === 1) {
      const copies: Ref[] = [];
      for (let v = sym.from; v <= sym.to; v++) {
        ctx.loopValues.set(sym, v);
        copies.push(this.block(s.body, ctx));
      }
      ctx.loopValues.delete(sym);
      return m.block(null, copies);
    }
    const local = this.addLocal(ctx, 'int');
    ctx.locals.set(sym.id, local);
    const label = this.loopLabel(sym.to - sym.from + 1);
    // The canonical counted loop (device-abi.md §4.5) that hosts verify: the step and the only back edge at the
    // end. The bound wraps when `to` is INT_MAX, and the wrapped comparison still ends the loop after the last trip.
    return m.block(null, [
      m.local.set(local, m.i32.const(sym.from)),
      m.loop(label, m.block(null, [
        this.block(s.body, ctx),
        m.br(label, m.i32.ne(m.local.tee(local, m.i32.add(m.local.get(local, this.i32), m.i32.const(1)), this.i32),
          m.i32.const((sym.to + 1) | 0))),
      ])),
    ]);
  }

  // ---- expressions ---------------------------------------------------------------------

  private constant(type: Type, value: number): Ref {
    return type === 'float' ? this.m.f32.const(value) : this.m.i32.const(value);
  }

  private not(ref: Ref): Ref {
    return this.m.i32.eqz(ref);
  }

  /** The value of an expression that depends only on constants and unrolled loop variables, if any. */
  private folded(e: Expr, ctx: FnContext): number | undefined {
    if (e.constant !== undefined) return e.constant;
    return ctx.loopValues.size ? evaluateWith(e, ctx.loopValues) : undefined;
  }

  expr(e: Expr, ctx: FnContext): Ref {
    const { m } = this;
    const type = e.type!;
    const value = this.folded(e, ctx);
    if (value !== undefined) return this.constant(type, value);
    switch (e.kind) {
      case 'name': {
        const sym = e.symbol!;
        switch (sym.kind) {
          case 'state': return m.global.get(globalName(sym.index), this.wasmType(sym.type));
          case 'param': return m.local.get(sym.index, this.wasmType(sym.type));
          case 'local': return m.local.get(ctx.locals.get(sym.id)!, this.wasmType(sym.type));
          case 'loop': return m.local.get(ctx.locals.get(sym.id)!, this.i32);
          default: throw new Error(`internal compiler error: name ${sym.name} has no value`);
        }
      }
      case 'now':
        return m.local.get(0, this.i32);
      case 'unary': {
        const x = this.expr(e.operand, ctx);
        if (e.op === '!') return m.i32.eqz(x);
        if (e.op === '~') return m.i32.xor(x, m.i32.const(-1));
        return type === 'float' ? m.f32.neg(x) : m.i32.sub(m.i32.const(0), x);
      }
      case 'binary':
        return this.binary(e, ctx);
      case 'cond':
        return m.if(this.expr(e.cond, ctx), this.expr(e.then, ctx), this.expr(e.else, ctx));
      case 'call':
        return this.call(e, ctx);
      default:
        throw new Error(`internal compiler error: ${e.kind} in rule code`);
    }
  }

  private binary(e: BinaryExpr, ctx: FnContext): Ref {
    const { m } = this;
    const operandType = e.left.type!;
    const special = this.bitComparison(e, ctx);
    if (special !== null) return special;
    // When the right side cannot trap or read an input, evaluating both sides is the same as
    // short-circuiting, and smaller. `and` is exact: the right side is compiled assuming the left
    // is true, and when it is not, the result is 0 whatever the right side holds.
    if (e.op === '&&') {
      return this.eagerSafe(e.right, ctx) ? m.i32.and(this.expr(e.left, ctx), this.expr(e.right, ctx))
        : m.if(this.expr(e.left, ctx), this.expr(e.right, ctx), m.i32.const(0));
    }
    if (e.op === '||') {
      // Not i32.or: the right side was compiled assuming the left is false, so when the left is
      // true it may hold any value (a 0/1 test folded to the value itself); select picks 1 then.
      return this.eagerSafe(e.right, ctx) ? m.select(this.expr(e.left, ctx), m.i32.const(1), this.expr(e.right, ctx))
        : m.if(this.expr(e.left, ctx), m.i32.const(1), this.expr(e.right, ctx));
    }
    if (e.op === '/' && operandType === 'int') return this.intDivide(this.expr(e.left, ctx), e.left, this.expr(e.right, ctx), e.right, ctx);
    const a = this.expr(e.left, ctx);
    const b = this.expr(e.right, ctx);
    if (operandType === 'float') {
      const f = m.f32;
      switch (e.op) {
        case '+': return f.add(a, b);
        case '-': return f.sub(a, b);
        case '*': return f.mul(a, b);
        case '/': return f.div(a, b);
        case '==': return f.eq(a, b);
        case '!=': return f.ne(a, b);
        case '<': return f.lt(a, b);
        case '<=': return f.le(a, b);
        case '>': return f.gt(a, b);
        case '>=': return f.ge(a, b);
      }
    }
    const i = m.i32;
    switch (e.op) {
      case '+': return i.add(a, b);
      case '-': return i.sub(a, b);
      case '*': return i.mul(a, b);
      // rem_s does not trap on INT_MIN % -1 (it gives 0); the divisor is proven nonzero.
      case '%': return i.rem_s(a, b);
      case '<<': return i.shl(a, b);
      case '>>': return i.shr_s(a, b);
      case '&': return i.and(a, b);
      case '|': return i.or(a, b);
      case '^': return i.xor(a, b);
      case '==': return i.eq(a, b);
      case '!=': return i.ne(a, b);
      case '<': return i.lt_s(a, b);
      case '<=': return i.le_s(a, b);
      case '>': return i.gt_s(a, b);
      case '>=': return i.ge_s(a, b);
    }
    throw new Error(`internal compiler error: operator ${e.op} on ${operandType}`);
  }

  /**
   * Whether evaluating `e` when the program would not have is harmless: no division or remainder
   * (their divisor proof may rest on the left side), no input read that is not already in a local,
   * no function call.
   */
  private eagerSafe(e: Expr, ctx: FnContext): boolean {
    if (this.folded(e, ctx) !== undefined) return true;
    switch (e.kind) {
      case 'name':
      case 'now':
        return true;
      case 'unary':
        return this.eagerSafe(e.operand, ctx);
      case 'binary':
        return e.op !== '/' && e.op !== '%' && this.eagerSafe(e.left, ctx) && this.eagerSafe(e.right, ctx);
      case 'cond':
        return this.eagerSafe(e.cond, ctx) && this.eagerSafe(e.then, ctx) && this.eagerSafe(e.else, ctx);
      case 'call': {
        if (e.callee === 'sensor' || e.callee === 'gpio') {
          const index = this.folded(e.args[0], ctx);
          return index !== undefined && ctx.cached.has(`${e.callee}:${index}`);
        }
        // A function's own divisions are proven inside it, so a call cannot trap; one without loops is cheap.
        if (e.fn && !containsLoop(e.fn.body.statements)) return e.args.every((a) => this.eagerSafe(a, ctx));
        if (e.fn || e.callee === 'div') return false;
        return e.args.every((a) => this.eagerSafe(a, ctx));
      }
      default:
        return false;
    }
  }

  /** A value known to be 0 or 1 (a GPIO read, a bool converted to int) compared with 0 or 1 is itself or its negation. */
  private bitComparison(e: BinaryExpr, ctx: FnContext): Ref | null {
    if (e.left.type !== 'int' || !['==', '!=', '<', '<=', '>', '>='].includes(e.op)) return null;
    let subject = e.left;
    let k = this.folded(e.right, ctx);
    let op = e.op;
    if (k === undefined) {
      k = this.folded(e.left, ctx);
      subject = e.right;
      const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
      op = (flip[op] ?? op) as BinaryExpr['op'];
    }
    if (k === undefined || !isBit(subject.range) || (k !== 0 && k !== 1)) return null;
    // For a value v in {0, 1}: which comparisons with k are "v", which are "!v".
    const truth = (v: number) => ({ '==': v === k, '!=': v !== k, '<': v < k!, '<=': v <= k!, '>': v > k!, '>=': v >= k! })[op as '=='];
    const at0 = truth(0);
    const at1 = truth(1);
    const x = this.expr(subject, ctx);
    if (!at0 && at1) return x;
    if (at0 && !at1) return this.m.i32.eqz(x);
    return null;
  }

  /** `a / b` with b proven nonzero; INT_MIN / -1 must wrap, and wasm's div_s would trap on it. */
  private intDivide(a: Ref, left: Expr, b: Ref, right: Expr, ctx: FnContext): Ref {
    const { m } = this;
    if (!contains(right.range, -1) || !contains(left.range, INT_MIN)) return m.i32.div_s(a, b);
    const ta = this.addLocal(ctx, 'int');
    const tb = this.addLocal(ctx, 'int');
    return m.block(null, [
      m.local.set(ta, a),
      m.local.set(tb, b),
      m.if(m.i32.eq(m.local.get(tb, this.i32), m.i32.const(-1)),
        m.i32.sub(m.i32.const(0), m.local.get(ta, this.i32)),
        m.i32.div_s(m.local.get(ta, this.i32), m.local.get(tb, this.i32))),
    ], this.i32);
  }

  /** Evaluates `e` once into a local unless it is already cheap to repeat. */
  private reusable(e: Expr, ctx: FnContext): { first: Ref; again: () => Ref } {
    const { m } = this;
    const type = this.wasmType(e.type!);
    const folded = this.folded(e, ctx);
    if (folded !== undefined) return { first: this.constant(e.type!, folded), again: () => this.constant(e.type!, folded) };
    if (e.kind === 'name' || e.kind === 'now') return { first: this.expr(e, ctx), again: () => this.expr(e, ctx) };
    const local = this.addLocal(ctx, e.type!);
    return { first: m.local.tee(local, this.expr(e, ctx), type), again: () => m.local.get(local, type) };
  }

  private call(e: CallExpr, ctx: FnContext): Ref {
    const { m } = this;
    const type = e.type!;
    const argType = e.args[0]?.type;
    switch (e.callee) {
      case 'sensor':
      case 'gpio': {
        const index = this.folded(e.args[0], ctx);
        if (index === undefined) {
          // A pin or channel chosen by a loop kept as a loop: every value was checked against `uses`.
          const name = e.callee === 'sensor' ? 'sr' : 'gr';
          this.usedImports.add(name);
          return m.call(name, [this.expr(e.args[0], ctx)], this.i32);
        }
        const cached = ctx.cached.get(`${e.callee}:${index}`);
        if (cached !== undefined) return m.local.get(cached, this.i32);
        return this.readInput({ io: e.callee, index });
      }
      case 'min':
      case 'max':
        return this.minMaxRefs(e.callee, e.args[0], e.args[1], ctx);
      case 'clamp': {
        const lower = this.minMaxRefs('max', e.args[0], e.args[1], ctx);
        const upper = this.reusable(e.args[2], ctx);
        if (type === 'float') return m.f32.min(lower, upper.first);
        const t = this.addLocal(ctx, 'int');
        // binaryen's select takes the condition first, but wasm evaluates it last: the tees run before the gets.
        return m.select(m.i32.lt_s(m.local.get(t, this.i32), upper.again()), m.local.tee(t, lower, this.i32), upper.first);
      }
      case 'abs': {
        if (type === 'float') return m.f32.abs(this.expr(e.args[0], ctx));
        if (e.args[0].range && e.args[0].range.lo >= 0) return this.expr(e.args[0], ctx);
        const x = this.reusable(e.args[0], ctx);
        return m.select(m.i32.lt_s(x.again(), m.i32.const(0)), m.i32.sub(m.i32.const(0), x.first), x.again());
      }
      case 'div': {
        const divisor = this.reusable(e.args[1], ctx);
        if (type === 'float') {
          return m.if(m.f32.eq(divisor.first, m.f32.const(0)), this.expr(e.args[2], ctx),
            m.f32.div(this.expr(e.args[0], ctx), divisor.again()));
        }
        if (excludesZero(e.args[1].range)) {
          return this.intDivide(this.expr(e.args[0], ctx), e.args[0], divisor.first, e.args[1], ctx);
        }
        return m.if(m.i32.eqz(divisor.first), this.expr(e.args[2], ctx),
          this.intDivide(this.expr(e.args[0], ctx), e.args[0], divisor.again(), e.args[1], ctx));
      }
      case 'int': {
        const x = this.expr(e.args[0], ctx);
        if (argType !== 'float') return x;
        // Known to be well inside the int range (and so not NaN either): truncating cannot trap.
        const known = this.floatBounds(e.args[0], ctx);
        if (known && Math.max(Math.abs(known[0]), Math.abs(known[1])) <= TRUNCATES_SAFELY) return m.i32.trunc_s.f32(x);
        return this.saturatingTruncate(x);
      }
      case 'float':
        return argType === 'float' ? this.expr(e.args[0], ctx) : m.f32.convert_s.i32(this.expr(e.args[0], ctx));
      case 'bool': {
        if (argType === 'bool' || (argType === 'int' && isBit(e.args[0].range))) return this.expr(e.args[0], ctx);
        if (argType === 'float') return m.f32.ne(this.expr(e.args[0], ctx), m.f32.const(0));
        return m.i32.ne(this.expr(e.args[0], ctx), m.i32.const(0));
      }
      default:
        return m.call(fnName(e.fn!), e.args.map((a) => this.expr(a, ctx)), this.wasmType(type));
    }
  }

  private minMaxRefs(which: 'min' | 'max', a: Expr, b: Expr, ctx: FnContext): Ref {
    const { m } = this;
    if (a.type === 'float') {
      const x = this.expr(a, ctx);
      const y = this.expr(b, ctx);
      return which === 'min' ? m.f32.min(x, y) : m.f32.max(x, y);
    }
    const step = this.saturatingStep(which, a, b, ctx) ?? this.saturatingStep(which, b, a, ctx);
    if (step) return step;
    const x = this.reusable(a, ctx);
    const y = this.reusable(b, ctx);
    const pick = which === 'min' ? m.i32.lt_s(x.again(), y.again()) : m.i32.gt_s(x.again(), y.again());
    return m.select(pick, x.first, y.first);
  }

  /**
   * Bounds of a float expression built from constants, `float(int)` of an int with a known range,
   * `let`s of such, negation and the four operations (a divisor must exclude 0); null otherwise.
   * Computed exactly in doubles: f32 rounding moves each result by a relative 2^-24 at most, far
   * less than the margin TRUNCATES_SAFELY leaves below 2^31.
   */
  private floatBounds(e: Expr, ctx: FnContext, depth = 0): [number, number] | null {
    if (depth > 16) return null;
    const value = this.folded(e, ctx);
    if (value !== undefined) return Number.isFinite(value) ? [value, value] : null;
    switch (e.kind) {
      case 'name': {
        const sym = e.symbol;
        const init = sym?.kind === 'local' ? ctx.lets.get(sym.id) : undefined;
        return init ? this.floatBounds(init, ctx, depth + 1) : null;
      }
      case 'call':
        if (e.callee === 'float' && e.args[0].type === 'int' && e.args[0].range) return [e.args[0].range.lo, e.args[0].range.hi];
        return null;
      case 'unary': {
        const x = e.op === '-' ? this.floatBounds(e.operand, ctx, depth + 1) : null;
        return x ? [-x[1], -x[0]] : null;
      }
      case 'binary': {
        if (!['+', '-', '*', '/'].includes(e.op)) return null;
        const a = this.floatBounds(e.left, ctx, depth + 1);
        const b = a && this.floatBounds(e.right, ctx, depth + 1);
        if (!a || !b) return null;
        if (e.op === '/' && b[0] <= 0 && b[1] >= 0) return null;
        const ops: Record<string, (x: number, y: number) => number> = {
          '+': (x, y) => x + y, '-': (x, y) => x - y, '*': (x, y) => x * y, '/': (x, y) => x / y,
        };
        const corners = e.op === '+' ? [a[0] + b[0], a[1] + b[1]] : e.op === '-' ? [a[0] - b[1], a[1] - b[0]]
          : [ops[e.op](a[0], b[0]), ops[e.op](a[0], b[1]), ops[e.op](a[1], b[0]), ops[e.op](a[1], b[1])];
        if (!corners.every(Number.isFinite)) return null;
        return [Math.min(...corners), Math.max(...corners)];
      }
      default:
        return null;
    }
  }

  /**
   * A counter that steps towards a bound it never passes: `min(x + 1, K)` with x at most K is
   * `x + (x < K)`, and `max(x - 1, K)` with x at least K is `x - (x > K)`. No select, no local.
   */
  private saturatingStep(which: 'min' | 'max', stepped: Expr, bound: Expr, ctx: FnContext): Ref | null {
    const { m } = this;
    const k = this.folded(bound, ctx);
    if (k === undefined || stepped.kind !== 'binary' || stepped.op !== (which === 'min' ? '+' : '-')) return null;
    if (this.folded(stepped.right, ctx) !== 1) return null;
    const x = stepped.left;
    if (!x.range || (which === 'min' ? x.range.hi > k : x.range.lo < k)) return null;
    if (x.kind !== 'name' && x.kind !== 'now') return null;
    const test = which === 'min' ? m.i32.lt_s(this.expr(x, ctx), m.i32.const(k)) : m.i32.gt_s(this.expr(x, ctx), m.i32.const(k));
    return which === 'min' ? m.i32.add(this.expr(x, ctx), test) : m.i32.sub(this.expr(x, ctx), test);
  }

  /**
   * float to int that saturates and maps NaN to 0 with MVP instructions only (no trunc_sat). It
   * is one shared function: binaryen inlines it where it is used once.
   */
  private saturatingTruncate(x: Ref): Ref {
    if (!this.needsFloatToInt) {
      this.needsFloatToInt = true;
      const { m } = this;
      const get = () => m.local.get(0, this.f32);
      // |x| < 2^31 is the case where truncating cannot trap (NaN fails the test too); one f32
      // constant instead of two keeps the function small.
      m.addFunction(FLOAT_TO_INT, this.f32, this.i32, [],
        m.if(m.f32.lt(m.f32.abs(get()), m.f32.const(2147483648)), m.i32.trunc_s.f32(get()),
          m.if(m.f32.ne(get(), get()), m.i32.const(0),
            m.select(m.f32.gt(get(), m.f32.const(0)), m.i32.const(2147483647), m.i32.const(-2147483648)))));
    }
    return this.m.call(FLOAT_TO_INT, [x], this.i32);
  }
}

/** The WebAssembly text of a binary module, for `rules inspect`; null when binaryen cannot read it. */
export async function wasmToText(bytes: Uint8Array): Promise<string | null> {
  const binaryen = await loadBinaryen();
  let module: binaryenType.Module | null = null;
  try {
    module = binaryen.readBinary(bytes);
    return module.emitText();
  } catch {
    return null;
  } finally {
    module?.dispose();
  }
}

// ---- after binaryen: exact rewrites it does not make ----------------------------------------

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

function slebBytes(v: number): number {
  let n = 1;
  for (let x = v | 0; x < -64 || x > 63; x >>= 7) n++;
  return n;
}

/** A condition `x in [lo, hi]` read off one signed comparison of x with a constant. */
interface Bound { subject: Ref; lo: number; hi: number }

/**
 * Rewrites binaryen's optimized code where a smaller exact equivalent is known, then leaves the
 * rest to binaryen again. All rules keep the order and the number of side effects (calls, local
 * writes, traps) and rest on one fact: a value this pass calls boolean is 0 or 1 at run time.
 *  - a range test `x >= lo && x <= hi` (or its negation with `||`) is one unsigned comparison
 *    of `x - lo`, exact over all of i32 because subtraction wraps;
 *  - a choice between booleans where one side is a constant is `and`/`or` (with `eqz`), and
 *    `c ? K : 0` for a boolean c is `c * K`;
 *  - `if c { v = a } else if d { v = b }`, with `d` and the values free of effects, is one
 *    assignment of a choice (a latch on a boolean state is `v = c | v & !d`);
 *  - `if c { gpio(p) = a } else if d { gpio(p) = b }` is one write under `c || d` when `c` can be
 *    evaluated again without effects (its `local.tee`s read back as `local.get`s).
 * Each is applied only where its result is smaller by the byte estimate below.
 */
class Peephole {
  private readonly B: any;
  private boolGlobals = new Set<string>();
  private boolLocals = new Set<number>();
  /** Flow-sensitive: whether each local holds a boolean at the point reached by the walk. */
  private state = new Map<number, boolean>();
  /** The same, at each local.get the walk has passed, and after each `if`'s condition. */
  private boolAtGet = new Map<Ref, boolean>();
  private afterCondition = new Map<Ref, Map<number, boolean>>();
  private imports = new Map<string, string>();
  private globalIndex = new Map<string, number>();

  constructor(private readonly b: Binaryen, private readonly m: binaryenType.Module) {
    this.B = b as any;
  }

  run(): void {
    const { b, m } = this;
    const bodies: Ref[] = [];
    const functions: number[] = [];
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const f = m.getFunctionByIndex(i);
      const info = b.getFunctionInfo(f);
      if (info.module) this.imports.set(info.name, info.base ?? "");
      else { functions.push(f); bodies.push(info.body); }
    }
    for (let i = 0; i < m.getNumGlobals(); i++) this.globalIndex.set(b.getGlobalInfo(m.getGlobalByIndex(i)).name, i);
    this.boolGlobals = this.findBoolGlobals(bodies);
    for (const f of functions) {
      const info = b.getFunctionInfo(f);
      const params = b.expandType(info.params).length;
      this.boolLocals = this.findBoolLocals(info.body, params, info.vars.length);
      this.state = new Map(Array.from({ length: params + info.vars.length }, (_, i) => [i, i >= params] as const));
      this.B.Function.setBody(f, this.visit(info.body));
    }
  }

  // -- facts --------------------------------------------------------------------------------

  /** Children of an expression, with a setter for each. */
  private children(ref: Ref): { get: () => Ref; set: (r: Ref) => void }[] {
    const { b, B } = this;
    const slot = (kind: any, name: string): { get: () => Ref; set: (r: Ref) => void } => ({ get: () => kind[`get${name}`](ref), set: (r: Ref) => kind[`set${name}`](ref, r) });
    const at = (kind: any, count: number, name: string) => Array.from({ length: count }, (_, i) =>
      ({ get: () => kind[`get${name}At`](ref, i), set: (r: Ref) => kind[`set${name}At`](ref, i, r) }));
    type Slot = { get: () => Ref; set: (r: Ref) => void };
    const present = (s: Slot[]) => s.filter((x) => x.get());
    switch (b.getExpressionId(ref)) {
      case b.BlockId: return at(B.Block, B.Block.getNumChildren(ref), 'Child');
      case b.IfId: return present([slot(B.If, 'Condition'), slot(B.If, 'IfTrue'), slot(B.If, 'IfFalse')]);
      case b.LoopId: return [slot(B.Loop, 'Body')];
      case b.BreakId: return present([slot(B.Break, 'Value'), slot(B.Break, 'Condition')]);
      case b.CallId: return at(B.Call, B.Call.getNumOperands(ref), 'Operand');
      case b.UnaryId: return [slot(B.Unary, 'Value')];
      case b.BinaryId: return [slot(B.Binary, 'Left'), slot(B.Binary, 'Right')];
      case b.SelectId: return [slot(B.Select, 'IfTrue'), slot(B.Select, 'IfFalse'), slot(B.Select, 'Condition')];
      case b.LocalSetId: return [slot(B.LocalSet, 'Value')];
      case b.GlobalSetId: return [slot(B.GlobalSet, 'Value')];
      case b.DropId: return [slot(B.Drop, 'Value')];
      case b.ReturnId: return present([slot(B.Return, 'Value')]);
      default: return [];
    }
  }

  private *all(ref: Ref): Generator<Ref> {
    yield ref;
    for (const c of this.children(ref)) yield* this.all(c.get());
  }

  private findBoolGlobals(bodies: Ref[]): Set<string> {
    const { b, m, B } = this;
    const sets = new Map<string, Ref[]>();
    for (const body of bodies) {
      for (const e of this.all(body)) {
        if (b.getExpressionId(e) === b.GlobalSetId) {
          const name = B.GlobalSet.getName(e);
          sets.set(name, [...sets.get(name) ?? [], B.GlobalSet.getValue(e)]);
        }
      }
    }
    const out = new Set<string>();
    for (let i = 0; i < m.getNumGlobals(); i++) {
      const g = b.getGlobalInfo(m.getGlobalByIndex(i));
      if (g.type === b.i32 && this.isConst(g.init) && [0, 1].includes(B.Const.getValueI32(g.init))) out.add(g.name);
    }
    this.boolGlobals = out;
    // The largest set closed under assignment: each holds 0 or 1 at first, and every write keeps it so.
    for (let changed = true; changed;) {
      changed = false;
      for (const name of [...out]) {
        if ((sets.get(name) ?? []).some((v) => !this.isBool(v))) { out.delete(name); changed = true; }
      }
    }
    return out;
  }

  private findBoolLocals(body: Ref, params: number, vars: number): Set<number> {
    const { b, B } = this;
    const sets = new Map<number, Ref[]>();
    for (const e of this.all(body)) {
      if (b.getExpressionId(e) === b.LocalSetId) {
        const i = B.LocalSet.getIndex(e);
        sets.set(i, [...sets.get(i) ?? [], B.LocalSet.getValue(e)]);
      }
    }
    // Parameters are unknown; other locals start at zero.
    const out = new Set<number>();
    for (let i = params; i < params + vars; i++) out.add(i);
    this.boolLocals = out;
    for (let changed = true; changed;) {
      changed = false;
      for (const i of [...out]) {
        if ((sets.get(i) ?? []).some((v) => b.getExpressionType(v) !== b.i32 || !this.isBool(v))) { out.delete(i); changed = true; }
      }
    }
    return out;
  }

  private isConst(ref: Ref, value?: number): boolean {
    const { b, B } = this;
    if (!ref || b.getExpressionId(ref) !== b.ConstId || b.getExpressionType(ref) !== b.i32) return false;
    return value === undefined || B.Const.getValueI32(ref) === value;
  }

  private static readonly COMPARISONS = ['EqInt32', 'NeInt32', 'LtSInt32', 'LtUInt32', 'GtSInt32', 'GtUInt32', 'LeSInt32',
    'LeUInt32', 'GeSInt32', 'GeUInt32', 'EqFloat32', 'NeFloat32', 'LtFloat32', 'GtFloat32', 'LeFloat32', 'GeFloat32'];

  private op(name: string): number {
    return (this.b as any)[name] as number;
  }

  /** Whether the value is always 0 or 1. */
  isBool(ref: Ref): boolean {
    const { b, B } = this;
    if (!ref || b.getExpressionType(ref) !== b.i32) return false;
    switch (b.getExpressionId(ref)) {
      case b.ConstId: return this.isConst(ref, 0) || this.isConst(ref, 1);
      case b.UnaryId: return B.Unary.getOp(ref) === this.op('EqZInt32');
      case b.BinaryId: {
        const op = B.Binary.getOp(ref);
        const l = B.Binary.getLeft(ref);
        const r = B.Binary.getRight(ref);
        if (Peephole.COMPARISONS.some((n) => this.op(n) === op)) return true;
        if (op === this.op('AndInt32')) return this.isBool(l) || this.isBool(r);
        if ([this.op('OrInt32'), this.op('XorInt32'), this.op('MulInt32')].includes(op)) return this.isBool(l) && this.isBool(r);
        if (op === this.op('ShrUInt32')) return this.isConst(r, 31);
        return false;
      }
      case b.SelectId: return this.isBool(B.Select.getIfTrue(ref)) && this.isBool(B.Select.getIfFalse(ref));
      case b.IfId: return this.isBool(B.If.getIfTrue(ref)) && this.isBool(B.If.getIfFalse(ref));
      case b.LocalGetId: {
        const i = B.LocalGet.getIndex(ref);
        return this.boolLocals.has(i) || (this.boolAtGet.get(ref) ?? this.state.get(i) ?? false);
      }
      case b.LocalSetId: return this.isBool(B.LocalSet.getValue(ref));
      case b.GlobalGetId: return this.boolGlobals.has(B.GlobalGet.getName(ref));
      // The device ABI: a GPIO read is 0 or 1.
      case b.CallId: return this.imports.get(B.Call.getTarget(ref)) === 'gr';
      case b.BlockId: {
        const n = B.Block.getNumChildren(ref);
        return !B.Block.getName(ref) && n > 0 && this.isBool(B.Block.getChildAt(ref, n - 1));
      }
      default: return false;
    }
  }

  private effects(ref: Ref): number {
    return this.b.getSideEffects(ref, this.m as any) as unknown as number;
  }

  /** No effect at all besides reading locals and globals: may be evaluated more often, or not at all. */
  private pure(ref: Ref): boolean {
    const S = this.B.SideEffects;
    return (this.effects(ref) & ~(S.ReadsLocal | S.ReadsGlobal)) === 0;
  }

  /** Writes no local or global and calls nothing but the host: may move past pure expressions. */
  private writesNothing(ref: Ref): boolean {
    const { b, B } = this;
    const S = B.SideEffects;
    if (this.effects(ref) & (S.WritesLocal | S.WritesGlobal | S.Branches)) return false;
    for (const e of this.all(ref)) {
      if (b.getExpressionId(e) === b.CallId && !this.imports.has(B.Call.getTarget(e))) return false;
    }
    return true;
  }

  /** Estimated encoded size in bytes: exact for the instructions this pass creates and compares. */
  size(ref: Ref): number {
    const { b, B } = this;
    if (!ref) return 0;
    let own: number;
    switch (b.getExpressionId(ref)) {
      case b.ConstId: own = b.getExpressionType(ref) === b.i32 ? 1 + slebBytes(B.Const.getValueI32(ref)) : 5; break;
      case b.BlockId: own = B.Block.getName(ref) ? 3 : 0; break;
      case b.IfId: own = 3 + (B.If.getIfFalse(ref) ? 1 : 0); break;
      case b.LoopId: own = 3; break;
      case b.CallId: case b.LocalGetId: case b.LocalSetId: case b.GlobalGetId: case b.GlobalSetId: case b.BreakId: own = 2; break;
      case b.NopId: own = 0; break;
      default: own = 1;
    }
    return own + this.children(ref).reduce((n, c) => n + this.size(c.get()), 0);
  }

  // -- building -----------------------------------------------------------------------------

  private eqz(ref: Ref): Ref {
    const { b, B, m } = this;
    const flip: Record<string, string> = { LtSInt32: 'GeSInt32', GeSInt32: 'LtSInt32', GtSInt32: 'LeSInt32', LeSInt32: 'GtSInt32',
      LtUInt32: 'GeUInt32', GeUInt32: 'LtUInt32', GtUInt32: 'LeUInt32', LeUInt32: 'GtUInt32', EqInt32: 'NeInt32', NeInt32: 'EqInt32' };
    if (b.getExpressionId(ref) === b.BinaryId) {
      const name = Object.keys(flip).find((n) => this.op(n) === B.Binary.getOp(ref));
      if (name) return this.binary(flip[name], B.Binary.getLeft(ref), B.Binary.getRight(ref));
    }
    if (b.getExpressionId(ref) === b.UnaryId && B.Unary.getOp(ref) === this.op('EqZInt32') && this.isBool(B.Unary.getValue(ref))) {
      return B.Unary.getValue(ref);
    }
    return m.i32.eqz(ref);
  }

  private binary(opName: string, l: Ref, r: Ref): Ref {
    const names: Record<string, keyof binaryenType.Module['i32']> = {
      LtSInt32: 'lt_s', GeSInt32: 'ge_s', GtSInt32: 'gt_s', LeSInt32: 'le_s', LtUInt32: 'lt_u', GeUInt32: 'ge_u', GtUInt32: 'gt_u',
      LeUInt32: 'le_u', EqInt32: 'eq', NeInt32: 'ne', AndInt32: 'and', OrInt32: 'or', MulInt32: 'mul', SubInt32: 'sub',
    };
    return (this.m.i32[names[opName]] as (a: Ref, b: Ref) => Ref)(l, r);
  }

  /** The smallest of the given candidates. */
  private smallest(...candidates: (Ref | null)[]): Ref {
    let best: Ref | null = null;
    let bestSize = Infinity;
    for (const c of candidates) {
      if (c === null) continue;
      const s = this.size(c);
      if (s < bestSize) { best = c; bestSize = s; }
    }
    return best!;
  }

  /**
   * `p ? a : bElse`, evaluating p first and then only the chosen side, as `if` does; other forms
   * are offered only where they are equivalent.
   */
  private choose(p: Ref, a: Ref, bElse: Ref, type: number): Ref {
    const { b, m } = this;
    const candidates: (Ref | null)[] = [m.if(p, a, bElse)];
    if (type === b.i32 && this.isBool(p)) {
      const pa = this.pure(a);
      const pb = this.pure(bElse);
      if (this.isBool(a) && this.isBool(bElse)) {
        if (this.isConst(bElse, 0) && pa) candidates.push(this.and(p, a));
        if (this.isConst(a, 1) && pb) candidates.push(this.or(p, bElse));
        if (this.isConst(a, 0) && pb) candidates.push(this.and(this.eqz(p), bElse));
        if (this.isConst(bElse, 1) && pa) candidates.push(this.or(this.eqz(p), a));
      }
      // p * a is a when p is 1 and 0 when p is 0, whatever a holds.
      if (this.isConst(bElse, 0) && this.pure(a)) candidates.push(m.i32.mul(p, a));
      if (this.isConst(a, 0) && this.pure(bElse)) candidates.push(m.i32.mul(this.eqz(p), bElse));
    }
    // select evaluates both sides before the condition.
    if (this.pure(a) && this.pure(bElse) && this.writesNothing(p)) candidates.push(m.select(p, a, bElse));
    return this.smallest(...candidates);
  }

  private bound(ref: Ref): Bound | null {
    const { b, B } = this;
    if (b.getExpressionId(ref) !== b.BinaryId) return null;
    const op = B.Binary.getOp(ref);
    let x = B.Binary.getLeft(ref);
    let k = B.Binary.getRight(ref);
    let name = ['LtSInt32', 'LeSInt32', 'GtSInt32', 'GeSInt32'].find((n) => this.op(n) === op);
    if (!name) return null;
    if (this.isConst(x) && !this.isConst(k)) {
      [x, k] = [k, x];
      name = ({ LtSInt32: 'GtSInt32', LeSInt32: 'GeSInt32', GtSInt32: 'LtSInt32', GeSInt32: 'LeSInt32' } as Record<string, string>)[name];
    }
    if (!this.isConst(k)) return null;
    const c = B.Const.getValueI32(k);
    switch (name) {
      case 'LtSInt32': return c === I32_MIN ? null : { subject: x, lo: I32_MIN, hi: c - 1 };
      case 'LeSInt32': return { subject: x, lo: I32_MIN, hi: c };
      case 'GtSInt32': return c === I32_MAX ? null : { subject: x, lo: c + 1, hi: I32_MAX };
      default: return { subject: x, lo: c, hi: I32_MAX };
    }
  }

  /** Whether `later`, evaluated after `first`, reads the value `first` gave. */
  private sameValue(first: Ref, later: Ref): boolean {
    const { b, B } = this;
    const id = b.getExpressionId(later);
    if (id === b.LocalGetId) {
      const fid = b.getExpressionId(first);
      return (fid === b.LocalGetId || fid === b.LocalSetId) && B.LocalGet.getIndex(later) === (fid === b.LocalGetId ? B.LocalGet.getIndex(first) : B.LocalSet.getIndex(first));
    }
    if (id === b.GlobalGetId) return b.getExpressionId(first) === b.GlobalGetId && B.GlobalGet.getName(first) === B.GlobalGet.getName(later);
    return false;
  }

  /** `x in [lo, hi]` (or, negated, outside it) as one unsigned comparison of x - lo. */
  private rangeTest(subject: Ref, lo: number, hi: number, inside: boolean): Ref {
    const { m } = this;
    const shifted = lo === 0 ? subject : m.i32.sub(subject, m.i32.const(lo));
    const width = (hi - lo) | 0;
    return inside ? m.i32.le_u(shifted, m.i32.const(width)) : m.i32.gt_u(shifted, m.i32.const(width));
  }

  private and(l: Ref, r: Ref): Ref {
    const a = this.bound(l);
    const c = this.bound(r);
    if (a && c && this.sameValue(a.subject, c.subject) && this.pure(r)) {
      const lo = Math.max(a.lo, c.lo);
      const hi = Math.min(a.hi, c.hi);
      if (lo <= hi && lo !== I32_MIN && hi !== I32_MAX) return this.rangeTest(a.subject, lo, hi, true);
    }
    const guarded = this.guardedAnd(l, r) ?? this.guardedAnd(r, l);
    if (guarded !== null) return guarded;
    // a & (a & x) is a & x, and a & !(a & x) is a & !x, for a boolean a and x: the inner a adds nothing.
    for (const [atom, rest, build] of [[l, r, (e: Ref) => this.m.i32.and(l, e)], [r, l, (e: Ref) => this.m.i32.and(e, r)]] as const) {
      if (!this.isAtom(atom) || !this.isBool(atom) || !this.pure(rest)) continue;
      const negated = this.isEqz(rest);
      const inner = negated ? this.B.Unary.getValue(rest) : rest;
      const other = this.otherOperand(inner, 'AndInt32', atom);
      if (other !== null && this.isBool(other)) return build(negated ? this.eqz(other) : other);
    }
    return this.m.i32.and(l, r);
  }

  private isAtom(ref: Ref): boolean {
    const id = this.b.getExpressionId(ref);
    return id === this.b.LocalGetId || id === this.b.GlobalGetId;
  }

  private isEqz(ref: Ref): boolean {
    return this.b.getExpressionId(ref) === this.b.UnaryId && this.B.Unary.getOp(ref) === this.op('EqZInt32');
  }

  /** For `atom op x` or `x op atom` (atom a get of the same variable), x. */
  private otherOperand(ref: Ref, opName: string, atom: Ref): Ref | null {
    const { b, B } = this;
    if (b.getExpressionId(ref) !== b.BinaryId || B.Binary.getOp(ref) !== this.op(opName)) return null;
    const l = B.Binary.getLeft(ref);
    const r = B.Binary.getRight(ref);
    if (this.isAtom(l) && this.sameValue(atom, l)) return r;
    if (this.isAtom(r) && this.sameValue(atom, r)) return l;
    return null;
  }

  private or(l: Ref, r: Ref): Ref {
    const latch = this.latchSelect(l, r);
    if (latch !== null) return latch;
    const a = this.bound(l);
    const c = this.bound(r);
    if (a && c && this.sameValue(a.subject, c.subject) && this.pure(r)) {
      // One bound from below, the other from above, leaving a gap [lo, hi] between them.
      const [below, above] = a.lo === I32_MIN ? [a, c] : [c, a];
      if (below.lo === I32_MIN && above.hi === I32_MAX && below.hi !== I32_MAX && above.lo !== I32_MIN && below.hi + 1 <= above.lo - 1) {
        return this.rangeTest(a.subject, below.hi + 1, above.lo - 1, false);
      }
    }
    return this.m.i32.or(l, r);
  }

  /**
   * `c | v & x` where c implies x (two bounds on one value, c's inside x's) is `v ? x : c`: the
   * hysteresis of a latch. The value is read where the select reads it first, in x.
   */
  private latchSelect(c: Ref, r: Ref): Ref | null {
    const { b, B, m } = this;
    if (b.getExpressionId(r) !== b.BinaryId || B.Binary.getOp(r) !== this.op('AndInt32') || !this.pure(r)) return null;
    const rl = B.Binary.getLeft(r);
    const rr = B.Binary.getRight(r);
    const [atom, x] = this.isAtom(rl) ? [rl, rr] : [rr, rl];
    if (!this.isAtom(atom) || !this.isBool(atom) || !this.isBool(x)) return null;
    const bc = this.bound(c);
    const bx = this.bound(x);
    if (!bc || !bx || !this.sameValue(bc.subject, bx.subject) || bc.lo < bx.lo || bc.hi > bx.hi) return null;
    const subject = bc.subject;
    const again = b.getExpressionId(subject) === b.LocalSetId
      ? m.local.get(B.LocalSet.getIndex(subject), b.getExpressionType(subject)) : m.copyExpression(subject);
    return m.select(atom, this.rebind(x, subject), this.rebind(c, again));
  }

  /** A copy of a comparison with a constant, comparing another subject. */
  private rebind(comparison: Ref, subject: Ref): Ref {
    const { B, m } = this;
    const copy = m.copyExpression(comparison);
    if (this.isConst(B.Binary.getLeft(copy))) B.Binary.setRight(copy, subject);
    else B.Binary.setLeft(copy, subject);
    return copy;
  }

  /**
   * `e & a` for a boolean variable a, where e has effects only when a is 1 (a read guarded by
   * `a && ...`): `if a { e with a = 1 } else { 0 }`, which drops the guard inside e.
   */
  private guardedAnd(e: Ref, a: Ref): Ref | null {
    const { b, m } = this;
    if (!this.isAtom(a) || !this.isBool(a) || !this.isBool(e) || this.pure(e)) return null;
    for (const x of this.all(e)) {
      const id = b.getExpressionId(x);
      if (id === b.GlobalSetId || (id === b.LocalSetId && this.sameVariable(x, a))) return null;
    }
    const whenZero = this.assume(e, a, 0);
    const whenOne = this.assume(e, a, 1);
    if (whenZero === null || whenOne === null || !this.pure(whenZero)) return null;
    return m.if(a, whenOne, m.i32.const(0));
  }

  private sameVariable(x: Ref, atom: Ref): boolean {
    const { b, B } = this;
    const xid = b.getExpressionId(x);
    const aid = b.getExpressionId(atom);
    if (aid === b.GlobalGetId) return xid === b.GlobalGetId && B.GlobalGet.getName(x) === B.GlobalGet.getName(atom);
    const index = B.LocalGet.getIndex(atom);
    return (xid === b.LocalGetId && B.LocalGet.getIndex(x) === index) || (xid === b.LocalSetId && B.LocalSet.getIndex(x) === index);
  }

  /** A copy of e where the variable `atom` holds `value`, folded; null for shapes this does not handle. */
  private assume(e: Ref, atom: Ref, value: number): Ref | null {
    const { b, B, m } = this;
    const id = b.getExpressionId(e);
    if ((id === b.LocalGetId || id === b.GlobalGetId) && this.sameVariable(e, atom)) return m.i32.const(value);
    switch (id) {
      case b.ConstId: case b.LocalGetId: case b.GlobalGetId: return m.copyExpression(e);
      case b.UnaryId: {
        const v = this.assume(B.Unary.getValue(e), atom, value);
        if (v === null) return null;
        if (B.Unary.getOp(e) === this.op('EqZInt32') && this.isConst(v)) return m.i32.const(B.Const.getValueI32(v) === 0 ? 1 : 0);
        return this.withChildren(e, [v]);
      }
      case b.BinaryId: {
        const l = this.assume(B.Binary.getLeft(e), atom, value);
        const r = l === null ? null : this.assume(B.Binary.getRight(e), atom, value);
        if (r === null) return null;
        if (B.Binary.getOp(e) === this.op('AndInt32')) {
          if (this.isConst(l!, 1) && this.isBool(r)) return r;
          if (this.isConst(r, 1) && this.isBool(l!)) return l;
          if ((this.isConst(l!, 0) && this.pure(r)) || (this.isConst(r, 0) && this.pure(l!))) return m.i32.const(0);
        }
        return this.withChildren(e, [l!, r]);
      }
      case b.IfId: {
        if (!B.If.getIfFalse(e)) return null;
        const c = this.assume(B.If.getCondition(e), atom, value);
        if (c === null) return null;
        if (this.isConst(c)) return this.assume(B.Const.getValueI32(c) !== 0 ? B.If.getIfTrue(e) : B.If.getIfFalse(e), atom, value);
        const t = this.assume(B.If.getIfTrue(e), atom, value);
        const f = t === null ? null : this.assume(B.If.getIfFalse(e), atom, value);
        return f === null ? null : m.if(c, t!, f);
      }
      case b.CallId: {
        const ops: Ref[] = [];
        for (let i = 0; i < B.Call.getNumOperands(e); i++) {
          const o = this.assume(B.Call.getOperandAt(e, i), atom, value);
          if (o === null) return null;
          ops.push(o);
        }
        return m.call(B.Call.getTarget(e), ops, b.getExpressionType(e));
      }
      default: return null;
    }
  }

  /** A guard `if c { return K }`: its condition and the returned constant. */
  private guard(ref: Ref): { condition: Ref; value: number } | null {
    const { b, B } = this;
    if (b.getExpressionId(ref) !== b.IfId || B.If.getIfFalse(ref)) return null;
    const then = this.unwrap(B.If.getIfTrue(ref));
    if (b.getExpressionId(then) !== b.ReturnId) return null;
    const value = B.Return.getValue(then);
    return value && this.isConst(value) ? { condition: B.If.getCondition(ref), value: B.Const.getValueI32(value) } : null;
  }

  /** Guards in a row that return the same constant are one guard: `if a { return K } if b { return K }` with b pure. */
  private mergeGuards(block: Ref): void {
    const { B, m } = this;
    for (let i = 0; i + 1 < B.Block.getNumChildren(block); i++) {
      const first = this.guard(B.Block.getChildAt(block, i));
      const second = first && this.guard(B.Block.getChildAt(block, i + 1));
      if (!first || !second || first.value !== second.value || !this.pure(second.condition)) continue;
      B.Block.setChildAt(block, i, m.if(m.i32.or(first.condition, second.condition), m.return(m.i32.const(first.value))));
      B.Block.removeChildAt(block, i + 1);
      i--;
    }
  }

  /** `local.set L v` right before an expression that first of all reads L: one `local.tee` instead. */
  private fuseSetIntoNextRead(block: Ref): void {
    const { b, B, m } = this;
    for (let i = 0; i + 1 < B.Block.getNumChildren(block); i++) {
      const set = B.Block.getChildAt(block, i);
      if (b.getExpressionId(set) !== b.LocalSetId || B.LocalSet.isTee(set)) continue;
      // The first instruction the next child evaluates (not inside a loop, which may run it again).
      let slot: { get: () => Ref; set: (r: Ref) => void } | null = null;
      let node = B.Block.getChildAt(block, i + 1);
      for (;;) {
        const id = b.getExpressionId(node);
        if (id === b.LoopId) break;
        const kids = this.children(node);
        if (kids.length === 0) break;
        slot = kids[0];
        node = slot.get();
      }
      if (slot === null || b.getExpressionId(node) !== b.LocalGetId || B.LocalGet.getIndex(node) !== B.LocalSet.getIndex(set)) continue;
      const value = B.LocalSet.getValue(set);
      slot.set(m.local.tee(B.LocalSet.getIndex(set), value, b.getExpressionType(value)));
      B.Block.removeChildAt(block, i);
    }
  }

  // -- rewriting ----------------------------------------------------------------------------

  private visit(ref: Ref): Ref {
    const { b, B } = this;
    const id = b.getExpressionId(ref);
    const kids = this.children(ref);
    const visitChild = (c: { get: () => Ref; set: (r: Ref) => void }) => {
      const before = c.get();
      const after = this.visit(before);
      if (after !== before) c.set(after);
    };
    if (id === b.IfId) {
      visitChild(kids[0]);
      const atCondition = new Map(this.state);
      this.afterCondition.set(ref, atCondition);
      visitChild(kids[1]);
      const afterThen = this.state;
      this.state = new Map(atCondition);
      if (kids[2]) visitChild(kids[2]);
      for (const [i, v] of afterThen) this.state.set(i, v && this.state.get(i)!);
    } else {
      // A loop's body may see the values of a later iteration; a named block may be left early.
      const unknown = id === b.LoopId || (id === b.BlockId && B.Block.getName(ref)) ? this.localsWrittenIn(ref) : [];
      for (const i of unknown) this.state.set(i, false);
      for (const c of kids) visitChild(c);
      for (const i of unknown) this.state.set(i, false);
    }
    if (id === b.BlockId) {
      this.mergeGuards(ref);
      this.fuseSetIntoNextRead(ref);
    }
    if (id === b.LocalSetId) this.state.set(B.LocalSet.getIndex(ref), this.isBool(B.LocalSet.getValue(ref)));
    if (id === b.LocalGetId) this.boolAtGet.set(ref, this.state.get(B.LocalGet.getIndex(ref)) ?? false);
    const next = this.rewrite(ref);
    return next !== null && this.size(next) < this.size(ref) ? next : ref;
  }

  private localsWrittenIn(ref: Ref): number[] {
    const { b, B } = this;
    const out: number[] = [];
    for (const e of this.all(ref)) if (b.getExpressionId(e) === b.LocalSetId) out.push(B.LocalSet.getIndex(e));
    return out;
  }

  /** A fresh local.get that reads what the local holds after the condition of `at`. */
  private readLocal(index: number, type: number, at: Ref): Ref {
    const get = this.m.local.get(index, type);
    this.boolAtGet.set(get, this.afterCondition.get(at)?.get(index) ?? false);
    return get;
  }

  private rewrite(ref: Ref): Ref | null {
    const { b, B } = this;
    switch (b.getExpressionId(ref)) {
      case b.BinaryId: {
        const op = B.Binary.getOp(ref);
        if (op === this.op('AndInt32')) return this.and(B.Binary.getLeft(ref), B.Binary.getRight(ref));
        if (op === this.op('OrInt32') && this.isBool(B.Binary.getLeft(ref)) && this.isBool(B.Binary.getRight(ref))) {
          return this.or(B.Binary.getLeft(ref), B.Binary.getRight(ref));
        }
        return null;
      }
      case b.SelectId: {
        const a = B.Select.getIfTrue(ref);
        const e = B.Select.getIfFalse(ref);
        const p = B.Select.getCondition(ref);
        // The condition comes last in a select; moving it first is safe when the sides are pure and it writes nothing.
        if (!this.pure(a) || !this.pure(e) || !this.writesNothing(p)) return null;
        return this.choose(p, a, e, b.getExpressionType(ref));
      }
      case b.IfId: {
        const type = b.getExpressionType(ref);
        if (type === b.i32 && B.If.getIfFalse(ref)) return this.choose(B.If.getCondition(ref), B.If.getIfTrue(ref), B.If.getIfFalse(ref), type);
        if (type !== b.none) return null;
        return this.assignmentChoice(ref) ?? this.writeChoice(ref);
      }
      default:
        return null;
    }
  }

  /** The variable an assignment writes, as a key, and its value. */
  private assignment(ref: Ref): { key: string; value: Ref; make: (v: Ref) => Ref; read: (at: Ref) => Ref } | null {
    const { b, B, m } = this;
    if (!ref) return null;
    const id = b.getExpressionId(ref);
    if (id === b.LocalSetId && !B.LocalSet.isTee(ref)) {
      const index = B.LocalSet.getIndex(ref);
      const value = B.LocalSet.getValue(ref);
      const type = b.getExpressionType(value);
      return { key: `l${index}`, value, make: (v) => m.local.set(index, v), read: (at) => this.readLocal(index, type, at) };
    }
    if (id === b.GlobalSetId) {
      const name = B.GlobalSet.getName(ref);
      const value = B.GlobalSet.getValue(ref);
      const type = b.getExpressionType(value);
      return { key: `g${name}`, value, make: (v) => m.global.set(name, v), read: () => m.global.get(name, type) };
    }
    if (id === b.BlockId && !B.Block.getName(ref) && B.Block.getNumChildren(ref) === 1) return this.assignment(B.Block.getChildAt(ref, 0));
    return null;
  }

  private unwrap(ref: Ref): Ref {
    const { b, B } = this;
    while (ref && b.getExpressionId(ref) === b.BlockId && !B.Block.getName(ref) && B.Block.getNumChildren(ref) === 1) ref = B.Block.getChildAt(ref, 0);
    return ref;
  }

  /** `if c { v = a } else [if d] { v = b }` as `v = choice`. */
  private assignmentChoice(ref: Ref): Ref | null {
    const { b, B } = this;
    const then = this.assignment(B.If.getIfTrue(ref));
    if (!then) return null;
    const type = this.b.getExpressionType(then.value);
    const otherwise = this.unwrap(B.If.getIfFalse(ref));
    let rest: Ref;
    if (!otherwise || b.getExpressionId(otherwise) === b.NopId) {
      rest = then.read(ref);
    } else {
      const direct = this.assignment(otherwise);
      if (direct) {
        if (direct.key !== then.key) return null;
        rest = direct.value;
      } else {
        if (b.getExpressionId(otherwise) !== b.IfId || B.If.getIfFalse(otherwise)) return null;
        const inner = this.assignment(B.If.getIfTrue(otherwise));
        if (!inner || inner.key !== then.key) return null;
        rest = this.choose(B.If.getCondition(otherwise), inner.value, then.read(otherwise), type);
      }
    }
    return then.make(this.choose(B.If.getCondition(ref), then.value, rest, type));
  }

  /** A call of `io.gw` with a constant pin: the pin and the level. */
  private gpioWrite(ref: Ref): { pin: number; level: Ref } | null {
    const { b, B } = this;
    ref = this.unwrap(ref);
    if (!ref || b.getExpressionId(ref) !== b.CallId || this.imports.get(B.Call.getTarget(ref)) !== 'gw') return null;
    const pin = B.Call.getOperandAt(ref, 0);
    return this.isConst(pin) ? { pin: B.Const.getValueI32(pin), level: B.Call.getOperandAt(ref, 1) } : null;
  }

  /** `c` evaluated again after it ran once: its tees read back. Null unless that is exact and pure. */
  private again(c: Ref, at: Ref): Ref | null {
    const { b, B, m } = this;
    // A local written by a tee in c must occur nowhere else in c (outside the tee's value, which
    // the copy drops): a read before the tee would see the old value, and the copy the new one.
    const uses = new Map<number, number>();
    const teed = new Set<number>();
    const count = (e: Ref) => {
      const id = b.getExpressionId(e);
      if (id === b.LocalSetId || id === b.LocalGetId) {
        const i = id === b.LocalSetId ? B.LocalSet.getIndex(e) : B.LocalGet.getIndex(e);
        uses.set(i, (uses.get(i) ?? 0) + 1);
        if (id === b.LocalSetId) { teed.add(i); return; }
      }
      for (const k of this.children(e)) count(k.get());
    };
    count(c);
    if ([...teed].some((i) => uses.get(i) !== 1)) return null;
    const copy = (e: Ref): Ref | null => {
      switch (b.getExpressionId(e)) {
        case b.LocalSetId: {
          const i = B.LocalSet.getIndex(e);
          // A local written here and also read here would read back a different value.
          return this.readLocal(i, b.getExpressionType(e), at);
        }
        case b.LocalGetId: return this.readLocal(B.LocalGet.getIndex(e), b.getExpressionType(e), at);
        case b.ConstId: case b.GlobalGetId: return m.copyExpression(e);
        case b.UnaryId: {
          const v = copy(B.Unary.getValue(e));
          return v === null ? null : this.withChildren(e, [v]);
        }
        case b.BinaryId: {
          const l = copy(B.Binary.getLeft(e));
          const r = l === null ? null : copy(B.Binary.getRight(e));
          return r === null ? null : this.withChildren(e, [l!, r]);
        }
        default: return null;
      }
    };
    const out = copy(c);
    return out !== null && this.pure(out) ? out : null;
  }

  private withChildren(e: Ref, kids: Ref[]): Ref {
    const { b, B, m } = this;
    const c = m.copyExpression(e);
    if (b.getExpressionId(c) === b.UnaryId) B.Unary.setValue(c, kids[0]);
    else { B.Binary.setLeft(c, kids[0]); B.Binary.setRight(c, kids[1]); }
    return c;
  }

  /** `if c { gpio(p) = a } else [if d] { gpio(p) = b }` as one write. */
  private writeChoice(ref: Ref): Ref | null {
    const { b, B, m } = this;
    const then = this.gpioWrite(B.If.getIfTrue(ref));
    if (!then) return null;
    const c = B.If.getCondition(ref);
    const otherwise = this.unwrap(B.If.getIfFalse(ref));
    const write = (level: Ref) => m.call(B.Call.getTarget(this.unwrap(B.If.getIfTrue(ref))), [m.i32.const(then.pin), level], b.none);
    const direct = this.gpioWrite(otherwise);
    if (direct) return direct.pin === then.pin ? write(this.choose(c, then.level, direct.level, b.i32)) : null;
    if (!otherwise || b.getExpressionId(otherwise) !== b.IfId || B.If.getIfFalse(otherwise)) return null;
    const inner = this.gpioWrite(B.If.getIfTrue(otherwise));
    const d = B.If.getCondition(otherwise);
    if (!inner || inner.pin !== then.pin || !this.pure(d)) return null;
    const c2 = this.again(c, ref);
    if (c2 === null) return null;
    return m.if(this.or(c, d), write(this.choose(c2, then.level, inner.level, b.i32)));
  }
}

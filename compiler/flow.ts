// What the checker knows along the way through the code: facts that conditions establish about
// names and inputs (narrowing), whether statements return, and values of loop-constant expressions.
import { allExpressions } from './ast.js';
import type { BinaryExpr, Block, Expr, Range, Stmt, Symbol, Type } from './ast.js';
import { applyBinary, applyBuiltin, applyUnary, DivisionByZero, type BuiltinName } from './evaluate.js';
import { flipComparison, fullRange, narrow, negateComparison } from './ranges.js';

/** Facts known at one point of the code, by fact key: the ranges that enclosing conditions proved. */
export type Facts = Map<string, Range>;

/** The key under which facts about a symbol are kept, or null if it is not immutable. */
export function factKey(s: Symbol): string | null {
  if (s.kind === 'local' && !s.mutable) return `local:${s.id}`;
  if (s.kind === 'param') return `param:${s.index}`;
  if (s.kind === 'loop') return `loop:${s.id}`;
  return null;
}

/** The key under which facts about this expression are kept, or null if it has none. */
/** Only for checked expressions: a name's symbol is already resolved. */
export function factKeyOf(e: Expr): string | null {
  if (e.kind === 'name') return e.symbol ? factKey(e.symbol) : null;
  if (e.kind === 'call' && (e.callee === 'sensor' || e.callee === 'gpio') && e.args.length === 1 && e.args[0].constant !== undefined) {
    return `${e.callee}:${e.args[0].constant}`;
  }
  return null;
}

export type ComparisonFact = [key: string, op: BinaryExpr['op'], k: number, type: Type];

/** Facts `key OP constant` that hold when `cond` is `when`. */
export function comparisonFacts(cond: Expr, when: boolean): ComparisonFact[] {
  if (cond.kind === 'unary' && cond.op === '!') return comparisonFacts(cond.operand, !when);
  if (cond.kind !== 'binary') return [];
  if ((cond.op === '&&' && when) || (cond.op === '||' && !when)) {
    return [...comparisonFacts(cond.left, when), ...comparisonFacts(cond.right, when)];
  }
  let op = negateComparison(cond.op) ? cond.op : null;
  if (!op) return [];
  let subject = cond.left;
  let k = cond.right.constant;
  if (k === undefined && cond.left.constant !== undefined) {
    subject = cond.right;
    k = cond.left.constant;
    op = flipComparison(op);
  }
  if (k === undefined || !subject.type || subject.type === 'bool') return [];
  if (!when) op = negateComparison(op)!;
  const key = factKeyOf(subject);
  return key ? [[key, op, k, subject.type]] : [];
}

/** `facts` and what `cond` being `when` adds; `inputRanges` are where input facts start from. */
export function withFacts(facts: Facts, cond: Expr, when: boolean, inputRanges: Facts): Facts {
  const out = new Map(facts);
  for (const [key, op, k, type] of comparisonFacts(cond, when)) {
    const before = out.get(key) ?? inputRanges.get(key) ?? fullRange(type);
    out.set(key, narrow(before, op, k, type));
  }
  return out;
}

/** Whether every path through the statement ends in a `return`. */
export function statementReturns(s: Stmt): boolean {
  if (s.kind === 'return') return true;
  if (s.kind === 'if') {
    if (!s.else) return false;
    const elseReturns = s.else.kind === 'if' ? statementReturns(s.else) : blockReturns(s.else);
    return blockReturns(s.then) && elseReturns;
  }
  return false;
}

export function blockReturns(block: Block): boolean {
  return block.statements.some(statementReturns);
}

/** Loop variables an expression refers to. */
export function loopSymbolsIn(e: Expr): Symbol[] {
  const out = new Set<Symbol>();
  for (const x of allExpressions(e)) if (x.kind === 'name' && x.symbol?.kind === 'loop') out.add(x.symbol);
  return [...out];
}

/** Built from constants, loop variables and pure operators only: its value is known per iteration. */
export function isLoopConstant(e: Expr): boolean {
  if (e.constant !== undefined) return true;
  switch (e.kind) {
    case 'name': return e.symbol?.kind === 'loop';
    case 'unary': return isLoopConstant(e.operand);
    case 'binary': return isLoopConstant(e.left) && isLoopConstant(e.right);
    case 'cond': return isLoopConstant(e.cond) && isLoopConstant(e.then) && isLoopConstant(e.else);
    case 'call': return !e.fn && e.callee !== 'sensor' && e.callee !== 'gpio' && e.args.every(isLoopConstant);
    default: return false;
  }
}

/** Every value `e` takes over all combinations of the given loop variables. */
export function loopConstantValues(e: Expr, loops: Symbol[]): number[] {
  const out: number[] = [];
  const bind = (i: number, bindings: Map<Symbol, number>): void => {
    if (i === loops.length) {
      const v = evaluateWith(e, bindings);
      if (v !== undefined) out.push(v);
      return;
    }
    const s = loops[i] as Extract<Symbol, { kind: 'loop' }>;
    for (let v = s.from; v <= s.to; v++) bind(i + 1, new Map(bindings).set(s, v));
  };
  bind(0, new Map());
  return out;
}

/**
 * The value of an expression of constants and bound loop variables; undefined when it depends
 * on anything else (or divides by zero).
 */
export function evaluateWith(e: Expr, bindings: Map<Symbol, number>): number | undefined {
  if (e.constant !== undefined) return e.constant;
  try {
    switch (e.kind) {
      case 'name': return e.symbol ? bindings.get(e.symbol) : undefined;
      case 'unary': {
        const v = evaluateWith(e.operand, bindings);
        return v === undefined ? undefined : applyUnary(e.op, e.operand.type!, v);
      }
      case 'binary': {
        const a = evaluateWith(e.left, bindings);
        const b = evaluateWith(e.right, bindings);
        return a === undefined || b === undefined ? undefined : applyBinary(e.op, e.left.type!, a, b);
      }
      case 'cond': {
        const c = evaluateWith(e.cond, bindings);
        return c === undefined ? undefined : evaluateWith(c ? e.then : e.else, bindings);
      }
      case 'call': {
        if (e.fn || e.callee === 'sensor' || e.callee === 'gpio') return undefined;
        const args = e.args.map((a) => evaluateWith(a, bindings));
        if (args.some((a) => a === undefined)) return undefined;
        return applyBuiltin(e.callee as BuiltinName, e.args.map((a) => a.type!), args as number[]);
      }
      default: return undefined;
    }
  } catch (err) {
    if (err instanceof DivisionByZero) return undefined;
    throw err;
  }
}

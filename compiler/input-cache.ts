// Which inputs a tick reads once, into a local, at its start: those it would otherwise read more
// than once (counting reads inside loops as many, and reads in `requires` checks).
import type { Block, Expr, Stmt, Symbol, TickDecl } from './ast.js';
import { evaluateWith } from './flow.js';

export interface InputKey { io: 'sensor' | 'gpio'; index: number }

/** `requires` are the ones the artifact checks at the start of the tick. */
export function cachedInputs(tick: TickDecl, requires: Expr[]): InputKey[] {
  const counts = new Map<string, number>();
  const add = (key: string, n: number) => counts.set(key, (counts.get(key) ?? 0) + n);
  const visitExpr = (e: Expr, many: number, loopValue: Map<Symbol, number>): void => {
    switch (e.kind) {
      case 'unary': visitExpr(e.operand, many, loopValue); return;
      case 'binary': visitExpr(e.left, many, loopValue); visitExpr(e.right, many, loopValue); return;
      case 'cond': visitExpr(e.cond, many, loopValue); visitExpr(e.then, many, loopValue); visitExpr(e.else, many, loopValue); return;
      case 'call':
        if ((e.callee === 'sensor' || e.callee === 'gpio') && e.args.length === 1) {
          const a = e.args[0];
          const index = evaluateWith(a, loopValue);
          if (index !== undefined) add(`${e.callee}:${index}`, many);
          return;
        }
        for (const a of e.args) visitExpr(a, many, loopValue);
        return;
      default:
    }
  };
  const visitBlock = (b: Block, many: number, loopValue: Map<Symbol, number>): void => {
    for (const s of b.statements) visitStmt(s, many, loopValue);
  };
  const visitStmt = (s: Stmt, many: number, loopValue: Map<Symbol, number>): void => {
    switch (s.kind) {
      case 'let': visitExpr(s.init, many, loopValue); return;
      case 'assign': visitExpr(s.value, many, loopValue); return;
      case 'io-assign': visitExpr(s.value, many, loopValue); return;
      case 'return': visitExpr(s.value, many, loopValue); return;
      case 'if':
        visitExpr(s.cond, many, loopValue);
        visitBlock(s.then, many, loopValue);
        if (s.else) s.else.kind === 'if' ? visitStmt(s.else, many, loopValue) : visitBlock(s.else, many, loopValue);
        return;
      case 'for': {
        const sym = s.symbol as Extract<Symbol, { kind: 'loop' }>;
        if (s.picksIo) {
          for (let v = sym.from; v <= sym.to; v++) visitBlock(s.body, many, new Map(loopValue).set(sym, v));
        } else if (sym.to >= sym.from) {
          visitBlock(s.body, sym.to > sym.from ? 2 : many, loopValue);
        }
        return;
      }
      case 'repeat': {
        const n = s.count.constant ?? 0;
        if (n > 0) visitBlock(s.body, n > 1 ? 2 : many, loopValue);
        return;
      }
      default:
    }
  };
  visitBlock(tick.body, 1, new Map());
  for (const r of requires) visitExpr(r, 2, new Map());
  const out: InputKey[] = [];
  for (const [key, n] of counts) {
    if (n < 2) continue;
    const [io, index] = key.split(':');
    out.push({ io: io as 'sensor' | 'gpio', index: Number(index) });
  }
  return out.sort((a, b) => (a.io === b.io ? a.index - b.index : a.io < b.io ? 1 : -1));
}

// The worst-case figures of one tick that target profiles cap and that the checker can count on
// the syntax tree: loop iterations, counting loops in called functions at each call.
import type { Block, Expr, FnDecl, Stmt, Symbol } from './ast.js';

/** Worst-case number of loop-body executions of a block, counting loops in called functions at each call. */
export function loopTripsOfBlock(block: Block, memo = new Map<FnDecl, number>()): number {
  let total = 0;
  for (const s of block.statements) total += tripsOfStmt(s, memo);
  return total;
}

function tripsOfStmt(s: Stmt, memo: Map<FnDecl, number>): number {
  const inExprs = (...es: Expr[]) => es.reduce((n, e) => n + loopTripsOfExpr(e, memo), 0);
  switch (s.kind) {
    case 'let': return inExprs(s.init);
    case 'assign': return inExprs(s.value);
    case 'io-assign': return inExprs(s.value);
    case 'return': return inExprs(s.value);
    case 'if': {
      const elseTrips = !s.else ? 0 : s.else.kind === 'if' ? tripsOfStmt(s.else, memo) : loopTripsOfBlock(s.else, memo);
      return inExprs(s.cond) + Math.max(loopTripsOfBlock(s.then, memo), elseTrips);
    }
    case 'for': {
      const sym = s.symbol as Extract<Symbol, { kind: 'loop' }> | undefined;
      const n = sym ? Math.max(0, sym.to - sym.from + 1) : 0;
      return n * (1 + loopTripsOfBlock(s.body, memo));
    }
    case 'repeat': {
      const n = Math.max(0, s.count.constant ?? 0);
      return n * (1 + loopTripsOfBlock(s.body, memo));
    }
    default: return 0;
  }
}

/** Worst-case loop-body executions while evaluating an expression (the loops of the functions it calls). */
export function loopTripsOfExpr(e: Expr, memo = new Map<FnDecl, number>()): number {
  switch (e.kind) {
    case 'unary': return loopTripsOfExpr(e.operand, memo);
    case 'binary': return loopTripsOfExpr(e.left, memo) + loopTripsOfExpr(e.right, memo);
    case 'cond': return loopTripsOfExpr(e.cond, memo) + Math.max(loopTripsOfExpr(e.then, memo), loopTripsOfExpr(e.else, memo));
    case 'call': {
      let n = e.args.reduce((sum, a) => sum + loopTripsOfExpr(a, memo), 0);
      if (e.fn) {
        if (!memo.has(e.fn)) {
          memo.set(e.fn, 0);
          memo.set(e.fn, loopTripsOfBlock(e.fn.body, memo));
        }
        n += memo.get(e.fn)!;
      }
      return n;
    }
    default: return 0;
  }
}

// Interval arithmetic over int32 and f32 values: how the checker proves divisors nonzero and
// how codegen knows a value is already 0 or 1. Every result is a sound over-approximation.
import type { BinaryOp, Range, Type } from './ast.js';
import { INT_MAX, INT_MIN } from './evaluate.js';

export function fullRange(type: Type): Range {
  if (type === 'float') return { lo: -Infinity, hi: Infinity, nonzero: false };
  if (type === 'bool') return { lo: 0, hi: 1, nonzero: false };
  return { lo: INT_MIN, hi: INT_MAX, nonzero: false };
}

export function exactRange(value: number): Range {
  return { lo: value, hi: value, nonzero: value !== 0 };
}

export function makeRange(lo: number, hi: number, nonzero = false): Range {
  return { lo, hi, nonzero: nonzero || lo > 0 || hi < 0 };
}

export function excludesZero(r: Range | undefined): boolean {
  return !!r && (r.nonzero || r.lo > 0 || r.hi < 0);
}

export function contains(r: Range | undefined, v: number): boolean {
  if (!r) return true;
  if (v === 0 && excludesZero(r)) return false;
  return r.lo <= v && v <= r.hi;
}

export function isBit(r: Range | undefined): boolean {
  return !!r && r.lo >= 0 && r.hi <= 1;
}

export function join(a: Range, b: Range): Range {
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi), nonzero: excludesZero(a) && excludesZero(b) };
}

export function intersect(a: Range, b: Range): Range {
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  // Contradictory facts: the code is unreachable, so the empty range (which excludes zero too) is sound.
  if (lo > hi) return { lo, hi, nonzero: true };
  return makeRange(lo, hi, a.nonzero || b.nonzero);
}

function intResult(lo: number, hi: number): Range {
  if (lo < INT_MIN || hi > INT_MAX || Number.isNaN(lo) || Number.isNaN(hi)) return fullRange('int');
  return makeRange(lo, hi);
}

function bitsFor(n: number): number {
  // Smallest all-ones mask >= n, for n >= 0.
  let mask = 0;
  while (mask < n) mask = mask * 2 + 1;
  return mask;
}

/** The range of `a op b` for int operands; comparisons and logic give bool ranges. */
export function binaryRange(op: BinaryOp, type: Type, a: Range, b: Range): Range {
  if (['==', '!=', '<', '<=', '>', '>=', '&&', '||'].includes(op)) return fullRange('bool');
  if (type === 'bool') return fullRange('bool'); // & | ^ on bools stay 0 or 1
  if (type === 'float') return fullRange('float');
  switch (op) {
    case '+': return intResult(a.lo + b.lo, a.hi + b.hi);
    case '-': return intResult(a.lo - b.hi, a.hi - b.lo);
    case '*': {
      const p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
      return intResult(Math.min(...p), Math.max(...p));
    }
    case '/': {
      // By a constant (not -1, where the smallest int wraps): division is monotonic in the dividend.
      if (b.lo === b.hi && b.lo !== 0 && b.lo !== -1) {
        const x = Math.trunc(a.lo / b.lo);
        const y = Math.trunc(a.hi / b.lo);
        return makeRange(Math.min(x, y), Math.max(x, y));
      }
      const m = Math.max(Math.abs(a.lo), Math.abs(a.hi));
      if (a.lo >= 0 && b.lo > 0) return makeRange(0, a.hi);
      return intResult(-m, m);
    }
    case '%': {
      const m = Math.max(Math.abs(b.lo), Math.abs(b.hi)) - 1;
      if (a.lo >= 0) return makeRange(0, Math.min(a.hi, m));
      if (a.hi <= 0) return makeRange(Math.max(a.lo, -m), 0);
      return makeRange(-m, m);
    }
    case '&':
      if (a.lo >= 0 && b.lo >= 0) return makeRange(0, Math.min(a.hi, b.hi));
      if (a.lo >= 0) return makeRange(0, a.hi);
      if (b.lo >= 0) return makeRange(0, b.hi);
      return fullRange('int');
    case '|':
    case '^':
      if (a.lo >= 0 && b.lo >= 0) return makeRange(0, bitsFor(Math.max(a.hi, b.hi)));
      return fullRange('int');
    case '>>':
      if (b.lo === b.hi) {
        const s = b.lo & 31;
        return makeRange(a.lo >> s, a.hi >> s);
      }
      return a.lo >= 0 ? makeRange(0, a.hi) : makeRange(Math.min(a.lo, 0), Math.max(a.hi, 0));
    case '<<':
      if (b.lo === b.hi) {
        const f = 2 ** (b.lo & 31);
        return intResult(a.lo * f, a.hi * f);
      }
      return fullRange('int');
    default:
      return fullRange('int');
  }
}

export function negateRange(type: Type, a: Range): Range {
  if (type === 'float') return { lo: -a.hi, hi: -a.lo, nonzero: a.nonzero };
  if (a.lo === INT_MIN) return fullRange('int');
  return makeRange(-a.hi, -a.lo, a.nonzero);
}

export function absRange(type: Type, a: Range): Range {
  if (type === 'int' && a.lo === INT_MIN) return fullRange('int');
  if (a.lo >= 0) return a;
  if (a.hi <= 0) return negateRange(type, a);
  return makeRange(0, Math.max(-a.lo, a.hi), a.nonzero);
}

export function minRange(a: Range, b: Range): Range {
  return makeRange(Math.min(a.lo, b.lo), Math.min(a.hi, b.hi), excludesZero(a) && excludesZero(b));
}

export function maxRange(a: Range, b: Range): Range {
  return makeRange(Math.max(a.lo, b.lo), Math.max(a.hi, b.hi), excludesZero(a) && excludesZero(b));
}

/** Narrows `r` by the fact `value OP k` being true (`k` a constant). */
export function narrow(r: Range, op: BinaryOp, k: number, type: Type): Range {
  const step = type === 'int' ? 1 : 0;
  switch (op) {
    case '==': return contains(r, k) ? exactRange(k) : r;
    case '!=':
      if (k === 0) return { ...r, nonzero: true };
      if (k === r.lo && type === 'int') return makeRange(r.lo + 1, r.hi, r.nonzero);
      if (k === r.hi && type === 'int') return makeRange(r.lo, r.hi - 1, r.nonzero);
      return r;
    case '<': return intersect(r, makeRange(-Infinity, k - step, type === 'float' ? k <= 0 : false));
    case '<=': return intersect(r, makeRange(-Infinity, k));
    case '>': return intersect(r, makeRange(k + step, Infinity, type === 'float' ? k >= 0 : false));
    case '>=': return intersect(r, makeRange(k, Infinity));
    default: return r;
  }
}

/** `a OP b` is false: the comparison that is true instead (NaN aside, which only affects floats). */
export function negateComparison(op: BinaryOp): BinaryOp | null {
  switch (op) {
    case '==': return '!=';
    case '!=': return '==';
    case '<': return '>=';
    case '<=': return '>';
    case '>': return '<=';
    case '>=': return '<';
    default: return null;
  }
}

/** `k OP x` rewritten as `x OP' k`. */
export function flipComparison(op: BinaryOp): BinaryOp {
  switch (op) {
    case '<': return '>';
    case '<=': return '>=';
    case '>': return '<';
    case '>=': return '<=';
    default: return op;
  }
}

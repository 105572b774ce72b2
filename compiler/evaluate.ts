// The meaning of every operator and built-in on plain numbers, written once: constant folding,
// `expect` in tests and the reference evaluator all use it, and codegen must agree with it.
import type { BinaryOp, Type, UnaryOp } from './ast.js';

export const INT_MIN = -2147483648;
export const INT_MAX = 2147483647;

/** Values are JS numbers: ints are int32, floats are f32-rounded, bools are 0 or 1. */
export type Value = number;

export class DivisionByZero extends Error {}

function f32(x: number): number {
  return Math.fround(x);
}

export function applyUnary(op: UnaryOp, type: Type, a: Value): Value {
  switch (op) {
    case '-': return type === 'float' ? f32(-a) : (-a) | 0;
    case '!': return a ? 0 : 1;
    case '~': return ~a;
  }
}

/** `type` is the operand type. Throws DivisionByZero for `/` and `%` by an int zero. */
export function applyBinary(op: BinaryOp, type: Type, a: Value, b: Value): Value {
  if (type === 'float') {
    switch (op) {
      case '+': return f32(a + b);
      case '-': return f32(a - b);
      case '*': return f32(a * b);
      case '/': return f32(a / b);
      case '==': return a === b ? 1 : 0;
      case '!=': return a !== b ? 1 : 0;
      case '<': return a < b ? 1 : 0;
      case '<=': return a <= b ? 1 : 0;
      case '>': return a > b ? 1 : 0;
      case '>=': return a >= b ? 1 : 0;
      default: throw new Error(`operator ${op} is not defined on float`);
    }
  }
  switch (op) {
    case '+': return (a + b) | 0;
    case '-': return (a - b) | 0;
    case '*': return Math.imul(a, b);
    case '/':
      if (b === 0) throw new DivisionByZero();
      return (a / b) | 0; // INT_MIN / -1 wraps to INT_MIN, as specified.
    case '%':
      if (b === 0) throw new DivisionByZero();
      return (a % b) | 0;
    case '<<': return a << (b & 31);
    case '>>': return a >> (b & 31);
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '&&': return a && b ? 1 : 0;
    case '||': return a || b ? 1 : 0;
  }
}

/** float to int: saturating, rounding toward zero, NaN to 0; never traps. */
export function floatToInt(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x >= 2147483648) return INT_MAX;
  if (x < -2147483648) return INT_MIN;
  return Math.trunc(x) | 0;
}

export type BuiltinName = 'min' | 'max' | 'abs' | 'clamp' | 'div' | 'int' | 'float' | 'bool';

/** `types` are the argument types (after checking). */
export function applyBuiltin(name: BuiltinName, types: Type[], args: Value[]): Value {
  const isFloat = types[0] === 'float';
  switch (name) {
    case 'min': return isFloat ? f32(Math.min(args[0], args[1])) : Math.min(args[0], args[1]);
    case 'max': return isFloat ? f32(Math.max(args[0], args[1])) : Math.max(args[0], args[1]);
    case 'abs':
      if (isFloat) return Math.abs(args[0]);
      return args[0] < 0 ? (-args[0]) | 0 : args[0];
    case 'clamp': {
      const lower = isFloat ? Math.max(args[0], args[1]) : Math.max(args[0], args[1]);
      return isFloat ? f32(Math.min(lower, args[2])) : Math.min(lower, args[2]);
    }
    case 'div':
      if (args[1] === 0) return args[2];
      return applyBinary('/', types[0], args[0], args[1]);
    case 'int':
      return types[0] === 'float' ? floatToInt(args[0]) : args[0];
    case 'float':
      return types[0] === 'float' ? args[0] : f32(args[0]);
    case 'bool':
      return types[0] === 'float' ? (args[0] !== 0 ? 1 : 0) : (args[0] !== 0 ? 1 : 0);
  }
}

// The syntax tree of a rule source file, shared by every compiler phase. The checker fills
// in the annotation fields (types, symbols, folded constants, value ranges).
import type { Span } from './diagnostics.js';

export type Type = 'int' | 'bool' | 'float';

/** What the checker learns about an int or float value: bounds and whether zero is excluded. */
export interface Range {
  lo: number;
  hi: number;
  nonzero: boolean;
}

export type Symbol =
  | { kind: 'const'; name: string; type: Type; value: number; span: Span }
  | { kind: 'state'; name: string; type: Type; index: number; span: Span; initial: number }
  | { kind: 'local'; name: string; type: Type; id: number; mutable: boolean; span: Span }
  | { kind: 'param'; name: string; type: Type; index: number; span: Span; fn?: string }
  | { kind: 'loop'; name: string; type: Type; id: number; from: number; to: number; span: Span }
  | { kind: 'fn'; name: string; decl: FnDecl; span: Span };

interface ExprBase {
  span: Span;
  /** Filled by the checker. */
  type?: Type;
  /** Filled by the checker: the folded value when the expression is constant. */
  constant?: number;
  /** Filled by the checker for int and float expressions. */
  range?: Range;
  /** Written in parentheses in the source. */
  parenthesized?: boolean;
}

export type BinaryOp =
  | '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '&' | '^' | '|'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '&&' | '||';

export type UnaryOp = '-' | '!' | '~';

export interface IntLiteral extends ExprBase { kind: 'int'; value: number }
export interface FloatLiteral extends ExprBase { kind: 'float'; value: number }
export interface BoolLiteral extends ExprBase { kind: 'bool'; value: boolean }
export interface NameExpr extends ExprBase { kind: 'name'; name: string; symbol?: Symbol }
export interface NowExpr extends ExprBase { kind: 'now' }
export interface ResultExpr extends ExprBase { kind: 'result' }
export interface UnaryExpr extends ExprBase { kind: 'unary'; op: UnaryOp; operand: Expr }
export interface BinaryExpr extends ExprBase { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; opSpan: Span }
export interface CondExpr extends ExprBase { kind: 'cond'; cond: Expr; then: Expr; else: Expr }
export interface CallExpr extends ExprBase {
  kind: 'call';
  callee: string;
  calleeSpan: Span;
  args: Expr[];
  /** Filled by the checker for user functions. */
  fn?: FnDecl;
}

export type Expr =
  | IntLiteral | FloatLiteral | BoolLiteral | NameExpr | NowExpr | ResultExpr
  | UnaryExpr | BinaryExpr | CondExpr | CallExpr;

export interface Block { kind: 'block'; span: Span; statements: Stmt[] }

export interface LetStmt { kind: 'let'; span: Span; mutable: boolean; name: string; nameSpan: Span; init: Expr; symbol?: Symbol }
export interface AssignStmt { kind: 'assign'; span: Span; name: string; nameSpan: Span; value: Expr; symbol?: Symbol }
/** `gpio(PIN) = V` in code drives an output; in a test it sets an input. `sensor(CH) = V` only in tests. */
export interface IoAssignStmt { kind: 'io-assign'; span: Span; io: 'gpio' | 'sensor'; target: Expr; value: Expr }
export interface IfStmt { kind: 'if'; span: Span; cond: Expr; then: Block; else: Block | IfStmt | null }
export interface ForStmt {
  kind: 'for'; span: Span; variable: string; variableSpan: Span; from: Expr; to: Expr; body: Block;
  symbol?: Symbol;
  /**
   * Filled by the checker: the loop variable picks a pin or channel. Each iteration then reads a
   * constant pin or channel, as if unrolled; codegen may still emit a loop when that is smaller.
   */
  picksIo?: boolean;
}
export interface RepeatStmt { kind: 'repeat'; span: Span; count: Expr; body: Block }
export interface ReturnStmt { kind: 'return'; span: Span; value: Expr }
export interface TickStmt { kind: 'tick'; span: Span; at: Expr | null }
export interface ExpectStmt { kind: 'expect'; span: Span; cond: Expr }

export type Stmt =
  | LetStmt | AssignStmt | IoAssignStmt | IfStmt | ForStmt | RepeatStmt | ReturnStmt | TickStmt | ExpectStmt;

export type CapabilityKind = 'sensor' | 'gpio_in' | 'gpio_out';

export interface CapabilityItem { from: number; to: number; span: Span }
export interface CapabilityDecl { kind: CapabilityKind; span: Span; items: CapabilityItem[] }

export interface RuleHeader {
  name: string;
  nameSpan: Span;
  description: string;
  uses: CapabilityDecl[];
  every: { ms: number; span: Span } | null;
  /** The `targets` line: the boards the rule is written for; null when there is none (any target). */
  targets: { names: { name: string; span: Span }[]; span: Span } | null;
  requires: Expr[];
  ensures: Expr[];
  span: Span;
}

export interface ConstDecl { kind: 'const'; span: Span; name: string; nameSpan: Span; value: Expr }
export interface StateDecl { kind: 'state'; span: Span; name: string; nameSpan: Span; init: Expr }
export interface Param { name: string; type: Type; span: Span }
export interface FnDecl {
  kind: 'fn'; span: Span; name: string; nameSpan: Span; params: Param[]; result: Type; resultSpan: Span; body: Block;
}
export interface TickDecl { kind: 'on-tick'; span: Span; body: Block }
export interface TestDecl { kind: 'test'; span: Span; name: string; body: Block }

export type Decl = ConstDecl | StateDecl | FnDecl | TickDecl | TestDecl;

export interface Program {
  header: RuleHeader | null;
  decls: Decl[];
  /**
   * What syntax errors left out, so that the checker does not report its absence as a second error: a block not
   * closed (the rest of the file is inside it), or declarations dropped.
   */
  syntax?: { unclosedBlock: boolean; droppedDeclarations: number };
}

/** The statements nested directly inside `s` (its blocks, and an `else if` as one statement). */
export function nestedStatements(s: Stmt): Stmt[] {
  if (s.kind === 'if') return [...s.then.statements, ...(!s.else ? [] : s.else.kind === 'if' ? [s.else] : s.else.statements)];
  if (s.kind === 'for' || s.kind === 'repeat') return s.body.statements;
  return [];
}

/** Every statement in `stmts` and, depth first, everything nested in them. */
export function* allStatements(stmts: Stmt[]): Generator<Stmt> {
  for (const s of stmts) {
    yield s;
    yield* allStatements(nestedStatements(s));
  }
}

/** The expressions that belong to `s` itself, not to the statements nested in it. */
export function ownExpressions(s: Stmt): Expr[] {
  switch (s.kind) {
    case 'let': return [s.init];
    case 'assign': case 'return': return [s.value];
    case 'io-assign': return [s.target, s.value];
    case 'if': return [s.cond];
    case 'for': return [s.from, s.to];
    case 'repeat': return [s.count];
    case 'tick': return s.at ? [s.at] : [];
    case 'expect': return [s.cond];
  }
}

/** `e` and, depth first, all its subexpressions. */
export function* allExpressions(e: Expr): Generator<Expr> {
  yield e;
  switch (e.kind) {
    case 'unary': yield* allExpressions(e.operand); break;
    case 'binary': yield* allExpressions(e.left); yield* allExpressions(e.right); break;
    case 'cond': yield* allExpressions(e.cond); yield* allExpressions(e.then); yield* allExpressions(e.else); break;
    case 'call': for (const a of e.args) yield* allExpressions(a); break;
    default:
  }
}

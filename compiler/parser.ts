// Builds the syntax tree from tokens. Syntax errors become diagnostics; after one, the parser
// skips to the end of the statement and goes on, so a file reports all its errors at once.
import { Diagnostics, type Span } from './diagnostics.js';
import type { Token } from './lexer.js';
import { BUILTINS, INT32_MAX } from './lexer.js';
import type {
  BinaryExpr, BinaryOp, Block, UnaryOp, CapabilityDecl, CapabilityKind, Decl, Expr, FnDecl, IfStmt, Param, Program,
  RuleHeader, Stmt, Type,
} from './ast.js';

class SyntaxError_ extends Error {}

const BINARY_LEVELS: BinaryOp[][] = [
  ['||'],
  ['&&'],
  ['==', '!=', '<', '<=', '>', '>='],
  ['|'],
  ['^'],
  ['&'],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];
const COMPARISONS = new Set<string>(['==', '!=', '<', '<=', '>', '>=']);
const TYPES = new Set(['int', 'bool', 'float']);
const MAX_NESTING = 64;

export function parse(tokens: Token[], diagnostics: Diagnostics): Program {
  return new Parser(tokens, diagnostics).program();
}

function join(a: Span, b: Span): Span {
  return { start: a.start, end: b.end, line: a.line, column: a.column };
}

class Parser {
  private pos = 0;
  /** Inside parentheses newlines do not end anything, so they are skipped. */
  private parenDepth = 0;
  /** How deeply expressions and blocks nest: bounded, so no input can exhaust the stack. */
  private nesting = 0;
  /** A block ran into the end of the file: everything after its brace is inside it, the structure is lost. */
  private unclosedBlock = false;
  /** Top-level declarations (or the header) dropped after a syntax error. */
  private droppedDeclarations = 0;

  constructor(private readonly tokens: Token[], private readonly diagnostics: Diagnostics) {}

  // ---- token helpers -------------------------------------------------------------------

  private peek(): Token {
    if (this.parenDepth > 0) while (this.tokens[this.pos].kind === 'newline') this.pos++;
    return this.tokens[this.pos];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private is(text: string): boolean {
    const t = this.peek();
    return (t.kind === 'punct' || t.kind === 'keyword' || t.kind === 'ident') && t.text === text;
  }

  private accept(text: string): Token | null {
    return this.is(text) ? this.next() : null;
  }

  private fail(span: Span, message: string, hint?: string, code = 'E0201'): never {
    this.diagnostics.error(code, span, message, hint);
    throw new SyntaxError_(message);
  }

  private describe(t: Token): string {
    if (t.kind === 'eof') return 'the end of the file';
    if (t.kind === 'newline') return 'the end of the line';
    return `\`${t.text}\``;
  }

  private expect(text: string, hint?: string): Token {
    const t = this.peek();
    if (this.is(text)) return this.next();
    return this.fail(t.span, `expected \`${text}\`, found ${this.describe(t)}`, hint);
  }

  private ident(what: string): Token {
    const t = this.peek();
    if (t.kind === 'ident') {
      if (BUILTINS.has(t.text)) {
        this.fail(t.span, `\`${t.text}\` is a built-in name and cannot be used as ${what}`, 'choose another name', 'E0203');
      }
      return this.next();
    }
    if (t.kind === 'keyword') {
      this.fail(t.span, `\`${t.text}\` is a keyword and cannot be used as ${what}`, 'choose another name', 'E0203');
    }
    return this.fail(t.span, `expected ${what}, found ${this.describe(t)}`);
  }

  private skipNewlines(): void {
    while (this.tokens[this.pos].kind === 'newline' || (this.tokens[this.pos].kind === 'punct' && this.tokens[this.pos].text === ';')) this.pos++;
  }

  /** A statement or header line ends at a newline, `;`, a closing brace or the end of the file. */
  private endOfStatement(): void {
    const t = this.tokens[this.pos];
    if (t.kind === 'newline' || (t.kind === 'punct' && t.text === ';')) { this.pos++; return; }
    if (t.kind === 'eof' || (t.kind === 'punct' && t.text === '}')) return;
    this.fail(t.span, `expected the end of the statement, found ${this.describe(t)}`,
      'put one statement per line, or separate statements with `;`');
  }

  /**
   * Error recovery: skip to the end of the current line, keeping braces balanced. Inside a block a
   * `}` at depth 0 is the block's own and is left for it; at the top level it is stray and skipped.
   * Always moves past at least one token, so a loop around it cannot spin.
   */
  private recover(insideBlock: boolean): void {
    const start = this.pos;
    this.parenDepth = 0;
    let depth = 0;
    while (true) {
      const t = this.tokens[this.pos];
      if (t.kind === 'eof') return;
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}') {
        if (depth === 0) {
          if (!insideBlock || this.pos === start) this.pos++;
          return;
        }
        depth--;
        if (depth === 0) { this.pos++; return; }
      }
      if (depth === 0 && (t.kind === 'newline' || t.text === ';')) { this.pos++; return; }
      this.pos++;
    }
  }

  // ---- file structure ------------------------------------------------------------------

  program(): Program {
    this.skipNewlines();
    let header: RuleHeader | null = null;
    try {
      header = this.header();
    } catch (e) {
      if (!(e instanceof SyntaxError_)) throw e;
      this.droppedDeclarations++;
      this.recover(false);
    }
    const decls: Decl[] = [];
    this.skipNewlines();
    while (this.peek().kind !== 'eof') {
      try {
        const d = this.declaration(header);
        if (d) decls.push(d);
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        this.droppedDeclarations++;
        this.recover(false);
      }
      this.skipNewlines();
    }
    return { header, decls, syntax: { unclosedBlock: this.unclosedBlock, droppedDeclarations: this.droppedDeclarations } };
  }

  private header(): RuleHeader | null {
    const start = this.peek();
    let name: Token;
    let description = '';
    if (this.is('rule')) {
      this.next();
      name = this.ident('the rule name');
      if (this.peek().kind === 'string') description = this.next().text.slice(1, -1);
      this.endOfStatement();
    } else {
      this.diagnostics.error('E0202', start.span, 'a rule file must start with `rule NAME`',
        'begin the file with a line such as `rule fan_control "Fan with hysteresis"`');
      // Go on with the header lines anyway, so that the rest of the file is still checked.
      name = { kind: 'ident', text: '', span: start.span };
    }
    const header: RuleHeader = {
      name: name.text, nameSpan: name.span, description, uses: [], every: null, targets: null, requires: [], ensures: [],
      span: join(start.span, name.span),
    };
    this.skipNewlines();
    while (true) {
      const t = this.peek();
      try {
        if (this.accept('uses')) {
          do header.uses.push(this.capability()); while (this.accept(','));
        } else if (this.accept('every')) {
          const d = this.peek();
          if (d.kind !== 'duration') {
            this.fail(d.span, `expected a duration after \`every\`, found ${this.describe(d)}`,
              'write a number with a unit: `250ms`, `2s`, `1m` or `1h`');
          }
          this.next();
          if (header.every) {
            this.diagnostics.error('E0204', join(t.span, d.span), 'the period is already set by an earlier `every` line',
              'keep one `every` line');
          }
          header.every = { ms: d.value!, span: d.span };
        } else if (t.kind === 'ident' && t.text === 'targets') {
          // A contextual keyword: `targets` is one only at the start of a header line, a name anywhere else.
          this.next();
          const names: { name: string; span: Span }[] = [];
          do {
            const n = this.peek();
            if (n.kind !== 'ident' && n.kind !== 'keyword') {
              this.fail(n.span, `expected a target name, found ${this.describe(n)}`, 'list target names: `targets rpi, nrf5340`');
            }
            this.next();
            names.push({ name: n.text, span: n.span });
          } while (this.accept(','));
          const span = join(t.span, names[names.length - 1].span);
          if (header.targets) {
            this.diagnostics.error('E0507', span, 'the targets are already listed by an earlier `targets` line', 'keep one `targets` line');
          } else {
            header.targets = { names, span };
          }
        } else if (this.accept('requires')) {
          header.requires.push(this.expression());
        } else if (this.accept('ensures')) {
          header.ensures.push(this.expression());
        } else {
          break;
        }
        this.endOfStatement();
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        this.recover(false);
      }
      this.skipNewlines();
    }
    return header;
  }

  private capability(): CapabilityDecl {
    const kindToken = this.peek();
    if (!['sensor', 'gpio_in', 'gpio_out'].includes(kindToken.text)) {
      this.fail(kindToken.span, `expected a capability, found ${this.describe(kindToken)}`,
        'capabilities are `sensor(...)`, `gpio_in(...)` and `gpio_out(...)`, e.g. `uses sensor(0), gpio_out(17)`');
    }
    this.next();
    this.expect('(');
    this.parenDepth++;
    const items: CapabilityDecl['items'] = [];
    do {
      const from = this.capabilityNumber();
      let to = from;
      if (this.accept('..')) to = this.capabilityNumber();
      const span = join(from.span, to.span);
      if (to.value < from.value) {
        this.diagnostics.error('E0205', span, `the range ${from.value}..${to.value} is empty`,
          `write the smaller number first: ${to.value}..${from.value}`);
      }
      items.push({ from: from.value, to: to.value, span });
    } while (this.accept(','));
    const close = this.expect(')');
    this.parenDepth--;
    return { kind: kindToken.text as CapabilityKind, items, span: join(kindToken.span, close.span) };
  }

  private capabilityNumber(): { value: number; span: Span } {
    const t = this.peek();
    if (t.kind !== 'int') {
      this.fail(t.span, `expected a pin or channel number, found ${this.describe(t)}`,
        'list numbers and inclusive ranges, e.g. `gpio_out(17, 18, 22)` or `sensor(0..3)`');
    }
    this.next();
    return { value: t.value!, span: t.span };
  }

  private declaration(header: RuleHeader | null): Decl | null {
    const t = this.peek();
    if (this.accept('const')) {
      const name = this.ident('a constant name');
      this.expect('=');
      const value = this.expression();
      this.endOfStatement();
      return { kind: 'const', span: join(t.span, value.span), name: name.text, nameSpan: name.span, value };
    }
    if (this.accept('state')) {
      const name = this.ident('a state name');
      this.expect('=', 'a state needs a starting value, e.g. `state count = 0`');
      const init = this.expression();
      this.endOfStatement();
      return { kind: 'state', span: join(t.span, init.span), name: name.text, nameSpan: name.span, init };
    }
    if (this.accept('fn')) return this.fn(t);
    if (this.accept('on')) {
      this.expect('tick', 'the only event is `on tick { ... }`');
      const body = this.block();
      return { kind: 'on-tick', span: join(t.span, body.span), body };
    }
    if (this.accept('test')) {
      const name = this.peek();
      if (name.kind !== 'string') this.fail(name.span, 'expected the test name as a string', 'e.g. `test "turns the fan on" { ... }`');
      this.next();
      const body = this.block();
      return { kind: 'test', span: join(t.span, body.span), name: name.text.slice(1, -1), body };
    }
    if (['uses', 'every', 'requires', 'ensures', 'targets', 'rule'].includes(t.text) && t.kind === 'ident') {
      this.fail(t.span, `\`${t.text}\` belongs in the header, before the first declaration`,
        header ? 'move this line up, under the `rule` line' : undefined, 'E0206');
    }
    return this.fail(t.span, `expected a declaration, found ${this.describe(t)}`,
      'a rule holds `const`, `state`, `fn`, `on tick { ... }` and `test "..." { ... }` declarations');
  }

  private fn(start: Token): FnDecl {
    const name = this.ident('a function name');
    this.expect('(');
    this.parenDepth++;
    const params: Param[] = [];
    if (!this.is(')')) {
      do {
        const p = this.ident('a parameter name');
        this.expect(':', 'each parameter needs a type, e.g. `a: int`');
        const type = this.type();
        params.push({ name: p.text, type: type.type, span: p.span });
      } while (this.accept(','));
    }
    this.expect(')');
    this.parenDepth--;
    const arrow = this.peek();
    if (!this.accept('->')) {
      this.fail(arrow.span, 'expected `->` and the result type', 'functions return a value: `fn f(a: int) -> int { ... }`');
    }
    const result = this.type();
    const body = this.block();
    return {
      kind: 'fn', span: join(start.span, body.span), name: name.text, nameSpan: name.span, params,
      result: result.type, resultSpan: result.span, body,
    };
  }

  private type(): { type: Type; span: Span } {
    const t = this.peek();
    if (!TYPES.has(t.text)) this.fail(t.span, `expected a type, found ${this.describe(t)}`, 'types are `int`, `bool` and `float`');
    this.next();
    return { type: t.text as Type, span: t.span };
  }

  // ---- statements ----------------------------------------------------------------------

  private block(): Block {
    this.enter(this.peek());
    try {
      return this.blockInner();
    } finally {
      this.nesting--;
    }
  }

  private blockInner(): Block {
    const open = this.expect('{');
    const statements: Stmt[] = [];
    this.skipNewlines();
    while (!this.is('}')) {
      if (this.peek().kind === 'eof') {
        this.unclosedBlock = true;
        const unclosed = this.likelyUnclosed(open);
        this.fail(unclosed.span, 'this block is not closed', unclosed === open ? 'add the matching `}`'
          : `add the matching \`}\`: by its indentation, the \`}\` on line ${this.closerOf(open)!.span.line} closes the block of line ${open.span.line}`);
      }
      try {
        statements.push(this.statement());
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        this.recover(true);
      }
      this.skipNewlines();
    }
    const close = this.next();
    return { kind: 'block', span: join(open.span, close.span), statements };
  }

  /**
   * Which brace the author left open, when a block runs into the end of the file: by the indentation of
   * the lines, a `}` lined up with `open`'s line but matched with a brace inside it means that inner brace
   * is the one not closed (the `}` was meant for `open`). Otherwise `open` itself.
   */
  private likelyUnclosed(open: Token): Token {
    const closer = this.closerOf(open);
    if (!closer) return open;
    const stack: number[] = [];
    for (let i = this.tokens.indexOf(open) + 1; this.tokens[i] !== closer; i++) {
      const t = this.tokens[i];
      if (t.kind === 'punct' && t.text === '{') stack.push(i);
      if (t.kind === 'punct' && t.text === '}') stack.pop();
    }
    return stack.length ? this.tokens[stack[stack.length - 1]] : open;
  }

  /** The first `}` after `open` lined up with `open`'s line, if any. */
  private closerOf(open: Token): Token | undefined {
    const indent = new Map<number, number>();
    for (const t of this.tokens) {
      if (t.kind !== 'newline' && t.kind !== 'eof' && !indent.has(t.span.line)) indent.set(t.span.line, t.span.column);
    }
    const want = indent.get(open.span.line);
    const start = this.tokens.indexOf(open);
    return this.tokens.slice(start + 1).find((t) => t.kind === 'punct' && t.text === '}' && t.span.column === want
      && indent.get(t.span.line) === want);
  }

  private statement(): Stmt {
    const t = this.peek();
    let stmt: Stmt;
    if (t.text === 'let' || t.text === 'var') {
      this.next();
      const name = this.ident('a variable name');
      this.expect('=', `\`${t.text}\` needs a value, e.g. \`${t.text} ${name.text} = 0\``);
      const init = this.expression();
      stmt = { kind: 'let', span: join(t.span, init.span), mutable: t.text === 'var', name: name.text, nameSpan: name.span, init };
    } else if (t.text === 'if' && t.kind === 'keyword') {
      return this.ifStatement();
    } else if (t.text === 'for' && t.kind === 'keyword') {
      this.next();
      const v = this.ident('a loop variable');
      this.expect('in');
      const from = this.expression();
      this.expect('..', 'loops run over an inclusive range: `for i in 0..3 { ... }`');
      const to = this.expression();
      const body = this.block();
      return { kind: 'for', span: join(t.span, body.span), variable: v.text, variableSpan: v.span, from, to, body };
    } else if (t.text === 'repeat' && t.kind === 'keyword') {
      this.next();
      const count = this.expression();
      const body = this.block();
      return { kind: 'repeat', span: join(t.span, body.span), count, body };
    } else if (t.text === 'return' && t.kind === 'keyword') {
      this.next();
      const value = this.expression();
      stmt = { kind: 'return', span: join(t.span, value.span), value };
    } else if (t.kind === 'ident' && this.tokens[this.pos + 1]?.text === '=' && t.text !== 'gpio' && t.text !== 'sensor') {
      // Before `tick` and `expect`: those are statements only when no `=` follows (`tick = 0` assigns).
      this.next();
      this.next();
      const value = this.expression();
      stmt = { kind: 'assign', span: join(t.span, value.span), name: t.text, nameSpan: t.span, value };
    } else if (t.text === 'tick' && t.kind === 'ident') {
      this.next();
      let at: Expr | null = null;
      if (this.accept('at')) at = this.expression();
      stmt = { kind: 'tick', span: at ? join(t.span, at.span) : t.span, at };
    } else if (t.text === 'expect' && t.kind === 'ident') {
      this.next();
      const cond = this.expression();
      stmt = { kind: 'expect', span: join(t.span, cond.span), cond };
    } else if (t.kind === 'ident' && (t.text === 'gpio' || t.text === 'sensor')) {
      const target = this.expression();
      if (target.kind !== 'call' || target.args.length !== 1) {
        this.fail(target.span, 'expected an assignment such as `gpio(17) = 1`');
      }
      this.expect('=', t.text === 'gpio' ? 'drive an output with `gpio(PIN) = VALUE`' : undefined);
      const value = this.expression();
      stmt = { kind: 'io-assign', span: join(t.span, value.span), io: t.text as 'gpio' | 'sensor', target: target.args[0], value };
    } else {
      return this.fail(t.span, `expected a statement, found ${this.describe(t)}`,
        'statements are `let`, `var`, assignments, `gpio(PIN) = ...`, `if`, `for`, `repeat` and `return`');
    }
    this.endOfStatement();
    return stmt;
  }

  private ifStatement(): IfStmt {
    const start = this.next();
    const cond = this.expression();
    if (this.is('then')) {
      this.fail(this.peek().span, '`if ... then ... else ...` is an expression; an `if` statement takes a block',
        'write `if COND { ... }`, or use the expression form on the right of `=`');
    }
    const then = this.block();
    let elseBranch: Block | IfStmt | null = null;
    // `else` may stand on the line after the closing brace.
    let look = this.pos;
    while (this.tokens[look].kind === 'newline') look++;
    if (this.tokens[look].kind === 'keyword' && this.tokens[look].text === 'else') {
      this.pos = look + 1;
      elseBranch = this.is('if') ? this.ifStatement() : this.block();
    }
    const end = elseBranch ? elseBranch.span : then.span;
    return { kind: 'if', span: join(start.span, end), cond, then, else: elseBranch };
  }

  // ---- expressions ---------------------------------------------------------------------

  expression(): Expr {
    this.enter(this.peek());
    try {
      return this.expressionInner();
    } finally {
      this.nesting--;
    }
  }

  private enter(t: Token): void {
    if (++this.nesting > MAX_NESTING) {
      // The callers' `finally` blocks undo their own levels as the error unwinds; this one is undone here.
      this.nesting--;
      this.fail(t.span, `this is nested more than ${MAX_NESTING} levels deep`, 'split it up with `let` or a function', 'E0214');
    }
  }

  private expressionInner(): Expr {
    const t = this.peek();
    if (t.kind === 'keyword' && t.text === 'if') {
      this.next();
      const cond = this.expression();
      this.expect('then', 'the expression form is `if COND then A else B`');
      this.skipNewlinesInExpression();
      const then = this.expression();
      this.skipNewlinesInExpression();
      this.expect('else', 'the expression form needs an `else`: `if COND then A else B`');
      this.skipNewlinesInExpression();
      const otherwise = this.expression();
      return { kind: 'cond', span: join(t.span, otherwise.span), cond, then, else: otherwise };
    }
    return this.binary(0);
  }

  private skipNewlinesInExpression(): void {
    while (this.tokens[this.pos].kind === 'newline') this.pos++;
  }

  private binary(level: number): Expr {
    if (level === BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    while (true) {
      const t = this.peek();
      if (t.kind !== 'punct' || !BINARY_LEVELS[level].includes(t.text as BinaryOp)) return left;
      this.next();
      this.skipNewlinesInExpression();
      const right = this.binary(level + 1);
      if (COMPARISONS.has(t.text) && left.kind === 'binary' && COMPARISONS.has(left.op) && !isParenthesized(left)) {
        this.diagnostics.error('E0212', join(left.span, right.span), 'comparisons cannot be chained',
          'join two comparisons with `&&`, e.g. `a < b && b < c`');
        // Read it as the chain the author meant, `a < b && b < c`, so no confusing type errors follow.
        const middle = (left as BinaryExpr).right;
        const second: Expr = { kind: 'binary', op: t.text as BinaryOp, left: middle, right, opSpan: t.span, span: join(middle.span, right.span) };
        left = { kind: 'binary', op: '&&', left, right: second, opSpan: t.span, span: join(left.span, right.span) };
        continue;
      }
      left = { kind: 'binary', op: t.text as BinaryOp, left, right, opSpan: t.span, span: join(left.span, right.span) };
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '-' || t.text === '!' || t.text === '~')) {
      this.next();
      this.enter(t);
      try {
        return this.unaryOperand(t);
      } finally {
        this.nesting--;
      }
    }
    return this.primary();
  }

  private unaryOperand(t: Token): Expr {
    // `-2147483648` is a literal in its own right: its magnitude alone does not fit.
    const n = this.peek();
    if (t.text === '-' && n.kind === 'int' && n.span.start === t.span.end) {
      this.next();
      return { kind: 'int', value: n.value === 0 ? 0 : -n.value!, span: join(t.span, n.span) };
    }
    const operand = this.unary();
    return { kind: 'unary', op: t.text as UnaryOp, operand, span: join(t.span, operand.span) };
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'int':
        if (t.value! > INT32_MAX) {
          this.diagnostics.error('E0104', t.span, `integer literal ${t.text} does not fit in 32 bits`,
            'int values range from -2147483648 to 2147483647');
        }
        return { kind: 'int', value: t.value! > INT32_MAX ? 0 : t.value!, span: t.span };
      case 'float':
        return { kind: 'float', value: Math.fround(t.value!), span: t.span };
      case 'duration':
        return this.fail(t.span, 'a duration is only allowed after `every`',
          'in expressions, time is an int in milliseconds: write `2000` rather than `2s`', 'E0213');
      case 'string':
        return this.fail(t.span, 'strings are only allowed as rule descriptions and test names');
      case 'keyword':
        if (t.text === 'true' || t.text === 'false') return { kind: 'bool', value: t.text === 'true', span: t.span };
        if (t.text === 'now') return { kind: 'now', span: t.span };
        if (t.text === 'result') return { kind: 'result', span: t.span };
        if (t.text === 'if') { this.pos--; return this.expression(); }
        break;
      case 'ident': {
        if (this.is('(')) {
          this.next();
          this.parenDepth++;
          const args: Expr[] = [];
          if (!this.is(')')) {
            do args.push(this.expression()); while (this.accept(','));
          }
          const close = this.expect(')');
          this.parenDepth--;
          return { kind: 'call', callee: t.text, calleeSpan: t.span, args, span: join(t.span, close.span) };
        }
        return { kind: 'name', name: t.text, span: t.span };
      }
      case 'punct':
        if (t.text === '(') {
          this.parenDepth++;
          const inner = this.expression();
          const close = this.expect(')');
          this.parenDepth--;
          return { ...inner, span: join(t.span, close.span), parenthesized: true };
        }
        break;
    }
    return this.fail(t.span, `expected an expression, found ${this.describe(t)}`);
  }
}

/** Parenthesized comparisons may be compared again (`(a < b) == c`); only bare chains are refused. */
function isParenthesized(e: Expr): boolean {
  return e.parenthesized === true;
}

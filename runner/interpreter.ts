// Runs a checked rule's syntax tree directly, with the language's own semantics: the reference
// that compiled code is tested against, and the evaluator of `expect` conditions in tests.
import type { Block, CallExpr, Expr, FnDecl, Stmt, Symbol } from '../compiler/ast.js';
import type { CheckedRule } from '../compiler/checker.js';
import { applyBinary, applyBuiltin, applyUnary, type BuiltinName } from '../compiler/evaluate.js';

/** Where an expression's inputs come from. */
export interface EvalContext {
  stateValue(index: number): number;
  sensor(channel: number): number;
  gpio(pin: number): number;
  now: number;
  result: number;
}

/** The device side of one tick. */
export interface TickIo {
  sensor(channel: number): number;
  gpioIn(pin: number): number;
  /** Level is 0 or 1, as the host sees it. */
  gpioOut(pin: number, level: number): void;
}

interface Frame {
  locals: Map<number, number>;
  params: number[];
  ctx: EvalContext;
  /** Writes are collected and applied only when the tick completes normally. */
  writes: [number, number][] | null;
}

/** What `run` returns on a tick whose assumption (a `requires` checked in the artifact) did not hold. */
export const ASSUMPTION_FAILED = -1;

class Return {
  constructor(readonly value: number) {}
}

export class ExpressionError extends Error {}

export class RuleInterpreter {
  private state: number[];

  private readonly ranges: Map<number, { min: number; max: number }>;
  /** Readings saturated to the manifest's ranges, by channel. */
  readonly saturations = new Map<number, number>();

  constructor(readonly rule: CheckedRule) {
    this.state = rule.states.map((s) => s.initial);
    this.ranges = new Map(rule.sensorRanges.map((r) => [r.channel, r]));
  }

  reset(): void {
    this.state = this.rule.states.map((s) => s.initial);
  }

  stateValues(): number[] {
    return [...this.state];
  }

  /** One tick at `now`; returns the delay `on tick` returned (0 when it fell off the end). */
  tick(now: number, io: TickIo): number {
    // Inputs are read at most once per tick, as on the device.
    const sensors = new Map<number, number>();
    const pins = new Map<number, number>();
    const ctx: EvalContext = {
      stateValue: (i) => this.state[i],
      sensor: (ch) => { if (!sensors.has(ch)) sensors.set(ch, this.saturate(ch, io.sensor(ch))); return sensors.get(ch)!; },
      gpio: (pin) => { if (!pins.has(pin)) pins.set(pin, io.gpioIn(pin) ? 1 : 0); return pins.get(pin)!; },
      now: now | 0,
      result: 0,
    };
    const frame: Frame = { locals: new Map(), params: [], ctx, writes: [] };
    // An assumption that does not hold: the tick writes nothing, changes no state, and says so.
    for (const req of this.rule.checkedRequires) {
      if (!this.expr(req, frame)) return ASSUMPTION_FAILED;
    }
    const saved = [...this.state];
    let value = 0;
    try {
      this.block(this.rule.tick.body, frame);
    } catch (e) {
      if (!(e instanceof Return)) {
        this.state = saved;
        throw e;
      }
      value = e.value;
    }
    for (const [pin, level] of frame.writes!) io.gpioOut(pin, level);
    return value;
  }

  /**
   * A reading as the host passes it on: truncated and saturated to the channel's range in the
   * manifest (the profile's, narrowed by `requires` bounds). Counted, as hosts count them.
   */
  private saturate(channel: number, raw: number): number {
    const r = this.ranges.get(channel);
    const v = Math.trunc(raw);
    if (!r || (v >= r.min && v <= r.max)) return v | 0;
    this.saturations.set(channel, (this.saturations.get(channel) ?? 0) + 1);
    return v < r.min ? r.min : r.max;
  }

  /** Evaluates an expression (an `expect` condition, say) against the given inputs. */
  evaluate(e: Expr, ctx: EvalContext): number {
    return this.expr(e, { locals: new Map(), params: [], ctx, writes: null });
  }

  private block(block: Block, frame: Frame): void {
    for (const s of block.statements) this.stmt(s, frame);
  }

  private stmt(s: Stmt, frame: Frame): void {
    switch (s.kind) {
      case 'let':
        frame.locals.set((s.symbol as { id: number }).id, this.expr(s.init, frame));
        return;
      case 'assign': {
        const value = this.expr(s.value, frame);
        const sym = s.symbol!;
        if (sym.kind === 'state') this.state[sym.index] = value;
        else frame.locals.set((sym as { id: number }).id, value);
        return;
      }
      case 'io-assign': {
        const pin = this.expr(s.target, frame);
        const level = this.expr(s.value, frame) !== 0 ? 1 : 0;
        frame.writes?.push([pin, level]);
        return;
      }
      case 'if':
        if (this.expr(s.cond, frame)) this.block(s.then, frame);
        else if (s.else) s.else.kind === 'if' ? this.stmt(s.else, frame) : this.block(s.else, frame);
        return;
      case 'for': {
        const sym = s.symbol as Extract<Symbol, { kind: 'loop' }>;
        for (let v = sym.from; v <= sym.to; v++) {
          frame.locals.set(sym.id, v);
          this.block(s.body, frame);
        }
        return;
      }
      case 'repeat':
        for (let i = 0; i < (s.count.constant ?? 0); i++) this.block(s.body, frame);
        return;
      case 'return':
        throw new Return(this.expr(s.value, frame));
      default:
        throw new ExpressionError(`${s.kind} cannot run inside a rule`);
    }
  }

  private expr(e: Expr, frame: Frame): number {
    if (e.constant !== undefined) return e.constant;
    switch (e.kind) {
      case 'int':
      case 'float':
        return e.value;
      case 'bool':
        return e.value ? 1 : 0;
      case 'now':
        return frame.ctx.now;
      case 'result':
        return frame.ctx.result;
      case 'name': {
        const sym = e.symbol!;
        switch (sym.kind) {
          case 'const': return sym.value;
          case 'state': return frame.ctx.stateValue(sym.index);
          case 'param': return frame.params[sym.index];
          case 'local':
          case 'loop': return frame.locals.get(sym.id)!;
          default: throw new ExpressionError(`${sym.name} has no value`);
        }
      }
      case 'unary':
        return applyUnary(e.op, e.operand.type!, this.expr(e.operand, frame));
      case 'binary': {
        const a = this.expr(e.left, frame);
        if (e.op === '&&') return a ? (this.expr(e.right, frame) ? 1 : 0) : 0;
        if (e.op === '||') return a ? 1 : (this.expr(e.right, frame) ? 1 : 0);
        return applyBinary(e.op, e.left.type!, a, this.expr(e.right, frame));
      }
      case 'cond':
        return this.expr(e.cond, frame) ? this.expr(e.then, frame) : this.expr(e.else, frame);
      case 'call':
        return this.call(e, frame);
    }
  }

  private call(e: CallExpr, frame: Frame): number {
    if (e.callee === 'sensor') return frame.ctx.sensor(this.expr(e.args[0], frame));
    if (e.callee === 'gpio') return frame.ctx.gpio(this.expr(e.args[0], frame));
    const args = e.args.map((a) => this.expr(a, frame));
    if (e.fn) return this.callFn(e.fn, args, frame.ctx);
    return applyBuiltin(e.callee as BuiltinName, e.args.map((a) => a.type!), args);
  }

  private callFn(fn: FnDecl, args: number[], ctx: EvalContext): number {
    const frame: Frame = { locals: new Map(), params: args, ctx, writes: null };
    try {
      this.block(fn.body, frame);
    } catch (e) {
      if (e instanceof Return) return e.value;
      throw e;
    }
    throw new ExpressionError(`function ${fn.name} ended without a return`);
  }
}

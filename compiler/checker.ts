// Names, types, constants, value ranges and the guarantees of the rule language: capabilities
// against the target, bounded loops, no recursion, provable divisors, purity and profile limits.
import { Diagnostics, type Span } from './diagnostics.js';
import { allExpressions } from './ast.js';
import type {
  BinaryExpr, BinaryOp, Block, CallExpr, CapabilityKind, Expr, FnDecl, ForStmt, IfStmt, Program, Range, RuleHeader,
  StateDecl, Stmt, Symbol, TestDecl, TickDecl, Type,
} from './ast.js';
import { applyBinary, applyBuiltin, applyUnary, DivisionByZero, INT_MAX, INT_MIN, type BuiltinName } from './evaluate.js';
import {
  absRange, binaryRange, contains, exactRange, excludesZero, flipComparison, fullRange, intersect, join, makeRange,
  maxRange, minRange, narrow, negateRange,
} from './ranges.js';
import {
  blockReturns, comparisonFacts, factKey, factKeyOf, isLoopConstant, loopConstantValues, loopSymbolsIn, statementReturns,
  withFacts, type Facts,
} from './flow.js';
import { loopTripsOfBlock, loopTripsOfExpr } from './limits.js';
import { cachedInputs, type InputKey } from './input-cache.js';
import { describeNumbers, sensorChannel, targetNames, type TargetProfile } from '../contract/targets.js';
import type { Capabilities, SensorRange } from '../contract/manifest.js';


export interface CheckedRule {
  program: Program;
  header: RuleHeader;
  periodMs: number;
  /** Declared capabilities, sorted, without duplicates. */
  capabilities: Capabilities;
  /** What the tick actually touches. */
  used: Capabilities;
  consts: Map<string, Extract<Symbol, { kind: 'const' }>>;
  states: Extract<Symbol, { kind: 'state' }>[];
  fns: FnDecl[];
  tick: TickDecl;
  tests: TestDecl[];
  /** Per declared sensor channel, the range hosts saturate readings to (the manifest's `ranges`). */
  sensorRanges: SensorRange[];
  /**
   * The `requires` lines checked at the start of each tick in the artifact: all but bounds on single
   * channels, which became `sensorRanges` and cost nothing.
   */
  checkedRequires: Expr[];
  /** Inputs read once at the start of each tick because the tick reads them more than once. */
  cachedInputs: InputKey[];
  /** Worst-case loop-body executions per tick. */
  loopTrips: number;
  /** Number of locals ids handed out (for codegen). */
  localCount: number;
}

const MIN_PERIOD_MS = 10;
const MAX_PERIOD_MS = 24 * 3_600_000;
const DEFAULT_PERIOD_MS = 1000;

type Where = 'tick' | 'fn' | 'test' | 'const' | 'state' | 'requires' | 'ensures' | 'bound';

interface Ctx {
  where: Where;
  scope: Scope;
  /** Narrowing facts from enclosing conditions, by fact key. */
  facts: Facts;
  fn?: FnDecl;
  /** Enclosing for loops, innermost last. */
  loops: ForStmt[];
}

class Scope {
  private readonly names = new Map<string, Symbol>();
  constructor(readonly parent: Scope | null) {}
  lookup(name: string): Symbol | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }
  define(s: Symbol): void {
    this.names.set(s.name, s);
  }
}

const NUMERIC = new Set<Type>(['int', 'float']);

function describeType(t: Type): string {
  return t === 'int' ? 'an int' : t === 'bool' ? 'a bool' : 'a float';
}

function capabilityList(items: { from: number; to: number }[]): number[] {
  const set = new Set<number>();
  for (const { from, to } of items) for (let v = from; v <= to && v - from < 100_000; v++) set.add(v);
  return [...set].sort((a, b) => a - b);
}

/** How many times state ranges are re-derived; more rounds were not seen to tighten anything. */
const STATE_RANGE_ROUNDS = 3;

/** What earlier rounds proved about values that are set in one place and used in another. */
interface Derived {
  /** What each state holds at the start of any tick, by state index. */
  states: Map<number, Range>;
  /** What each function parameter receives, joined over every call, by `fnName:index`. */
  params: Map<string, Range>;
  /** The sensor channels each state and parameter derives from, by fact key: for messages only. */
  channels: Map<string, Set<number>>;
}

function intersectAll(before: Map<string | number, Range>, found: Map<string | number, Range>): Map<string | number, Range> {
  const next = new Map<string | number, Range>();
  for (const [k, r] of found) {
    const b = before.get(k);
    next.set(k, b ? intersect(b, r) : r);
  }
  return next;
}

function sameRanges(a: Map<string | number, Range>, b: Map<string | number, Range>): boolean {
  return a.size === b.size && [...a].every(([k, r]) => {
    const o = b.get(k);
    return o && o.lo === r.lo && o.hi === r.hi && o.nonzero === r.nonzero;
  });
}

export function check(program: Program, target: TargetProfile, diagnostics: Diagnostics): CheckedRule | null {
  // After a block that is not closed, what the checker would say is about a structure the author did not write.
  if (program.syntax?.unclosedBlock) return null;
  // Each round assumes the state ranges found so far (at first: anything) and joins the initial
  // value with every value the tick assigns. By induction over ticks each result is an invariant,
  // so their intersection is one too; it lets later proofs use what a state can hold. Parameters
  // likewise: each round joins what every call passes, under the previous round's assumptions.
  let derived: Derived = { states: new Map(), params: new Map(), channels: new Map() };
  for (let round = 0; round < STATE_RANGE_ROUNDS; round++) {
    const trial = new Checker(program, target, new Diagnostics(), derived, true);
    // Errors in a trial do not stop the rounds: apart from divisors, which trials do not check,
    // they do not depend on ranges, so when the final pass has none, no trial had any either.
    trial.run();
    const states = intersectAll(derived.states, trial.stateRangesFound()) as Map<number, Range>;
    const params = intersectAll(derived.params, trial.paramRangesFound()) as Map<string, Range>;
    const same = sameRanges(states, derived.states) && sameRanges(params, derived.params);
    derived = { states, params, channels: trial.channelsFound() };
    if (same) break;
  }
  return new Checker(program, target, diagnostics, derived).run();
}

class Checker {
  private readonly globals = new Scope(null);
  private nextLocalId = 0;
  private readonly declared: Capabilities = { sensor: [], gpio_in: [], gpio_out: [] };
  private readonly used = { sensor: new Set<number>(), gpio_in: new Set<number>(), gpio_out: new Set<number>() };
  /** Input ranges from the profile, narrowed by `requires`. */
  private readonly inputRanges = new Map<string, Range>();
  private readonly calls = new Map<FnDecl, { fn: FnDecl; span: Span }[]>();
  private readonly floatSpans = new Set<string>();
  private readonly consts = new Map<string, Extract<Symbol, { kind: 'const' }>>();
  private readonly states: Extract<Symbol, { kind: 'state' }>[] = [];

  private readonly stateReads = new Set<number>();
  private readonly stateWrites = new Set<number>();
  /** Values the tick assigns to each int or bool state, joined (from this pass). */
  private readonly assignedRanges = new Map<number, Range | null>();
  /** What each call passes to each parameter, joined (from this pass), by `fnName:index`. */
  private readonly passedRanges = new Map<string, Range>();
  /** The sensor channels a value derives from, by fact key or `state:INDEX`: to name them in messages. */
  private readonly channels = new Map<string, Set<number>>();
  /** Per declared sensor channel, the profile's range narrowed by the `requires` bounds on it. */
  private readonly saturation = new Map<number, Range>();
  private readonly checkedRequires: Expr[] = [];
  /** Comparisons already reported as always true or false (a trial pass may see one twice). */
  private readonly decided = new Set<string>();
  private readonly stateRanges: Map<number, Range>;

  constructor(private readonly program: Program, private readonly target: TargetProfile, private readonly d: Diagnostics,
    /** What earlier rounds proved. */
    private readonly derived: Derived,
    /**
     * A round that only derives state ranges: it does not refuse divisors, which may become provable
     * with the ranges it derives. The final pass checks every divisor.
     */
    private readonly deriving = false) {
    this.stateRanges = derived.states;
    for (const [k, v] of derived.channels) this.channels.set(k, new Set(v));
  }

  paramRangesFound(): Map<string, Range> {
    return new Map(this.passedRanges);
  }

  channelsFound(): Map<string, Set<number>> {
    return this.channels;
  }

  /** The range of each int or bool state over all ticks: its initial value joined with all it is assigned. */
  stateRangesFound(): Map<number, Range> {
    const out = new Map<number, Range>();
    for (const s of this.states) {
      if (s.type === 'float') continue;
      const assigned = this.assignedRanges.get(s.index);
      if (assigned === null) continue;
      out.set(s.index, assigned ? join(exactRange(s.initial), assigned) : exactRange(s.initial));
    }
    return out;
  }

  run(): CheckedRule | null {
    const header = this.program.header;
    if (!header) return null;
    // A rule not written for this target is reported once, not with the errors its code would cause here.
    if (!this.checkTargets(header)) return null;
    const periodMs = this.checkHeader(header);

    const fns: FnDecl[] = [];
    const tests: TestDecl[] = [];
    const ticks: TickDecl[] = [];
    // Functions may be called before their declaration, so they are all known up front.
    for (const decl of this.program.decls) {
      if (decl.kind === 'fn') {
        if (this.defineGlobal({ kind: 'fn', name: decl.name, decl, span: decl.nameSpan })) fns.push(decl);
        this.calls.set(decl, []);
      }
    }
    for (const decl of this.program.decls) {
      if (decl.kind === 'const') this.checkConst(decl.name, decl.nameSpan, decl.value);
      else if (decl.kind === 'state') this.checkState(decl);
      else if (decl.kind === 'on-tick') ticks.push(decl);
      else if (decl.kind === 'test') tests.push(decl);
    }
    this.checkRequires(header);
    for (const e of header.ensures) {
      this.d.error('E0601', e.span, 'contracts (`ensures`) are not supported yet',
        'remove the `ensures` line for now; the compiler will prove contracts in a later release');
    }
    for (const fn of fns) this.checkFn(fn);
    // A declaration dropped after a syntax error may have been the `on tick` block: that error is enough.
    if (ticks.length === 0 && !this.program.syntax?.droppedDeclarations) {
      this.d.error('E0207', header.span, `rule \`${header.name}\` has no \`on tick\` block`,
        'add `on tick { ... }` with what the rule does every period');
    }
    for (const extra of ticks.slice(1)) {
      this.d.error('E0208', extra.span, 'a rule has exactly one `on tick` block', 'merge the two blocks into one');
    }
    const tick = ticks[0];
    if (tick) this.block(tick.body, { where: 'tick', scope: new Scope(this.globals), facts: new Map(), loops: [] });
    const testNames = new Set<string>();
    for (const test of tests) {
      if (testNames.has(test.name)) this.d.error('E0209', test.span, `there are two tests named "${test.name}"`, 'give each test its own name');
      testNames.add(test.name);
      this.block(test.body, { where: 'test', scope: new Scope(this.globals), facts: new Map(), loops: [] });
    }
    this.checkRecursion(fns);
    if (this.states.length > this.target.maxStateSlots) {
      const extra = this.states[this.target.maxStateSlots];
      this.d.error('E0502', extra.span,
        `the rule has ${this.states.length} state values; target ${this.target.name} allows ${this.target.maxStateSlots}`,
        'combine flags into one int with bit operations, or build for a larger target');
    }
    let loopTrips = 0;
    if (tick && !this.d.hasErrors) {
      // Everything a tick can run: the `requires` checked in the artifact, then the body, with the
      // functions either calls counted at each call.
      const memo = new Map<FnDecl, number>();
      loopTrips = this.checkedRequires.reduce((n, r) => n + loopTripsOfExpr(r, memo), 0) + loopTripsOfBlock(tick.body, memo);
      if (loopTrips > this.target.maxLoopTrips) {
        this.d.error('E0503', tick.span,
          `one tick runs up to ${loopTrips} loop iterations (counting its \`requires\` and the functions it calls); target ${this.target.name} allows ${this.target.maxLoopTrips}`,
          'run fewer iterations per tick, or spread the work over several ticks with a `state` counter');
      }
    }
    // After an error, these warnings are mostly echoes of code that did not parse or check.
    if (!this.d.hasErrors) {
      this.checkUnusedCapabilities(header);
      this.checkUnusedStates();
    }
    if (!tick || this.d.hasErrors) return null;
    return {
      program: this.program,
      header,
      periodMs,
      capabilities: this.declared,
      sensorRanges: this.declared.sensor.flatMap((channel) => {
        const r = this.saturation.get(channel);
        return r ? [{ channel, min: r.lo, max: r.hi }] : [];
      }),
      checkedRequires: this.checkedRequires,
      used: {
        sensor: [...this.used.sensor].sort((a, b) => a - b),
        gpio_in: [...this.used.gpio_in].sort((a, b) => a - b),
        gpio_out: [...this.used.gpio_out].sort((a, b) => a - b),
      },
      consts: this.consts,
      states: this.states,
      fns,
      tick,
      tests,
      cachedInputs: cachedInputs(tick, this.checkedRequires),
      loopTrips,
      localCount: this.nextLocalId,
    };
  }

  // ---- header --------------------------------------------------------------------------

  /** The `targets` line: known names, no repeats, and this target among them. False when it is not. */
  private checkTargets(header: RuleHeader): boolean {
    if (!header.targets) return true;
    const known = new Set([...targetNames(), this.target.name]);
    const seen = new Set<string>();
    for (const { name, span } of header.targets.names) {
      if (!known.has(name)) {
        this.d.error('E0507', span, `unknown target \`${name}\` in the \`targets\` line`,
          `the targets are ${[...known].sort().join(', ')}`);
      } else if (seen.has(name)) {
        this.d.error('E0507', span, `target \`${name}\` is listed twice in the \`targets\` line`, 'list each target once');
      }
      seen.add(name);
    }
    if (seen.has(this.target.name)) return true;
    const list = header.targets.names.map((n) => n.name).join(', ');
    this.d.error('E0508', header.targets.span,
      `rule \`${header.name}\` is written for ${list} (its \`targets\` line), not for ${this.target.name}`,
      `build it for ${header.targets.names.length === 1 ? list : `one of ${list}`}, or add ${this.target.name} to its \`targets\` line once it fits there`);
    return false;
  }

  private checkHeader(header: RuleHeader): number {
    let periodMs = DEFAULT_PERIOD_MS;
    if (header.every) {
      periodMs = header.every.ms;
      if (periodMs < MIN_PERIOD_MS || periodMs > MAX_PERIOD_MS) {
        this.d.error('E0210', header.every.span, `the period must be between 10ms and 24h, not ${periodMs}ms`,
          'choose a period such as `every 500ms` or `every 1m`');
      } else if (periodMs < this.target.minPeriodMs) {
        this.d.error('E0504', header.every.span,
          `the period is ${periodMs}ms; target ${this.target.name} allows no shorter than ${this.target.minPeriodMs}ms`,
          `use \`every ${this.target.minPeriodMs}ms\` or longer`);
      }
    }
    const seen = new Map<string, { kind: CapabilityKind; span: Span }>();
    for (const use of header.uses) {
      for (const item of use.items) {
        for (let v = item.from; v <= item.to && v - item.from < 100_000; v++) {
          const inRange = use.kind === 'sensor'
            ? sensorChannel(this.target, v) !== undefined
            : v >= this.target.gpio.min && v <= this.target.gpio.max;
          if (!inRange) {
            const what = use.kind === 'sensor'
              ? `sensor channel ${v}; its channels are ${this.describeChannels()}`
              : `GPIO pin ${v}; its pins are ${this.target.gpio.min}..${this.target.gpio.max} (${this.target.gpio.numbering})`;
            this.d.error('E0505', item.span, `target ${this.target.name} has no ${what}`,
              'declare only pins and channels the board has, or build for another target');
            break;
          }
          const pinKey = use.kind === 'sensor' ? `s${v}` : `g${v}`;
          const before = seen.get(pinKey);
          if (before && before.kind !== use.kind) {
            this.d.error('E0211', item.span, `GPIO pin ${v} is declared both as an input and as an output`,
              'a pin is either `gpio_in` or `gpio_out`; use a `state` to remember the level you drive');
          }
          seen.set(pinKey, { kind: use.kind, span: item.span });
        }
      }
    }
    for (const kind of ['sensor', 'gpio_in', 'gpio_out'] as CapabilityKind[]) {
      this.declared[kind] = capabilityList(header.uses.filter((u) => u.kind === kind).flatMap((u) => u.items));
    }
    for (const ch of this.declared.sensor) {
      const info = sensorChannel(this.target, ch);
      if (info) {
        this.inputRanges.set(`sensor:${ch}`, makeRange(info.min, info.max));
        this.saturation.set(ch, makeRange(info.min, info.max));
      }
    }
    for (const pin of this.declared.gpio_in) this.inputRanges.set(`gpio:${pin}`, makeRange(0, 1));
    return periodMs;
  }

  private describeChannels(): string {
    return describeNumbers(this.target.sensors.map((s) => s.channel));
  }

  /**
   * Bounds on single channels narrow the range hosts saturate readings to (the manifest's `ranges`);
   * every other `requires` is checked at the start of each tick. Either way, what it says about an
   * input holds for every proof about the tick.
   */
  private checkRequires(header: RuleHeader): void {
    for (const req of header.requires) {
      const ctx: Ctx = { where: 'requires', scope: new Scope(this.globals), facts: new Map(), loops: [] };
      const t = this.expr(req, ctx);
      if (!t) continue;
      if (t !== 'bool') {
        this.d.error('E0303', req.span, `\`requires\` needs a condition, but this is ${describeType(t)}`,
          'write a comparison such as `requires sensor(0) >= -40_000`');
        continue;
      }
      const bounds = channelBounds(req);
      if (bounds) {
        this.requireBounds(req, bounds);
        continue;
      }
      this.checkedRequires.push(req);
      if (req.range && req.range.lo === req.range.hi) {
        const channels = this.channelsOf(req);
        if (req.range.lo === 0) {
          this.d.error('E0370', req.span, `no reading satisfies this \`requires\`${this.channelText(channels, '; ')}`,
            'check the constants\' unit, and that the rule is built for the right target');
        } else {
          this.d.warning('W0105', req.span, `every reading satisfies this \`requires\`, so it says nothing${this.channelText(channels, '; ')}`,
            'remove it, or check the constants\' unit and the target');
        }
      }
      // Conjuncts of the form `input OP constant` narrow the input's range for every proof.
      for (const [key, op, k, type] of comparisonFacts(req, true)) {
        if (!key.startsWith('sensor:') && !key.startsWith('gpio:')) continue;
        const before = this.inputRanges.get(key) ?? fullRange(type);
        this.inputRanges.set(key, narrow(before, op, k, type));
      }
    }
  }

  /** A `requires` made of bounds on channels: they narrow each channel's saturation range. */
  private requireBounds(req: Expr, bounds: ChannelBound[]): void {
    let narrows = false;
    for (const { channel, op, k } of bounds) {
      const info = sensorChannel(this.target, channel);
      const before = this.saturation.get(channel);
      if (!info || !before) return; // not declared or not on the target: reported already
      const bound = boundRange(op, k);
      const profile = makeRange(info.min, info.max);
      const after = intersect(before, bound);
      if (intersect(profile, bound).lo !== profile.lo || intersect(profile, bound).hi !== profile.hi) narrows = true;
      // Reported once per line; the channel's range is then empty, which later proofs take as unreachable.
      if (after.lo > after.hi && before.lo <= before.hi) {
        const alone = intersect(profile, bound).lo > intersect(profile, bound).hi;
        this.d.error('E0370', req.span,
          `no reading satisfies this \`requires\`: ${this.describeChannel(channel, true)}${alone ? '' : `, and earlier \`requires\` narrow it to ${before.lo}..${before.hi}`}`,
          'check the constant\'s unit, and that the rule is built for the right target');
      }
      this.saturation.set(channel, after);
      const key = `sensor:${channel}`;
      this.inputRanges.set(key, intersect(this.inputRanges.get(key) ?? profile, bound));
    }
    if (!narrows) {
      const channels = [...new Set(bounds.map((b) => b.channel))];
      this.d.warning('W0105', req.span,
        `every reading satisfies this \`requires\`, so it says nothing: ${channels.map((c) => this.describeChannel(c, true)).join('; ')}`,
        'remove it, or check the constant\'s unit and the target');
    }
  }

  /** `sensor(1) on stm32 reads ADC input in millivolts, 0..3300` (the profile's range, or the `requires` one). */
  private describeChannel(channel: number, profileOnly = false): string {
    const info = sensorChannel(this.target, channel)!;
    const narrowed = this.saturation.get(channel);
    const assumed = !profileOnly && narrowed && (narrowed.lo !== info.min || narrowed.hi !== info.max)
      ? ` (\`requires\`: ${narrowed.lo}..${narrowed.hi})` : '';
    return `sensor(${channel}) on ${this.target.name} reads ${info.quantity} in ${info.unit}, ${info.min}..${info.max}${assumed}`;
  }

  /** The channels named in a message, grouped by what they measure; empty when there are none. */
  private channelText(channels: Set<number>, prefix: string): string {
    const known = [...channels].filter((c) => sensorChannel(this.target, c)).sort((a, b) => a - b);
    if (known.length === 0) return '';
    const groups = new Map<string, number[]>();
    for (const c of known) {
      const info = sensorChannel(this.target, c)!;
      const r = this.saturation.get(c);
      const key = `${info.quantity} in ${info.unit}, ${info.min}..${info.max}${r && (r.lo !== info.min || r.hi !== info.max) ? ` (\`requires\`: ${r.lo}..${r.hi})` : ''}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    const parts = [...groups].map(([what, cs]) => cs.length === 1
      ? `sensor(${cs[0]}) on ${this.target.name} reads ${what}`
      : `sensor(${describeNumbers(cs)}) on ${this.target.name} read ${what}`);
    return prefix + parts.join('; ');
  }

  /** The sensor channels `e`'s value derives from, directly or through names and calls. */
  private channelsOf(e: Expr): Set<number> {
    const out = new Set<number>();
    for (const x of allExpressions(e)) {
      if (x.kind === 'call' && x.callee === 'sensor' && x.args.length === 1) {
        const a = x.args[0];
        if (a.constant !== undefined) out.add(a.constant);
        else for (const v of loopConstantValues(a, loopSymbolsIn(a))) out.add(v);
      } else if (x.kind === 'name' && x.symbol) {
        for (const c of this.channels.get(channelKey(x.symbol)) ?? []) out.add(c);
      }
    }
    return out;
  }

  private noteChannels(key: string | null, e: Expr): void {
    if (!key) return;
    const set = this.channels.get(key) ?? new Set<number>();
    for (const c of this.channelsOf(e)) set.add(c);
    this.channels.set(key, set);
  }

  // ---- declarations --------------------------------------------------------------------

  private defineGlobal(s: Symbol): boolean {
    const before = this.globals.lookup(s.name);
    if (before) {
      this.d.error('E0310', s.span, `\`${s.name}\` is already declared on line ${before.span.line}`, 'choose another name');
      return false;
    }
    this.globals.define(s);
    return true;
  }

  private checkConst(name: string, span: Span, value: Expr): void {
    const ctx: Ctx = { where: 'const', scope: this.globals, facts: new Map(), loops: [] };
    const type = this.expr(value, ctx);
    if (type && value.constant === undefined) {
      this.d.error('E0311', value.span, `the value of \`${name}\` is not a constant`,
        'a `const` may use only literals and other consts');
    }
    // A const whose value is in error is still declared, so its uses do not report it missing.
    const sym = { kind: 'const' as const, name, type: type ?? 'int', value: value.constant ?? 0, span };
    if (this.defineGlobal(sym)) this.consts.set(name, sym);
  }

  private checkState(decl: StateDecl): void {
    const ctx: Ctx = { where: 'state', scope: this.globals, facts: new Map(), loops: [] };
    const type = this.expr(decl.init, ctx);
    if (type && decl.init.constant === undefined) {
      this.d.error('E0312', decl.init.span, `the starting value of state \`${decl.name}\` is not a constant`,
        'start it at a literal or a const, e.g. `state count = 0`');
    }
    // A state whose starting value is in error is still declared, so its uses do not report it missing.
    const sym = { kind: 'state' as const, name: decl.name, type: type ?? 'int', index: this.states.length, span: decl.nameSpan, initial: decl.init.constant ?? 0 };
    if (this.defineGlobal(sym)) this.states.push(sym);
  }

  private checkFn(fn: FnDecl): void {
    const scope = new Scope(this.globals);
    const seen = new Set<string>();
    const facts: Facts = new Map();
    fn.params.forEach((p, index) => {
      if (p.type === 'float') this.noteFloat(p.span);
      if (seen.has(p.name) || this.globals.lookup(p.name)) {
        this.d.error('E0310', p.span, `\`${p.name}\` is already declared`, 'choose another name');
      }
      seen.add(p.name);
      const sym: Symbol = { kind: 'param', name: p.name, type: p.type, index, span: p.span, fn: fn.name };
      scope.define(sym);
      // What every call passes (from the previous round): what the body may assume of the parameter.
      const passed = this.derived.params.get(`${fn.name}:${index}`);
      if (passed && p.type !== 'float') facts.set(factKey(sym)!, passed);
    });
    if (fn.result === 'float') this.noteFloat(fn.resultSpan);
    this.block(fn.body, { where: 'fn', scope, facts, fn, loops: [] });
    if (!blockReturns(fn.body)) {
      this.d.error('E0320', fn.body.span, `function \`${fn.name}\` can reach its end without returning ${describeType(fn.result)}`,
        'end every path with `return VALUE`');
    }
  }

  // ---- statements ----------------------------------------------------------------------

  private block(block: Block, ctx: Ctx): void {
    const inner: Ctx = { ...ctx, scope: new Scope(ctx.scope), facts: new Map(ctx.facts) };
    let returned = false;
    for (const stmt of block.statements) {
      if (returned) {
        this.d.warning('W0101', stmt.span, 'this statement is never reached: it follows a `return`', 'remove it');
        returned = false;
      }
      this.statement(stmt, inner);
      if (stmt.kind === 'return' || (stmt.kind === 'if' && statementReturns(stmt))) returned = true;
      // `if b == 0 { return ... }`: what follows runs only when the condition was false.
      if (stmt.kind === 'if' && !stmt.else && blockReturns(stmt.then)) inner.facts = withFacts(inner.facts, stmt.cond, false, this.inputRanges);
    }
  }


  private statement(s: Stmt, ctx: Ctx): void {
    const inTest = ctx.where === 'test';
    const onlyInTests = (what: string) =>
      this.d.error('E0330', s.span, `\`${what}\` is only allowed in a \`test\` block`, undefined);
    if (inTest && !['io-assign', 'tick', 'expect'].includes(s.kind)) {
      this.d.error('E0331', s.span, 'a test holds only input settings, `tick` and `expect`',
        'set inputs with `sensor(CH) = V` or `gpio(PIN) = V`, run with `tick`, check with `expect`');
      return;
    }
    switch (s.kind) {
      case 'let': {
        const type = this.expr(s.init, ctx);
        if (!this.checkNewName(s.name, s.nameSpan, ctx)) return;
        const sym: Symbol = { kind: 'local', name: s.name, type: type ?? 'int', id: this.nextLocalId++, mutable: s.mutable, span: s.nameSpan };
        s.symbol = sym;
        ctx.scope.define(sym);
        if (!s.mutable && s.init.range) ctx.facts.set(factKey(sym)!, s.init.range);
        this.noteChannels(channelKey(sym), s.init);
        return;
      }
      case 'assign': {
        const type = this.expr(s.value, ctx);
        const sym = ctx.scope.lookup(s.name);
        if (!sym) {
          this.d.error('E0313', s.nameSpan, `\`${s.name}\` is not declared`, `declare it first with \`var ${s.name} = ...\``);
          return;
        }
        s.symbol = sym;
        this.noteChannels(channelKey(sym), s.value);
        if (sym.kind === 'state') {
          if (ctx.where === 'fn') {
            this.d.error('E0340', s.nameSpan, `function \`${ctx.fn!.name}\` writes state \`${s.name}\`; functions are pure`,
              'return the new value and assign it in `on tick`');
            return;
          }
          this.stateWrites.add(sym.index);
          if (type === sym.type && type !== 'float') {
            const before = this.assignedRanges.get(sym.index);
            const r = s.value.range ?? fullRange(type);
            this.assignedRanges.set(sym.index, before === null ? null : before ? join(before, r) : r);
          }
        } else if (!(sym.kind === 'local' && sym.mutable)) {
          const what = sym.kind === 'local' ? 'a `let`' : sym.kind === 'const' ? 'a `const`' : sym.kind === 'param' ? 'a parameter'
            : sym.kind === 'loop' ? 'a loop variable' : 'a function';
          this.d.error('E0314', s.nameSpan, `\`${s.name}\` is ${what} and cannot be assigned`,
            sym.kind === 'local' ? `declare it with \`var\` to change it` : 'assign to a `var` or a `state`');
          return;
        }
        const symType = (sym as { type: Type }).type;
        if (type && type !== symType) {
          this.d.error('E0315', s.value.span, `\`${s.name}\` is ${describeType(symType)}, but this value is ${describeType(type)}`,
            conversionHint(type, symType));
        }
        return;
      }
      case 'io-assign':
        return this.ioAssign(s, ctx);
      case 'if':
        return this.ifStatement(s, ctx);
      case 'for': {
        const from = this.boundValue(s.from, ctx, 'the start of a `for` loop');
        const to = this.boundValue(s.to, ctx, 'the end of a `for` loop');
        if (from === null || to === null) return;
        if (to < from) {
          this.d.warning('W0102', s.span, `this loop never runs: ${from}..${to} is empty`, `write ${to}..${from}, or remove the loop`);
        }
        if (to - from + 1 > this.target.maxLoopTrips) {
          // Checked here, before the body: its pins and channels would be enumerated over the whole range.
          this.d.error('E0503', s.span,
            `this loop runs ${to - from + 1} times; target ${this.target.name} allows ${this.target.maxLoopTrips} loop iterations per tick`,
            'run fewer iterations per tick, or spread the work over several ticks with a `state` counter');
          return;
        }
        if (!this.checkNewName(s.variable, s.variableSpan, ctx)) return;
        const sym: Symbol = { kind: 'loop', name: s.variable, type: 'int', id: this.nextLocalId++, from, to, span: s.variableSpan };
        s.symbol = sym;
        const scope = new Scope(ctx.scope);
        scope.define(sym);
        const facts = new Map(ctx.facts);
        facts.set(factKey(sym)!, makeRange(Math.min(from, to), Math.max(from, to)));
        this.block(s.body, { ...ctx, scope, facts, loops: [...ctx.loops, s] });
        return;
      }
      case 'repeat':
        this.boundValue(s.count, ctx, 'a `repeat` count');
        this.block(s.body, ctx);
        return;
      case 'return': {
        const type = this.expr(s.value, ctx);
        if (ctx.where === 'fn') {
          if (type && type !== ctx.fn!.result) {
            this.d.error('E0316', s.value.span, `function \`${ctx.fn!.name}\` returns ${describeType(ctx.fn!.result)}, but this is ${describeType(type)}`,
              conversionHint(type, ctx.fn!.result));
          }
        } else if (type && type !== 'int') {
          this.d.error('E0316', s.value.span, `\`on tick\` returns the milliseconds until the next tick, an int, but this is ${describeType(type)}`,
            'return an int number of milliseconds, or 0 for the period from `every`');
        }
        return;
      }
      case 'tick':
        if (!inTest) return onlyInTests('tick');
        if (s.at) this.boundValue(s.at, ctx, 'the time of a `tick at`');
        return;
      case 'expect': {
        if (!inTest) return onlyInTests('expect');
        const type = this.expr(s.cond, ctx);
        if (type && type !== 'bool') {
          this.d.error('E0303', s.cond.span, `\`expect\` needs a condition, but this is ${describeType(type)}`,
            'compare the value, e.g. `expect gpio(17) == 1`');
        }
        return;
      }
    }
  }

  private checkNewName(name: string, span: Span, ctx: Ctx): boolean {
    const before = ctx.scope.lookup(name);
    if (before) {
      this.d.error('E0310', span, `\`${name}\` is already declared on line ${before.span.line}`,
        'names cannot be redeclared or shadowed; choose another name');
      return false;
    }
    return true;
  }

  /** A loop bound, a repeat count or a tick time: a constant int, >= 0 where it counts. */
  private boundValue(e: Expr, ctx: Ctx, what: string): number | null {
    const type = this.expr(e, { ...ctx, where: ctx.where === 'test' ? 'test' : 'bound' });
    if (!type) return null;
    if (type !== 'int') {
      this.d.error('E0317', e.span, `${what} must be an int, but this is ${describeType(type)}`, undefined);
      return null;
    }
    if (e.constant === undefined) {
      this.d.error('E0318', e.span, `${what} must be a constant`,
        'loops run a number of times known when the rule is built: use literals and consts');
      return null;
    }
    if (what.startsWith('a `repeat`') && e.constant < 0) {
      this.d.error('E0319', e.span, `a \`repeat\` count cannot be negative (${e.constant})`, undefined);
      return null;
    }
    return e.constant;
  }

  private ioAssign(s: Extract<Stmt, { kind: 'io-assign' }>, ctx: Ctx): void {
    const valueType = this.expr(s.value, ctx);
    if (ctx.where === 'test') {
      const index = this.ioIndex(s.io, s.target, ctx, 'test-set');
      if (index === null) return;
      if (s.value.constant === undefined && valueType) {
        this.d.error('E0332', s.value.span, 'a test sets inputs to constant values', 'use literals and consts');
      }
      if (valueType && valueType !== 'int' && !(s.io === 'gpio' && valueType === 'bool')) {
        this.d.error('E0315', s.value.span, `${s.io} readings are ints, but this is ${describeType(valueType)}`, undefined);
      }
      if (s.io === 'gpio' && valueType === 'int' && s.value.constant !== undefined && s.value.constant !== 0 && s.value.constant !== 1) {
        this.d.error('E0335', s.value.span, `an input pin reads 0 or 1, not ${s.value.constant}`, 'set it to 0 or 1 (or false or true)');
      }
      const channel = s.io === 'sensor' && index >= 0 ? sensorChannel(this.target, index) : undefined;
      const v = s.value.constant;
      if (channel && v !== undefined && (v < channel.min || v > channel.max)) {
        // The device never reads such a value (readings saturate at the range), so the test could not mean it.
        this.d.error('E0334', s.value.span,
          `sensor(${index}) = ${v} is outside channel ${index}'s range on ${this.target.name} (${channel.min}..${channel.max} ${channel.unit})`,
          'test with readings the sensor can give');
      }
      return;
    }
    if (s.io === 'sensor') {
      this.d.error('E0341', s.span, 'sensors are inputs and cannot be assigned', 'drive an output with `gpio(PIN) = VALUE`');
      return;
    }
    if (ctx.where === 'fn') {
      this.d.error('E0340', s.span, `function \`${ctx.fn!.name}\` drives a GPIO output; functions are pure`,
        'return the level and write it in `on tick`');
      return;
    }
    this.ioIndex('gpio', s.target, ctx, 'write');
    if (valueType === 'float') {
      this.d.error('E0315', s.value.span, 'a GPIO level is an int or a bool, but this is a float',
        'convert explicitly, e.g. `gpio(17) = x > 0.5`');
    }
  }

  private ifStatement(s: IfStmt, ctx: Ctx): void {
    const type = this.expr(s.cond, ctx);
    if (type && type !== 'bool') {
      this.d.error('E0303', s.cond.span, `an \`if\` needs a condition, but this is ${describeType(type)}`,
        type === 'int' ? 'compare it, e.g. `if x != 0 { ... }`' : undefined);
    }
    this.block(s.then, { ...ctx, facts: withFacts(ctx.facts, s.cond, true, this.inputRanges) });
    if (s.else) {
      const elseCtx = { ...ctx, facts: withFacts(ctx.facts, s.cond, false, this.inputRanges) };
      if (s.else.kind === 'if') this.ifStatement(s.else, { ...elseCtx, scope: new Scope(ctx.scope) });
      else this.block(s.else, elseCtx);
    }
  }

  // ---- expressions ---------------------------------------------------------------------

  private noteFloat(span: Span): void {
    if (this.target.floatingPoint) return;
    const key = `${span.start}:${span.end}`;
    if (this.floatSpans.has(key)) return;
    this.floatSpans.add(key);
    this.d.error('E0401', span, `floating point is not available on target ${this.target.name}`,
      `use ints in fixed point (e.g. milli-units), or build for a target with floating point`);
  }

  /** Type-checks `e`, filling type, constant and range. Returns null after reporting an error. */
  expr(e: Expr, ctx: Ctx): Type | null {
    // The checker may run over the same tree more than once (see check()): start from scratch.
    e.range = undefined;
    e.constant = undefined;
    const type = this.exprInner(e, ctx);
    if (type) {
      e.type = type;
      if (!e.range) e.range = e.constant !== undefined ? exactRange(e.constant) : fullRange(type);
      const key = factKeyOf(e);
      const fact = key ? ctx.facts.get(key) : undefined;
      if (fact) e.range = intersect(e.range, fact);
    }
    return type;
  }

  private exprInner(e: Expr, ctx: Ctx): Type | null {
    switch (e.kind) {
      case 'int':
        e.constant = e.value;
        return 'int';
      case 'float':
        this.noteFloat(e.span);
        e.constant = e.value;
        return 'float';
      case 'bool':
        e.constant = e.value ? 1 : 0;
        return 'bool';
      case 'now':
        if (ctx.where !== 'tick' && ctx.where !== 'test') {
          this.d.error('E0342', e.span, `\`now\` cannot be used ${whereText(ctx)}`,
            ctx.where === 'fn' ? 'functions are pure: pass `now` as an argument' : undefined);
          return null;
        }
        return 'int';
      case 'result':
        if (ctx.where !== 'test') {
          this.d.error('E0330', e.span, '`result` is only allowed in a `test` block', 'it is the delay the last tick returned');
          return null;
        }
        return 'int';
      case 'name':
        return this.name(e, ctx);
      case 'unary': {
        const t = this.expr(e.operand, ctx);
        if (!t) return null;
        if (e.op === '!' && t !== 'bool') {
          this.d.error('E0304', e.span, `\`!\` needs a bool, but this is ${describeType(t)}`,
            t === 'int' ? 'compare it instead, e.g. `x == 0`' : undefined);
          return null;
        }
        if (e.op === '-' && !NUMERIC.has(t)) {
          this.d.error('E0304', e.span, `\`-\` needs an int or a float, but this is ${describeType(t)}`, 'use `!` to negate a bool');
          return null;
        }
        if (e.op === '~' && t !== 'int') {
          this.d.error('E0304', e.span, `\`~\` needs an int, but this is ${describeType(t)}`, t === 'bool' ? 'use `!` to negate a bool' : undefined);
          return null;
        }
        if (e.operand.constant !== undefined) e.constant = applyUnary(e.op, t, e.operand.constant);
        else if (e.op === '-') e.range = negateRange(t, e.operand.range!);
        else if (e.op === '~') e.range = makeRange(~e.operand.range!.hi, ~e.operand.range!.lo);
        else if (e.op === '!' && e.operand.range && e.operand.range.lo === e.operand.range.hi) e.range = exactRange(e.operand.range.lo ? 0 : 1);
        return t;
      }
      case 'binary':
        return this.binary(e, ctx);
      case 'cond': {
        const c = this.expr(e.cond, ctx);
        if (c && c !== 'bool') {
          this.d.error('E0303', e.cond.span, `\`if\` needs a condition, but this is ${describeType(c)}`, undefined);
        }
        const a = this.expr(e.then, { ...ctx, facts: withFacts(ctx.facts, e.cond, true, this.inputRanges) });
        const b = this.expr(e.else, { ...ctx, facts: withFacts(ctx.facts, e.cond, false, this.inputRanges) });
        if (!a || !b || !c) return null;
        if (a !== b) {
          this.d.error('E0305', e.span, `the two branches have different types: ${a} and ${b}`, conversionHint(b, a));
          return null;
        }
        if (e.cond.constant !== undefined) {
          const chosen = e.cond.constant ? e.then : e.else;
          if (chosen.constant !== undefined) e.constant = chosen.constant;
        }
        e.range = join(e.then.range!, e.else.range!);
        return a;
      }
      case 'call':
        return this.call(e, ctx);
    }
  }

  private name(e: Extract<Expr, { kind: 'name' }>, ctx: Ctx): Type | null {
    const sym = ctx.scope.lookup(e.name);
    if (!sym) {
      this.d.error('E0313', e.span, `\`${e.name}\` is not declared`,
        ctx.where === 'const' || ctx.where === 'state' ? 'declare consts before they are used' : 'declare it with `let`, `var`, `const` or `state`');
      return null;
    }
    e.symbol = sym;
    switch (sym.kind) {
      case 'fn':
        this.d.error('E0306', e.span, `\`${e.name}\` is a function; call it with arguments`, `write \`${e.name}(...)\``);
        return null;
      case 'const':
        e.constant = sym.value;
        return sym.type;
      case 'state':
        if (ctx.where === 'fn') {
          this.d.error('E0340', e.span, `function \`${ctx.fn!.name}\` reads state \`${e.name}\`; functions are pure`,
            'pass the value as an argument');
          return null;
        }
        // `requires` may involve state: it is checked at the start of the tick, in the artifact.
        if (ctx.where !== 'tick' && ctx.where !== 'test' && ctx.where !== 'requires') {
          this.d.error('E0343', e.span, `state \`${e.name}\` cannot be used ${whereText(ctx)}`, 'use a const');
          return null;
        }
        e.range = this.stateRanges.get(sym.index) ?? fullRange(sym.type);
        if (ctx.where === 'tick' || ctx.where === 'requires') this.stateReads.add(sym.index);
        return sym.type;
      case 'loop':
        e.range = makeRange(Math.min(sym.from, sym.to), Math.max(sym.from, sym.to));
        return 'int';
      default:
        return sym.type;
    }
  }

  private binary(e: BinaryExpr, ctx: Ctx): Type | null {
    const a = this.expr(e.left, ctx);
    // `&&` and `||` short-circuit, so the right side may rely on the left.
    const rightCtx = e.op === '&&' ? { ...ctx, facts: withFacts(ctx.facts, e.left, true, this.inputRanges) }
      : e.op === '||' ? { ...ctx, facts: withFacts(ctx.facts, e.left, false, this.inputRanges) } : ctx;
    const b = this.expr(e.right, rightCtx);
    if (!a || !b) return null;
    const op = e.op;
    if (a !== b) {
      this.d.error('E0302', e.opSpan, `\`${op}\` needs two values of the same type, but got ${a} and ${b}`, conversionHint(b, a));
      return null;
    }
    let result: Type = a;
    const bad = (allowed: string) => {
      this.d.error('E0304', e.opSpan, `\`${op}\` does not apply to ${a} values; it takes ${allowed}`, opHint(op, a));
      return null;
    };
    if (op === '&&' || op === '||') {
      if (a !== 'bool') return bad('bools');
      result = 'bool';
    } else if (['==', '!='].includes(op)) {
      result = 'bool';
    } else if (['<', '<=', '>', '>='].includes(op)) {
      if (a === 'bool') return bad('ints or floats');
      result = 'bool';
    } else if (['&', '|', '^'].includes(op)) {
      if (a === 'float') return bad('ints or bools');
    } else if (['<<', '>>', '%'].includes(op)) {
      if (a !== 'int') return bad('ints');
    } else if (a === 'bool') {
      return bad('ints or floats');
    }
    if ((op === '/' || op === '%') && !excludesZero(e.right.range) && !this.deriving) {
      const divisor = e.right.constant === 0 ? 'the divisor is zero' : 'the divisor may be zero';
      this.d.error('E0350', e.right.span, `${divisor}: \`${op}\` needs a divisor the compiler can prove nonzero`,
        op === '/' ? 'use `div(a, b, fallback)`, which gives `fallback` when b is 0, or divide inside `if b != 0 { ... }`'
          : 'take the remainder inside `if b != 0 { ... }`, or narrow the divisor\'s range with `requires`');
      return null;
    }
    if (e.left.constant !== undefined && e.right.constant !== undefined) {
      try {
        e.constant = applyBinary(op, a, e.left.constant, e.right.constant);
      } catch (err) {
        if (!(err instanceof DivisionByZero)) throw err;
      }
    } else if (op === '&&' && (e.left.constant === 0 || e.right.constant === 0)) {
      // Folding `false && x` is safe: rule expressions have no side effects.
      e.constant = 0;
    } else if (op === '||' && (e.left.constant === 1 || e.right.constant === 1)) {
      e.constant = 1;
    }
    e.range = binaryRange(op, a, e.left.range!, e.right.range!);
    if (a === 'int' && e.constant === undefined) this.decide(e, ctx);
    else if (a === 'bool' && e.constant === undefined) e.range = boolRange(op, e.left.range!, e.right.range!) ?? e.range;
    return result;
  }

  /**
   * A comparison that the known ranges decide gets the range of its one value; in code (not in
   * `requires`, which have their own diagnostics), it is worth a warning: usually a constant in the
   * wrong unit, or a rule built for the wrong target.
   */
  private decide(e: BinaryExpr, ctx: Ctx): void {
    const verdict = decideComparison(e.op, e.left.range!, e.right.range!);
    if (verdict === null) return;
    e.range = exactRange(verdict ? 1 : 0);
    if (ctx.where !== 'tick' && ctx.where !== 'fn') return;
    const key = `${e.span.start}:${e.span.end}`;
    if (this.decided.has(key)) return;
    this.decided.add(key);
    // Literals speak for themselves; everything else is shown with the values it can have.
    const sides = ([[e.left, 'left'], [e.right, 'right']] as const).filter(([x]) => x.kind !== 'int').map(([x, side]) => `${describeValue(x, side)} is ${
      x.range!.lo === x.range!.hi ? x.range!.lo : `${x.range!.lo}..${x.range!.hi}`}`);
    const channels = this.channelsOf(e);
    this.d.warning('W0106', e.span,
      `this comparison is always ${verdict}: ${sides.join(' and ')}${this.channelText(channels, '; ')}`,
      channels.size ? 'check the constant\'s unit, and that the rule is built for the right target'
        : 'check the constant, or remove the comparison');
  }

  private call(e: CallExpr, ctx: Ctx): Type | null {
    const name = e.callee;
    if (name === 'sensor' || name === 'gpio') return this.inputRead(e, ctx);
    const argTypes: (Type | null)[] = e.args.map((a) => this.expr(a, ctx));
    const arity = (n: number) => {
      if (e.args.length !== n) {
        this.d.error('E0307', e.span, `\`${name}\` takes ${n} argument${n === 1 ? '' : 's'}, but got ${e.args.length}`, undefined);
        return false;
      }
      return true;
    };
    if (argTypes.some((t) => t === null)) return null;
    const types = argTypes as Type[];
    const sameNumeric = () => {
      const first = types[0];
      if (!NUMERIC.has(first) || types.some((t) => t !== first)) {
        this.d.error('E0308', e.span, `\`${name}\` needs ${types.length === 1 ? 'an int or a float' : 'arguments that are all ints or all floats'}, but got ${types.join(', ')}`,
          types.some((t) => t !== first) ? conversionHint(types.find((t) => t !== first)!, first) : undefined);
        return false;
      }
      return true;
    };
    let result: Type;
    switch (name) {
      case 'min': case 'max':
        if (!arity(2) || !sameNumeric()) return null;
        result = types[0];
        e.range = name === 'min' ? minRange(e.args[0].range!, e.args[1].range!) : maxRange(e.args[0].range!, e.args[1].range!);
        break;
      case 'abs':
        if (!arity(1) || !sameNumeric()) return null;
        result = types[0];
        e.range = absRange(result, e.args[0].range!);
        break;
      case 'clamp':
        if (!arity(3) || !sameNumeric()) return null;
        result = types[0];
        e.range = minRange(maxRange(e.args[0].range!, e.args[1].range!), e.args[2].range!);
        break;
      case 'div':
        if (!arity(3) || !sameNumeric()) return null;
        result = types[0];
        e.range = join(binaryRange('/', result, e.args[0].range!, e.args[1].range!), e.args[2].range!);
        break;
      case 'int':
        if (!arity(1)) return null;
        result = 'int';
        if (types[0] === 'bool') e.range = makeRange(0, 1);
        else if (types[0] === 'int') e.range = e.args[0].range;
        break;
      case 'float':
        if (!arity(1)) return null;
        this.noteFloat(e.calleeSpan);
        result = 'float';
        break;
      case 'bool':
        if (!arity(1)) return null;
        result = 'bool';
        break;
      default:
        return this.userCall(e, types, ctx);
    }
    if (e.args.every((a) => a.constant !== undefined)) {
      e.constant = applyBuiltin(name as BuiltinName, types, e.args.map((a) => a.constant!));
    }
    return result;
  }

  private userCall(e: CallExpr, types: Type[], ctx: Ctx): Type | null {
    const sym = ctx.scope.lookup(e.callee);
    if (!sym) {
      this.d.error('E0313', e.calleeSpan, `there is no function \`${e.callee}\``,
        'built-ins are sensor, gpio, min, max, abs, clamp, div, int, float and bool');
      return null;
    }
    if (sym.kind !== 'fn') {
      this.d.error('E0306', e.calleeSpan, `\`${e.callee}\` is not a function`, undefined);
      return null;
    }
    if (ctx.where === 'const' || ctx.where === 'state' || ctx.where === 'bound') {
      // A state's starting value has a code of its own, as its hint differs.
      if (ctx.where === 'state') this.d.error('E0312', e.span, 'a state starts at a constant, and a function call is not one', 'start it at a literal or a const, e.g. `state count = 0`');
      else this.d.error('E0311', e.span, `a function call is not a constant`, 'use literals and consts here');
      return null;
    }
    const fn = sym.decl;
    e.fn = fn;
    if (ctx.fn) this.calls.get(ctx.fn)!.push({ fn, span: e.calleeSpan });
    if (types.length !== fn.params.length) {
      this.d.error('E0307', e.span, `\`${fn.name}\` takes ${fn.params.length} argument${fn.params.length === 1 ? '' : 's'}, but got ${types.length}`, undefined);
      return null;
    }
    for (let i = 0; i < types.length; i++) {
      if (types[i] !== fn.params[i].type) {
        this.d.error('E0309', e.args[i].span, `argument \`${fn.params[i].name}\` of \`${fn.name}\` is ${describeType(fn.params[i].type)}, but this is ${describeType(types[i])}`,
          conversionHint(types[i], fn.params[i].type));
        return null;
      }
    }
    fn.params.forEach((_, i) => {
      const key = `${fn.name}:${i}`;
      const before = this.passedRanges.get(key);
      const r = e.args[i].range ?? fullRange(types[i]);
      this.passedRanges.set(key, before ? join(before, r) : r);
      this.noteChannels(`param:${key}`, e.args[i]);
    });
    return fn.result;
  }

  /** `sensor(CH)` and `gpio(PIN)` reads. */
  private inputRead(e: CallExpr, ctx: Ctx): Type | null {
    const io = e.callee as 'sensor' | 'gpio';
    if (e.args.length !== 1) {
      this.d.error('E0307', e.span, `\`${io}\` takes 1 argument, but got ${e.args.length}`, undefined);
      return null;
    }
    if (ctx.where === 'fn') {
      this.d.error('E0340', e.span, `function \`${ctx.fn!.name}\` reads ${io === 'sensor' ? 'a sensor' : 'a GPIO input'}; functions are pure`,
        'read it in `on tick` and pass the value as an argument');
      return null;
    }
    if (ctx.where === 'const' || ctx.where === 'state' || ctx.where === 'bound') {
      if (ctx.where === 'state') {
        this.d.error('E0312', e.span, `a state starts at a constant, and ${io}(...) is not one`,
          'start it at a literal or a const, and assign the reading in `on tick`');
      } else {
        this.d.error('E0311', e.span, `${io}(...) is not a constant`, undefined);
      }
      return null;
    }
    const index = this.ioIndex(io, e.args[0], ctx, ctx.where === 'test' ? 'test-read' : 'read');
    if (index === null) return null;
    if (index >= 0) {
      const key = `${io}:${index}`;
      e.range = this.inputRanges.get(key) ?? (io === 'gpio' ? makeRange(0, 1) : fullRange('int'));
    } else {
      e.range = io === 'gpio' ? makeRange(0, 1) : this.loopSensorRange(e.args[0]);
    }
    return 'int';
  }

  private loopSensorRange(arg: Expr): Range {
    let r: Range | null = null;
    for (const ch of loopConstantValues(arg, loopSymbolsIn(arg))) {
      const one = this.inputRanges.get(`sensor:${ch}`) ?? fullRange('int');
      r = r ? join(r, one) : one;
    }
    return r ?? fullRange('int');
  }

  /**
   * Checks a pin or channel argument: constant (returns it) or an expression of enclosing `for`
   * variables (returns -1, checks every value it takes, and marks the loops). Reports undeclared use.
   */
  private ioIndex(io: 'sensor' | 'gpio', arg: Expr, ctx: Ctx, purpose: 'read' | 'write' | 'test-set' | 'test-read'): number | null {
    const kind: CapabilityKind = io === 'sensor' ? 'sensor' : purpose === 'write' ? 'gpio_out' : 'gpio_in';
    const t = this.expr(arg, ctx);
    if (!t) return null;
    const noun = io === 'sensor' ? 'channel' : 'pin';
    if (t !== 'int') {
      this.d.error('E0317', arg.span, `a ${noun} number is an int, but this is ${describeType(t)}`, undefined);
      return null;
    }
    let values: number[];
    let index: number;
    const loops = ctx.where === 'test' ? [] : loopSymbolsIn(arg);
    if (arg.constant !== undefined) {
      values = [arg.constant];
      index = arg.constant;
    } else if (loops.length > 0 && loops.every((s) => ctx.loops.some((l) => l.symbol === s)) && isLoopConstant(arg)) {
      const combinations = loops.reduce((n, s) => n * Math.max(0, (s as Extract<Symbol, { kind: 'loop' }>).to - (s as Extract<Symbol, { kind: 'loop' }>).from + 1), 1);
      if (combinations > this.target.maxLoopTrips) {
        this.d.error('E0503', arg.span,
          `the loops around this ${noun} run ${combinations} times in all; target ${this.target.name} allows ${this.target.maxLoopTrips} loop iterations per tick`,
          'run fewer iterations per tick');
        return null;
      }
      for (const l of ctx.loops) if (l.symbol && loops.includes(l.symbol)) l.picksIo = true;
      values = [...new Set(loopConstantValues(arg, loops))].sort((x, y) => x - y);
      index = -1;
    } else {
      this.d.error('E0351', arg.span, `the ${noun} must be a constant`,
        `use a literal, a const, or an expression of the variable of an enclosing \`for\` loop`);
      return null;
    }
    for (const v of values) {
      let declaredAs: CapabilityKind | null = null;
      for (const k of ['sensor', 'gpio_in', 'gpio_out'] as CapabilityKind[]) {
        if ((io === 'sensor') === (k === 'sensor') && this.declared[k].includes(v)) declaredAs = k;
      }
      // Tests read outputs back as well as inputs.
      if (declaredAs === kind || (purpose === 'test-read' && declaredAs !== null)) {
        if (ctx.where === 'tick' || ctx.where === 'requires') this.used[kind].add(v);
        continue;
      }
      if (purpose === 'test-set' && declaredAs === 'gpio_out') {
        this.d.error('E0333', arg.span, `gpio(${v}) is an output; a test sets only inputs`,
          'a test checks outputs with `expect gpio(PIN) == ...`');
      } else if (io === 'gpio' && declaredAs === 'gpio_out') {
        this.d.error('E0352', arg.span, `gpio(${v}) is an output; rules cannot read outputs back`,
          'keep the level you drive in a `state` and read that');
      } else if (io === 'gpio' && declaredAs === 'gpio_in' && kind === 'gpio_out') {
        this.d.error('E0353', arg.span, `gpio(${v}) is declared as an input and cannot be driven`,
          `declare it with \`uses gpio_out(${v})\``);
      } else {
        this.d.error('E0301', arg.span, `${io === 'sensor' ? 'sensor channel' : 'GPIO pin'} ${v} is not declared`,
          `add \`uses ${kind}(${v})\` to the header`);
      }
      return null;
    }
    return index;
  }

  // ---- whole-rule checks ---------------------------------------------------------------

  private checkRecursion(fns: FnDecl[]): void {
    const state = new Map<FnDecl, 'visiting' | 'done'>();
    const reported = new Set<FnDecl>();
    const visit = (fn: FnDecl, path: FnDecl[]): void => {
      state.set(fn, 'visiting');
      for (const call of this.calls.get(fn) ?? []) {
        const s = state.get(call.fn);
        if (s === 'visiting') {
          const cycle = [...path.slice(path.indexOf(call.fn)), call.fn].map((f) => f.name);
          if (!reported.has(fn)) {
            reported.add(fn);
            this.d.error('E0360', call.span, `recursion is not allowed: ${cycle.join(' calls ')}`,
              'every tick must end in a bounded number of steps; rewrite it with a `for` or `repeat` loop');
          }
        } else if (!s) {
          visit(call.fn, [...path, call.fn]);
        }
      }
      state.set(fn, 'done');
    };
    for (const fn of fns) if (!state.has(fn)) visit(fn, [fn]);
  }

  private checkUnusedStates(): void {
    for (const s of this.states) {
      if (!this.stateWrites.has(s.index)) {
        this.d.warning('W0103', s.span, `state \`${s.name}\` is never assigned, so it never changes`,
          'declare it as a `const`');
      } else if (!this.stateReads.has(s.index)) {
        this.d.warning('W0104', s.span, `state \`${s.name}\` is assigned but never read, so it has no effect`,
          'remove it; the compiler leaves it out of the artifact, so tests cannot check it either');
      }
    }
  }

  private checkUnusedCapabilities(header: RuleHeader): void {
    for (const use of header.uses) {
      for (const item of use.items) {
        const unused: number[] = [];
        for (let v = item.from; v <= item.to && v - item.from < 100_000; v++) {
          if (!this.used[use.kind].has(v)) unused.push(v);
        }
        if (unused.length === 0) continue;
        const list = unused.length === item.to - item.from + 1 && unused.length > 1 ? `${item.from}..${item.to}` : unused.join(', ');
        this.d.warning('W0201', item.span, `${use.kind}(${list}) is declared but never used`,
          'remove it from `uses`: a rule should hold only the capabilities it needs');
      }
    }
  }
}

/** How a message names an operand: its own text when short, else its position. */
function describeValue(e: Expr, side: 'left' | 'right'): string {
  if (e.kind === 'name') return `\`${e.name}\``;
  if (e.kind === 'int') return `\`${e.value}\``;
  if (e.kind === 'call' && e.args.length === 1 && e.args[0].kind === 'int') return `\`${e.callee}(${e.args[0].value})\``;
  if (e.kind === 'call' && e.args.length === 1 && e.args[0].kind === 'name') return `\`${e.callee}(${e.args[0].name})\``;
  return `the ${side} side`;
}

/** `&&`, `||`, `==`, `!=` on bools whose ranges are known: the result's range when it is one value. */
function boolRange(op: BinaryOp, a: Range, b: Range): Range | null {
  const known = (r: Range) => (r.lo === r.hi ? r.lo : null);
  const x = known(a);
  const y = known(b);
  if (op === '&&' && (x === 0 || y === 0)) return exactRange(0);
  if (op === '&&' && x === 1 && y === 1) return exactRange(1);
  if (op === '||' && (x === 1 || y === 1)) return exactRange(1);
  if (op === '||' && x === 0 && y === 0) return exactRange(0);
  if ((op === '==' || op === '!=') && x !== null && y !== null) return exactRange((x === y) === (op === '==') ? 1 : 0);
  return null;
}

/** The key under which the channels a named value derives from are kept. */
function channelKey(s: Symbol): string {
  switch (s.kind) {
    case 'state': return `state:${s.index}`;
    case 'param': return `param:${s.fn ?? ''}:${s.index}`;
    case 'local': case 'loop': return `local:${s.id}`;
    default: return `${s.kind}:${s.name}`;
  }
}

interface ChannelBound { channel: number; op: BinaryOp; k: number }

/**
 * The bounds a `requires` puts on single channels, when that is all it says: a comparison of
 * `sensor(K)` with a constant (`<`, `<=`, `>`, `>=` or `==`), or a conjunction of such. Null otherwise.
 */
function channelBounds(req: Expr): ChannelBound[] | null {
  if (req.kind !== 'binary') return null;
  if (req.op === '&&') {
    const left = channelBounds(req.left);
    const right = left && channelBounds(req.right);
    return left && right ? [...left, ...right] : null;
  }
  if (!['<', '<=', '>', '>=', '=='].includes(req.op)) return null;
  const isChannel = (e: Expr) => e.kind === 'call' && e.callee === 'sensor' && e.args.length === 1 && e.args[0].constant !== undefined;
  if (isChannel(req.left) && req.right.constant !== undefined && req.right.type === 'int') {
    return [{ channel: (req.left as CallExpr).args[0].constant!, op: req.op, k: req.right.constant }];
  }
  if (isChannel(req.right) && req.left.constant !== undefined && req.left.type === 'int') {
    return [{ channel: (req.right as CallExpr).args[0].constant!, op: flipComparison(req.op), k: req.left.constant }];
  }
  return null;
}

/** The values `x` can have when `x OP k` holds. */
function boundRange(op: BinaryOp, k: number): Range {
  switch (op) {
    case '<': return makeRange(-Infinity, k - 1);
    case '<=': return makeRange(-Infinity, k);
    case '>': return makeRange(k + 1, Infinity);
    case '>=': return makeRange(k, Infinity);
    default: return makeRange(k, k);
  }
}

/**
 * Whether `a OP b` holds for all values of the ranges (true), for none (false), or it depends
 * (null). Ints only; empty ranges (unreachable code) decide nothing.
 */
export function decideComparison(op: BinaryOp, a: Range, b: Range): boolean | null {
  if (a.lo > a.hi || b.lo > b.hi) return null;
  switch (op) {
    case '<': return a.hi < b.lo ? true : a.lo >= b.hi ? false : null;
    case '<=': return a.hi <= b.lo ? true : a.lo > b.hi ? false : null;
    case '>': return decideComparison('<', b, a);
    case '>=': return decideComparison('<=', b, a);
    case '==': {
      if (a.lo === a.hi && b.lo === b.hi && a.lo === b.lo) return true;
      if (a.hi < b.lo || b.hi < a.lo) return false;
      if ((a.lo === 0 && a.hi === 0 && excludesZero(b)) || (b.lo === 0 && b.hi === 0 && excludesZero(a))) return false;
      return null;
    }
    case '!=': {
      const eq = decideComparison('==', a, b);
      return eq === null ? null : !eq;
    }
    default: return null;
  }
}

function whereText(ctx: Ctx): string {
  switch (ctx.where) {
    case 'const': return 'in a `const`';
    case 'state': return 'in a state\'s starting value';
    case 'fn': return `in function \`${ctx.fn!.name}\``;
    case 'requires': return 'in `requires`';
    case 'ensures': return 'in `ensures`';
    case 'bound': return 'in a loop bound';
    default: return 'here';
  }
}

function conversionHint(from: Type, to: Type): string | undefined {
  if (from === to) return undefined;
  return `convert explicitly with \`${to}(...)\``;
}

function opHint(op: string, type: Type): string | undefined {
  if (type === 'float' && op === '%') return 'there is no float remainder; convert with `int(...)` first';
  if (type === 'bool' && ['+', '-', '*', '/'].includes(op)) return 'use `&&`, `||` and `!` on bools, or convert with `int(...)`';
  if (type === 'bool') return 'compare bools with `==` or `!=`';
  return undefined;
}

export { INT_MAX, INT_MIN, contains };
// Codegen and the runner take these from here too.
export { evaluateWith, loopSymbolsIn, statementReturns } from './flow.js';
export type { InputKey } from './input-cache.js';

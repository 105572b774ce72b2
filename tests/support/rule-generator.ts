// Random VALID rules (source text) and random tick inputs for the differential tests.
//
// A rule is built from a sequence of choices (non-negative integers) drawn by fast-check: every decision takes the
// next choice modulo the number of options, and option 0 is always the simplest one (a leaf, no more statements,
// no loop...). Once the choices run out every decision is 0, so generation always ends, and fast-check's shrinking
// of the choice array (fewer and smaller choices) shrinks the rule towards a small one.
//
// The generator knows the checker's rules well enough to produce only rules that check: no shadowing, types that
// match, divisors the checker can prove nonzero (nonzero constants, `max(x, 1)`, `(x & 255) + 1`, loop variables
// whose range excludes 0, names narrowed by `if d != 0`, `d != 0 && ...`, or `requires sensor(1) != 0`), pins and
// channels that are declared and exist on every built-in target, pure functions called only by later ones (no
// recursion), and functions that return on every path. Floats appear only when the options allow them.
import fc from 'fast-check';
import { loadTarget, sensorChannel } from '../../contract/targets.js';

export type Ty = 'int' | 'bool' | 'float';

export const INT_MIN = -2147483648;
export const INT_MAX = 2147483647;
/** Sensor channels 0..7 exist on every built-in target (with different ranges). */
export const CHANNELS = [0, 1, 2, 3, 4, 5, 6, 7];
/** Pins the generated rules read (gpio_in) and drive (gpio_out): valid on every target, never both. */
export const INPUT_PINS = [2, 3, 4, 5];

/**
 * Per channel, the bounds every built-in target can meet: a lower bound up to the smallest of the targets' maxima, an
 * upper bound from the largest of their minima. Bounds beyond these make some target refuse the rule (E0370).
 */
const BUILTIN_RANGES = ['rpi', 'stm32', 'nrf5340'].map((name) => loadTarget(name));
const SAFE_BOUNDS = new Map(CHANNELS.map((ch) => {
  const ranges = BUILTIN_RANGES.map((t) => sensorChannel(t, ch)!);
  return [ch, { lowUpTo: Math.min(...ranges.map((r) => r.max)), highFrom: Math.max(...ranges.map((r) => r.min)) }];
}));
export const OUTPUT_PINS = [10, 11, 12, 13, 14, 15, 16, 17];

/**
 * Whether positive-shaped states are used as divisors. docs/language.md says a state's range is its initial value
 * joined with everything the tick assigns, and that a divisor whose range excludes zero is accepted; turn this off
 * only if that promise is withdrawn.
 */
export const STATE_DIVISORS = true;

export interface GeneratorOptions {
  /** May the rule use floats (then it is built for targets with floating point only). */
  float: boolean;
  /** Most top-level statements in `on tick`. */
  maxTopStatements: number;
  /** Deepest expression nesting. */
  maxExprDepth: number;
  /** Weight multipliers for loops and for functions (1 = normal, 0 = none). */
  loops: number;
  fns: number;
}

export const INT_RULES: GeneratorOptions = { float: false, maxTopStatements: 4, maxExprDepth: 2, loops: 1, fns: 1 };
export const FLOAT_RULES: GeneratorOptions = { float: true, maxTopStatements: 4, maxExprDepth: 2, loops: 1, fns: 1 };
export const LOOP_RULES: GeneratorOptions = { float: false, maxTopStatements: 4, maxExprDepth: 2, loops: 4, fns: 0.5 };
export const FN_RULES: GeneratorOptions = { float: true, maxTopStatements: 3, maxExprDepth: 2, loops: 1, fns: 4 };

export interface GeneratedRule {
  source: string;
  /** Whether any float construct made it into the rule (so stm32 must refuse it with E0401). */
  usesFloat: boolean;
  /** Which language features the rule exercises, for coverage statistics. */
  features: string[];
  /** How many choices the generator consumed (the rest of the sequence was not needed). */
  choicesUsed: number;
}

// ---- choices ---------------------------------------------------------------------------------------------------

class Choices {
  next = 0;
  constructor(private readonly values: readonly number[]) {}

  /** 0..n-1; 0 once the choices run out. */
  below(n: number): number {
    if (n <= 1) return 0;
    const v = this.next < this.values.length ? this.values[this.next++] : 0;
    return v % n;
  }

  /** Index into `weights`, 0 for the first choice value 0. */
  weighted(weights: number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let v = this.below(total);
    for (let i = 0; i < weights.length; i++) {
      if (v < weights[i]) return i;
      v -= weights[i];
    }
    return 0;
  }

  chance(percent: number): boolean {
    // Choice 0 means "no": the simpler program.
    return this.below(100) >= 100 - percent;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  int32(): number {
    return ((this.below(65536) << 16) | this.below(65536)) | 0;
  }
}

// ---- printing helpers ------------------------------------------------------------------------------------------

function intText(v: number, c: Choices): string {
  if (v < 0) return v === INT_MIN && c.chance(30) ? '(-0x80000000)' : `(${v})`;
  const style = c.below(10);
  if (style === 1 && v > 9) return `0x${v.toString(16).toUpperCase()}`;
  if (style === 2 && v < 256 && v > 1) return `0b${v.toString(2)}`;
  if (style === 3 && v >= 1000) return v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_');
  return String(v);
}

/** A float literal for a non-negative f32 value (negative ones get a unary minus). */
/** `k OP x` for `x OP' k`. */
function flip(op: '<' | '<=' | '>' | '>=' | '=='): string {
  return { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==' }[op];
}

function floatText(v: number): string {
  if (Object.is(v, -0)) return '(-0.0)';
  if (v < 0) return `(-${floatText(-v)})`;
  let s = String(v);
  if (!/[.eE]/.test(s)) s += '.0';
  return s;
}

const SPECIAL_INTS = [
  0, 1, -1, 2, 3, 7, 31, 32, 33, 64, 255, 1000, 65535, 65536, -65536, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1,
  0x40000000, -0x40000000, 100_000, -40_000, 125_000, 3300, 16_000, -16_000,
];
const NONZERO_INTS = [1, -1, 2, 3, 7, -7, 10, 1000, 65536, INT_MIN, INT_MAX, -2, 31, 33];
const SPECIAL_FLOATS = [
  0, 1, 0.5, 1.5, 0.1, -1, -0, 1e30, 3.4e38, 2147483647, 2147483648, -2147483648, -2147483904, 16777217, 1e-45, 1e-40,
  123.456, 1e10, 0.001, -2.5, 1e-30,
];
const NONZERO_FLOATS = [1, 0.5, -1, 2, 1e30, 1e-30, 0.001, -3.5, 3.4e38, 1e-45];

// ---- scopes ----------------------------------------------------------------------------------------------------

interface Var {
  name: string;
  type: Ty;
  kind: 'const' | 'state' | 'local' | 'param' | 'loop';
  mutable: boolean;
  /** The checker can prove it nonzero (an int or float that is never 0). */
  nonzero: boolean;
  /** Known value (consts) or range (loop variables). */
  lo?: number;
  hi?: number;
  /**
   * An int state whose every assignment keeps it in a shape: 0 or 1, non-negative, or positive. The checker's
   * state-range invariants then narrow it, which codegen uses (abs, bit comparisons, divisors).
   */
  shape?: 'bit' | 'nonneg' | 'positive';
}

interface FnSig {
  name: string;
  params: Ty[];
  result: Ty;
}

interface Ctx {
  where: 'tick' | 'fn';
  vars: Var[];
  /** Names (or `sensor:CH`) that an enclosing condition narrowed to nonzero. */
  nonzero: Set<string>;
  /** Enclosing `for` loop variables with a non-empty range, innermost last. */
  loops: Var[];
  /** Functions this code may call: fns[0..fnLimit). */
  fnLimit: number;
  blockDepth: number;
  loopDepth: number;
  /** Result type of the function (int for `on tick`). */
  result: Ty;
}

function child(ctx: Ctx, changes: Partial<Ctx> = {}): Ctx {
  return { ...ctx, vars: [...ctx.vars], nonzero: new Set(ctx.nonzero), blockDepth: ctx.blockDepth + 1, ...changes };
}

// ---- the generator ---------------------------------------------------------------------------------------------

class RuleGenerator {
  private counter = 0;
  private readonly sensors = new Set<number>();
  private readonly inputs = new Set<number>();
  private readonly outputs = new Set<number>();
  /** Bounds the `requires` lines so far put on each channel. */
  private readonly bounds = new Map<number, { lo: number; hi: number }>();
  /** Channels that a `requires` proves nonzero. */
  private readonly nonzeroSensors = new Set<number>();
  private readonly fns: FnSig[] = [];
  private readonly features = new Set<string>();
  private usesFloat = false;

  constructor(private readonly c: Choices, private readonly o: GeneratorOptions) {}

  private fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  private feature(name: string): void {
    this.features.add(name);
  }

  private noteFloat(): void {
    this.usesFloat = true;
    this.feature('float');
  }

  private type(allowBool = true): Ty {
    const w = [6, allowBool ? 2 : 0, this.o.float ? 3 : 0];
    const t = (['int', 'bool', 'float'] as Ty[])[this.c.weighted(w)];
    if (t === 'float') this.noteFloat();
    return t;
  }

  generate(): GeneratedRule {
    const c = this.c;
    const name = this.fresh('r');
    const lines: string[] = [];
    const global: Var[] = [];

    // consts
    const constLines: string[] = [];
    const nConsts = c.below(4);
    for (let i = 0; i < nConsts; i++) constLines.push(this.constDecl(global));

    // states
    const stateLines: string[] = [];
    const nStates = c.weighted([2, 3, 3, 2, 1]);
    for (let i = 0; i < nStates; i++) {
      const t = this.type();
      const v: Var = { name: this.fresh('s'), type: t, kind: 'state', mutable: true, nonzero: false };
      if (t === 'int' && c.chance(40)) {
        v.shape = c.pick(['bit', 'nonneg', 'positive'] as const);
        // A positive state is a divisor the checker can prove nonzero (its invariant range starts at 1).
        v.nonzero = STATE_DIVISORS && v.shape === 'positive';
        stateLines.push(`state ${v.name} = ${v.shape === 'positive' ? 1 + c.below(3) : c.below(2)}`);
        this.feature('state-shape');
      } else {
        stateLines.push(`state ${v.name} = ${this.constantOf(t, global)}`);
      }
      global.push(v);
      this.feature('state');
    }

    // requires: bounds on channels (the manifest's ranges, readings saturated to them) and assumptions the
    // artifact checks (a failing tick returns -1 and does nothing); either may prove channels nonzero
    const requireLines: string[] = [];
    const nRequires = c.weighted([6, 3, 1]);
    for (let i = 0; i < nRequires; i++) {
      if (c.chance(50)) {
        requireLines.push(`requires ${this.channelBoundsExpr()}`);
        this.feature('requires-range');
      } else {
        requireLines.push(`requires ${this.requiresExpr(global)}`);
        this.feature('requires-checked');
      }
    }
    if (nRequires) this.feature('requires');

    // functions: f_i may call f_0..f_{i-1}. Signatures first, then the tick, then the bodies, so that when the
    // choices run short it is the function bodies that come out trivial, not the tick.
    const nFns = this.o.fns > 0 ? c.weighted([4, Math.round(3 * this.o.fns), Math.round(1 * this.o.fns)]) : 0;
    const sigs: { sig: FnSig; params: Var[] }[] = [];
    for (let i = 0; i < nFns; i++) sigs.push(this.fnSignature());
    for (const { sig } of sigs) this.fns.push(sig);

    // on tick
    const tick: Ctx = {
      where: 'tick', vars: [...global], nonzero: new Set(), loops: [], fnLimit: this.fns.length,
      blockDepth: 0, loopDepth: 0, result: 'int',
    };
    const body = this.block(tick, 1 + c.below(this.o.maxTopStatements), true);

    const fnTexts = sigs.map(({ sig, params }, i) => this.fnBody(sig, params, i, global));
    if (nFns && c.chance(40)) fnTexts.reverse(); // functions may be called before their declaration

    const every = c.pick(['', 'every 10ms', 'every 100ms', 'every 1s', 'every 2s', 'every 1m', 'every 24h']);
    lines.push(`rule ${name}${c.chance(30) ? ' "generated"' : ''}`);
    const uses: string[] = [];
    if (this.sensors.size) uses.push(`sensor(${listText([...this.sensors])})`);
    if (this.inputs.size) uses.push(`gpio_in(${listText([...this.inputs])})`);
    if (this.outputs.size) uses.push(`gpio_out(${listText([...this.outputs])})`);
    if (uses.length) lines.push(`uses ${uses.join(', ')}`);
    if (every) lines.push(every);
    lines.push(...requireLines, '', ...constLines, ...stateLines);
    for (const f of fnTexts) lines.push('', f);
    lines.push('', `on tick {`, ...indent(body), `}`, '');
    return { source: this.decorate(lines).join('\n'), usesFloat: this.usesFloat, features: [...this.features].sort(), choicesUsed: this.c.next };
  }

  /** Lexical variety: `#` comments, statements joined by `;`, and line breaks inside parentheses. */
  private decorate(lines: string[]): string[] {
    const c = this.c;
    const out: string[] = [];
    const simple = (l: string | undefined) => !!l && l.trim() !== '' && !/[{}#]/.test(l) && !/^\s*(rule|uses|every|requires)\b/.test(l);
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      if (simple(line) && simple(lines[i + 1]) && /^\s*/.exec(line)![0] === /^\s*/.exec(lines[i + 1])![0] && c.chance(4)) {
        line = `${line}; ${lines[++i].trim()}`;
      }
      if (line.includes('(') && !line.includes('#') && c.chance(4)) {
        // Break after a comma or an operator inside parentheses: newlines do not end anything there.
        let depth = 0;
        const spots: number[] = [];
        for (let j = 0; j < line.length; j++) {
          if (line[j] === '(') depth++;
          else if (line[j] === ')') depth--;
          else if (depth > 0 && line[j] === ' ' && /[,+*&|=<>-]/.test(line[j - 1] ?? '')) spots.push(j);
        }
        if (spots.length) {
          const at = c.pick(spots);
          line = `${line.slice(0, at)}\n${' '.repeat(8)}${line.slice(at + 1)}`;
        }
      }
      if (line.trim() !== '' && c.chance(3)) line += c.pick(['  # note', ' # (x) { } ; if', '#']);
      out.push(line);
    }
    return out;
  }

  // ---- declarations --------------------------------------------------------------------------------------------

  private constDecl(global: Var[]): string {
    const c = this.c;
    const t = this.type();
    const name = this.fresh('K');
    let text: string;
    let value: number;
    const prior = global.filter((v) => v.kind === 'const' && v.type === t);
    if (t === 'int') {
      const form = prior.length ? c.below(5) : 0;
      const k = prior.length ? c.pick(prior) : null;
      const lit = c.pick(SPECIAL_INTS);
      if (form === 0 || !k) {
        value = c.chance(40) ? c.below(8) : c.chance(50) ? lit : c.int32();
        text = intText(value, c);
      } else if (form === 1) {
        value = (k.lo! + lit) | 0;
        text = `(${k.name} + ${intText(lit, c)})`;
      } else if (form === 2) {
        value = Math.imul(k.lo!, lit);
        text = `(${k.name} * ${intText(lit, c)})`;
      } else if (form === 3) {
        value = (-k.lo!) | 0;
        text = `(-${k.name})`;
      } else {
        value = k.lo! << (lit & 31);
        text = `(${k.name} << ${intText(lit, c)})`;
      }
    } else if (t === 'bool') {
      const ints = global.filter((v) => v.kind === 'const' && v.type === 'int');
      if (ints.length && c.chance(50)) {
        const k = c.pick(ints);
        value = k.lo! > 100 ? 1 : 0;
        text = `(${k.name} > 100)`;
      } else {
        value = c.below(2);
        text = value ? 'true' : 'false';
      }
    } else {
      value = Math.fround(c.pick(SPECIAL_FLOATS));
      text = floatText(value);
      if (prior.length && c.chance(30)) {
        const k = c.pick(prior);
        const m = Math.fround(c.pick(NONZERO_FLOATS));
        value = Math.fround(k.lo! * m);
        text = `(${k.name} * ${floatText(m)})`;
      }
    }
    global.push({ name, type: t, kind: 'const', mutable: false, nonzero: value !== 0 && !Number.isNaN(value), lo: value, hi: value });
    this.feature('const');
    return `const ${name} = ${text}`;
  }

  /** A constant expression of type t: a literal or a const. */
  private constantOf(t: Ty, global: Var[]): string {
    const consts = global.filter((v) => v.kind === 'const' && v.type === t);
    if (consts.length && this.c.chance(25)) return this.c.pick(consts).name;
    return this.literal(t);
  }

  private literal(t: Ty): string {
    const c = this.c;
    if (t === 'bool') return c.below(2) ? 'true' : 'false';
    if (t === 'float') {
      this.noteFloat();
      return floatText(Math.fround(c.chance(80) ? c.pick(SPECIAL_FLOATS) : (c.int32() / 65536)));
    }
    return intText(c.chance(70) ? c.pick(SPECIAL_INTS) : c.chance(50) ? c.below(200) - 100 : c.int32(), c);
  }

  /**
   * Bounds on channels only: the manifest's `ranges`. Mostly bounds inside every target's range for the channel,
   * sometimes one that a target's range excludes (that target refuses the rule with E0370).
   */
  private channelBoundsExpr(): string {
    const c = this.c;
    const parts: string[] = [];
    const n = 1 + c.below(2);
    const ch = c.pick(CHANNELS);
    for (let i = 0; i < n; i++) {
      // Another channel now and then: one line may bound several.
      const channel = c.chance(20) ? c.pick(CHANNELS) : ch;
      const safe = SAFE_BOUNDS.get(channel)!;
      let op = c.pick(['<', '<=', '>', '>=', '==', '>=', '<='] as const);
      let k: number;
      if (c.chance(10)) {
        // Anything: some targets may refuse it (E0370), or find that it says nothing (W0105).
        k = c.pick([-40_000, -16_000, -1, 0, 1, 100, 3000, 16_000, 30_000, 125_000, INT_MIN, INT_MAX]);
      } else if (op === '>' || op === '>=') {
        // Not above an upper bound given before, so that the bounds together still leave readings.
        k = Math.min(safe.lowUpTo, this.bounds.get(channel)?.hi ?? Infinity) - c.pick([0, 1, 10, 250, 1000, 3000]) - (op === '>' ? 1 : 0);
        this.bounds.set(channel, { lo: k, hi: this.bounds.get(channel)?.hi ?? Infinity });
      } else if (op === '<' || op === '<=') {
        k = Math.max(safe.highFrom, this.bounds.get(channel)?.lo ?? -Infinity) + c.pick([0, 1, 10, 250, 1000, 3000]) + (op === '<' ? 1 : 0);
        this.bounds.set(channel, { lo: this.bounds.get(channel)?.lo ?? -Infinity, hi: k });
      } else if (safe.highFrom <= safe.lowUpTo && !this.bounds.has(channel)) {
        k = safe.highFrom + c.below(safe.lowUpTo - safe.highFrom + 1);
      } else {
        op = '>=';
        k = safe.lowUpTo;
      }
      this.sensors.add(channel);
      if ((op === '>' && k >= 0) || (op === '>=' && k > 0) || (op === '==' && k !== 0)) this.nonzeroSensors.add(channel);
      parts.push(c.chance(25) ? `${intText(k, c)} ${flip(op)} sensor(${channel})` : `sensor(${channel}) ${op} ${intText(k, c)}`);
    }
    return parts.join(' && ');
  }

  /** Assumptions the artifact checks: relations between inputs, `!=`, `||`, pins and states. */
  private requiresExpr(global: Var[]): string {
    const c = this.c;
    const parts: string[] = [];
    const n = 1 + c.below(2);
    const states = global.filter((v) => v.kind === 'state' && v.type === 'int');
    // One part that is not a bound on a channel, so that the line is checked in the artifact.
    const checked = c.below(n);
    for (let i = 0; i < n; i++) {
      if (i === checked && c.chance(60)) {
        const a = c.pick(CHANNELS);
        const b = c.pick(CHANNELS);
        this.sensors.add(a);
        const form = c.below(4);
        if (form === 0 && states.length > 0) parts.push(`${c.pick(states).name} ${c.pick(['<', '>=', '!='])} sensor(${a}) + ${c.below(100)}`);
        else if (form === 1) parts.push(`(sensor(${a}) < ${intText(c.pick([0, 100, 3000]), c)} || sensor(${a}) > ${intText(c.pick([1000, 16_000]), c)})`);
        else {
          this.sensors.add(b);
          parts.push(`sensor(${a}) ${c.pick(['<', '<=', '>', '!='])} sensor(${b})`);
        }
        continue;
      }
      if (c.chance(20) || i === checked) {
        const pin = c.pick(INPUT_PINS);
        this.inputs.add(pin);
        parts.push(`gpio(${pin}) == ${c.below(2)}`);
        continue;
      }
      const ch = c.pick(CHANNELS);
      this.sensors.add(ch);
      const form = c.below(6);
      if (form === 0) {
        parts.push(`sensor(${ch}) != 0`);
        this.nonzeroSensors.add(ch);
      } else if (form === 1) {
        parts.push(c.chance(50) ? `sensor(${ch}) > 0` : `sensor(${ch}) >= 1`);
        this.nonzeroSensors.add(ch);
      } else {
        // Mostly assumptions that usually hold (the range edges), sometimes ones that often fail; `!=` keeps the
        // line one the artifact checks.
        const k = c.pick([-40_000, -16_000, -1, 0, 1, 100, 3000, 3300, 16_000, 30_000, 125_000, INT_MIN, INT_MAX]);
        if (c.chance(70)) {
          parts.push(c.pick([`sensor(${ch}) >= ${intText(c.pick([-40_000, INT_MIN, -16_000]), c)}`,
            `sensor(${ch}) <= ${intText(c.pick([125_000, INT_MAX, 110_000]), c)}`, `sensor(${ch}) != ${intText(k, c)}`,
            `${intText(c.pick([-40_000, INT_MIN]), c)} < sensor(${ch})`]));
        } else {
          const op = c.pick(['<', '<=', '>', '>=', '==', '!=']);
          parts.push(c.chance(30) ? `${intText(k, c)} ${op} sensor(${ch})` : `sensor(${ch}) ${op} ${intText(k, c)}`);
        }
      }
    }
    return parts.join(' && ');
  }

  private fnSignature(): { sig: FnSig; params: Var[] } {
    const c = this.c;
    const sig: FnSig = { name: this.fresh('f'), params: [], result: this.type() };
    const nParams = c.below(4);
    const params: Var[] = [];
    for (let i = 0; i < nParams; i++) {
      const t = this.type();
      sig.params.push(t);
      params.push({ name: this.fresh('p'), type: t, kind: 'param', mutable: false, nonzero: false });
    }
    return { sig, params };
  }

  /** The declaration of fns[index], which may call fns[0..index). */
  private fnBody(sig: FnSig, params: Var[], index: number, global: Var[]): string {
    const c = this.c;
    const ctx: Ctx = {
      where: 'fn', vars: [...global.filter((v) => v.kind === 'const'), ...params], nonzero: new Set(), loops: [],
      fnLimit: index, blockDepth: 0, loopDepth: 0, result: sig.result,
    };
    const start = ctx.vars.length;
    const body = this.block(ctx, c.below(3), false);
    const declared = ctx.vars.slice(start).filter((v) => v.kind === 'local');
    // End every path with a return: a plain `return`, or an if/else whose branches both return.
    if (c.chance(30)) {
      const cond = this.expr('bool', ctx, 2);
      const a = this.block(child(ctx), c.below(2), false);
      const b = this.block(child(ctx), c.below(2), false);
      body.push(`if ${cond} {`, ...indent([...a, `return ${this.returnValue(ctx, declared)}`]),
        `} else {`, ...indent([...b, `return ${this.returnValue(ctx, declared)}`]), `}`);
    } else {
      body.push(`return ${this.returnValue(ctx, declared)}`);
    }
    this.feature('fn');
    const paramText = params.map((p) => `${p.name}: ${p.type}`).join(', ');
    return [`fn ${sig.name}(${paramText}) -> ${sig.result} {`, ...indent(body), `}`].join('\n');
  }

  // ---- statements ----------------------------------------------------------------------------------------------

  /**
   * Up to `n` statements; in `on tick` (or a function) the block may end with a `return`. `top` marks the tick's
   * own body, where a final `return` is common.
   */
  private block(ctx: Ctx, n: number, top: boolean): string[] {
    const c = this.c;
    const start = ctx.vars.length;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(...this.statement(ctx));
    // Values computed in this block should reach an output, or the optimizer deletes them untested.
    const declared = ctx.vars.slice(start).filter((v) => v.kind === 'local');
    if (declared.length && c.chance(top ? 90 : 70)) out.push(...this.sink(ctx, declared, start));
    if ((top && c.chance(60)) || (!top && ctx.blockDepth > 0 && c.chance(12))) {
      out.push(`return ${this.returnValue(ctx, declared)}`);
      this.feature(top ? 'return' : 'early-return');
    }
    return out;
  }

  /** A statement that passes one of `declared` on: to a pin, a state or an outer `var`. */
  private sink(ctx: Ctx, declared: Var[], start: number): string[] {
    const c = this.c;
    const v = c.pick(declared);
    const outer = ctx.vars.slice(0, start).filter((x) => x.mutable && (x.kind === 'local' || ctx.where === 'tick'));
    if (ctx.where === 'tick' && (!outer.length || c.chance(50))) {
      this.feature('gpio-write');
      return [`gpio(${this.outputPin(ctx)}) = ${this.convert(v, c.chance(50) ? 'bool' : 'int', ctx)}`];
    }
    if (!outer.length) return [];
    const target = c.pick(outer);
    if (target.kind === 'state') this.feature('state-assign');
    const value = this.convert(v, target.type, ctx);
    if (target.shape) return [`${target.name} = ${this.shaped(target, value)}`];
    if (target.type === 'int' && c.chance(50)) return [`${target.name} = (${target.name} ${c.pick(['+', '^', '-', '*'])} ${value})`];
    return [`${target.name} = ${value}`];
  }

  /** An int value forced into a shaped state's shape, in a way the checker's ranges can follow. */
  private shaped(v: Var, value: string): string {
    const c = this.c;
    switch (v.shape) {
      case 'bit': return c.pick([`(${value} & 1)`, `clamp(${value}, 0, 1)`, `int(${value} > 0)`, `(if ${value} < 0 then 1 else 0)`]);
      case 'nonneg': return c.pick([`(${value} & 0xFFFF)`, `clamp(${value}, 0, 1000)`, `(${value} & 7)`, `max(${value}, 0)`]);
      default: return c.pick([`max(${value}, 1)`, `((${value} & 255) + 1)`, `clamp(${value}, 1, 100)`]);
    }
  }

  /** `v` as a value of type `to`, sometimes combined with another expression. */
  private convert(v: Var, to: Ty, ctx: Ctx): string {
    const c = this.c;
    if (v.type === to) {
      if (to === 'int' && c.chance(40)) return `(${v.name} ${c.pick(['+', '-', '^', '&', '|', '*'])} ${this.intExpr(ctx, 1)})`;
      if (to === 'bool' && c.chance(30)) return `(${v.name} ${c.pick(['&&', '||', '!=', '=='])} ${this.boolExpr(ctx, 1)})`;
      return v.name;
    }
    if (to === 'int') return `int(${v.name})`;
    if (to === 'float') return `float(${v.name})`;
    if (v.type === 'int') return c.chance(50) ? `bool(${v.name})` : `(${v.name} ${c.pick(['<', '>', '>=', '!='])} ${this.intExpr(ctx, 1)})`;
    return c.chance(50) ? `bool(${v.name})` : `(${v.name} ${c.pick(['<', '>', '>=', '!='])} ${this.floatExpr(ctx, 1)})`;
  }

  private returnValue(ctx: Ctx, declared: Var[]): string {
    const c = this.c;
    if (ctx.where === 'tick' && c.chance(25)) {
      this.feature('now');
      const form = c.below(4);
      return form < 3 ? ['now', '(now & 1023)', '(now - 1)'][form] : `(${this.expr('int', ctx, 1)} + now)`;
    }
    if (declared.length && c.chance(60)) return this.convert(c.pick(declared), ctx.result, ctx);
    return this.expr(ctx.result, ctx, this.o.maxExprDepth);
  }

  private statement(ctx: Ctx): string[] {
    const c = this.c;
    const inTick = ctx.where === 'tick';
    const nested = ctx.blockDepth < 3;
    const loopOk = nested && ctx.loopDepth < 2;
    const assignable = ctx.vars.filter((v) => v.mutable && (v.kind === 'local' || inTick));
    const narrowable = this.narrowable(ctx);
    const top = ctx.blockDepth === 0;
    const w = [
      top ? 4 : 2, // let
      top ? 2 : 1, // var
      assignable.length ? 5 : 0, // assignment
      inTick ? 4 : 0, // gpio write
      nested ? 3 : 0, // if
      nested && narrowable.length ? 2 : 0, // narrowing if
      loopOk ? Math.round(2 * this.o.loops) : 0, // for
      loopOk ? Math.round(1 * this.o.loops) : 0, // repeat
    ];
    switch (c.weighted(w)) {
      case 0:
      case 1: {
        const mutable = c.below(3) === 0;
        const t = this.type();
        let nonzero = false;
        let init: string;
        if (!mutable && t === 'int' && c.chance(30)) {
          init = this.nonzeroInt(ctx, 2);
          nonzero = true;
        } else if (!mutable && t === 'float' && c.chance(20)) {
          init = floatText(Math.fround(c.pick(NONZERO_FLOATS)));
          nonzero = true;
        } else {
          init = this.expr(t, ctx, this.o.maxExprDepth);
        }
        const v: Var = { name: this.fresh(mutable ? 'w' : 'v'), type: t, kind: 'local', mutable, nonzero };
        ctx.vars.push(v);
        return [`${mutable ? 'var' : 'let'} ${v.name} = ${init}`];
      }
      case 2: {
        const v = c.pick(assignable);
        if (v.kind === 'state') this.feature('state-assign');
        if (v.shape) return [`${v.name} = ${this.shaped(v, c.chance(50) ? `(${v.name} + ${this.intExpr(ctx, 1)})` : this.intExpr(ctx, 2))}`];
        // Often an update of the old value: accumulators, counters, toggles.
        if (c.chance(40)) {
          if (v.type === 'int') return [`${v.name} = (${v.name} ${c.pick(['+', '-', '*', '^', '|', '&', '<<', '>>'])} ${this.expr('int', ctx, 2)})`];
          if (v.type === 'bool') return [`${v.name} = (!${v.name})`];
          return [`${v.name} = (${v.name} ${c.pick(['+', '-', '*'])} ${this.expr('float', ctx, 2)})`];
        }
        return [`${v.name} = ${this.expr(v.type, ctx, this.o.maxExprDepth)}`];
      }
      case 3: {
        const pin = this.outputPin(ctx);
        const value = this.expr(c.chance(50) ? 'bool' : 'int', ctx, this.o.maxExprDepth);
        this.feature('gpio-write');
        return [`gpio(${pin}) = ${value}`];
      }
      case 4:
        return this.ifStatement(ctx);
      case 5:
        return this.narrowingIf(ctx, narrowable);
      case 6:
        return this.forLoop(ctx);
      default: {
        const n = c.pick([2, 0, 1, 3, 4, 8, 16, 17]);
        const k = ctx.vars.find((v) => v.kind === 'const' && v.type === 'int' && v.lo === n);
        const text = k && c.chance(50) ? k.name : String(n);
        const body = this.block(child(ctx, { loopDepth: ctx.loopDepth + 1 }), 1 + c.below(2), false);
        this.feature('repeat');
        return [`repeat ${text} {`, ...indent(body), `}`];
      }
    }
  }

  private ifStatement(ctx: Ctx): string[] {
    const c = this.c;
    const out = [`if ${this.expr('bool', ctx, 2)} {`, ...indent(this.block(child(ctx), 1 + c.below(2), false))];
    if (c.chance(30)) {
      out.push(`} else if ${this.expr('bool', ctx, 2)} {`, ...indent(this.block(child(ctx), 1 + c.below(2), false)));
      this.feature('else-if');
    }
    if (c.chance(40)) {
      // `else` may also start the line after the closing brace.
      if (c.chance(20)) out.push('}', 'else {');
      else out.push('} else {');
      out.push(...indent(this.block(child(ctx), 1 + c.below(2), false)));
    }
    out.push('}');
    this.feature('if');
    return out;
  }

  /** Names whose range an `if` can narrow: immutable int locals, params, loop variables, constant sensor reads. */
  private narrowable(ctx: Ctx): { text: string; key: string }[] {
    const out = ctx.vars
      .filter((v) => v.type !== 'bool' && (v.kind === 'param' || v.kind === 'loop' || (v.kind === 'local' && !v.mutable)))
      .map((v) => ({ text: v.name, key: v.name }));
    if (ctx.where === 'tick') for (const ch of [0, 1, 5]) out.push({ text: `sensor(${ch})`, key: `sensor:${ch}` });
    return out;
  }

  private useNarrowed(n: { text: string; key: string }): void {
    if (n.key.startsWith('sensor:')) this.sensors.add(Number(n.key.slice(7)));
  }

  private isFloatName(ctx: Ctx, key: string): boolean {
    return ctx.vars.some((v) => v.name === key && v.type === 'float');
  }

  private narrowingIf(ctx: Ctx, narrowable: { text: string; key: string }[]): string[] {
    const c = this.c;
    const n = c.pick(narrowable);
    this.useNarrowed(n);
    const zero = this.isFloatName(ctx, n.key) ? '0.0' : '0';
    const inside = child(ctx);
    inside.nonzero.add(n.key);
    this.feature('narrowing');
    const form = c.below(3);
    if (form === 0) return [`if ${n.text} != ${zero} {`, ...indent(this.block(inside, 1 + c.below(2), false)), `}`];
    if (form === 1) return [`if !(${n.text} == ${zero}) {`, ...indent(this.block(inside, 1 + c.below(2), false)), `}`];
    return [`if ${n.text} == ${zero} {`, ...indent(this.block(child(ctx), 1 + c.below(2), false)),
      `} else {`, ...indent(this.block(inside, 1 + c.below(2), false)), `}`];
  }

  private forLoop(ctx: Ctx): string[] {
    const c = this.c;
    // Small loops (io picks), odd bounds, and trip counts around the unroll limit (16) and the targets' trip limits.
    const kinds: [number, number][] = [
      [0, 3], [0, 1], [1, 3], [4, 7], [0, 7], [2, 2], [-3, 0], [-1, 1], [5, 3],
      [2147483645, 2147483647], [-2147483648, -2147483646], [10, 12], [0, 15], [1, 16], [0, 31], [-32, 31],
    ];
    const [from, to] = kinds[c.weighted([8, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1])];
    const v: Var = {
      name: this.fresh('i'), type: 'int', kind: 'loop', mutable: false,
      nonzero: from <= to ? from > 0 || to < 0 : false, lo: Math.min(from, to), hi: Math.max(from, to),
    };
    const bound = (x: number) => {
      const k = ctx.vars.find((q) => q.kind === 'const' && q.type === 'int' && q.lo === x);
      if (k && c.chance(50)) return k.name;
      if (x >= 1 && x <= 7 && c.chance(15)) return `(${x - 1} + 1)`;
      return intText(x, c);
    };
    const inner = child(ctx, { loopDepth: ctx.loopDepth + 1 });
    inner.vars.push(v);
    if (from <= to) inner.loops = [...ctx.loops, v];
    const body = this.block(inner, 1 + c.below(3), false);
    this.feature(from > to ? 'for-empty' : 'for');
    return [`for ${v.name} in ${bound(from)}..${bound(to)} {`, ...indent(body), `}`];
  }

  /**
   * A pin or channel in the window [lo, hi], picked by an enclosing loop variable (`i`, `i + 4`, `7 - i`) when
   * one fits, else a constant. Declares every value it can take.
   */
  private picked(ctx: Ctx, window: readonly number[], declare: Set<number>, feature: string): string {
    const c = this.c;
    const lo = window[0];
    const hi = window[window.length - 1];
    const loops = ctx.where === 'tick' ? ctx.loops.filter((v) => v.hi! - v.lo! <= hi - lo) : [];
    if (loops.length && c.chance(50)) {
      const v = c.pick(loops);
      const a = v.lo!;
      const b = v.hi!;
      const down = c.chance(25);
      // up: value = v + k with k in [lo - a, hi - b]; down: value = k - v with k in [lo + b, hi + a]
      const kLo = down ? lo + b : lo - a;
      const kHi = down ? hi + a : hi - b;
      const k = kLo + c.below(kHi - kLo + 1);
      if (k >= INT_MIN && k <= INT_MAX) {
        for (let x = a; x <= b; x++) declare.add(down ? k - x : x + k);
        this.feature(feature);
        if (down) return `(${intText(k, c)} - ${v.name})`;
        if (k === 0) return v.name;
        return `(${v.name} + ${intText(k, c)})`;
      }
    }
    const x = c.pick(window);
    declare.add(x);
    const k = ctx.vars.find((q) => q.kind === 'const' && q.type === 'int' && q.lo === x);
    if (k && c.chance(50)) return k.name;
    return c.chance(10) ? `(${x} + 0)` : String(x);
  }

  private outputPin(ctx: Ctx): string {
    return this.picked(ctx, OUTPUT_PINS, this.outputs, 'loop-pin-write');
  }

  // ---- expressions ---------------------------------------------------------------------------------------------

  expr(t: Ty, ctx: Ctx, depth: number): string {
    if (t === 'float') this.noteFloat();
    switch (t) {
      case 'int': return this.intExpr(ctx, depth);
      case 'bool': return this.boolExpr(ctx, depth);
      case 'float': return this.floatExpr(ctx, depth);
    }
  }

  private varsOf(ctx: Ctx, t: Ty): Var[] {
    return ctx.vars.filter((v) => v.type === t);
  }

  private callable(ctx: Ctx, t: Ty): FnSig[] {
    return this.fns.slice(0, ctx.fnLimit).filter((f) => f.result === t);
  }

  private call(f: FnSig, ctx: Ctx, depth: number): string {
    this.feature('fn-call');
    return `${f.name}(${f.params.map((p) => this.expr(p, ctx, depth)).join(', ')})`;
  }

  private intLeaf(ctx: Ctx): string {
    const c = this.c;
    const inTick = ctx.where === 'tick';
    const vars = this.varsOf(ctx, 'int');
    switch (c.weighted([3, vars.length ? 5 : 0, inTick ? 4 : 0, inTick ? 1 : 0, inTick ? 1 : 0])) {
      case 0: return this.literal('int');
      case 1: return c.pick(vars).name;
      case 2:
        this.feature('sensor');
        return `sensor(${this.picked(ctx, CHANNELS, this.sensors, 'loop-sensor')})`;
      case 3:
        this.feature('gpio-read');
        return `gpio(${this.picked(ctx, INPUT_PINS, this.inputs, 'loop-pin-read')})`;
      default:
        this.feature('now');
        return 'now';
    }
  }

  private intExpr(ctx: Ctx, depth: number): string {
    const c = this.c;
    if (depth <= 0) return this.intLeaf(ctx);
    const d = depth - 1;
    const fns = this.callable(ctx, 'int');
    const narrowable = this.narrowable(ctx).filter((n) => !this.isFloatName(ctx, n.key));
    const w = [
      6, // leaf
      2, // unary
      5, // + - *
      3, // & | ^
      2, // shifts
      3, // / % with a provably nonzero divisor
      2, // div()
      2, // min / max
      1, // abs
      1, // clamp
      2, // int(...)
      1, // if then else
      fns.length ? 4 : 0,
      narrowable.length ? 1 : 0, // if d != 0 then a / d else b
      2, // identities an optimizer may (or must not) simplify
    ];
    switch (c.weighted(w)) {
      case 0: return this.intLeaf(ctx);
      case 14: return this.intIdentity(ctx, d);
      case 1: return `(${c.pick(['-', '~'])}${this.intExpr(ctx, d)})`;
      case 2: return `(${this.intExpr(ctx, d)} ${c.pick(['+', '-', '*'])} ${this.intExpr(ctx, d)})`;
      case 3: return `(${this.intExpr(ctx, d)} ${c.pick(['&', '|', '^'])} ${this.intExpr(ctx, d)})`;
      case 4: {
        this.feature('shift');
        const count = c.chance(60) ? intText(c.pick([0, 1, 4, 31, 32, 33, 63, -1, INT_MIN, 16]), c) : this.intExpr(ctx, d);
        return `(${this.intExpr(ctx, d)} ${c.pick(['<<', '>>'])} ${count})`;
      }
      case 5: {
        const op = c.pick(['/', '%']);
        this.feature(op === '/' ? 'div-op' : 'mod-op');
        return `(${this.intExpr(ctx, d)} ${op} ${this.nonzeroInt(ctx, d)})`;
      }
      case 6: {
        this.feature('div-builtin');
        const divisor = c.chance(30) ? c.pick(['0', '(-1)', '1']) : this.intExpr(ctx, d);
        return `div(${this.intExpr(ctx, d)}, ${divisor}, ${this.intExpr(ctx, d)})`;
      }
      case 7:
        this.feature('min-max');
        return `${c.pick(['min', 'max'])}(${this.intExpr(ctx, d)}, ${this.intExpr(ctx, d)})`;
      case 8:
        this.feature('abs');
        return `abs(${this.intExpr(ctx, d)})`;
      case 9:
        this.feature('clamp');
        return `clamp(${this.intExpr(ctx, d)}, ${this.intExpr(ctx, d)}, ${this.intExpr(ctx, d)})`;
      case 10: {
        const from = this.o.float && c.chance(70) ? 'float' : 'bool';
        this.feature(from === 'float' ? 'int-of-float' : 'int-of-bool');
        return `int(${this.expr(from, ctx, d)})`;
      }
      case 11:
        this.feature('cond');
        return `(if ${this.boolExpr(ctx, d)} then ${this.intExpr(ctx, d)} else ${this.intExpr(ctx, d)})`;
      case 12:
        return this.call(c.pick(fns), ctx, d);
      default: {
        // The condition narrows the divisor: `if d != 0 then a / d else b`.
        const n = c.pick(narrowable);
        this.useNarrowed(n);
        this.feature('narrowing');
        const q = `(${this.intExpr(ctx, d)} ${c.pick(['/', '%'])} ${n.text})`;
        return c.chance(50)
          ? `(if ${n.text} != 0 then ${q} else ${this.intExpr(ctx, d)})`
          : `(if ${n.text} == 0 then ${this.intExpr(ctx, d)} else ${q})`;
      }
    }
  }

  /**
   * The same subexpression twice, in identities that hold (`x - x`, `(x << 24) >> 24` is a sign extension) or that
   * only look like they hold under wrapping arithmetic (`(x + 1) - 1` does hold, `(x * 2) / 2` does not).
   */
  private intIdentity(ctx: Ctx, d: number): string {
    const c = this.c;
    this.feature('identity');
    // Templates with $ for the repeated subexpression; it is generated only for the chosen one.
    const forms = [
      '($ - $)', '($ ^ $)', '($ * (-1))', '($ / (-1))', '(($ << 24) >> 24)', '(($ << 16) >> 16)', '(($ >> 31) >> 1)',
      '(($ + 1) - 1)', '(0 - $)', '($ & (-1))', '($ | 0)', '(abs($) - abs($))', 'int($ < $)', 'int(($ + 1) > $)',
      'int(abs($) >= 0)', 'min($, $)', 'clamp($, $, $)', '(($ * 2) / 2)', '((($ % 2) + 2) % 2)', '(($ >> 1) << 1)',
      '(~(~$))', '(-(-$))', 'div($, $, 7)', '(($ << 32) - $)', 'int($ - 1 < $)', '($ * 65536 / 65536)',
      ...(this.o.float ? ['int(float($))', 'int(float($) + 0.5)', 'int(float($) * 1.0)'] : []),
    ];
    const form = c.pick(forms);
    if (form.includes('float')) this.noteFloat();
    const e = this.intExpr(ctx, d);
    return form.replaceAll('$', e);
  }

  /** Float identities that -0.0, NaN, infinities or rounding break: an optimizer must not apply them. */
  private floatIdentity(ctx: Ctx, d: number): string {
    const c = this.c;
    this.feature('identity');
    const forms = [
      '($ - $)', '($ + 0.0)', '($ - 0.0)', '($ * 1.0)', '($ * 0.0)', '(0.0 - $)', '(-(-$))', '($ / 1.0)', '($ * (-1.0))',
      'min($, $)', 'max($, (-$))', '(abs($) - abs($))', 'float(int($))', '($ * 2.0 * 0.5)', '($ + 1.0 - 1.0)',
      '($ * 3.0 / 3.0)', '((-0.0) + $)', '((-0.0) - $)',
    ];
    const form = c.pick(forms);
    return form.replaceAll('$', this.floatExpr(ctx, d));
  }

  /** Comparisons that NaN and wrapping break: `!(a < b)` is not `a >= b` for floats, `x + 1 > x` fails at INT_MAX. */
  private boolIdentity(ctx: Ctx, d: number): string {
    const c = this.c;
    this.feature('identity');
    const forms: (() => string)[] = [
      () => '(($ + 1) > $)', () => '(abs($) >= 0)', () => '($ < (-2147483648))', () => '($ <= 2147483647)',
      () => `(($ - ${this.intExpr(ctx, d)}) < 0)`, () => '(-$ == $)', () => '(($ * 2) == ($ + $))',
    ];
    const boolForms = ['((!$) == $)', '($ && (!$))', '($ || (!$))', '($ != $)'];
    const floatForms: (() => string)[] = [
      () => '($ == $)', () => '($ != $)', () => `(!($ < ${this.floatExpr(ctx, d)}))`, () => `(!($ >= ${this.floatExpr(ctx, d)}))`,
      () => '($ <= $)', () => `(!($ == ${this.floatExpr(ctx, d)}))`, () => `(($ - ${this.floatExpr(ctx, d)}) == 0.0)`,
    ];
    const kind = c.weighted([forms.length, boolForms.length, this.o.float ? floatForms.length + 1 : 0]);
    if (kind === 0) {
      const form = c.pick(forms)();
      return form.replaceAll('$', this.intExpr(ctx, d));
    }
    if (kind === 1) return c.pick(boolForms).replaceAll('$', this.boolExpr(ctx, d));
    if (c.below(floatForms.length + 1) === floatForms.length) {
      const e = this.intExpr(ctx, d);
      this.noteFloat();
      return `(float(${e}) == float(${e} + 1))`;
    }
    const form = c.pick(floatForms)();
    return form.replaceAll('$', this.floatExpr(ctx, d));
  }

  /**
   * `&&` and `||` whose right side is compiled knowing the left side's outcome: when `x > 1` is false, x is in
   * [0, 1] (given x >= 0), so `x == 1`, `x > 0` and `bool(x)` may compile to plain x, and abs(x) to x. Right when the
   * right side runs only after the left side; a compiler that evaluates it eagerly must not let it leak.
   */
  private factSensitive(ctx: Ctx, n: { text: string; key: string }): string {
    const c = this.c;
    this.useNarrowed(n);
    this.feature('fact-sensitive');
    const v = n.text;
    const bitUse = () => c.pick([`(${v} == 1)`, `(${v} != 0)`, `(${v} > 0)`, `(${v} >= 1)`, `bool(${v})`, `(1 == ${v})`,
      `(${v} == 0)`, `(${v} < 1)`, `(abs(${v}) == ${v})`, `(abs(${v}) > 0)`]);
    switch (c.below(6)) {
      case 0: return `(((${v} < 0) || (${v} > 1)) || ${bitUse()})`;
      case 1: return `((!((${v} >= 0) && (${v} <= 1))) || ${bitUse()})`;
      case 2: return `(((${v} >= 0) && (${v} <= 1)) && ${bitUse()})`;
      case 3: return `(((${v} > 1) || (${v} < 0)) || (${bitUse()} != ${this.boolExpr(ctx, 0)}))`;
      case 4: return `((${v} < 0) || (abs(${v}) ${c.pick(['>', '<', '=='])} ${this.intLeaf(ctx)}))`;
      default: return `((${v} >= 0) && (abs(${v}) ${c.pick(['>', '<', '=='])} ${this.intLeaf(ctx)}))`;
    }
  }

  /** An int expression whose range the checker proves excludes zero. */
  private nonzeroInt(ctx: Ctx, depth: number): string {
    const c = this.c;
    const d = Math.max(0, depth - 1);
    const names = ctx.vars.filter((v) => v.type === 'int' && (v.nonzero || ctx.nonzero.has(v.name)));
    const sensors = ctx.where === 'tick'
      ? [...this.nonzeroSensors, ...[...ctx.nonzero].filter((k) => k.startsWith('sensor:')).map((k) => Number(k.slice(7)))]
      : [];
    const loops = ctx.vars.filter((v) => v.kind === 'loop' && v.lo! <= v.hi! && v.hi! - v.lo! < 100);
    const w = [4, names.length ? 4 : 0, sensors.length ? 3 : 0, 2, 2, 1, 1, loops.length ? 2 : 0];
    switch (c.weighted(w)) {
      case 0: return intText(c.pick(NONZERO_INTS), c);
      case 1: return c.pick(names).name;
      case 2: {
        const ch = c.pick(sensors);
        this.sensors.add(ch);
        return `sensor(${ch})`;
      }
      case 3: {
        const k = 1 + c.below(1000);
        return c.chance(50) ? `max(${this.intExpr(ctx, d)}, ${k})` : `min(${this.intExpr(ctx, d)}, ${-k})`;
      }
      case 4: return `((${this.intExpr(ctx, d)} & ${c.pick([1, 3, 255, 0xFFFF])}) + ${1 + c.below(100)})`;
      case 5: {
        const lo = 1 + c.below(10);
        return c.chance(50) ? `clamp(${this.intExpr(ctx, d)}, ${lo}, ${lo + c.below(100)})` : `clamp(${this.intExpr(ctx, d)}, ${-lo - c.below(100)}, ${-lo})`;
      }
      case 6: return `(if ${this.boolExpr(ctx, d)} then ${this.nonzeroInt(ctx, d)} else ${this.nonzeroInt(ctx, d)})`;
      default: {
        // A loop variable shifted so that its whole range excludes 0 (folded differently when the loop is unrolled).
        const v = c.pick(loops);
        const k = v.lo! > 0 || v.hi! < 0 ? 0 : c.chance(50) ? 1 - v.lo! + c.below(3) : -1 - v.hi! - c.below(3);
        if (v.lo! + k < INT_MIN || v.hi! + k > INT_MAX || k < INT_MIN || k > INT_MAX) return '1';
        this.feature('loop-divisor');
        return k === 0 ? v.name : `(${v.name} + ${intText(k, c)})`;
      }
    }
  }

  private boolExpr(ctx: Ctx, depth: number): string {
    const c = this.c;
    const vars = this.varsOf(ctx, 'bool');
    if (depth <= 0) {
      if (vars.length && c.chance(50)) return c.pick(vars).name;
      if (c.chance(30)) return this.literal('bool');
      return `(${this.intLeaf(ctx)} ${c.pick(['<', '>', '==', '!=', '<=', '>='])} ${this.intLeaf(ctx)})`;
    }
    const d = depth - 1;
    const fns = this.callable(ctx, 'bool');
    const narrowable = this.narrowable(ctx).filter((n) => !this.isFloatName(ctx, n.key));
    const w = [
      3, // leaf
      6, // int comparison
      this.o.float ? 2 : 0, // float comparison
      1, // bool ==
      4, // && ||
      1, // !
      1, // bool & | ^
      2, // bool(...)
      1, // if then else
      fns.length ? 2 : 0,
      narrowable.length ? 1 : 0, // d != 0 && a / d > b
      2, // identities
      narrowable.length ? 2 : 0, // the right side of && / || compiled under the left side's facts
    ];
    switch (c.weighted(w)) {
      case 0: return this.boolExpr(ctx, 0);
      case 11: return this.boolIdentity(ctx, d);
      case 12: return this.factSensitive(ctx, c.pick(narrowable));
      case 1: return `(${this.intExpr(ctx, d)} ${c.pick(['<', '>', '==', '!=', '<=', '>='])} ${this.intExpr(ctx, d)})`;
      case 2: return `(${this.floatExpr(ctx, d)} ${c.pick(['<', '>', '==', '!=', '<=', '>='])} ${this.floatExpr(ctx, d)})`;
      case 3: return `(${this.boolExpr(ctx, d)} ${c.pick(['==', '!='])} ${this.boolExpr(ctx, d)})`;
      case 4:
        this.feature('logic');
        return `(${this.boolExpr(ctx, d)} ${c.pick(['&&', '||'])} ${this.boolExpr(ctx, d)})`;
      case 5: return `(!${this.boolExpr(ctx, d)})`;
      case 6: return `(${this.boolExpr(ctx, d)} ${c.pick(['&', '|', '^'])} ${this.boolExpr(ctx, d)})`;
      case 7: {
        const from: Ty = this.o.float && c.chance(40) ? 'float' : 'int';
        this.feature('bool-of');
        return `bool(${this.expr(from, ctx, d)})`;
      }
      case 8:
        this.feature('cond');
        return `(if ${this.boolExpr(ctx, d)} then ${this.boolExpr(ctx, d)} else ${this.boolExpr(ctx, d)})`;
      case 9: return this.call(c.pick(fns), ctx, d);
      default: {
        const n = c.pick(narrowable);
        this.useNarrowed(n);
        this.feature('short-circuit');
        const q = `(${this.intExpr(ctx, d)} ${c.pick(['/', '%'])} ${n.text})`;
        return c.chance(50)
          ? `((${n.text} != 0) && (${q} > ${this.intExpr(ctx, d)}))`
          : `((${n.text} == 0) || (${q} < ${this.intExpr(ctx, d)}))`;
      }
    }
  }

  private floatLeaf(ctx: Ctx): string {
    const c = this.c;
    const vars = this.varsOf(ctx, 'float');
    switch (c.weighted([3, vars.length ? 4 : 0, 3])) {
      case 0: return this.literal('float');
      case 1: return c.pick(vars).name;
      default:
        this.feature('float-of-int');
        return `float(${this.intLeaf(ctx)})`;
    }
  }

  private floatExpr(ctx: Ctx, depth: number): string {
    const c = this.c;
    this.noteFloat();
    if (depth <= 0) return this.floatLeaf(ctx);
    const d = depth - 1;
    const fns = this.callable(ctx, 'float');
    const nonzeroNames = ctx.vars.filter((v) => v.type === 'float' && (v.nonzero || ctx.nonzero.has(v.name)));
    const w = [5, 1, 5, 2, 2, 1, 1, 2, 1, 1, fns.length ? 4 : 0, 2, 2];
    switch (c.weighted(w)) {
      case 0: return this.floatLeaf(ctx);
      case 12: return this.floatIdentity(ctx, d);
      case 1: return `(-${this.floatExpr(ctx, d)})`;
      case 2: return `(${this.floatExpr(ctx, d)} ${c.pick(['+', '-', '*'])} ${this.floatExpr(ctx, d)})`;
      case 3: {
        this.feature('float-div');
        const divisor = nonzeroNames.length && c.chance(50) ? c.pick(nonzeroNames).name : floatText(Math.fround(c.pick(NONZERO_FLOATS)));
        return `(${this.floatExpr(ctx, d)} / ${divisor})`;
      }
      case 4:
        this.feature('div-builtin');
        return `div(${this.floatExpr(ctx, d)}, ${c.chance(30) ? c.pick(['0.0', '(-0.0)']) : this.floatExpr(ctx, d)}, ${this.floatExpr(ctx, d)})`;
      case 5:
        this.feature('min-max');
        return `${c.pick(['min', 'max'])}(${this.floatExpr(ctx, d)}, ${this.floatExpr(ctx, d)})`;
      case 6:
        this.feature('abs');
        return `abs(${this.floatExpr(ctx, d)})`;
      case 7:
        this.feature('float-of-int');
        return `float(${this.intExpr(ctx, d)})`;
      case 8:
        this.feature('clamp');
        return `clamp(${this.floatExpr(ctx, d)}, ${this.floatExpr(ctx, d)}, ${this.floatExpr(ctx, d)})`;
      case 9:
        this.feature('cond');
        return `(if ${this.boolExpr(ctx, d)} then ${this.floatExpr(ctx, d)} else ${this.floatExpr(ctx, d)})`;
      case 10: return this.call(c.pick(fns), ctx, d);
      default: {
        // Huge, infinite and NaN values: x * 1e30 overflows; inf - inf is NaN.
        this.feature('float-extreme');
        const x = `(float(${this.intLeaf(ctx)}) * ${c.pick(['1e30', '3.0e38', '1e20'])})`;
        return c.chance(50) ? `((${x} * 1e30) - (${x} * 1e30))` : `(${x} * ${c.pick(['1e30', '-1e30', '0.5'])})`;
      }
    }
  }
}

function indent(lines: string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

/** `0, 3, 5..7`: numbers sorted, runs of three or more as ranges. */
function listText(values: number[]): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j - i >= 2 ? `${sorted[i]}..${sorted[j]}` : sorted.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return parts.join(', ');
}

/** The rule that a sequence of choices describes. */
export function generateRule(choices: readonly number[], options: GeneratorOptions): GeneratedRule {
  return new RuleGenerator(new Choices(choices), options).generate();
}

/** Prints as its source text in fast-check's counterexample reports. */
export class RuleCase implements GeneratedRule {
  readonly source: string;
  readonly usesFloat: boolean;
  readonly features: string[];
  readonly choicesUsed: number;
  constructor(rule: GeneratedRule) {
    this.source = rule.source;
    this.usesFloat = rule.usesFloat;
    this.features = rule.features;
    this.choicesUsed = rule.choicesUsed;
  }
  [fc.toStringMethod](): string {
    return `rule source (${this.usesFloat ? 'float' : 'int only'}):\n${this.source}`;
  }
}

/** Random valid rules; shrinking makes them smaller. */
export function ruleArbitrary(options: GeneratorOptions, maxChoices = 1500): fc.Arbitrary<RuleCase> {
  return fc.array(fc.nat(), { maxLength: maxChoices, size: 'max' }).map((choices) => new RuleCase(generateRule(choices, options)));
}

// ---- inputs ----------------------------------------------------------------------------------------------------

/** A tick's inputs before they are fitted to a target: sensor readings are picks within each channel's range. */
export interface AbstractTick {
  now: number;
  /** One pick per channel 0..7; see sensorReading. */
  sensors: number[];
  /** Levels of INPUT_PINS (any nonzero level reads as 1). */
  pins: number[];
}

export const SENSOR_PICKS = 1 << 20;

/** The reading a pick stands for on a channel with range [lo, hi]: edges, 0 and ±1 when in range, else uniform. */
export function sensorReading(pick: number, lo: number, hi: number): number {
  const fit = (v: number) => Math.min(hi, Math.max(lo, v));
  switch (pick) {
    case 0: return lo;
    case 1: return hi;
    case 2: return fit(0);
    case 3: return fit(lo + 1);
    case 4: return fit(hi - 1);
    case 5: return fit(1);
    case 6: return fit(-1);
    default: return lo + Math.floor(((pick - 7) / (SENSOR_PICKS - 7)) * (hi - lo + 1));
  }
}

const nowArbitrary = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: INT_MIN, max: INT_MAX }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, -1, 999, 1000, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1, 2 ** 30, 86_400_000) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 100_000 }) },
);

export const tickArbitrary: fc.Arbitrary<AbstractTick> = fc.record({
  now: nowArbitrary,
  sensors: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: SENSOR_PICKS - 1 })), { minLength: 8, maxLength: 8 }),
  pins: fc.array(fc.constantFrom(0, 1, 1, 0, 2), { minLength: INPUT_PINS.length, maxLength: INPUT_PINS.length }),
});

export function ticksArbitrary(maxTicks = 6): fc.Arbitrary<AbstractTick[]> {
  return fc.array(tickArbitrary, { minLength: 1, maxLength: maxTicks });
}

/** Several independent runs of ticks, each from a freshly installed rule: more inputs per compilation. */
export function runsArbitrary(maxRuns = 4, maxTicks = 8): fc.Arbitrary<AbstractTick[][]> {
  return fc.array(ticksArbitrary(maxTicks), { minLength: 1, maxLength: maxRuns });
}

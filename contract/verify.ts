// The module verifier (device-abi.md §4.5): from the bytes alone, type-checks a rule within the ABI's subset, accepts
// only canonical counted loops, and computes the worst-case instructions per tick. The C hosts implement the same.
import { ABI_IMPORTS, RUN_EXPORT, type ImportName } from './abi.js';
import { parseWasmModule, type FuncType, type ValueType, type WasmModule } from './wasm-module.js';

/** Stable reason codes: the shared test vectors (tests/vectors/verifier/) compare these, not the messages. */
export type RefusalCode =
  | 'malformed' | 'shape' | 'types' | 'import' | 'export' | 'global' | 'float' | 'opcode' | 'type' | 'size'
  | 'recursion' | 'loop-form' | 'loop-bound' | 'claim' | 'over-claim';

export interface Refusal {
  code: RefusalCode;
  /** What is wrong and what was expected, for a person. */
  message: string;
  /** The function (index in the function index space) and the byte offset in the module, when it is about code. */
  functionIndex?: number;
  offset?: number;
}

export interface VerifyLimits {
  /** The manifest's claim: the verified bound must not exceed it. */
  claim: number;
  /** The target's maxInstructionsPerTick: the claim must not exceed it. */
  targetLimit: number;
  /** Whether the target has floating point; without it, any f32 type or instruction is refused. */
  floatingPoint: boolean;
}

export type Verdict =
  | { ok: true; bound: number; functionCosts: { index: number; cost: number }[] }
  | { ok: false; refusal: Refusal; bound?: number };

/** Sizes a C host allocates statically; compiled rules stay far below them. */
export const VERIFIER_LIMITS = { maxLocals: 256, maxOperandStack: 256, maxControlDepth: 64, maxFunctions: 256 } as const;

/** Costs saturate here, as a C host computes them in uint32 with saturating arithmetic. */
export const COST_CEILING = 0xffffffff;

const satAdd = (a: number, b: number) => Math.min(COST_CEILING, a + b);
const satMul = (a: number, b: number) => Math.min(COST_CEILING, a * b);

// ---- the opcode table ----------------------------------------------------------------------------------------

/** How an instruction's immediates are encoded. */
type Immediate = 'none' | 'blocktype' | 'label' | 'labels' | 'func' | 'local' | 'global' | 'i32' | 'f32';

type T = 'i32' | 'f32';

interface OpInfo {
  name: string;
  imm: Immediate;
  /** Operand types popped (in push order) and pushed, for the plain instructions; control and variable
   *  instructions are typed by the checker itself (`special`). */
  pops?: T[];
  pushes?: T[];
  special?: boolean;
  /** Instructions that cost 0: the structural markers `else` and `end`. Everything else costs 1. */
  cost: 0 | 1;
}

const OPS = new Map<number, OpInfo>();
const op = (code: number, name: string, imm: Immediate, pops: T[] | null, pushes: T[] = [], cost: 0 | 1 = 1) =>
  OPS.set(code, pops === null ? { name, imm, special: true, cost } : { name, imm, pops, pushes, cost });

op(0x00, 'unreachable', 'none', null);
op(0x01, 'nop', 'none', []);
op(0x02, 'block', 'blocktype', null);
op(0x03, 'loop', 'blocktype', null);
op(0x04, 'if', 'blocktype', null);
op(0x05, 'else', 'none', null, [], 0);
op(0x0b, 'end', 'none', null, [], 0);
op(0x0c, 'br', 'label', null);
op(0x0d, 'br_if', 'label', null);
op(0x0e, 'br_table', 'labels', null);
op(0x0f, 'return', 'none', null);
op(0x10, 'call', 'func', null);
op(0x1a, 'drop', 'none', null);
op(0x1b, 'select', 'none', null);
op(0x20, 'local.get', 'local', null);
op(0x21, 'local.set', 'local', null);
op(0x22, 'local.tee', 'local', null);
op(0x23, 'global.get', 'global', null);
op(0x24, 'global.set', 'global', null);
op(0x41, 'i32.const', 'i32', [], ['i32']);
op(0x43, 'f32.const', 'f32', [], ['f32']);
op(0x45, 'i32.eqz', 'none', ['i32'], ['i32']);
['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u']
  .forEach((n, i) => op(0x46 + i, `i32.${n}`, 'none', ['i32', 'i32'], ['i32']));
['eq', 'ne', 'lt', 'gt', 'le', 'ge'].forEach((n, i) => op(0x5b + i, `f32.${n}`, 'none', ['f32', 'f32'], ['i32']));
['clz', 'ctz', 'popcnt'].forEach((n, i) => op(0x67 + i, `i32.${n}`, 'none', ['i32'], ['i32']));
['add', 'sub', 'mul', 'div_s', 'div_u', 'rem_s', 'rem_u', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr']
  .forEach((n, i) => op(0x6a + i, `i32.${n}`, 'none', ['i32', 'i32'], ['i32']));
['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt'].forEach((n, i) => op(0x8b + i, `f32.${n}`, 'none', ['f32'], ['f32']));
['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'].forEach((n, i) => op(0x92 + i, `f32.${n}`, 'none', ['f32', 'f32'], ['f32']));
op(0xa8, 'i32.trunc_f32_s', 'none', ['f32'], ['i32']);
op(0xa9, 'i32.trunc_f32_u', 'none', ['f32'], ['i32']);
op(0xb2, 'f32.convert_i32_s', 'none', ['i32'], ['f32']);
op(0xb3, 'f32.convert_i32_u', 'none', ['i32'], ['f32']);
op(0xbc, 'i32.reinterpret_f32', 'none', ['f32'], ['i32']);
op(0xbe, 'f32.reinterpret_i32', 'none', ['i32'], ['f32']);

/** Names of the WebAssembly 1.0 opcodes the ABI leaves out, for the refusal message. */
function outsideSubset(code: number): string {
  if (code === 0x11) return 'call_indirect (rules have no table)';
  if (code >= 0x28 && code <= 0x40) return 'a memory instruction (rules have no linear memory)';
  if (code === 0x42 || code === 0x44) return `${code === 0x42 ? 'i64' : 'f64'}.const (rules use only i32 and f32)`;
  if ((code >= 0x50 && code <= 0x5a) || (code >= 0x79 && code <= 0x8a) || (code >= 0xac && code <= 0xb1)
    || code === 0xa7 || code === 0xb4 || code === 0xb5 || code === 0xbd) return 'an i64 instruction (rules use only i32 and f32)';
  if ((code >= 0x61 && code <= 0x66) || (code >= 0x99 && code <= 0xa6) || code === 0xaa || code === 0xab
    || (code >= 0xb6 && code <= 0xbb) || code === 0xbf) return 'an f64 instruction (rules use only i32 and f32)';
  return 'an opcode that is not part of WebAssembly 1.0';
}

const hex = (n: number) => `0x${n.toString(16)}`;

// ---- decoding ------------------------------------------------------------------------------------------------

interface Instr {
  code: number;
  offset: number;
  /** The immediate: a block type byte, label depth, index or constant. */
  imm: number;
  /** br_table: the targets, default last. */
  labels?: number[];
  /** For block, loop and if: the index of the matching end. */
  end?: number;
}

class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

function refuse(code: RefusalCode, message: string, functionIndex?: number, offset?: number): never {
  throw new Refused({ code, message, functionIndex, offset });
}

class BodyReader {
  constructor(private readonly bytes: Uint8Array, public pos: number, public end: number, private readonly fn: number) {}

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) refuse('malformed', `function ${this.fn}: the body ends in the middle of an instruction`, this.fn, this.pos);
    return this.bytes[this.pos++];
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) break;
        return result;
      }
    }
    return refuse('malformed', `function ${this.fn}: an index at offset ${hex(this.pos)} is not a valid 32-bit LEB128`, this.fn, this.pos);
  }

  i32(): number {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= 1n << shift;
        if (result < -0x80000000n || result > 0x7fffffffn) break;
        return Number(result);
      }
    }
    return refuse('malformed', `function ${this.fn}: a constant at offset ${hex(this.pos)} is not a valid 32-bit LEB128`, this.fn, this.pos);
  }

  f32(): number {
    const b = [this.byte(), this.byte(), this.byte(), this.byte()];
    return new DataView(Uint8Array.from(b).buffer).getFloat32(0, true);
  }
}

interface Body {
  functionIndex: number;
  paramCount: number;
  locals: T[];
  instrs: Instr[];
}

function valueType(t: ValueType, floatingPoint: boolean, what: string, fn?: number): T {
  if (t !== 'i32' && t !== 'f32') refuse('types', `${what} has type ${t}; rules use only i32 and f32`, fn);
  if (t === 'f32' && !floatingPoint) refuse('float', `${what} has type f32, and this target has no floating point`, fn);
  return t;
}

/** Decodes one code body into instructions, refusing opcodes outside the subset; matches block ends. */
function decodeBody(bytes: Uint8Array, m: WasmModule, bodyIndex: number, params: T[], floatingPoint: boolean): Body {
  const code = m.codes[bodyIndex];
  const fn = code.functionIndex;
  const r = new BodyReader(bytes, code.offset, bytes.length, fn);
  r.u32(); // the body size, already known
  const bodyEnd = r.pos + code.size;
  r.end = bodyEnd;
  const locals: T[] = [...params];
  const groups = r.u32();
  for (let g = 0; g < groups; g++) {
    const count = r.u32();
    const typeAt = r.pos;
    const t = r.byte();
    const type: ValueType | undefined = ({ 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' } as Record<number, ValueType>)[t];
    if (!type) refuse('types', `function ${fn}: a local at offset ${hex(typeAt)} has type byte ${hex(t)}; rules use only i32 and f32`, fn, typeAt);
    if (locals.length + count > VERIFIER_LIMITS.maxLocals) {
      refuse('size', `function ${fn} has more than ${VERIFIER_LIMITS.maxLocals} locals (parameters included)`, fn, typeAt);
    }
    const vt = valueType(type, floatingPoint, `function ${fn}: a local at offset ${hex(typeAt)}`, fn);
    for (let i = 0; i < count; i++) locals.push(vt);
  }
  const instrs: Instr[] = [];
  const open: number[] = [];
  let depth = 1;
  while (depth > 0) {
    if (r.pos >= bodyEnd) refuse('malformed', `function ${fn}: the body ends before its final end`, fn, r.pos);
    const offset = r.pos;
    const c = r.byte();
    const info = OPS.get(c);
    if (!info) {
      if (c === 0xfc || c === 0xfd || c === 0xfb || c === 0xfe || (c >= 0xc0 && c <= 0xc4) || (c >= 0x06 && c <= 0x0a)
        || (c >= 0x12 && c <= 0x19) || c === 0x1c || c === 0x1f || c === 0x25 || c === 0x26 || (c >= 0xd0 && c <= 0xd2)) {
        refuse('opcode', `function ${fn}, offset ${hex(offset)}: opcode ${hex(c)} is not WebAssembly 1.0; rules use the ABI's subset of it`, fn, offset);
      }
      refuse('opcode', `function ${fn}, offset ${hex(offset)}: opcode ${hex(c)} is ${outsideSubset(c)}`, fn, offset);
    }
    const ins: Instr = { code: c, offset, imm: 0 };
    switch (info.imm) {
      case 'blocktype': ins.imm = r.byte(); break;
      case 'label': case 'func': case 'local': case 'global': ins.imm = r.u32(); break;
      case 'labels': {
        const n = r.u32();
        if (n > code.size) refuse('malformed', `function ${fn}, offset ${hex(offset)}: br_table lists ${n} targets`, fn, offset);
        ins.labels = [];
        for (let i = 0; i <= n; i++) ins.labels.push(r.u32());
        break;
      }
      case 'i32': ins.imm = r.i32(); break;
      case 'f32': ins.imm = r.f32(); break;
      case 'none': break;
    }
    if (info.imm === 'f32' || info.pops?.includes('f32') || info.pushes?.includes('f32')) {
      if (!floatingPoint) refuse('float', `function ${fn}, offset ${hex(offset)}: ${info.name} needs floating point, which this target lacks`, fn, offset);
    }
    const index = instrs.length;
    instrs.push(ins);
    if (c === 0x02 || c === 0x03 || c === 0x04) {
      depth++;
      open.push(index);
    } else if (c === 0x0b) {
      depth--;
      const opener = open.pop();
      if (opener !== undefined) instrs[opener].end = index;
    }
  }
  if (r.pos !== bodyEnd) refuse('malformed', `function ${fn}: bytes follow the body's final end at offset ${hex(r.pos)}`, fn, r.pos);
  return { functionIndex: fn, paramCount: params.length, locals, instrs };
}

// ---- the canonical counted loop ------------------------------------------------------------------------------

const RELOPS = new Map<number, (a: number, b: number) => boolean>([
  [0x46, (a, b) => a === b], [0x47, (a, b) => a !== b],
  [0x48, (a, b) => a < b], [0x49, (a, b) => a >>> 0 < b >>> 0],
  [0x4a, (a, b) => a > b], [0x4b, (a, b) => a >>> 0 > b >>> 0],
  [0x4c, (a, b) => a <= b], [0x4d, (a, b) => a >>> 0 <= b >>> 0],
  [0x4e, (a, b) => a >= b], [0x4f, (a, b) => a >>> 0 >= b >>> 0],
]);

interface CountedLoop {
  counter: number;
  /** Instruction indices of the step's local.tee and of the back edge br_if. */
  stepAt: number;
  backEdgeAt: number;
  trips: number;
}

const FORM = 'expected the canonical counted loop (device-abi.md §4.5)';

/**
 * Checks that the loop opened at instruction `at` has the canonical form (device-abi.md §4.5) and returns its counter
 * and trip count. The loop ends with the test and the only back edge, `[local.get c | the step's local.tee c]
 * [i32.const B; <i32 comparison>] br_if 0`; the body writes c exactly once, in the step `local.get c; i32.const S;
 * i32.add|i32.sub; local.tee c` at the loop's own level; and `i32.const A; local.set c` comes right before the loop
 * (or, for a declared local that nothing writes before a loop inside no other loop, c starts at 0). The trips are
 * the smallest k >= 1 for which the test fails on c = A + k*S (wrapping); more than `maxTrips` refuses.
 */
function countedLoop(body: Body, at: number, insideLoop: boolean, maxTrips: number): CountedLoop {
  const { instrs, functionIndex: fn } = body;
  const loop = instrs[at];
  const where = `function ${fn}, loop at offset ${hex(loop.offset)}`;
  const end = loop.end!;
  const back = instrs[end - 1];
  if (back.code !== 0x0d || back.imm !== 0) {
    refuse('loop-form', `${where}: ${FORM}: its last instruction must be its only way back, \`br_if 0\`; found ${describe(back)} at offset ${hex(back.offset)}`, fn, back.offset);
  }
  let i = end - 2;
  let relop = 0; // none: br_if tests the counter against zero
  let bound = 0;
  if (RELOPS.has(instrs[i].code) && instrs[i - 1]?.code === 0x41) {
    relop = instrs[i].code;
    bound = instrs[i - 1].imm;
    i -= 2;
  }
  const tested = instrs[i];
  if (i <= at || (tested.code !== 0x20 && tested.code !== 0x22)) {
    refuse('loop-form', `${where}: ${FORM}: the back edge must test the counter: \`local.get $c\` or the step's \`local.tee $c\`, then ` +
      `optionally \`i32.const B; <i32 comparison>\`, then \`br_if 0\`; found ${describe(tested)} at offset ${hex(tested.offset)}`, fn, tested.offset);
  }
  const counter = tested.imm;
  // The step: the one write of the counter in the loop, a local.tee at the loop's own level.
  let stepAt = -1;
  let depth = 0;
  for (let k = at + 1; k < end; k++) {
    const x = instrs[k];
    if (x.code === 0x02 || x.code === 0x03 || x.code === 0x04) depth++;
    else if (x.code === 0x0b) depth--;
    else if ((x.code === 0x21 || x.code === 0x22) && x.imm === counter) {
      const isStep = x.code === 0x22 && depth === 0 && k - 3 > at && instrs[k - 3].code === 0x20 && instrs[k - 3].imm === counter
        && instrs[k - 2].code === 0x41 && (instrs[k - 1].code === 0x6a || instrs[k - 1].code === 0x6b);
      if (!isStep || stepAt >= 0) {
        refuse('loop-form', `${where}: ${FORM}: ${describe(x)} at offset ${hex(x.offset)} writes the counter (local ${counter}) a ` +
          `${stepAt >= 0 ? 'second time' : 'way that is not the step'}; the counter changes once per trip, in the step \`local.get ${counter}; ` +
          `i32.const S; i32.add (or i32.sub); local.tee ${counter}\` at the loop's own level`, fn, x.offset);
      }
      stepAt = k;
    }
  }
  if (stepAt < 0 || (tested.code === 0x22 && stepAt !== i)) {
    refuse('loop-form', `${where}: ${FORM}: the loop has no step \`local.get ${counter}; i32.const S; i32.add (or i32.sub); ` +
      `local.tee ${counter}\` at its own level`, fn, loop.offset);
  }
  let start: number;
  const init = instrs[at - 1];
  if (init?.code === 0x21 && init.imm === counter && instrs[at - 2]?.code === 0x41) {
    start = instrs[at - 2].imm;
  } else {
    const writtenBefore = instrs.slice(0, at).find((x) => (x.code === 0x21 || x.code === 0x22) && x.imm === counter);
    if (counter < body.paramCount || insideLoop || writtenBefore) {
      const why = counter < body.paramCount ? `local ${counter} is a parameter`
        : insideLoop ? 'the loop is inside another loop'
          : `local ${counter} is written before the loop, at offset ${hex(writtenBefore!.offset)}`;
      refuse('loop-form', `${where}: ${FORM}: the counter (local ${counter}) has no known start: expected \`i32.const N; local.set ${counter}\` ` +
        `immediately before the loop (it may be left out only for a declared local that starts at 0, but ${why})`, fn, loop.offset);
    }
    start = 0;
  }
  const delta = instrs[stepAt - 1].code === 0x6a ? instrs[stepAt - 2].imm : -instrs[stepAt - 2].imm;
  const test = relop ? RELOPS.get(relop)! : (c: number) => c !== 0;
  let c = start;
  for (let k = 1; k <= maxTrips; k++) {
    c = (c + delta) | 0;
    if (!test(c, bound)) return { counter, stepAt, backEdgeAt: end - 1, trips: k };
  }
  const testText = relop ? `${OPS.get(relop)!.name} ${bound}` : '!= 0';
  return refuse('loop-bound', `${where}: the counter (local ${counter}) starts at ${start}, steps by ${delta} and the loop ` +
    `repeats while \`${testText}\` holds: it does not end within ${maxTrips} trips`, fn, loop.offset);
}

function describe(ins: Instr): string {
  const info = OPS.get(ins.code)!;
  if (info.imm === 'none' || info.imm === 'blocktype') return `\`${info.name}\``;
  if (info.imm === 'labels') return `\`${info.name} ${ins.labels!.join(' ')}\``;
  return `\`${info.name} ${ins.imm}\``;
}

// ---- type checking and cost ----------------------------------------------------------------------------------

type Val = T | 'unknown';

interface Frame {
  code: number;
  /** The block's result: none or one value. */
  result: T[];
  height: number;
  unreachable: boolean;
  /** Cost of the frame's instructions so far; for an if, of the arm being read, and `thenCost` keeps the first. */
  cost: number;
  thenCost: number;
  /** Where the opener is, for messages. */
  offset: number;
  loop?: CountedLoop;
}

interface Context {
  m: WasmModule;
  types: FuncType[];
  /** Type of every function in the index space (imports first). */
  functionTypes: FuncType[];
  importCount: number;
  globals: T[];
  /** Cost of each defined function already verified (callees come first). */
  costs: Map<number, number>;
  maxTrips: number;
}

function blockResult(bt: number, fn: number, offset: number, floatingPoint: boolean): T[] {
  if (bt === 0x40) return [];
  if (bt === 0x7f) return ['i32'];
  if (bt === 0x7d) {
    if (!floatingPoint) refuse('float', `function ${fn}, offset ${hex(offset)}: a block of type f32 needs floating point, which this target lacks`, fn, offset);
    return ['f32'];
  }
  return refuse('type', `function ${fn}, offset ${hex(offset)}: block type ${hex(bt)} is not one the ABI allows (none, i32 or f32)`, fn, offset);
}

/** Type-checks one function body (the validation algorithm of the WebAssembly spec's appendix) and returns its cost. */
function checkFunction(ctx: Context, body: Body, type: FuncType, floatingPoint: boolean): number {
  const fn = body.functionIndex;
  const vals: Val[] = [];
  const frames: Frame[] = [];
  const counters: CountedLoop[] = [];
  let current!: Instr;
  const fail = (what: string): never =>
    refuse('type', `function ${fn}, offset ${hex(current.offset)}: ${describe(current)}: ${what}`, fn, current.offset);

  const push = (t: Val) => {
    vals.push(t);
    if (vals.length > VERIFIER_LIMITS.maxOperandStack) {
      refuse('size', `function ${fn}, offset ${hex(current.offset)}: the operand stack grows past ${VERIFIER_LIMITS.maxOperandStack} values`, fn, current.offset);
    }
  };
  const pop = (expect?: T): Val => {
    const frame = frames[frames.length - 1];
    if (vals.length === frame.height) {
      if (frame.unreachable) return expect ?? 'unknown';
      fail(`expected ${expect ?? 'a value'} on the stack, but the stack is empty${frames.length > 1 ? ' in this block' : ''}`);
    }
    const actual = vals.pop()!;
    if (expect && actual !== 'unknown' && actual !== expect) fail(`expected ${expect} on the stack, found ${actual}`);
    return actual;
  };
  const popAll = (ts: T[]) => { for (let i = ts.length - 1; i >= 0; i--) pop(ts[i]); };
  const unreachable = () => {
    const frame = frames[frames.length - 1];
    vals.length = frame.height;
    frame.unreachable = true;
  };
  const labelTypes = (f: Frame) => (f.code === 0x03 ? [] : f.result);
  /** The frame a branch at instruction `index` targets; only a loop's own back edge may target a loop. */
  const target = (depth: number, index: number): Frame => {
    if (depth >= frames.length) fail(`there is no enclosing block at depth ${depth}`);
    const f = frames[frames.length - 1 - depth];
    if (f.code === 0x03 && f.loop!.backEdgeAt !== index) {
      refuse('loop-form', `function ${fn}, offset ${hex(current.offset)}: ${describe(current)} jumps back to the loop at offset ` +
        `${hex(f.offset)}; a counted loop has exactly one way back, the \`br_if 0\` at its end`, fn, current.offset);
    }
    return f;
  };

  frames.push({ code: 0x02, result: [...type.results] as T[], height: 0, unreachable: false, cost: 0, thenCost: 0, offset: 0 });
  const instrs = body.instrs;
  for (let index = 0; index < instrs.length; index++) {
    const ins = instrs[index];
    current = ins;
    const info = OPS.get(ins.code)!;
    const frame = frames[frames.length - 1];
    frame.cost = satAdd(frame.cost, info.cost);
    if (!info.special) {
      popAll(info.pops!);
      for (const t of info.pushes!) push(t);
      continue;
    }
    switch (ins.code) {
      case 0x00: unreachable(); break;
      case 0x02: case 0x03: case 0x04: {
        const result = blockResult(ins.imm, fn, ins.offset, floatingPoint);
        if (ins.code === 0x04) pop('i32');
        if (frames.length >= VERIFIER_LIMITS.maxControlDepth) {
          refuse('size', `function ${fn}, offset ${hex(ins.offset)}: blocks nest deeper than ${VERIFIER_LIMITS.maxControlDepth}`, fn, ins.offset);
        }
        const f: Frame = { code: ins.code, result, height: vals.length, unreachable: false, cost: 0, thenCost: 0, offset: ins.offset };
        if (ins.code === 0x03) {
          f.loop = countedLoop(body, index, counters.length > 0, ctx.maxTrips);
          counters.push(f.loop);
        }
        frames.push(f);
        break;
      }
      case 0x05: {
        if (frame.code !== 0x04) fail('else without a matching if');
        popAll(frame.result);
        if (vals.length !== frame.height) fail('values remain on the stack at the end of the then arm');
        frame.code = 0x05;
        frame.unreachable = false;
        frame.thenCost = frame.cost;
        frame.cost = 0;
        break;
      }
      case 0x0b: {
        popAll(frame.result);
        if (vals.length !== frame.height) fail(`${vals.length - frame.height} value(s) remain on the stack at the end of the block`);
        if (frame.code === 0x04 && frame.result.length > 0) fail('an if with a result needs an else arm');
        frames.pop();
        // The opener (block, loop, if) was counted when it was read; here its contents are.
        let cost: number;
        if (frame.code === 0x04 || frame.code === 0x05) {
          cost = Math.max(frame.thenCost, frame.cost);
        } else if (frame.code === 0x03) {
          cost = satMul(frame.loop!.trips, frame.cost);
          counters.pop();
        } else {
          cost = frame.cost;
        }
        if (frames.length === 0) return cost; // the function body itself
        const parent = frames[frames.length - 1];
        parent.cost = satAdd(parent.cost, cost);
        for (const t of frame.result) push(t);
        break;
      }
      case 0x0c: {
        popAll(labelTypes(target(ins.imm, index)));
        unreachable();
        break;
      }
      case 0x0d: {
        pop('i32');
        const ts = labelTypes(target(ins.imm, index));
        popAll(ts);
        for (const t of ts) push(t);
        break;
      }
      case 0x0e: {
        pop('i32');
        const labels = ins.labels!;
        const expected = labelTypes(target(labels[labels.length - 1], index));
        for (const l of labels.slice(0, -1)) {
          const ts = labelTypes(target(l, index));
          if (ts.length !== expected.length || ts.some((t, i) => t !== expected[i])) {
            fail(`its targets expect different values (${ts.join(' ') || 'none'} and ${expected.join(' ') || 'none'})`);
          }
        }
        popAll(expected);
        unreachable();
        break;
      }
      case 0x0f: popAll(type.results as T[]); unreachable(); break;
      case 0x10: {
        const callee = ctx.functionTypes[ins.imm];
        if (!callee) fail(`there is no function ${ins.imm}`);
        popAll(callee.params as T[]);
        for (const t of callee.results as T[]) push(t);
        if (ins.imm >= ctx.importCount) {
          const cost = ctx.costs.get(ins.imm);
          if (cost === undefined) fail(`function ${ins.imm} is not verified yet`); // unreachable: callees go first
          frame.cost = satAdd(frame.cost, cost!);
        }
        break;
      }
      case 0x1a: pop(); break;
      case 0x1b: {
        pop('i32');
        const a = pop();
        const b = pop(a === 'unknown' ? undefined : a);
        push(a === 'unknown' ? b : a);
        break;
      }
      case 0x20: case 0x21: case 0x22: {
        const t = body.locals[ins.imm];
        if (!t) fail(`there is no local ${ins.imm} (the function has ${body.locals.length})`);
        if (ins.code === 0x20) {
          push(t);
        } else {
          pop(t);
          if (ins.code === 0x22) push(t);
        }
        break;
      }
      case 0x23: case 0x24: {
        const t = ctx.globals[ins.imm];
        if (!t) fail(`there is no global ${ins.imm}`);
        if (ins.code === 0x23) push(t);
        else pop(t);
        break;
      }
    }
  }
  return refuse('malformed', `function ${fn}: the body has no final end`, fn);
}

// ---- the module ----------------------------------------------------------------------------------------------

function checkModuleShape(m: WasmModule, floatingPoint: boolean): void {
  for (const s of m.sections) {
    if (s.id === 0) refuse('shape', `the module has a custom section "${s.name.slice(7)}" at offset ${hex(s.offset)}; rules carry none`, undefined, s.offset);
    if (s.id === 4 || s.id === 5 || s.id === 8 || s.id === 9 || s.id === 11 || s.id === 12 || s.id > 12) {
      refuse('shape', `the module has a ${s.name} section at offset ${hex(s.offset)}; rules have no memory, table, segments or start function`, undefined, s.offset);
    }
  }
  m.types.forEach((t, i) => {
    if (t.results.length > 1) refuse('types', `type ${i} returns ${t.results.length} values; WebAssembly 1.0 functions return at most one`);
    [...t.params, ...t.results].forEach((v) => valueType(v, floatingPoint, `type ${i}`));
  });
  const seen = new Set<string>();
  for (const imp of m.imports) {
    const full = `${imp.module}.${imp.name}`;
    const abi = ABI_IMPORTS[full as ImportName];
    if (imp.kind !== 'func' || !abi) {
      refuse('import', `the module imports ${imp.kind} "${full}"; a rule imports only the functions io.gr, io.gw and io.sr`);
    }
    if (seen.has(full)) refuse('import', `the module imports "${full}" twice`);
    seen.add(full);
    const t = m.types[imp.typeIndex];
    const same = t && t.params.length === abi.type.params.length && t.params.every((p, i) => p === abi.type.params[i])
      && t.results.length === abi.type.results.length && t.results.every((p, i) => p === abi.type.results[i]);
    if (!same) refuse('import', `the import "${full}" must have type (${abi.type.params.join(', ')}) -> ${abi.type.results[0] ?? '()'}`);
  }
  for (const g of m.globals) {
    if (!g.mutable) refuse('global', `global ${g.index} is immutable; rule state is mutable i32 or f32 globals`);
    const t = valueType(g.type, floatingPoint, `global ${g.index}`);
    if (g.init.op !== `${t}.const`) refuse('global', `global ${g.index} must be initialized with ${t}.const, not ${g.init.op}`);
  }
  m.functions.forEach((typeIndex, i) => {
    if (!m.types[typeIndex]) refuse('types', `function ${m.imports.length + i} has type ${typeIndex}, which does not exist`);
  });
  if (m.functions.length > VERIFIER_LIMITS.maxFunctions) refuse('size', `the module defines more than ${VERIFIER_LIMITS.maxFunctions} functions`);
  const run = m.exports.find((e) => e.name === RUN_EXPORT);
  if (m.exports.length !== 1 || !run || run.kind !== 'func') {
    refuse('export', `the module exports ${m.exports.map((e) => `${e.kind} "${e.name}"`).join(', ') || 'nothing'}; a rule exports exactly the function "run"`);
  }
  if (run.index < m.imports.length || run.index >= m.imports.length + m.functions.length) {
    refuse('export', `"run" is function ${run.index}, which is not a function the module defines`);
  }
  const t = m.types[m.functions[run.index - m.imports.length]];
  if (t.params.length !== 1 || t.params[0] !== 'i32' || t.results.length !== 1 || t.results[0] !== 'i32') {
    refuse('export', '"run" must have type (i32) -> i32');
  }
}

/** Defined functions in an order where every callee comes before its callers; refuses recursion. */
function calleesFirst(bodies: Body[], importCount: number, total: number): number[] {
  const order: number[] = [];
  const state = new Map<number, 'open' | 'done'>();
  const callees = (fn: number) => {
    const out: { callee: number; offset: number }[] = [];
    for (const ins of bodies[fn - importCount].instrs) {
      if (ins.code === 0x10) {
        if (ins.imm >= total) refuse('type', `function ${fn}, offset ${hex(ins.offset)}: \`call ${ins.imm}\`: there is no function ${ins.imm}`, fn, ins.offset);
        if (ins.imm >= importCount) out.push({ callee: ins.imm, offset: ins.offset });
      }
    }
    return out;
  };
  // Iterative depth-first search: a C host has no recursion budget to spare.
  for (let root = importCount; root < total; root++) {
    if (state.has(root)) continue;
    const stack: { fn: number; next: { callee: number; offset: number }[]; i: number }[] = [{ fn: root, next: callees(root), i: 0 }];
    state.set(root, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.i < top.next.length) {
        const { callee, offset } = top.next[top.i++];
        if (state.get(callee) === 'open') {
          const cycle = [...stack.slice(stack.findIndex((s) => s.fn === callee)).map((s) => s.fn), callee];
          refuse('recursion', `function ${top.fn}, offset ${hex(offset)}: the call to function ${callee} is recursive ` +
            `(${cycle.join(' -> ')}); recursion has no bound`, top.fn, offset);
        }
        if (!state.has(callee)) {
          state.set(callee, 'open');
          stack.push({ fn: callee, next: callees(callee), i: 0 });
        }
      } else {
        state.set(top.fn, 'done');
        order.push(top.fn);
        stack.pop();
      }
    }
  }
  return order;
}

/** Verifies a module from its bytes alone; never throws. */
export function verifyModule(bytes: Uint8Array, limits: VerifyLimits): Verdict {
  try {
    return verifyOrThrow(bytes, limits);
  } catch (e) {
    if (e instanceof Refused) return { ok: false, refusal: e.refusal };
    throw e;
  }
}

function verifyOrThrow(bytes: Uint8Array, limits: VerifyLimits): Verdict {
  if (!(limits.claim <= limits.targetLimit)) {
    refuse('claim', `the manifest claims up to ${limits.claim} instructions per tick; the target allows at most ${limits.targetLimit}`);
  }
  const parsed = parseWasmModule(bytes);
  if (!parsed.ok) refuse('malformed', `the module cannot be read: ${parsed.error}`);
  const m = parsed.module;
  const fp = limits.floatingPoint;
  checkModuleShape(m, fp);
  const importCount = m.imports.length;
  const functionTypes = [...m.imports.map((i) => m.types[(i as { typeIndex: number }).typeIndex]), ...m.functions.map((t) => m.types[t])];
  const bodies = m.codes.map((_, i) => decodeBody(bytes, m, i, functionTypes[importCount + i].params as T[], fp));
  const ctx: Context = {
    m, types: m.types, functionTypes, importCount, globals: m.globals.map((g) => g.type as T), costs: new Map(),
    maxTrips: limits.targetLimit,
  };
  for (const fn of calleesFirst(bodies, importCount, functionTypes.length)) {
    ctx.costs.set(fn, checkFunction(ctx, bodies[fn - importCount], functionTypes[fn], fp));
  }
  const run = m.exports[0].index;
  const bound = ctx.costs.get(run)!;
  const functionCosts = [...ctx.costs].map(([index, cost]) => ({ index, cost })).sort((a, b) => a.index - b.index);
  if (bound > limits.claim) {
    return {
      ok: false, bound,
      refusal: { code: 'over-claim', message: `one tick may execute ${bound} instructions, more than the ${limits.claim} the manifest claims` +
        (bound > limits.targetLimit ? ` and the ${limits.targetLimit} the target allows` : '') },
    };
  }
  return { ok: true, bound, functionCosts };
}

/** Where each instruction of each function body starts, for tools that rewrite code (the tests' instrumentation). */
export interface DecodedFunction {
  functionIndex: number;
  /** Offset of the body's size field, and of its first instruction (after the locals). */
  offset: number;
  codeStart: number;
  end: number;
  instructions: { opcode: number; offset: number }[];
}

/** Decodes every body of a module the verifier accepts; throws when it cannot. */
export function decodeFunctions(bytes: Uint8Array): DecodedFunction[] {
  const parsed = parseWasmModule(bytes);
  if (!parsed.ok) throw new Error(parsed.error);
  const m = parsed.module;
  const types = m.functions.map((t) => m.types[t]);
  return m.codes.map((code, i) => {
    const body = decodeBody(bytes, m, i, types[i].params as T[], true);
    return {
      functionIndex: code.functionIndex, offset: code.offset, codeStart: body.instrs[0].offset,
      end: body.instrs[body.instrs.length - 1].offset + 1,
      instructions: body.instrs.map((x) => ({ opcode: x.code, offset: x.offset })),
    };
  });
}

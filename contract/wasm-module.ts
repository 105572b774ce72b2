// A small, strict WebAssembly binary reader for artifact validation and `rules inspect`: sections, types, imports,
// globals, exports and code bodies, with a scan that tells WebAssembly 1.0 (MVP) instructions from later ones.

export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';
export type ExternalKind = 'func' | 'table' | 'memory' | 'global';

export interface FuncType {
  params: ValueType[];
  results: ValueType[];
}

export interface Limits {
  min: number;
  max?: number;
  shared: boolean;
}

export interface SectionInfo {
  id: number;
  /** "type", "import", ... or, for a custom section, "custom:NAME". */
  name: string;
  /** Offset of the section's id byte. */
  offset: number;
  /** Payload size as declared in the section header. */
  size: number;
  /** Offset of the payload's first byte. */
  payloadOffset: number;
  /** Bytes the section takes in the file, header included. */
  totalSize: number;
}

export type ImportDescription =
  | { kind: 'func'; typeIndex: number }
  | { kind: 'table'; elementType: ValueType; limits: Limits }
  | { kind: 'memory'; limits: Limits }
  | { kind: 'global'; type: ValueType; mutable: boolean };

export type Import = { module: string; name: string } & ImportDescription;

export type InitExpression =
  | { op: 'i32.const'; value: number }
  | { op: 'i64.const'; value: bigint }
  | { op: 'f32.const'; value: number }
  | { op: 'f64.const'; value: number }
  | { op: 'global.get'; index: number };

export interface Global {
  /** Index in the global index space (imported globals come first). */
  index: number;
  type: ValueType;
  mutable: boolean;
  init: InitExpression;
}

export interface Export {
  name: string;
  kind: ExternalKind;
  index: number;
}

export interface CodeBody {
  /** Index in the function index space (imported functions come first). */
  functionIndex: number;
  /** Offset of the body's size field, and the body's size after that field. */
  offset: number;
  size: number;
  locals: { count: number; type: ValueType }[];
  instructionCount: number;
  /** The first instruction or type that is not WebAssembly 1.0, described for a human. */
  nonMvp?: string;
}

export interface CustomSection {
  name: string;
  offset: number;
  size: number;
}

export interface WasmModule {
  byteLength: number;
  version: number;
  sections: SectionInfo[];
  types: FuncType[];
  imports: Import[];
  /** Type index of each function defined in the module, in order. */
  functions: number[];
  tables: { elementType: ValueType; limits: Limits }[];
  memories: Limits[];
  globals: Global[];
  exports: Export[];
  start?: number;
  elementSegmentCount: number;
  dataSegmentCount: number;
  dataCount?: number;
  codes: CodeBody[];
  customSections: CustomSection[];
}

export type ParseResult = { ok: true; module: WasmModule } | { ok: false; error: string };

const SECTION_NAMES: Record<number, string> = {
  0: 'custom', 1: 'type', 2: 'import', 3: 'function', 4: 'table', 5: 'memory', 6: 'global', 7: 'export',
  8: 'start', 9: 'element', 10: 'code', 11: 'data', 12: 'data count', 13: 'tag',
};

// Position of each known section id in the order the binary format requires.
const SECTION_ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

const MVP_SECTION_IDS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

const VALUE_TYPES: Record<number, ValueType> = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref',
};

const MVP_VALUE_TYPES = new Set<ValueType>(['i32', 'i64', 'f32', 'f64']);

const EXTERNAL_KINDS: ExternalKind[] = ['func', 'table', 'memory', 'global'];

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const MAX_LOCALS_PER_FUNCTION = 50_000;

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

export function describeFuncType(type: FuncType): string {
  const results = type.results.length === 1 ? type.results[0] : `(${type.results.join(', ')})`;
  return `(${type.params.join(', ')}) -> ${results}`;
}

/** Thrown only inside this file and turned into a ParseResult error. */
class Malformed extends Error {}

class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number, readonly where: string) {}

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw new Malformed(`${what} at offset ${hex(this.pos)} runs past the end of the ${this.where}`);
  }

  byte(what: string): number {
    if (this.pos >= this.end) this.fail(what);
    return this.bytes[this.pos++];
  }

  take(length: number, what: string): Uint8Array {
    if (length > this.end - this.pos) this.fail(what);
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  u32(what: string): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte(what);
      if (shift === 28 && (b & 0x70) !== 0) {
        throw new Malformed(`${what} at offset ${hex(start)} does not fit in 32 bits`);
      }
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Malformed(`${what} at offset ${hex(start)} is longer than 5 bytes`);
  }

  /** A signed LEB128 of at most `bits` bits, as a bigint. */
  signed(bits: number, what: string): bigint {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte(what);
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (i === maxBytes - 1) {
        // The unused high bits of the last byte must repeat the sign bit.
        const usedBits = bits - 7 * (maxBytes - 1);
        const extra = (b & 0x7f) >> (usedBits - 1);
        if ((b & 0x80) !== 0 || (extra !== 0 && extra !== (0x7f >> (usedBits - 1)))) {
          throw new Malformed(`${what} at offset ${hex(start)} does not fit in ${bits} bits`);
        }
      }
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= 1n << shift;
        return result;
      }
    }
    throw new Malformed(`${what} at offset ${hex(start)} does not fit in ${bits} bits`);
  }

  i32(what: string): number {
    return Number(this.signed(32, what));
  }

  name(what: string): string {
    const length = this.u32(`length of ${what}`);
    const raw = this.take(length, what);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new Malformed(`${what} at offset ${hex(this.pos - length)} is not valid UTF-8`);
    }
  }

  valueType(what: string): ValueType {
    const at = this.pos;
    const code = this.byte(what);
    const type = VALUE_TYPES[code];
    if (!type) throw new Malformed(`${what} at offset ${hex(at)} has unknown value type ${hex(code)}`);
    return type;
  }

  limits(what: string): Limits {
    const at = this.pos;
    const flags = this.byte(`flags of ${what}`);
    if (flags > 3) throw new Malformed(`${what} at offset ${hex(at)} has unsupported limits flags ${hex(flags)}`);
    const min = this.u32(`minimum of ${what}`);
    const max = flags & 1 ? this.u32(`maximum of ${what}`) : undefined;
    return { min, max, shared: (flags & 2) !== 0 };
  }

  f32(what: string): number {
    const raw = this.take(4, what);
    return new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true);
  }

  f64(what: string): number {
    const raw = this.take(8, what);
    return new DataView(raw.buffer, raw.byteOffset, 8).getFloat64(0, true);
  }
}

function initExpression(r: Reader, what: string): InitExpression {
  const at = r.pos;
  const opcode = r.byte(what);
  let init: InitExpression;
  switch (opcode) {
    case 0x41: init = { op: 'i32.const', value: r.i32(`i32.const in ${what}`) }; break;
    case 0x42: init = { op: 'i64.const', value: r.signed(64, `i64.const in ${what}`) }; break;
    case 0x43: init = { op: 'f32.const', value: r.f32(`f32.const in ${what}`) }; break;
    case 0x44: init = { op: 'f64.const', value: r.f64(`f64.const in ${what}`) }; break;
    case 0x23: init = { op: 'global.get', index: r.u32(`global.get in ${what}`) }; break;
    default:
      throw new Malformed(`${what} at offset ${hex(at)} starts with opcode ${hex(opcode)}; ` +
        'a WebAssembly 1.0 initializer is one constant or global.get');
  }
  const endAt = r.pos;
  if (r.byte(`end of ${what}`) !== 0x0b) {
    throw new Malformed(`${what} at offset ${hex(endAt)} has more than one instruction; ` +
      'a WebAssembly 1.0 initializer is one constant or global.get');
  }
  return init;
}

// ---- instruction scan -------------------------------------------------------------------------------------

const NON_MVP_OPCODES: Record<number, string> = {
  0x06: 'try (exception handling)', 0x07: 'catch (exception handling)', 0x08: 'throw (exception handling)',
  0x09: 'rethrow (exception handling)', 0x0a: 'throw_ref (exception handling)', 0x12: 'return_call (tail calls)',
  0x13: 'return_call_indirect (tail calls)', 0x14: 'call_ref (typed function references)',
  0x15: 'return_call_ref (typed function references)', 0x18: 'delegate (exception handling)',
  0x19: 'catch_all (exception handling)', 0x1c: 'typed select (reference types)', 0x1f: 'try_table (exception handling)',
  0x25: 'table.get (reference types)', 0x26: 'table.set (reference types)',
  0xc0: 'i32.extend8_s (sign-extension operators)', 0xc1: 'i32.extend16_s (sign-extension operators)',
  0xc2: 'i64.extend8_s (sign-extension operators)', 0xc3: 'i64.extend16_s (sign-extension operators)',
  0xc4: 'i64.extend32_s (sign-extension operators)', 0xd0: 'ref.null (reference types)',
  0xd1: 'ref.is_null (reference types)', 0xd2: 'ref.func (reference types)',
  0xfb: 'a GC instruction (garbage collection)', 0xfd: 'a SIMD instruction (fixed-width SIMD)',
  0xfe: 'an atomic instruction (threads)',
};

const FC_OPCODES = [
  'i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u', 'i32.trunc_sat_f64_s', 'i32.trunc_sat_f64_u',
  'i64.trunc_sat_f32_s', 'i64.trunc_sat_f32_u', 'i64.trunc_sat_f64_s', 'i64.trunc_sat_f64_u',
  'memory.init', 'data.drop', 'memory.copy', 'memory.fill', 'table.init', 'elem.drop', 'table.copy',
  'table.grow', 'table.size', 'table.fill',
];

function describeFcOpcode(sub: number): string {
  const name = FC_OPCODES[sub];
  if (sub < 8) return `${name} (non-trapping float-to-int conversions)`;
  if (name) return `${name} (bulk memory and table operations)`;
  return `prefixed opcode 0xfc ${sub}`;
}

/** Reads one body's expression; returns the instruction count and the first non-MVP feature, if any. */
function scanInstructions(r: Reader): { count: number; nonMvp?: string } {
  let depth = 1; // the function body is itself a block
  let count = 0;
  while (depth > 0) {
    const at = r.pos;
    const opcode = r.byte('instruction');
    count++;
    const nonMvp = (what: string) => ({ count, nonMvp: `${what} at offset ${hex(at)}` });
    if (opcode === 0xfc) {
      return nonMvp(describeFcOpcode(r.u32('0xfc sub-opcode')));
    }
    if (NON_MVP_OPCODES[opcode]) return nonMvp(NON_MVP_OPCODES[opcode]);
    switch (opcode) {
      case 0x02: case 0x03: case 0x04: {
        const typeAt = r.pos;
        const blockType = r.byte('block type');
        if (blockType !== 0x40 && !(VALUE_TYPES[blockType] && MVP_VALUE_TYPES.has(VALUE_TYPES[blockType]))) {
          if (VALUE_TYPES[blockType]) return nonMvp(`a block of type ${VALUE_TYPES[blockType]}`);
          r.pos = typeAt;
          const index = r.signed(33, 'block type index');
          return nonMvp(`a block with type index ${index} (multi-value)`);
        }
        depth++;
        break;
      }
      case 0x0b: depth--; break;
      case 0x0c: case 0x0d: r.u32('branch depth'); break;
      case 0x0e: {
        const targets = r.u32('br_table target count');
        for (let i = 0; i <= targets; i++) r.u32('br_table target');
        break;
      }
      case 0x10: r.u32('function index'); break;
      case 0x11: {
        r.u32('type index');
        const table = r.byte('table index');
        if (table !== 0) return nonMvp(`call_indirect on table ${table} (reference types)`);
        break;
      }
      case 0x20: case 0x21: case 0x22: r.u32('local index'); break;
      case 0x23: case 0x24: r.u32('global index'); break;
      case 0x3f: case 0x40: {
        const memory = r.byte('memory index');
        if (memory !== 0) return nonMvp(`memory index ${memory} (multi-memory)`);
        break;
      }
      case 0x41: r.signed(32, 'i32.const'); break;
      case 0x42: r.signed(64, 'i64.const'); break;
      case 0x43: r.take(4, 'f32.const'); break;
      case 0x44: r.take(8, 'f64.const'); break;
      default:
        if (opcode >= 0x28 && opcode <= 0x3e) {
          r.u32('alignment');
          r.u32('offset');
        } else if (!(opcode <= 0x01 || opcode === 0x05 || opcode === 0x0f || opcode === 0x1a || opcode === 0x1b ||
          (opcode >= 0x45 && opcode <= 0xbf))) {
          throw new Malformed(`unknown opcode ${hex(opcode)} at offset ${hex(at)}`);
        }
    }
  }
  return { count };
}

// ---- sections ----------------------------------------------------------------------------------------------

function readSections(bytes: Uint8Array, m: WasmModule): void {
  const top = new Reader(bytes, 8, bytes.length, 'module');
  let lastOrder = 0;
  let lastName = '';
  let definedFunctionTypes: number[] | undefined;
  while (!top.atEnd) {
    const offset = top.pos;
    const id = top.byte('section id');
    const name = SECTION_NAMES[id];
    if (name === undefined) throw new Malformed(`unknown section id ${id} at offset ${hex(offset)}`);
    const size = top.u32(`size of the ${name} section`);
    const payloadOffset = top.pos;
    top.take(size, `${name} section`);
    const r = new Reader(bytes, payloadOffset, payloadOffset + size, `${name} section`);
    const info: SectionInfo = { id, name, offset, size, payloadOffset, totalSize: top.pos - offset };

    if (id !== 0) {
      const order = SECTION_ORDER[id];
      if (order <= lastOrder) {
        throw new Malformed(`the ${name} section at offset ${hex(offset)} comes after the ${lastName} section; ` +
          'sections must appear once each, in the standard order');
      }
      lastOrder = order;
      lastName = name;
    }

    switch (id) {
      case 0: {
        const customName = r.name('custom section name');
        info.name = `custom:${customName}`;
        m.customSections.push({ name: customName, offset, size: info.totalSize });
        r.pos = r.end; // the contents are opaque
        break;
      }
      case 1: {
        const count = r.u32('type count');
        for (let i = 0; i < count; i++) {
          const formAt = r.pos;
          const form = r.byte(`form of type ${i}`);
          if (form !== 0x60) throw new Malformed(`type ${i} at offset ${hex(formAt)} is not a function type (${hex(form)})`);
          const params: ValueType[] = [];
          const results: ValueType[] = [];
          const paramCount = r.u32(`parameter count of type ${i}`);
          for (let p = 0; p < paramCount; p++) params.push(r.valueType(`parameter of type ${i}`));
          const resultCount = r.u32(`result count of type ${i}`);
          for (let p = 0; p < resultCount; p++) results.push(r.valueType(`result of type ${i}`));
          m.types.push({ params, results });
        }
        break;
      }
      case 2: {
        const count = r.u32('import count');
        for (let i = 0; i < count; i++) {
          const module = r.name(`module name of import ${i}`);
          const field = r.name(`field name of import ${i}`);
          const kindAt = r.pos;
          const kind = r.byte(`kind of import ${i}`);
          switch (kind) {
            case 0: m.imports.push({ module, name: field, kind: 'func', typeIndex: r.u32(`type of import ${i}`) }); break;
            case 1: {
              const elementType = r.valueType(`table type of import ${i}`);
              m.imports.push({ module, name: field, kind: 'table', elementType, limits: r.limits(`table of import ${i}`) });
              break;
            }
            case 2: m.imports.push({ module, name: field, kind: 'memory', limits: r.limits(`memory of import ${i}`) }); break;
            case 3: {
              const type = r.valueType(`type of global import ${i}`);
              const mutability = r.byte(`mutability of global import ${i}`);
              if (mutability > 1) throw new Malformed(`global import ${i} has invalid mutability ${hex(mutability)}`);
              m.imports.push({ module, name: field, kind: 'global', type, mutable: mutability === 1 });
              break;
            }
            default:
              throw new Malformed(`import ${i} ("${module}.${field}") at offset ${hex(kindAt)} has unsupported kind ${kind}`);
          }
        }
        break;
      }
      case 3: {
        const count = r.u32('function count');
        definedFunctionTypes = [];
        for (let i = 0; i < count; i++) definedFunctionTypes.push(r.u32(`type of function ${i}`));
        m.functions = definedFunctionTypes;
        break;
      }
      case 4: {
        const count = r.u32('table count');
        for (let i = 0; i < count; i++) {
          const elementType = r.valueType(`element type of table ${i}`);
          m.tables.push({ elementType, limits: r.limits(`table ${i}`) });
        }
        break;
      }
      case 5: {
        const count = r.u32('memory count');
        for (let i = 0; i < count; i++) m.memories.push(r.limits(`memory ${i}`));
        break;
      }
      case 6: {
        const count = r.u32('global count');
        const importedGlobals = m.imports.filter((imp) => imp.kind === 'global').length;
        for (let i = 0; i < count; i++) {
          const type = r.valueType(`type of global ${i}`);
          const mutability = r.byte(`mutability of global ${i}`);
          if (mutability > 1) throw new Malformed(`global ${i} has invalid mutability ${hex(mutability)}`);
          const init = initExpression(r, `initializer of global ${i}`);
          m.globals.push({ index: importedGlobals + i, type, mutable: mutability === 1, init });
        }
        break;
      }
      case 7: {
        const count = r.u32('export count');
        for (let i = 0; i < count; i++) {
          const name = r.name(`name of export ${i}`);
          const kindAt = r.pos;
          const kind = r.byte(`kind of export ${i}`);
          if (kind > 3) throw new Malformed(`export "${name}" at offset ${hex(kindAt)} has unsupported kind ${kind}`);
          m.exports.push({ name, kind: EXTERNAL_KINDS[kind], index: r.u32(`index of export "${name}"`) });
        }
        break;
      }
      case 8:
        m.start = r.u32('start function index');
        break;
      case 9:
        m.elementSegmentCount = r.u32('element segment count');
        r.pos = r.end; // segments are refused for rules; their contents need no decoding here
        break;
      case 10: {
        const count = r.u32('code body count');
        const declared = definedFunctionTypes?.length ?? 0;
        if (count !== declared) {
          throw new Malformed(`the code section has ${count} bodies but the function section declares ${declared} functions`);
        }
        const importedFunctions = m.imports.filter((imp) => imp.kind === 'func').length;
        for (let i = 0; i < count; i++) {
          const offsetOfBody = r.pos;
          const bodySize = r.u32(`size of code body ${i}`);
          const bodyStart = r.pos;
          r.take(bodySize, `code body ${i}`);
          const body = new Reader(bytes, bodyStart, bodyStart + bodySize, `code body ${i}`);
          const groups = body.u32(`local group count of body ${i}`);
          const locals: { count: number; type: ValueType }[] = [];
          let totalLocals = 0;
          for (let g = 0; g < groups; g++) {
            const localCount = body.u32(`local count of body ${i}`);
            totalLocals += localCount;
            if (totalLocals > MAX_LOCALS_PER_FUNCTION) {
              throw new Malformed(`code body ${i} declares more than ${MAX_LOCALS_PER_FUNCTION} locals`);
            }
            locals.push({ count: localCount, type: body.valueType(`local type of body ${i}`) });
          }
          const code: CodeBody = {
            functionIndex: importedFunctions + i, offset: offsetOfBody, size: bodySize, locals, instructionCount: 0,
          };
          const nonMvpLocal = locals.find((l) => !MVP_VALUE_TYPES.has(l.type));
          if (nonMvpLocal) {
            code.nonMvp = `a local of type ${nonMvpLocal.type}`;
          } else {
            const scan = scanInstructions(body);
            code.instructionCount = scan.count;
            if (scan.nonMvp) {
              code.nonMvp = scan.nonMvp;
            } else if (!body.atEnd) {
              throw new Malformed(`code body ${i} continues after its final end at offset ${hex(body.pos)}`);
            }
          }
          m.codes.push(code);
        }
        break;
      }
      case 11:
        m.dataSegmentCount = r.u32('data segment count');
        r.pos = r.end;
        break;
      case 12:
        m.dataCount = r.u32('data count');
        break;
      case 13:
        r.pos = r.end; // exception tags are not WebAssembly 1.0; reported by mvpProblems
        break;
    }
    if (!r.atEnd) {
      throw new Malformed(`the ${name} section at offset ${hex(offset)} has ${r.end - r.pos} unread bytes after its contents`);
    }
    m.sections.push(info);
  }
  if ((definedFunctionTypes?.length ?? 0) > 0 && !m.sections.some((s) => s.id === 10)) {
    throw new Malformed('the function section declares functions but there is no code section');
  }
}

/** Parses a module; never throws: malformed or truncated input comes back as an error. */
export function parseWasmModule(bytes: Uint8Array): ParseResult {
  if (bytes.length < 8) {
    return { ok: false, error: `the module is ${bytes.length} bytes; even an empty WebAssembly module has 8` };
  }
  if (!WASM_MAGIC.every((b, i) => bytes[i] === b)) {
    return { ok: false, error: 'the module does not start with the WebAssembly magic number \\0asm' };
  }
  const version = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  if (version !== 1) {
    return { ok: false, error: `the module has binary format version ${version}; WebAssembly 1.0 is version 1` };
  }
  const m: WasmModule = {
    byteLength: bytes.length, version, sections: [], types: [], imports: [], functions: [], tables: [], memories: [],
    globals: [], exports: [], elementSegmentCount: 0, dataSegmentCount: 0, codes: [], customSections: [],
  };
  try {
    readSections(bytes, m);
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: e.message };
    throw e;
  }
  return { ok: true, module: m };
}

/** Everything in a parsed module that is not WebAssembly 1.0 (MVP), described for a human. */
export function mvpProblems(m: WasmModule): string[] {
  const problems: string[] = [];
  for (const section of m.sections) {
    if (!MVP_SECTION_IDS.has(section.id)) {
      problems.push(`the module has a ${section.name} section, which is not part of WebAssembly 1.0 (MVP)`);
    }
  }
  m.types.forEach((type, i) => {
    if (type.results.length > 1) {
      problems.push(`type ${i} ${describeFuncType(type)} returns several values (multi-value is not WebAssembly 1.0)`);
    }
    const odd = [...type.params, ...type.results].find((t) => !MVP_VALUE_TYPES.has(t));
    if (odd) problems.push(`type ${i} ${describeFuncType(type)} uses ${odd}, which is not a WebAssembly 1.0 value type`);
  });
  for (const imp of m.imports) {
    if ((imp.kind === 'global' && !MVP_VALUE_TYPES.has(imp.type)) || (imp.kind === 'table' && imp.elementType !== 'funcref')) {
      problems.push(`import "${imp.module}.${imp.name}" has a type that is not WebAssembly 1.0`);
    }
    if ((imp.kind === 'memory' || imp.kind === 'table') && imp.limits.shared) {
      problems.push(`import "${imp.module}.${imp.name}" is a shared memory (threads are not WebAssembly 1.0)`);
    }
  }
  m.tables.forEach((table, i) => {
    if (table.elementType !== 'funcref') problems.push(`table ${i} holds ${table.elementType} (reference types are not WebAssembly 1.0)`);
  });
  if (m.tables.length + m.imports.filter((i) => i.kind === 'table').length > 1) {
    problems.push('the module has more than one table (not WebAssembly 1.0)');
  }
  if (m.memories.length + m.imports.filter((i) => i.kind === 'memory').length > 1) {
    problems.push('the module has more than one memory (not WebAssembly 1.0)');
  }
  m.memories.forEach((memory, i) => {
    if (memory.shared) problems.push(`memory ${i} is shared (threads are not WebAssembly 1.0)`);
  });
  for (const global of m.globals) {
    if (!MVP_VALUE_TYPES.has(global.type)) {
      problems.push(`global ${global.index} has type ${global.type}, which is not a WebAssembly 1.0 value type`);
    }
  }
  for (const code of m.codes) {
    if (code.nonMvp) {
      problems.push(`function ${code.functionIndex} uses ${code.nonMvp}, which is not WebAssembly 1.0 (MVP)`);
    }
  }
  return problems;
}

// ---- rewriting -----------------------------------------------------------------------------------------------

/** Unsigned LEB128, as the binary format encodes lengths and indices. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

function encodeName(name: string): number[] {
  const utf8 = new TextEncoder().encode(name);
  return [...uleb(utf8.length), ...utf8];
}

const KIND_CODES: Record<ExternalKind, number> = { func: 0, table: 1, memory: 2, global: 3 };

export type RewriteResult = { ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; error: string };

/**
 * A copy of the module that also exports every global as "g0", "g1", ... (by global index), so an engine that
 * only sees exports (Node's own WebAssembly) can read a rule's state. Never used for artifacts.
 */
export function exportAllGlobals(bytes: Uint8Array): RewriteResult {
  const parsed = parseWasmModule(bytes);
  if (!parsed.ok) return parsed;
  const m = parsed.module;
  const globalCount = m.imports.filter((imp) => imp.kind === 'global').length + m.globals.length;
  const exports = [...m.exports];
  for (let index = 0; index < globalCount; index++) {
    const name = `g${index}`;
    if (exports.some((e) => e.name === name)) return { ok: false, error: `the module already exports "${name}"` };
    exports.push({ name, kind: 'global', index });
  }
  const payload: number[] = [...uleb(exports.length)];
  for (const e of exports) payload.push(...encodeName(e.name), KIND_CODES[e.kind], ...uleb(e.index));
  const exportSection = Uint8Array.from([7, ...uleb(payload.length), ...payload]);

  const pieces: Uint8Array[] = [bytes.subarray(0, 8)];
  let placed = false;
  for (const section of m.sections) {
    const raw = bytes.subarray(section.offset, section.offset + section.totalSize);
    if (section.id === 7) {
      pieces.push(exportSection);
      placed = true;
      continue;
    }
    if (!placed && section.id !== 0 && SECTION_ORDER[section.id] > SECTION_ORDER[7]) {
      pieces.push(exportSection);
      placed = true;
    }
    pieces.push(raw);
  }
  if (!placed) pieces.push(exportSection);

  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return { ok: true, bytes: out };
}

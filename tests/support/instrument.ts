// Measures how many instructions a tick really executes: an instrumented copy of a module counts every instruction
// the verifier counts (all but `else` and `end`) in an exported global, and runs on Node's WebAssembly.
import { parseWasmModule, uleb } from '../../contract/wasm-module.js';
import { decodeFunctions } from '../../contract/verify.js';

const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];
const COUNTER_EXPORT = 'count';

/** A copy of the module that adds 1 to a new exported global "count" before each counted instruction. */
export function instrument(bytes: Uint8Array): Uint8Array {
  const parsed = parseWasmModule(bytes);
  if (!parsed.ok) throw new Error(parsed.error);
  const m = parsed.module;
  const counter = m.globals.length; // rules import no globals
  const bump = [0x23, ...uleb(counter), 0x41, 0x01, 0x6a, 0x24, ...uleb(counter)];
  const raw = (from: number, to: number) => [...bytes.subarray(from, to)];

  const globalSection = () => {
    const s = m.sections.find((x) => x.id === 6);
    const existing = s ? (() => {
      // Skip the count; the entries are copied as they are.
      let at = s.payloadOffset;
      while (bytes[at] & 0x80) at++;
      return raw(at + 1, s.payloadOffset + s.size);
    })() : [];
    return section(6, [...uleb(counter + 1), ...existing, 0x7f, 0x01, 0x41, 0x00, 0x0b]);
  };
  const exportSection = () => {
    const name = new TextEncoder().encode(COUNTER_EXPORT);
    const entries: number[] = [];
    for (const e of m.exports) {
      const n = new TextEncoder().encode(e.name);
      entries.push(...uleb(n.length), ...n, { func: 0, table: 1, memory: 2, global: 3 }[e.kind], ...uleb(e.index));
    }
    entries.push(...uleb(name.length), ...name, 0x03, ...uleb(counter));
    return section(7, [...uleb(m.exports.length + 1), ...entries]);
  };
  const codeSection = () => {
    const bodies: number[] = [];
    for (const f of decodeFunctions(bytes)) {
      let sizeEnd = f.offset;
      while (bytes[sizeEnd] & 0x80) sizeEnd++;
      const body: number[] = raw(sizeEnd + 1, f.codeStart); // the locals
      f.instructions.forEach((ins, i) => {
        if (ins.opcode !== 0x05 && ins.opcode !== 0x0b) body.push(...bump);
        body.push(...raw(ins.offset, f.instructions[i + 1]?.offset ?? f.end));
      });
      bodies.push(...uleb(body.length), ...body);
    }
    return section(10, [...uleb(m.codes.length), ...bodies]);
  };

  const out: number[] = raw(0, 8);
  let globalsWritten = false;
  for (const s of m.sections) {
    if (s.id === 6) {
      out.push(...globalSection());
      globalsWritten = true;
    } else if (s.id === 7) {
      if (!globalsWritten) out.push(...globalSection());
      globalsWritten = true;
      out.push(...exportSection());
    } else if (s.id === 10) {
      out.push(...codeSection());
    } else {
      out.push(...raw(s.offset, s.offset + s.totalSize));
    }
  }
  return Uint8Array.from(out);
}

export interface MeasuringIo {
  gr(pin: number): number;
  gw(pin: number, level: number): void;
  sr(channel: number): number;
}

/** An instance of the instrumented module: each tick returns how many instructions it executed. */
export class MeasuredRule {
  private readonly instance: WebAssembly.Instance;

  constructor(bytes: Uint8Array, io: MeasuringIo) {
    const module = new WebAssembly.Module(instrument(bytes) as Uint8Array<ArrayBuffer>);
    this.instance = new WebAssembly.Instance(module, { io: { ...io } });
  }

  /** Runs one tick; a trap ends it early, and the instructions until then still count. */
  tick(now: number): number {
    const count = this.instance.exports[COUNTER_EXPORT] as WebAssembly.Global;
    count.value = 0;
    try {
      (this.instance.exports.run as (now: number) => number)(now | 0);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    }
    return count.value as number;
  }
}

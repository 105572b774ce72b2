// Tests of the WebAssembly binary reader: what it reports, its MVP scan, its error values on bad bytes,
// and the global-exporting rewrite used by the Node backend.
import test from 'ava';
import fc from 'fast-check';
import { exportAllGlobals, mvpProblems, parseWasmModule, type WasmModule } from '../contract/wasm-module.js';
import { binaryen, build, fanRule, handRule, name, plusOneRule, section, uleb, vec, wasm, I32 } from './support/engine-fixtures.js';

function parsed(bytes: Uint8Array): WasmModule {
  const result = parseWasmModule(bytes);
  if (!result.ok) throw new Error(`expected the module to parse: ${result.error}`);
  return result.module;
}

test('reads sections, types, imports, globals, exports and code bodies of a rule', (t) => {
  const bytes = fanRule();
  const m = parsed(bytes);
  t.deepEqual(m.sections.map((s) => s.name), ['type', 'import', 'function', 'global', 'export', 'code']);
  t.is(m.sections.reduce((n, s) => n + s.totalSize, 8), bytes.length, 'sections cover the whole file');
  for (const s of m.sections) t.is(s.payloadOffset + s.size, s.offset + s.totalSize);
  t.deepEqual(m.imports.map((i) => [`${i.module}.${i.name}`, i.kind]), [['io.sr', 'func'], ['io.gw', 'func']]);
  const gw = m.imports[1];
  t.deepEqual(gw.kind === 'func' ? m.types[gw.typeIndex] : undefined, { params: ['i32', 'i32'], results: [] });
  t.deepEqual(m.globals, [
    { index: 0, type: 'i32', mutable: true, init: { op: 'i32.const', value: 7 } },
    { index: 1, type: 'f32', mutable: true, init: { op: 'f32.const', value: -1.5 } },
  ]);
  t.deepEqual(m.exports, [{ name: 'run', kind: 'func', index: 2 }]);
  t.is(m.codes.length, 1);
  t.is(m.codes[0].functionIndex, 2);
  t.deepEqual(m.codes[0].locals, [{ count: 1, type: 'i32' }]);
  t.true(m.codes[0].instructionCount > 10);
  t.deepEqual(mvpProblems(m), []);
  t.deepEqual(m.customSections, []);
});

test('reports custom sections with their names', (t) => {
  const bytes = wasm(section(0, [...name('producers'), 1, 2, 3]), ...[]);
  const m = parsed(bytes);
  t.deepEqual(m.customSections, [{ name: 'producers', offset: 8, size: bytes.length - 8 }]);
  t.is(m.sections[0].name, 'custom:producers');
});

test('every truncation of a valid module is a clean error, never a throw', (t) => {
  const bytes = fanRule();
  for (let length = 0; length < bytes.length; length++) {
    const result = parseWasmModule(bytes.subarray(0, length));
    // A cut exactly between sections is still a well-formed (smaller) module.
    if (result.ok) {
      t.true(parsed(bytes).sections.some((s) => s.offset === length) || length === 8, `prefix ${length} parsed`);
    } else {
      t.regex(result.error, /runs past the end|bytes; even an empty|magic|no code section/);
    }
  }
});

test('random corruption of a valid module never makes the reader throw', (t) => {
  const bytes = fanRule();
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    (edits) => {
      const copy = bytes.slice();
      for (const [at, value] of edits) copy[at] = value;
      const result = parseWasmModule(copy);
      if (result.ok) mvpProblems(result.module);
      return true;
    }), { numRuns: 3000, seed: 58 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (random) => {
    parseWasmModule(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...random]));
    return true;
  }), { numRuns: 3000, seed: 66 });
  t.pass();
});

test('rejects bad headers and overlong integers with reasons', (t) => {
  const result = (bytes: number[]) => parseWasmModule(Uint8Array.from(bytes));
  t.like(result([0, 0x61, 0x73, 0x6d]), { ok: false });
  t.regex((result([0, 0x61, 0x73, 0x6e, 1, 0, 0, 0]) as { error: string }).error, /magic/);
  t.regex((result([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]) as { error: string }).error, /version 2/);
  // Type section whose size is a 6-byte LEB.
  t.regex((result([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]) as { error: string }).error,
    /does not fit in 32 bits|longer than 5 bytes/);
  // Sections out of order: function (3) before type (1).
  t.regex((result([...wasm(section(3, vec()), section(1, vec()))]) as { error: string }).error, /standard order/);
  // A section with bytes left over after its contents.
  t.regex((result([...wasm(section(1, [0, 0xaa]))]) as { error: string }).error, /unread bytes/);
});

test('a plain MVP rule written by hand has no MVP problems', (t) => {
  const m = parsed(handRule([0x20, 0x00, 0x41, 0x02, 0x6c])); // local.get 0; i32.const 2; i32.mul
  t.deepEqual(mvpProblems(m), []);
  t.is(m.codes[0].instructionCount, 4);
});

test('flags instructions and types that are not WebAssembly 1.0', (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['sign extension', handRule([0x20, 0x00, 0xc0]), /i32\.extend8_s \(sign-extension operators\)/],
    ['saturating truncation', handRule([0x43, 0, 0, 0, 0, 0xfc, 0x00]), /i32\.trunc_sat_f32_s/],
    ['bulk memory', handRule([0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0b, 0x00, 0x41, 0]), /memory\.fill/],
    ['SIMD', handRule([0xfd, 0x0c]), /SIMD/],
    ['reference types', handRule([0xd0, 0x70, 0x1a, 0x41, 0]), /ref\.null/],
    ['typed select', handRule([0x41, 1, 0x41, 2, 0x41, 0, 0x1c, 1, I32]), /typed select/],
    ['tail call', handRule([0x20, 0x00, 0x12, 0x00]), /return_call/],
    ['multi-value block', handRule([0x20, 0x00, 0x02, 0x00, 0x0b]), /multi-value/],
  ];
  for (const [what, bytes, expected] of cases) {
    const problems = mvpProblems(parsed(bytes));
    t.is(problems.length, 1, what);
    t.regex(problems[0], expected, what);
    t.regex(problems[0], /not WebAssembly 1\.0/, what);
  }
  const multiResult = wasm(section(1, vec([0x60, 0, 2, I32, I32])));
  t.regex(mvpProblems(parsed(multiResult))[0], /multi-value/);
  const v128Global = wasm(section(6, vec([0x7b, 1, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b])));
  const v128 = parseWasmModule(v128Global);
  t.false(v128.ok);
  t.regex(v128.ok ? '' : v128.error, /initializer of global 0 .* starts with opcode 0xfd/);
});

test('binaryen modules built with post-MVP features are caught by the scan', (t) => {
  const bytes = build((m) => {
    m.addFunction('run', binaryen.i32, binaryen.i32, [], m.i32.extend8_s(m.local.get(0, binaryen.i32)));
    m.addFunctionExport('run', 'run');
  }, binaryen.Features.MVP | binaryen.Features.SignExt);
  t.regex(mvpProblems(parsed(bytes)).join('\n'), /extend8_s/);
});

test('unknown opcodes and bodies that run past their end are parse errors', (t) => {
  const unknown = parseWasmModule(handRule([0x41, 0x00, 0xff]));
  t.false(unknown.ok);
  t.regex((unknown as { error: string }).error, /unknown opcode 0xff/);
  // Body declares one byte more than its expression uses.
  const body = [0x00, 0x20, 0x00, 0x0b, 0x01];
  const trailing = wasm(section(1, vec(TYPE())), section(3, vec([0])), section(10, vec([...uleb(body.length), ...body])));
  t.regex((parseWasmModule(trailing) as { error: string }).error, /continues after its final end/);
  // Body whose expression never ends.
  const open = [0x00, 0x02, 0x40, 0x0b];
  const unterminated = wasm(section(1, vec(TYPE())), section(3, vec([0])), section(10, vec([...uleb(open.length), ...open])));
  t.regex((parseWasmModule(unterminated) as { error: string }).error, /runs past the end of the code body 0/);
});

function TYPE(): number[] {
  return [0x60, 1, I32, 1, I32];
}

test('exportAllGlobals lets Node read every global, in index order', (t) => {
  const result = exportAllGlobals(fanRule());
  if (!result.ok) return t.fail(result.error);
  const m = parsed(result.bytes);
  t.deepEqual(m.exports.map((e) => `${e.kind}:${e.name}:${e.index}`), ['func:run:2', 'global:g0:0', 'global:g1:1']);
  const noop = () => 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(result.bytes), { io: { sr: () => 30_000, gw: noop } });
  t.is((instance.exports.g0 as WebAssembly.Global).value, 7);
  t.is((instance.exports.g1 as WebAssembly.Global).value, -1.5);
  (instance.exports.run as (n: number) => number)(0);
  t.is((instance.exports.g0 as WebAssembly.Global).value, 8);
  t.is((instance.exports.g1 as WebAssembly.Global).value, 30);
});

test('exportAllGlobals adds an export section where the order requires one', (t) => {
  // No export section at all: a global and a code section around where it must go.
  const bytes = wasm(
    section(1, vec([0x60, 0, 0])), section(3, vec([0])),
    section(6, vec([I32, 1, 0x41, 42, 0x0b])),
    section(10, vec([2, 0x00, 0x0b])),
  );
  const result = exportAllGlobals(bytes);
  if (!result.ok) return t.fail(result.error);
  t.deepEqual(parsed(result.bytes).sections.map((s) => s.name), ['type', 'function', 'global', 'export', 'code']);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(result.bytes));
  t.is((instance.exports.g0 as WebAssembly.Global).value, 42);
  t.deepEqual(exportAllGlobals(plusOneRule()).ok, true);
  t.false(exportAllGlobals(Uint8Array.from([1, 2, 3])).ok);
});

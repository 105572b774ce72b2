// Tests of install-time artifact validation: a good rule passes, and each way an artifact can break the device ABI,
// its manifest or the target profile is refused with a reason a human can act on.
import test from 'ava';
import type { Manifest } from '../contract/manifest.js';
import { loadTarget, type TargetProfile } from '../contract/targets.js';
import { validateArtifact } from '../engine/validate.js';
import {
  addRun, binaryen, build, fanRule, handRule, manifestFor, name, plusOneRule, rpi, section, stm32, uleb, vec,
  wasm, type ManifestChanges,
} from './support/engine-fixtures.js';

const { i32, f32, i64, none } = binaryen;
const fanCapabilities: ManifestChanges = { capabilities: { sensor: [0], gpio_out: [17] } };

function problemsOf(bytes: Uint8Array, changes: ManifestChanges = {}, target: TargetProfile = rpi,
  edit: (m: Manifest) => void = () => {}): string[] {
  const manifest = manifestFor(bytes, { target, ...changes });
  edit(manifest);
  return validateArtifact(bytes, manifest, target);
}

/** Asserts exactly one problem, matching `expected`. */
function refusedFor(t: import('ava').ExecutionContext, problems: string[], expected: RegExp): void {
  t.is(problems.length, 1, `expected one problem, got:\n${problems.join('\n')}`);
  t.regex(problems[0] ?? '', expected);
}

test('a well-formed rule with a matching manifest has no problems', (t) => {
  t.deepEqual(problemsOf(fanRule(), fanCapabilities), []);
  t.deepEqual(problemsOf(plusOneRule(), {}, stm32), []);
});

test('imports outside the device ABI are refused', (t) => {
  const wrongName = build((m) => {
    m.addFunctionImport('x', 'io', 'gx', i32, i32);
    addRun(m, () => m.call('x', [m.i32.const(0)], i32));
  });
  refusedFor(t, problemsOf(wrongName), /imports "io\.gx", which is not in the device ABI/);

  const wrongModule = build((m) => {
    m.addFunctionImport('x', 'env', 'gr', i32, i32);
    addRun(m, () => m.call('x', [m.i32.const(0)], i32));
  });
  refusedFor(t, problemsOf(wrongModule), /imports "env\.gr"; rules may import only from module "io"/);

  const wrongType = build((m) => {
    m.addFunctionImport('gr', 'io', 'gr', binaryen.createType([i32, i32]), none);
    addRun(m, () => m.block(null, [m.call('gr', [m.i32.const(1), m.i32.const(2)], none), m.i32.const(0)], i32));
  });
  refusedFor(t, problemsOf(wrongType, { capabilities: { gpio_in: [1] } }),
    /"io\.gr" has type \(i32, i32\) -> \(\); the device ABI requires \(i32\) -> i32/);
});

test('each import needs its capability and a place in the manifest\'s imports', (t) => {
  refusedFor(t, problemsOf(fanRule(), { capabilities: { sensor: [0] } }),
    /imports "io\.gw" but the manifest declares no gpio_out capability/);
  refusedFor(t, problemsOf(fanRule(), { ...fanCapabilities, imports: ['io.sr'] }),
    /imports "io\.gw" but the manifest's "imports" does not list it/);
});

test('capabilities must lie within the target', (t) => {
  refusedFor(t, problemsOf(plusOneRule(), { capabilities: { gpio_out: [40] } }), /gpio_out pin 40, but target "rpi" has pins 0\.\.27/);
  const nrf = loadTarget('nrf5340');
  refusedFor(t, problemsOf(plusOneRule(), { capabilities: { sensor: [9] } }, nrf),
    /sensor channel 9, but target "nrf5340" has channels 0, 1, 2, 3, 4, 5, 6, 7/);
});

test('memories, tables, start functions and data are refused', (t) => {
  const withMemory = build((m) => {
    m.setMemory(1, 1);
    addRun(m, () => m.local.get(0, i32));
  });
  refusedFor(t, problemsOf(withMemory), /declares a linear memory; rules must not have one/);

  const withTable = build((m) => {
    m.addTable('t', 1, 1);
    addRun(m, () => m.local.get(0, i32));
  });
  refusedFor(t, problemsOf(withTable), /declares a table; rules must not have one/);

  const withStart = build((m) => {
    const init = m.addFunction('init', none, none, [], m.nop());
    m.setStart(init);
    addRun(m, () => m.local.get(0, i32));
  });
  refusedFor(t, problemsOf(withStart), /has a start function \(function 0\); rules must not run code when they are loaded/);

  const withData = handRule([0x20, 0x00], {
    before: [section(5, vec([0, 1]))],
    after: [section(11, vec([0x00, 0x41, 0, 0x0b, ...uleb(2), 1, 2]))],
  });
  const problems = problemsOf(withData);
  t.true(problems.some((p) => /linear memory/.test(p)));
  t.true(problems.some((p) => /data segments; rules must not have any/.test(p)), problems.join('\n'));
});

test('exports other than run are refused', (t) => {
  const extraExport = build((m) => {
    addRun(m, () => m.local.get(0, i32));
    m.addFunctionExport('run', 'tick');
  });
  refusedFor(t, problemsOf(extraExport), /exports func "tick"; the only export of a rule is the function "run"/);

  const exportedGlobal = build((m) => {
    m.addGlobal('state', i32, true, m.i32.const(0));
    m.addGlobalExport('state', 'state');
    addRun(m, () => m.local.get(0, i32));
  }, binaryen.Features.MVP | binaryen.Features.MutableGlobals);
  refusedFor(t, problemsOf(exportedGlobal), /exports global 0 as "state"; rule state must not be exported/);

  const noRun = build((m) => {
    m.addFunction('tick', i32, i32, [], m.local.get(0, i32));
    m.addFunctionExport('tick', 'tick');
  });
  const problems = problemsOf(noRun);
  t.true(problems.some((p) => /does not export the function "run"/.test(p)), problems.join('\n'));

  const wrongRunType = build((m) => {
    m.addFunction('run', none, i32, [], m.i32.const(0));
    m.addFunctionExport('run', 'run');
  });
  refusedFor(t, problemsOf(wrongRunType), /"run" has type \(\) -> i32; the device ABI requires \(i32\) -> i32/);
});

test('custom sections are refused', (t) => {
  const bytes = build((m) => {
    addRun(m, () => m.local.get(0, i32));
    m.addCustomSection('note', Uint8Array.from([1, 2, 3]));
  });
  refusedFor(t, problemsOf(bytes), /custom section "note" \(\d+ bytes\); release artifacts carry none/);
});

test('instructions beyond WebAssembly 1.0 are refused', (t) => {
  const signExtension = build((m) => addRun(m, () => m.i32.extend8_s(m.local.get(0, i32))),
    binaryen.Features.MVP | binaryen.Features.SignExt);
  refusedFor(t, problemsOf(signExtension), /function 0 uses i32\.extend8_s .*, which is not WebAssembly 1\.0 \(MVP\)/);
  const saturating = handRule([0x43, 0, 0, 0, 0, 0xfc, 0x00]);
  refusedFor(t, problemsOf(saturating), /i32\.trunc_sat_f32_s/);
});

test('state globals must be mutable i32/f32 and within the target\'s slots', (t) => {
  const immutable = build((m) => {
    m.addGlobal('k', i32, false, m.i32.const(1));
    addRun(m, () => m.global.get('k', i32));
  });
  refusedFor(t, problemsOf(immutable), /global 0 is immutable; rule state must be mutable i32 or f32 globals/);

  const wide = build((m) => {
    m.addGlobal('big', i64, true, m.i64.const(1n));
    addRun(m, () => m.local.get(0, i32));
  });
  refusedFor(t, problemsOf(wide), /global 0 has type i64; rule state must be mutable i32 or f32 globals/);

  const many = build((m) => {
    for (let i = 0; i < 9; i++) m.addGlobal(`s${i}`, i % 2 ? f32 : i32, true, i % 2 ? m.f32.const(0) : m.i32.const(0));
    addRun(m, () => m.local.get(0, i32));
  });
  refusedFor(t, problemsOf(many, {}, stm32), /9 state globals; target "stm32" allows at most 8/);
  t.deepEqual(problemsOf(many, {}, rpi), []);
  refusedFor(t, problemsOf(many, { stateSlots: 3 }), /9 state globals but the manifest says stateSlots 3/);
});

test('truncated bytes are refused with the reader\'s reason', (t) => {
  const whole = fanRule();
  const truncated = whole.subarray(0, whole.length - 3);
  refusedFor(t, problemsOf(truncated, fanCapabilities), /not a readable WebAssembly module: .*runs past the end of the/);
  const notWasm = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  refusedFor(t, problemsOf(notWasm), /magic number/);
});

test('size, hash and target must match the manifest and the target cap', (t) => {
  const bytes = plusOneRule();
  const tiny: TargetProfile = { ...rpi, maxArtifactBytes: 20 };
  refusedFor(t, problemsOf(bytes, {}, tiny), new RegExp(`the artifact is ${bytes.length} bytes; target "rpi" allows at most 20`));
  refusedFor(t, problemsOf(bytes, {}, rpi, (m) => { m.size += 1; }),
    new RegExp(`the artifact is ${bytes.length} bytes but the manifest says ${bytes.length + 1}`));
  refusedFor(t, problemsOf(bytes, {}, rpi, (m) => { m.sha256 = 'ab'.repeat(32); }),
    /SHA-256 is [0-9a-f]{64} but the manifest says (ab){32}/);
  refusedFor(t, problemsOf(bytes, { target: stm32 }, rpi), /manifest is for target "stm32" but this host is target "rpi"/);

  // A real rule over the stm32 cap: 40 additions in a row.
  const big = build((m) => {
    let e = m.local.get(0, i32);
    for (let i = 0; i < 40; i++) e = m.i32.add(e, m.i32.const(1000 + i));
    addRun(m, () => e);
  });
  t.true(big.length > stm32.maxArtifactBytes && big.length <= rpi.maxArtifactBytes);
  refusedFor(t, problemsOf(big, {}, stm32), /target "stm32" allows at most 160/);
  t.deepEqual(problemsOf(big, {}, rpi), []);
});

test('bodies that do not type-check are refused by the verifier, before wasm3 would trust them', (t) => {
  const returnsF32 = handRule([0x43, 0, 0, 0, 0]); // f32.const 0 where run must return i32
  refusedFor(t, problemsOf(returnsF32), /verifier refuses the module \(type\): function 0, offset 0x[0-9a-f]+: `end`: expected i32 on the stack, found f32/);
  const returnsI64 = handRule([0x42, 0x00]); // i64.const 0: outside the ABI's subset
  refusedFor(t, problemsOf(returnsI64), /verifier refuses the module \(opcode\): .*i64\.const/);
  const badLocal = handRule([0x20, 0x05]); // local.get 5: no such local
  refusedFor(t, problemsOf(badLocal), /verifier refuses the module \(type\): .*there is no local 5/);
});

test('a malformed manifest is reported, not thrown', (t) => {
  const bytes = plusOneRule();
  const problems = problemsOf(bytes, {}, rpi, (m) => {
    (m as unknown as { capabilities: unknown }).capabilities = undefined;
    (m as unknown as { sha256: unknown }).sha256 = 42;
  });
  t.true(problems.some((p) => /capabilities must list integer pins/.test(p)), problems.join('\n'));
  t.true(problems.some((p) => /SHA-256/.test(p)));
});

test('hand-built import of io.sr with the wrong module name but right type is refused', (t) => {
  const bytes = wasm(
    section(1, vec([0x60, 1, 0x7f, 1, 0x7f])),
    section(2, vec([...name('IO'), ...name('sr'), 0x00, 0])),
    section(3, vec([0])),
    section(7, vec([...name('run'), 0x00, 1])),
    section(10, vec([...uleb(4), 0x00, 0x20, 0x00, 0x0b])),
  );
  refusedFor(t, problemsOf(bytes, { capabilities: { sensor: [0] } }), /imports "IO\.sr"; rules may import only from module "io"/);
});

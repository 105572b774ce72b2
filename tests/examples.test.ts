// Every example rule builds for every target it claims, fits the target's size cap, has the
// device ABI's shape, and passes its own `test` blocks tick by tick on Node's WebAssembly and on wasm3.
import test from 'ava';
import { compile } from '../compiler/index.js';
import { loadTarget } from '../contract/targets.js';
import { parseWasmModule, describeFuncType } from '../contract/wasm-module.js';
import { validateArtifact } from '../engine/validate.js';
import { runRuleTests } from '../runner/rule-tests.js';
import { examples } from './support/examples.js';

const all = examples();

test('there are at least 12 example rules, each with tests and targets', (t) => {
  t.true(all.length >= 12, `only ${all.length} examples`);
  for (const ex of all) {
    t.true(ex.targets.length > 0, `${ex.name} has no \`targets\` line`);
    t.regex(ex.source, /^test "/m, `${ex.name} has no test block`);
  }
});

for (const ex of all) {
  for (const targetName of ex.targets) {
    test(`${ex.name} on ${targetName}: builds, has the ABI shape, passes its tests`, async (t) => {
      const target = loadTarget(targetName);
      const result = await compile(ex.source, { target, file: ex.path });
      t.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), []);
      t.deepEqual(result.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message), [],
        'examples should build without warnings');
      const artifact = result.artifact!;
      t.truthy(artifact);
      t.true(artifact.wasm.length <= target.maxArtifactBytes);
      t.is(artifact.manifest.size, artifact.wasm.length);

      const parsed = parseWasmModule(artifact.wasm);
      if (!parsed.ok) return t.fail(parsed.error);
      const m = parsed.module;
      t.deepEqual(m.memories, []);
      t.deepEqual(m.tables, []);
      t.is(m.start, undefined);
      t.is(m.dataSegmentCount, 0);
      t.is(m.elementSegmentCount, 0);
      t.deepEqual(m.customSections, []);
      t.deepEqual(m.exports.map((e) => [e.name, e.kind]), [['run', 'func']]);
      const importedFns = m.imports.length;
      const run = m.exports[0];
      t.is(describeFuncType(m.types[m.functions[run.index - importedFns]]), describeFuncType({ params: ['i32'], results: ['i32'] }));
      t.true(m.imports.every((i) => i.module === 'io' && ['gr', 'gw', 'sr'].includes(i.name)));
      t.deepEqual(m.imports.map((i) => `io.${i.name}`).sort(), [...artifact.manifest.imports].sort());
      t.true(m.globals.every((g) => g.mutable && (g.type === 'i32' || g.type === 'f32')));
      t.deepEqual(validateArtifact(artifact.wasm, artifact.manifest, target), []);

      for (const backend of ['node', 'wasm3'] as const) {
        const outcomes = runRuleTests(result, backend);
        t.true(outcomes.length > 0);
        for (const o of outcomes) {
          t.true(o.passed, `${backend}: test "${o.name}" failed: ${JSON.stringify(o.failure)}`);
          t.true(o.ticks > 0, `test "${o.name}" never ticks`);
        }
      }
    });
  }
}

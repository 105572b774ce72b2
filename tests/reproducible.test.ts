// Builds are reproducible: the same source, target and compiler give byte-identical artifacts and
// manifests, in one process or across processes and output directories.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/index.js';
import { manifestJson } from '../contract/manifest.js';
import { cliPath, rulesDir } from './support/paths.js';
import { examples } from './support/examples.js';

test('compiling the same source twice gives identical bytes and manifests', async (t) => {
  for (const ex of examples()) {
    for (const target of ex.targets) {
      const a = await compile(ex.source, { target, file: ex.path });
      const b = await compile(ex.source, { target, file: 'elsewhere/renamed.rule' });
      if (!a.artifact) continue;
      t.deepEqual(Buffer.from(b.artifact!.wasm), Buffer.from(a.artifact.wasm), `${ex.name} on ${target}`);
      t.is(manifestJson(b.artifact!.manifest), manifestJson(a.artifact.manifest));
    }
  }
});

test('two `rules build` runs into different directories write identical files', (t) => {
  const outA = mkdtempSync(join(tmpdir(), 'rules-repro-a-'));
  const outB = mkdtempSync(join(tmpdir(), 'rules-repro-b-'));
  for (const out of [outA, outB]) {
    try {
      execFileSync(process.execPath, [cliPath, 'build', rulesDir, '--target', 'rpi', '--out', out], { stdio: 'pipe' });
    } catch { /* some examples may not fit rpi; the files that were written are compared */ }
  }
  const files = readdirSync(outA).sort();
  t.true(files.length >= 10);
  t.deepEqual(readdirSync(outB).sort(), files);
  for (const f of files) t.deepEqual(readFileSync(join(outB, f)), readFileSync(join(outA, f)), f);
});

test('the manifest records the source hash, so a changed source changes the manifest', async (t) => {
  const source = 'rule r\nuses gpio_out(1)\non tick { gpio(1) = 1 }\n';
  const a = await compile(source, { target: 'rpi' });
  const b = await compile(source + '# a comment\n', { target: 'rpi' });
  t.deepEqual(Buffer.from(a.artifact!.wasm), Buffer.from(b.artifact!.wasm));
  t.not(a.artifact!.manifest.sourceSha256, b.artifact!.manifest.sourceSha256);
});

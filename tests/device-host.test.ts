// The C device host's own tests (devices/host/tests/unit.c, one ava test per C test) and the C bundle
// verifier on the shared vectors of tests/vectors/bundle/, the same files contract/bundle.ts is checked on.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_TESTS_BINARY, readPublicKeyFile } from '../devices/virtual-board.js';
import { repoRoot } from './support/paths.js';

const run = (args: string[]) => spawnSync(HOST_TESTS_BINARY, args, { encoding: 'utf8', timeout: 60_000 });

// The C tests run once, when this file loads; each result becomes an ava test so a failure names itself.
const unit = run(['unit']);
// TAP: "ok N name" or "not ok N name" followed by "# why".
const results = [...(unit.stdout ?? '').matchAll(/^(ok|not ok) (\d+) (.*)$(?:\n# (.*)$)?/gm)];

test('the C unit tests ran to the end', (t) => {
  t.is(unit.error, undefined);
  const plan = /^1\.\.(\d+)$/m.exec(unit.stdout ?? '');
  t.truthy(plan, `no TAP plan in:\n${unit.stdout}\n${unit.stderr}`);
  t.is(results.length, Number(plan?.[1]));
  t.true(results.length >= 14);
});

for (const [, verdict, , name, why] of results) {
  test(`C: ${name}`, (t) => {
    t.is(verdict, 'ok', why);
  });
}

const VECTORS = join(repoRoot, 'tests', 'vectors', 'bundle');
interface Vector { file: string; installed: Record<string, number>; verdict: string; rc: number; note: string; needsModuleVerifier?: boolean }
const spec = JSON.parse(readFileSync(join(VECTORS, 'vectors.json'), 'utf8')) as {
  device: { target: string; abi: number; maxArtifactBytes: number; trusted: string[] };
  vectors: Vector[];
};
const trusted = readPublicKeyFile(join(VECTORS, spec.device.trusted[0]));
const trust = `${Buffer.from(trusted.id).toString('hex')}:${Buffer.from(trusted.key).toString('hex')}`;

for (const v of spec.vectors) {
  const installed = Object.entries(v.installed).map(([name, version]) => `${name}=${version}`);
  test(`C bundle verifier: ${v.file} with ${installed.join(', ') || 'nothing'} installed is ${v.verdict} (${v.note})`, (t) => {
    const args = ['bundle', '--trust', trust, '--max-artifact', String(spec.device.maxArtifactBytes)];
    for (const i of installed) args.push('--installed', i);
    const r = run([...args, join(VECTORS, v.file)]);
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.split(' ')[0], v.verdict, r.stdout);
  });
}

test('C bundle verifier: flipping any bit of valid-v2.bundle is refused', (t) => {
  const r = run(['bundle', '--trust', trust, '--max-artifact', String(spec.device.maxArtifactBytes), '--flip',
    join(VECTORS, 'valid-v2.bundle')]);
  t.is(r.status, 0, r.stderr);
  const m = /^flipped (\d+) accepted (\d+)$/m.exec(r.stdout);
  t.truthy(m, r.stdout);
  t.is(Number(m?.[1]), readFileSync(join(VECTORS, 'valid-v2.bundle')).length * 8);
  t.is(Number(m?.[2]), 0);
});

test('C SHA-256: the host computes the same hash as node:crypto for every length around the block sizes and for the vectors\' artifacts', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-c-sha256-'));
  const files: string[] = [];
  const expected: string[] = [];
  const add = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    files.push(path);
    expected.push(createHash('sha256').update(bytes).digest('hex'));
  };
  // Every length from 0 to 200 bytes (padding across one and two 64-byte blocks), from a fixed byte pattern.
  for (let n = 0; n <= 200; n++) add(`len-${n}`, Uint8Array.from({ length: n }, (_, i) => (i * 167 + n * 31 + 7) & 0xff));
  add('large', Uint8Array.from({ length: 60_000 }, (_, i) => (i * 7919) >>> 3 & 0xff));
  for (const name of ['fan_control.wasm', 'spin.wasm']) add(name, readFileSync(join(VECTORS, 'inputs', name)));
  const r = run(['sha256', ...files]);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), expected);
});

// The C device host's own tests (devices/host/tests/unit.c, one ava test per C test) and the C bundle
// verifier on the shared vectors of tests/vectors/bundle/, the same files contract/bundle.ts is checked on.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * Where the C host departs from the TypeScript verifier, and why: it has no SHA-256 (Monocypher has none and
 * crypto is never hand-written), so it compares the artifact's size with the manifest but not its hash. The
 * signature covers manifest and artifact together, so only the holder of a trusted key can make such a bundle.
 */
const C_DEPARTURES: Record<string, string> = { 'artifact-mismatch.bundle': 'accept' };

for (const v of spec.vectors) {
  const installed = Object.entries(v.installed).map(([name, version]) => `${name}=${version}`);
  test(`C bundle verifier: ${v.file} with ${installed.join(', ') || 'nothing'} installed is ${C_DEPARTURES[v.file] ?? v.verdict} (${v.note})`, (t) => {
    const args = ['bundle', '--trust', trust, '--max-artifact', String(spec.device.maxArtifactBytes)];
    for (const i of installed) args.push('--installed', i);
    const r = run([...args, join(VECTORS, v.file)]);
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.split(' ')[0], C_DEPARTURES[v.file] ?? v.verdict, r.stdout);
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

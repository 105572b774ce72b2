// The C device host's module verifier (devices/host/src/verify.c) on the shared verifier vectors of
// tests/vectors/verifier/ (device-abi.md §4.5): the same verdict, bound, refusal code and function as contract/verify.ts.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_TESTS_BINARY } from '../devices/virtual-board.js';
import { verifierVectors, watToWasm } from './support/vectors.js';

const dir = mkdtempSync(join(tmpdir(), 'rules-c-verifier-'));

for (const v of verifierVectors()) {
  test(`C verifier: ${v.name}: ${v.description}`, (t) => {
    const file = join(dir, `${v.name}.wasm`);
    writeFileSync(file, watToWasm(v.path));
    const r = spawnSync(HOST_TESTS_BINARY, ['verify', '--claim', String(v.claim), '--limit', String(v.limit),
      '--float', v.floatingPoint ? 'yes' : 'no', file], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const [verdict, first, fn, bound] = r.stdout.trim().split(' ');
    if (v.expect.verdict === 'accept') {
      t.is(verdict, 'accept', r.stdout);
      t.is(Number(first), v.expect.bound);
    } else {
      t.is(verdict, 'refuse', r.stdout);
      t.is(first, v.expect.code, r.stdout);
      if (v.expect.functionIndex !== undefined) t.is(Number(fn), v.expect.functionIndex, r.stdout);
      if (v.expect.bound !== undefined) t.is(Number(bound), v.expect.bound, r.stdout);
    }
  });
}

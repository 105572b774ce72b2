// The one crash-safe writer (contract/atomic-file.ts) that build outputs, keys, bundles and the gateway's state use.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../contract/atomic-file.js';

const folder = () => mkdtempSync(join(tmpdir(), 'rules-atomic-'));

test('writes new bytes over the old file and leaves no temporary file behind', (t) => {
  const dir = folder();
  const path = join(dir, 'rule.bundle');
  writeFileAtomic(path, 'old');
  writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  t.deepEqual([...readFileSync(path)], [1, 2, 3]);
  writeFileAtomic(path, 'quick', { durable: false });
  t.is(readFileSync(path, 'utf8'), 'quick');
  t.deepEqual(readdirSync(dir), ['rule.bundle']);
});

test('a key file gets exactly the mode asked for, whatever the umask', (t) => {
  const path = join(folder(), 'ops.key');
  const previous = process.umask(0);
  try {
    writeFileAtomic(path, 'secret', { mode: 0o600 });
  } finally {
    process.umask(previous);
  }
  t.is(statSync(path).mode & 0o777, 0o600);
});

test('regression: a stale temporary file from a crashed writer does not lend its mode to a private key', (t) => {
  const dir = folder();
  const path = join(dir, 'ops.key');
  const stale = `${path}.tmp-${process.pid}`;
  writeFileSync(stale, 'half a key');
  chmodSync(stale, 0o644);
  writeFileAtomic(path, 'secret', { mode: 0o600 });
  t.is(statSync(path).mode & 0o777, 0o600);
  t.is(readFileSync(path, 'utf8'), 'secret');
  t.deepEqual(readdirSync(dir), ['ops.key']);
});

test('a write that cannot complete leaves the old content and no temporary file', (t) => {
  const dir = folder();
  const path = join(dir, 'versions.json');
  mkdirSync(path); // rename over a folder fails: the write must not leave half a file or remove what is there
  t.throws(() => writeFileAtomic(path, '{"fan_control": 3}'));
  t.true(statSync(path).isDirectory());
  t.deepEqual(readdirSync(dir), ['versions.json']);
});

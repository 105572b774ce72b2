// The signing and device commands as a user runs them: keygen, bundle, flash, device, ports, through
// real pseudo-terminals to a board double, with the errors a user can act on and their exit codes.
import test from 'ava';
import { mkdtempSync, readFileSync, statSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rules } from './support/cli.js';
import { repoRoot } from './support/paths.js';
import { ptyProgram } from './support/pty.js';
import { vectorsDir } from './support/bundle-vectors.js';
import { decodeBundle, parsePublicKeyText, verifyBundle } from '../contract/bundle.js';
import { spawn } from 'node:child_process';

const fakeBoard = join(repoRoot, 'dist', 'tests', 'support', 'fake-board-serve.js');
const trustedKey = join(vectorsDir, 'trusted.key');
const trustedPub = join(vectorsDir, 'trusted.pub');
const fan = join(repoRoot, 'rules', 'fan_control.rule');

/** Runs the CLI without blocking the event loop (the board double runs in another process anyway). */
function rulesAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'rules.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('keygen: a 0600 PKCS#8 private key and a one-line public key; refuses to overwrite', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-keygen-'));
  const r = rules(['keygen', '--out', join(dir, 'ops'), '--comment', 'ops laptop']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /key id [0-9a-f]{16}/);
  t.is(statSync(join(dir, 'ops.key')).mode & 0o777, 0o600);
  t.regex(readFileSync(join(dir, 'ops.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  t.regex(readFileSync(join(dir, 'ops.pub'), 'utf8'), /^rules-ed25519 [A-Za-z0-9+/]{43}= ops laptop\n$/);
  const again = rules(['keygen', '--out', join(dir, 'ops')]);
  t.is(again.code, 2);
  t.regex(again.stderr, /exists already; pass --force/);
});

test('bundle: from source and from an artifact, verifiable with the public key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-bundle-'));
  const out = join(dir, 'fan.bundle');
  const r = rules(['bundle', fan, '--target', 'stm32', '--key', trustedKey, '--rule-version', '4', '--out', out]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /fan_control v4 for stm32: \d+ B bundle, signed/);
  const bytes = new Uint8Array(readFileSync(out));
  const v = verifyBundle(bytes, { trusted: [parsePublicKeyText(readFileSync(trustedPub, 'utf8'))], target: 'stm32' });
  t.true(v.ok);
  t.is(rules(['build', fan, '--target', 'stm32', '--out', dir, '--rule-version', '5']).code, 0);
  const fromArtifact = rules(['bundle', join(dir, 'fan_control.wasm'), '--key', trustedKey, '--json']);
  t.is(fromArtifact.code, 0, fromArtifact.stderr);
  const json = JSON.parse(fromArtifact.stdout);
  t.is(json.bundle, join(dir, 'fan_control.bundle'));
  const decoded = decodeBundle(new Uint8Array(readFileSync(json.bundle)));
  t.true(decoded.ok && decoded.value.manifest.version === 5);
  const mismatch = rules(['bundle', join(dir, 'fan_control.wasm'), '--key', trustedKey, '--rule-version', '6']);
  t.is(mismatch.code, 2);
  t.regex(mismatch.stderr, /says version 5, not 6/);
});

test('bundle: usage and input errors exit 2 with a message, rule errors exit 1 with diagnostics', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-bundle-'));
  t.is(rules(['bundle', fan, '--target', 'stm32']).code, 2);
  const pubAsKey = rules(['bundle', fan, '--target', 'stm32', '--key', trustedPub]);
  t.is(pubAsKey.code, 2);
  t.regex(pubAsKey.stderr, /that is a public key/);
  const missing = rules(['bundle', fan, '--target', 'stm32', '--key', join(dir, 'none.key')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /rules keygen/);
  copyFileSync(join(repoRoot, 'tests', 'golden', 'E0301-undeclared-capability.rule'), join(dir, 'bad.rule'));
  const bad = rules(['bundle', join(dir, 'bad.rule'), '--target', 'stm32', '--key', trustedKey]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /E0301/);
  t.not(bad.stderr.includes('    at '), true);
});

test('flash and device commands through a pseudo-terminal to a board double', async (t) => {
  const board = await ptyProgram(`node ${fakeBoard} --target stm32 --trust ${trustedPub}`);
  try {
    const port = board.path;
    const flashed = await rulesAsync(['flash', fan, '--port', port, '--key', trustedKey, '--rule-version', '2']);
    t.is(flashed.code, 0, flashed.stderr);
    t.regex(flashed.stdout, /now runs fan_control v2 \(running\), sha256 [0-9a-f]{12}/);
    const list = await rulesAsync(['device', 'list', '--port', port, '--json']);
    t.is(list.code, 0, list.stderr);
    t.deepEqual(JSON.parse(list.stdout).rules.map((r: { name: string; version: number }) => [r.name, r.version]), [['fan_control', 2]]);
    const status = await rulesAsync(['device', 'status', 'fan_control', '--port', port]);
    t.is(status.code, 0);
    t.regex(status.stdout, /saturated readings: channel 0: 2/);
    const older = await rulesAsync(['flash', join(vectorsDir, 'valid-v1.bundle'), '--port', port]);
    t.is(older.code, 1);
    t.regex(older.stderr, /the board refused: .*not newer.*\(downgrade\)/);
    const wrongTarget = await rulesAsync(['flash', fan, '--port', port, '--key', trustedKey, '--target', 'nrf5340']);
    t.is(wrongTarget.code, 1);
    t.regex(wrongTarget.stderr, /is a stm32 board, not nrf5340/);
    const untrusted = await rulesAsync(['flash', fan, '--port', port, '--key', join(vectorsDir, 'other.key'), '--json']);
    t.is(untrusted.code, 1);
    t.is(JSON.parse(untrusted.stdout).error.kind, 'unknown_key');
    const echo = await rulesAsync(['device', 'echo', 'ping', '--port', port]);
    t.is(echo.stdout, 'ping\n');
    const removed = await rulesAsync(['device', 'remove', 'fan_control', '--port', port]);
    t.is(removed.code, 0);
    const gone = await rulesAsync(['device', 'status', 'fan_control', '--port', port]);
    t.is(gone.code, 1);
    t.regex(gone.stderr, /no_such_rule/);
  } finally {
    await board.stop();
  }
});

test('a silent port: no answer, with a hint, exit 1; a missing port: exit 2', async (t) => {
  const silent = await ptyProgram('cat > /dev/null');
  try {
    const r = await rulesAsync(['device', 'list', '--port', silent.path, '--timeout', '100']);
    t.is(r.code, 1);
    t.regex(r.stderr, /no answer from .*is the rules device host flashed on the board/);
  } finally {
    await silent.stop();
  }
  const missing = rules(['flash', join(vectorsDir, 'valid-v2.bundle'), '--port', '/dev/does-not-exist', '--json']);
  t.is(missing.code, 2);
  t.is(JSON.parse(missing.stdout).error.kind, 'port_missing');
  t.regex(missing.stderr, /rules ports/);
});

test('ports: lists serial ports as JSON, boards marked by vendor id', (t) => {
  const r = rules(['ports', '--json']);
  t.is(r.code, 0, r.stderr);
  const ports = JSON.parse(r.stdout) as { path: string; likely: string | null }[];
  t.true(Array.isArray(ports));
  for (const p of ports) t.true(p.path.startsWith('/dev/'));
});

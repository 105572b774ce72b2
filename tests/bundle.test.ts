// Signed bundles (contract/bundle.ts, docs/bundle.md): the layout, the verdicts of the shared test
// vectors, keys in their file forms, and that changing any byte of a bundle is detected.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUNDLE_ERRORS, decodeBundle, encodeBundle, keyId, parsePrivateKeyPem, parsePublicKeyText, publicKeyText, rawPublicKey,
  generateKeyPair, privateKeyPem, verifyBundle, BundleError,
} from '../contract/bundle.js';
import type { Manifest } from '../contract/manifest.js';
import { makeVectors, testKey, vectorDevice, vectorsDir, vectorsJson } from './support/bundle-vectors.js';

const trustedPub = parsePublicKeyText(readFileSync(join(vectorsDir, 'trusted.pub'), 'utf8'));

function verdictOf(bytes: Uint8Array, installed: Record<string, number>) {
  const r = verifyBundle(bytes, {
    trusted: [trustedPub], target: vectorDevice.target, abi: vectorDevice.abi, maxArtifactBytes: vectorDevice.maxArtifactBytes,
    installedVersion: (rule) => installed[rule],
  });
  return r.ok ? 'accept' : r.code;
}

test('the committed vectors are what the generator makes (regenerate with --write after a deliberate change)', (t) => {
  const vectors = makeVectors();
  t.is(readFileSync(join(vectorsDir, 'vectors.json'), 'utf8'), vectorsJson(vectors));
  for (const v of vectors) t.deepEqual(new Uint8Array(readFileSync(join(vectorsDir, v.file))), v.bytes, v.file);
});

test('every vector gets its documented verdict', (t) => {
  const { vectors } = JSON.parse(readFileSync(join(vectorsDir, 'vectors.json'), 'utf8')) as { vectors: { file: string; installed: Record<string, number>; verdict: string; rc: number; needsModuleVerifier?: boolean }[] };
  t.true(vectors.length >= 20);
  for (const v of vectors) {
    const bytes = new Uint8Array(readFileSync(join(vectorsDir, v.file)));
    // Without the module verifier the bundle layer must let such a bundle through to it.
    const expected = v.needsModuleVerifier ? 'accept' : v.verdict;
    t.is(verdictOf(bytes, v.installed), expected, `${v.file} with ${JSON.stringify(v.installed)}`);
    t.is(v.rc, v.verdict === 'accept' ? 0 : BUNDLE_ERRORS[v.verdict as keyof typeof BUNDLE_ERRORS]);
  }
});

test('a module verifier\'s refusal is the verdict `unverifiable`', (t) => {
  const spin = new Uint8Array(readFileSync(join(vectorsDir, 'unverifiable-spin.bundle')));
  const r = verifyBundle(spin, { trusted: [trustedPub], verifyModule: (wasm) => (wasm.includes(0x0c) ? 'run never returns' : null) });
  t.false(r.ok);
  if (!r.ok) t.is(r.code, 'unverifiable');
});

test('the envelope has a fixed 92-byte prefix before the body (docs/bundle.md)', (t) => {
  const bytes = new Uint8Array(readFileSync(join(vectorsDir, 'valid-v2.bundle')));
  t.is(Buffer.from(bytes.subarray(0, 9)).toString('hex'), 'a4617601636b696448');
  t.deepEqual(bytes.subarray(9, 17), keyId(trustedPub));
  t.is(Buffer.from(bytes.subarray(17, 23)).toString('hex'), '637369675840');
  t.is(Buffer.from(bytes.subarray(87, 92)).toString('hex'), '64626f6479');
  const decoded = decodeBundle(bytes);
  t.true(decoded.ok);
  if (decoded.ok) {
    t.is(decoded.value.manifest.rule, 'fan_control');
    t.is(decoded.value.manifest.version, 2);
    t.is(decoded.value.wasm.length, decoded.value.manifest.size);
    t.deepEqual(bytes.subarray(bytes.length - decoded.value.body.length), decoded.value.body);
  }
});

test('changing any single byte of a bundle is detected', (t) => {
  const bytes = new Uint8Array(readFileSync(join(vectorsDir, 'valid-v2.bundle')));
  t.is(verdictOf(bytes, {}), 'accept');
  for (let i = 0; i < bytes.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const changed = bytes.slice();
      changed[i] ^= mask;
      t.not(verdictOf(changed, {}), 'accept', `byte ${i} ^ ${mask}`);
    }
  }
});

test('bundles are deterministic: the same content and key give the same bytes', (t) => {
  const bytes = new Uint8Array(readFileSync(join(vectorsDir, 'valid-v2.bundle')));
  const decoded = decodeBundle(bytes);
  if (!decoded.ok) return t.fail(decoded.message);
  const again = encodeBundle({ manifest: decoded.value.manifest, wasm: decoded.value.wasm }, testKey('trusted'));
  t.deepEqual(again, bytes);
});

test('keys round-trip through their file forms; the public key is one documented line', (t) => {
  const { privateKey, publicKey } = generateKeyPair();
  const line = publicKeyText(publicKey, 'ops laptop');
  t.regex(line, /^rules-ed25519 [A-Za-z0-9+/]{43}= ops laptop\n$/);
  t.deepEqual(rawPublicKey(parsePublicKeyText(line)), rawPublicKey(publicKey));
  t.deepEqual(rawPublicKey(parsePrivateKeyPem(privateKeyPem(privateKey))), rawPublicKey(publicKey));
  t.throws(() => parsePublicKeyText('ssh-ed25519 AAAA'), { instanceOf: BundleError });
  t.throws(() => parsePrivateKeyPem('not a key'), { instanceOf: BundleError });
});

test('bundling refuses a manifest a device could not store', (t) => {
  const bytes = new Uint8Array(readFileSync(join(vectorsDir, 'valid-v2.bundle')));
  const decoded = decodeBundle(bytes);
  if (!decoded.ok) return t.fail(decoded.message);
  const manifest: Manifest = { ...decoded.value.manifest, rule: 'x'.repeat(32) };
  t.throws(() => encodeBundle({ manifest, wasm: decoded.value.wasm }, testKey('trusted')), { message: /at most 31 bytes/ });
});

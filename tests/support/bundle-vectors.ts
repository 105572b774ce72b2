// The bundle test vectors (tests/vectors/bundle/, docs/bundle.md): made from fixed inputs and fixed test
// keys, so they are byte-reproducible. `node dist/tests/support/bundle-vectors.js --write` rewrites them.
import { createPrivateKey, createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assembleBundle, BUNDLE_ERRORS, cborEncode, encodeBody, encodeBundle, keyId, privateKeyPem, publicKeyText, signBody,
  type BundleErrorCode,
} from '../../contract/bundle.js';
import type { Manifest } from '../../contract/manifest.js';
import { repoRoot } from './paths.js';

export const vectorsDir = join(repoRoot, 'tests', 'vectors', 'bundle');

/** A test key from a fixed seed: never use these keys for anything but tests. */
export function testKey(label: string): KeyObject {
  const seed = createHash('sha256').update(`rules bundle test key: ${label}`).digest();
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

export interface VectorDevice { target: string; abi: number; maxArtifactBytes: number; trusted: string[] }

export interface Vector {
  file: string;
  /** Installed rule versions on the device before the install: rule name -> version. */
  installed: Record<string, number>;
  verdict: 'accept' | BundleErrorCode;
  rc: number;
  /** Set when only the module verifier (device-abi.md item 4) can give the verdict. */
  needsModuleVerifier?: true;
  note: string;
  bytes: Uint8Array;
}

export const vectorDevice: VectorDevice = { target: 'stm32', abi: 1, maxArtifactBytes: 160, trusted: ['trusted.pub'] };

function input(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(vectorsDir, 'inputs', name)));
}

function manifestFor(wasm: Uint8Array, base: Manifest, changes: Partial<Manifest>): Manifest {
  return { ...base, size: wasm.length, sha256: createHash('sha256').update(wasm).digest('hex'), ...changes };
}

export function makeVectors(): Vector[] {
  const trusted = testKey('trusted');
  const other = testKey('other');
  const fan = input('fan_control.wasm');
  const fanManifest = JSON.parse(readFileSync(join(vectorsDir, 'inputs', 'fan_control.manifest.json'), 'utf8')) as Manifest;
  const spin = input('spin.wasm');
  const v = (version: number, extra: Partial<Manifest> = {}) => manifestFor(fan, fanManifest, { version, ...extra });
  const valid2 = encodeBundle({ manifest: v(2), wasm: fan }, trusted);
  const out: Vector[] = [];
  const add = (file: string, bytes: Uint8Array, verdict: 'accept' | BundleErrorCode, note: string, installed: Record<string, number> = {}, extra: Partial<Vector> = {}) => {
    out.push({ file, installed, verdict, rc: verdict === 'accept' ? 0 : BUNDLE_ERRORS[verdict], note, bytes, ...extra });
  };
  const flip = (bytes: Uint8Array, at: number) => { const c = bytes.slice(); c[at] ^= 0x01; return c; };

  add('valid-v2.bundle', valid2, 'accept', 'fan_control version 2, nothing installed');
  add('valid-v2.bundle', valid2, 'accept', 'an upgrade from version 1', { fan_control: 1 });
  add('valid-v2.bundle', valid2, 'downgrade', 'the same version again', { fan_control: 2 });
  add('valid-v1.bundle', encodeBundle({ manifest: v(1), wasm: fan }, trusted), 'downgrade', 'an older version', { fan_control: 2 });
  const rollback = encodeBundle({ manifest: v(1), wasm: fan, rollback: 2 }, trusted);
  add('rollback-v1-from-v2.bundle', rollback, 'accept', 'a signed rollback from the installed version 2 to 1', { fan_control: 2 });
  add('rollback-v1-from-v2.bundle', rollback, 'downgrade', 'a rollback made for version 2 does not replace version 3', { fan_control: 3 });
  add('wrong-key.bundle', encodeBundle({ manifest: v(2), wasm: fan }, other), 'unknown_key', 'signed by a key the device does not trust');
  const body2 = encodeBody({ manifest: v(2), wasm: fan });
  add('forged-kid.bundle', assembleBundle(body2, keyId(trusted), signBody(body2, other)), 'bad_signature', 'the trusted key\'s id, another key\'s signature');
  add('unsigned.bundle', assembleBundle(body2, keyId(trusted), new Uint8Array(64)), 'bad_signature', 'a signature of 64 zero bytes');
  const wasmAt = indexOf(valid2, fan);
  add('tampered-wasm.bundle', flip(valid2, wasmAt + 60), 'bad_signature', 'one bit of the artifact flipped');
  add('tampered-sig.bundle', flip(valid2, 30), 'bad_signature', 'one bit of the signature flipped');
  add('tampered-kid.bundle', flip(valid2, 12), 'unknown_key', 'one bit of the key id flipped');
  add('wrong-target.bundle', encodeBundle({ manifest: v(2, { target: 'nrf5340' }), wasm: fan }, trusted), 'wrong_target', 'built for nrf5340');
  add('wrong-abi.bundle', encodeBundle({ manifest: v(2, { abi: 2 }), wasm: fan }, trusted), 'wrong_abi', 'device ABI 2');
  add('artifact-mismatch.bundle', encodeBundle({ manifest: v(2, { sha256: '00'.repeat(32) }), wasm: fan }, trusted), 'artifact_mismatch', 'the manifest\'s sha256 is not the artifact\'s');
  // Only the last bit of the hash differs: a verifier must compare all 32 bytes of a hash it computes itself.
  const offByOne = createHash('sha256').update(fan).digest();
  offByOne[31] ^= 0x01;
  add('artifact-sha256-last-bit.bundle', encodeBundle({ manifest: v(2, { sha256: offByOne.toString('hex') }), wasm: fan }, trusted), 'artifact_mismatch',
    'the manifest\'s sha256 is the artifact\'s with its last bit flipped');
  const big = new Uint8Array(200);
  big.set(fan);
  add('too-big.bundle', encodeBundle({ manifest: manifestFor(big, fanManifest, { version: 2 }), wasm: big }, trusted), 'too_big', 'a 200-byte artifact for a 160-byte target');
  add('unverifiable-spin.bundle', encodeBundle({
    manifest: manifestFor(spin, fanManifest, { rule: 'spin', description: 'loop br 0', version: 1, imports: [],
      capabilities: { sensor: [], gpio_in: [], gpio_out: [] }, ranges: [], stateSlots: 0, maxInstructionsPerTick: 10 }), wasm: spin,
  }, trusted), 'unverifiable', 'run is `loop br 0`: it never returns', {}, { needsModuleVerifier: true });
  add('format-v2.bundle', assembleBundle(body2, keyId(trusted), signBody(body2, trusted), 2), 'format', 'bundle format 2');
  add('body-only.bundle', body2, 'malformed', 'the body without its envelope');
  add('truncated.bundle', valid2.slice(0, valid2.length - 1), 'malformed', 'the last byte missing');
  add('trailing-byte.bundle', new Uint8Array([...valid2, 0]), 'malformed', 'one byte after the bundle');
  // The same map with its keys out of order: valid CBOR, not deterministic.
  const swapped = new Uint8Array([0xa4, 0x61, 0x76, 0x01, ...valid2.slice(17, 87), ...valid2.slice(4, 17), ...valid2.slice(87)]);
  add('non-canonical.bundle', swapped, 'malformed', 'kid and sig in the wrong key order');
  const extraKey = cborEncode({ manifest: v(2), wasm: fan, note: 'x' });
  add('unknown-body-key.bundle', assembleBundle(extraKey, keyId(trusted), signBody(extraKey, trusted)), 'malformed', 'a signed body with an unknown key');
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}

/** vectors.json: what a verifier (TypeScript or C) is given and must answer. */
export function vectorsJson(vectors: Vector[]): string {
  return JSON.stringify({
    about: 'Bundle test vectors (docs/bundle.md). For each entry: a device with `device`, the rules in `installed`, receives `file`; it must answer `verdict` (rc: SMP group 64 code). Keys: trusted.key/other.key are test keys, never use them elsewhere.',
    device: vectorDevice,
    vectors: vectors.map(({ bytes: _bytes, ...rest }) => rest),
  }, null, 2) + '\n';
}

export function writeVectors(): void {
  mkdirSync(vectorsDir, { recursive: true });
  const vectors = makeVectors();
  for (const vector of vectors) writeFileSync(join(vectorsDir, vector.file), vector.bytes);
  writeFileSync(join(vectorsDir, 'vectors.json'), vectorsJson(vectors));
  for (const label of ['trusted', 'other']) {
    writeFileSync(join(vectorsDir, `${label}.key`), privateKeyPem(testKey(label)));
    writeFileSync(join(vectorsDir, `${label}.pub`), publicKeyText(testKey(label), `test key "${label}"`));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) writeVectors();

// Signed rule bundles (docs/bundle.md): what travels to a device over serial or MQTT. This one module
// encodes, decodes and verifies them; the signature covers the body's exact bytes, so no verifier re-encodes.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { orderedManifest, type Manifest, type SensorRange } from './manifest.js';

export const BUNDLE_FORMAT = 1;
/** Signed bytes = this prefix followed by the body bytes, so a bundle signature is never valid for anything else. */
export const SIGNATURE_DOMAIN = new TextEncoder().encode('rules-bundle-v1\0');
export const KEY_ID_BYTES = 8;
export const PUBLIC_KEY_PREFIX = 'rules-ed25519';
export const MAX_RULE_NAME_BYTES = 31;
export const RULE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a bundle is refused, in the order a verifier checks. The numbers are SMP group 64's `rc` (docs/smp.md). */
export const BUNDLE_ERRORS = {
  malformed: 1,
  format: 2,
  unknown_key: 3,
  bad_signature: 4,
  wrong_abi: 5,
  wrong_target: 6,
  artifact_mismatch: 7,
  too_big: 8,
  downgrade: 9,
  unverifiable: 10,
} as const;
export type BundleErrorCode = keyof typeof BUNDLE_ERRORS;

export interface BundleContent {
  manifest: Manifest;
  wasm: Uint8Array;
  /** Set only on a signed rollback: the installed version this bundle may replace although its own is not newer. */
  rollback?: number;
}

export interface DecodedBundle extends BundleContent {
  format: number;
  kid: Uint8Array;
  sig: Uint8Array;
  /** The exact body bytes the signature covers. */
  body: Uint8Array;
}

export type BundleResult<T> = { ok: true; value: T } | { ok: false; code: BundleErrorCode; message: string };

export class BundleError extends Error {
  constructor(readonly code: BundleErrorCode, message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

const fail = (code: BundleErrorCode, message: string): { ok: false; code: BundleErrorCode; message: string } => ({ ok: false, code, message });

// ---- keys ----

export interface KeyPair { privateKey: KeyObject; publicKey: KeyObject }

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ed25519');
}

/** The 32 raw bytes of an Ed25519 public key (RFC 8032), taken from its SPKI DER form. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new BundleError('malformed', 'not an Ed25519 key');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new BundleError('malformed', 'an Ed25519 public key has 32 bytes');
  const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');
  return createPublicKey({ key: Buffer.concat([spkiPrefix, raw]), format: 'der', type: 'spki' });
}

/** A key's id: the first 8 bytes of the SHA-256 of its 32 raw bytes. */
export function keyId(key: KeyObject | Uint8Array): Uint8Array {
  const raw = key instanceof Uint8Array ? key : rawPublicKey(key);
  return new Uint8Array(createHash('sha256').update(raw).digest().subarray(0, KEY_ID_BYTES));
}

/** The public key file's one line: `rules-ed25519 <base64 of the 32 raw bytes> [comment]`. */
export function publicKeyText(key: KeyObject, comment?: string): string {
  const line = `${PUBLIC_KEY_PREFIX} ${Buffer.from(rawPublicKey(key)).toString('base64')}`;
  return (comment ? `${line} ${comment.replace(/[\r\n]+/g, ' ')}` : line) + '\n';
}

export function parsePublicKeyText(text: string): KeyObject {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith('#')) ?? '';
  const [prefix, b64] = line.split(/\s+/);
  if (prefix !== PUBLIC_KEY_PREFIX || !b64 || !/^[A-Za-z0-9+/]{43}=$/.test(b64)) {
    throw new BundleError('malformed', `not a rules public key: expected one line \`${PUBLIC_KEY_PREFIX} <base64 of 32 bytes>\``);
  }
  return publicKeyFromRaw(new Uint8Array(Buffer.from(b64, 'base64')));
}

/** The private key file: PKCS#8 PEM, as OpenSSL writes it. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function parsePrivateKeyPem(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new BundleError('malformed', 'not a private key: expected a PKCS#8 PEM file as `rules keygen` writes');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new BundleError('malformed', `the private key is ${key.asymmetricKeyType}, not Ed25519`);
  return key;
}

// ---- encoding ----

/** The manifest as CBOR data: every field, the same names and values as the JSON manifest. */
function manifestData(m: Manifest): Record<string, unknown> {
  return { ...orderedManifest(m) };
}

export function cborEncode(value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions);
}

export function cborDecode(bytes: Uint8Array): unknown {
  return decode(bytes, { strict: true, rejectDuplicateMapKeys: true, allowIndefinite: false, allowUndefined: false, allowInfinity: false, allowNaN: false, allowBigInt: false });
}

/** The body: what the signature covers. */
export function encodeBody(content: BundleContent): Uint8Array {
  const problem = manifestProblem(manifestData(content.manifest));
  if (problem) throw new BundleError('malformed', `cannot bundle this manifest: ${problem}`);
  const body: Record<string, unknown> = { manifest: manifestData(content.manifest), wasm: content.wasm };
  if (content.rollback !== undefined) {
    if (!isUint32(content.rollback) || content.rollback < 1) throw new BundleError('malformed', 'rollback must name a positive installed version');
    body.rollback = content.rollback;
  }
  return cborEncode(body);
}

export function signBody(body: Uint8Array, privateKey: KeyObject): Uint8Array {
  return new Uint8Array(sign(null, concat(SIGNATURE_DOMAIN, body), privateKey));
}

/** Encodes and signs a bundle. The result is deterministic: Ed25519 signatures are. */
export function encodeBundle(content: BundleContent, privateKey: KeyObject): Uint8Array {
  const body = encodeBody(content);
  return assembleBundle(body, keyId(privateKey), signBody(body, privateKey));
}

/** Puts a bundle together from its parts (tests use it to build tampered bundles). */
export function assembleBundle(body: Uint8Array, kid: Uint8Array, sig: Uint8Array, format = BUNDLE_FORMAT): Uint8Array {
  return cborEncode({ v: format, kid, sig, body });
}

// ---- decoding ----

/** Decodes a bundle without checking its signature: layout, canonical encoding, field types. */
export function decodeBundle(bytes: Uint8Array): BundleResult<DecodedBundle> {
  const envelope = decodeEnvelope(bytes);
  if (!envelope.ok) return envelope;
  const body = decodeBody(envelope.value.body);
  if (!body.ok) return body;
  return { ok: true, value: { format: BUNDLE_FORMAT, ...envelope.value, ...body.value } };
}

/** Decodes the body bytes: { wasm, manifest, rollback? }. */
export function decodeBody(bytes: Uint8Array): BundleResult<BundleContent> {
  const decoded = decodeCanonical(bytes, 'the body');
  if (!decoded.ok) return decoded;
  const body = decoded.value;
  if (!isMap(body)) return fail('malformed', 'the body is not a CBOR map');
  for (const key of Object.keys(body)) {
    if (!['wasm', 'manifest', 'rollback'].includes(key)) return fail('malformed', `the body has an unknown key \`${key}\``);
  }
  if (!(body.wasm instanceof Uint8Array)) return fail('malformed', 'the body\'s `wasm` must be a byte string');
  if ('rollback' in body && (!isUint32(body.rollback) || body.rollback < 1)) return fail('malformed', 'the body\'s `rollback` must be a positive integer');
  if (!isMap(body.manifest)) return fail('malformed', 'the body\'s `manifest` must be a map');
  const problem = manifestProblem(body.manifest);
  if (problem) return fail('malformed', `the manifest is malformed: ${problem}`);
  const content: BundleContent = { manifest: body.manifest as unknown as Manifest, wasm: body.wasm };
  if ('rollback' in body) content.rollback = body.rollback as number;
  return { ok: true, value: content };
}

function decodeCanonical(bytes: Uint8Array, what: string): BundleResult<unknown> {
  let value: unknown;
  try {
    value = cborDecode(bytes);
  } catch (e) {
    return fail('malformed', `${what} is not valid CBOR: ${(e as Error).message}`);
  }
  // Deterministic encoding is required, not just produced: one bundle, one byte string.
  let again: Uint8Array;
  try {
    again = cborEncode(value);
  } catch {
    return fail('malformed', `${what} holds values a bundle never carries`);
  }
  if (!equalBytes(again, bytes)) return fail('malformed', `${what} is not in deterministic CBOR encoding (RFC 8949 §4.2.1)`);
  return { ok: true, value };
}

/** What is wrong with a manifest's shape, or null. Unknown keys are allowed (later compilers may add some). */
export function manifestProblem(m: Record<string, unknown>): string | null {
  const text = (k: string) => (typeof m[k] === 'string' ? null : `\`${k}\` must be a text string`);
  const uint = (k: string) => (isUint32(m[k]) ? null : `\`${k}\` must be an unsigned 32-bit integer`);
  const hex = (k: string) => (typeof m[k] === 'string' && /^[0-9a-f]{64}$/.test(m[k] as string) ? null : `\`${k}\` must be 64 lowercase hex digits`);
  const first = [text('rule'), text('description'), uint('version'), text('target'), uint('abi'), uint('size'), hex('sha256'),
    uint('periodMs'), uint('stateSlots'), uint('maxInstructionsPerTick'), hex('sourceSha256')].find((p) => p !== null);
  if (first) return first;
  const rule = m.rule as string;
  if (Buffer.byteLength(rule) > MAX_RULE_NAME_BYTES || !RULE_NAME_PATTERN.test(rule)) {
    return `rule name \`${rule}\` must be an identifier of at most ${MAX_RULE_NAME_BYTES} bytes`;
  }
  if ((m.version as number) < 1) return '`version` must be at least 1';
  if (!Array.isArray(m.imports) || !m.imports.every((i) => typeof i === 'string')) return '`imports` must be an array of text strings';
  const caps = m.capabilities;
  if (!isMap(caps) || !['sensor', 'gpio_in', 'gpio_out'].every((k) => Array.isArray(caps[k]) && (caps[k] as unknown[]).every(isUint32))) {
    return '`capabilities` must map sensor, gpio_in and gpio_out to arrays of unsigned integers';
  }
  if (!Array.isArray(m.ranges) || !m.ranges.every((r) => isMap(r) && isUint32(r.channel) && isInt32(r.min) && isInt32(r.max) && (r.min as number) <= (r.max as number))) {
    return '`ranges` must be an array of {channel, min, max} with 32-bit integers, min <= max';
  }
  const ranged = (m.ranges as unknown as SensorRange[]).map((r) => r.channel).join(',');
  if (ranged !== (caps.sensor as number[]).join(',')) return '`ranges` must have one entry per sensor capability, in the same order';
  const compiler = m.compiler;
  if (!isMap(compiler) || typeof compiler.name !== 'string' || typeof compiler.version !== 'string') return '`compiler` must be {name, version} text strings';
  return null;
}

// ---- verifying ----

export interface VerifyOptions {
  /** The public keys the device trusts. */
  trusted: KeyObject[];
  /** The device's target; omitted: any. */
  target?: string;
  abi?: number;
  /** The target's artifact size limit; omitted: none. */
  maxArtifactBytes?: number;
  /** The installed version of a rule, if any. */
  installedVersion?: (rule: string) => number | undefined;
  /** The module verifier (device-abi.md item 4): null when the module is acceptable, else why not. */
  verifyModule?: (wasm: Uint8Array, manifest: Manifest) => string | null;
}

/** Everything a device checks before it installs a bundle, in the documented order. */
export function verifyBundle(bytes: Uint8Array, options: VerifyOptions): BundleResult<DecodedBundle> {
  // The envelope is checked before anything is read from the unauthenticated body.
  const decoded = decodeEnvelope(bytes);
  if (!decoded.ok) return decoded;
  const { kid, sig, body } = decoded.value;
  const key = options.trusted.find((k) => equalBytes(keyId(k), kid));
  if (!key) return fail('unknown_key', `signed by key ${Buffer.from(kid).toString('hex')}, which this device does not trust`);
  if (!verify(null, concat(SIGNATURE_DOMAIN, body), key, sig)) return fail('bad_signature', 'the signature does not match: the bundle was changed or signed by another key');
  const content = decodeBody(body);
  if (!content.ok) return content;
  const { manifest, wasm, rollback } = content.value;
  const abi = options.abi ?? 1;
  if (manifest.abi !== abi) return fail('wrong_abi', `the rule is built for device ABI ${manifest.abi}; this device runs ABI ${abi}`);
  if (options.target !== undefined && manifest.target !== options.target) {
    return fail('wrong_target', `the rule is built for ${manifest.target}; this device is ${options.target}`);
  }
  if (manifest.size !== wasm.length || manifest.sha256 !== createHash('sha256').update(wasm).digest('hex')) {
    return fail('artifact_mismatch', 'the artifact does not match the manifest\'s size and sha256');
  }
  if (options.maxArtifactBytes !== undefined && wasm.length > options.maxArtifactBytes) {
    return fail('too_big', `the artifact has ${wasm.length} bytes; this device allows ${options.maxArtifactBytes}`);
  }
  const installed = options.installedVersion?.(manifest.rule);
  if (installed !== undefined && manifest.version <= installed && rollback !== installed) {
    return fail('downgrade', `version ${manifest.version} of ${manifest.rule} is not newer than the installed version ${installed}` +
      (rollback !== undefined ? ` (the bundle may only roll back version ${rollback})` : ''));
  }
  const refused = options.verifyModule?.(wasm, manifest);
  if (refused) return fail('unverifiable', refused);
  return { ok: true, value: { format: BUNDLE_FORMAT, kid, sig, body, ...content.value } };
}

/** The envelope alone: v, kid, sig and the body's bytes, without decoding the body. */
function decodeEnvelope(bytes: Uint8Array): BundleResult<{ kid: Uint8Array; sig: Uint8Array; body: Uint8Array }> {
  const decoded = decodeCanonical(bytes, 'the bundle');
  if (!decoded.ok) return decoded;
  const outer = decoded.value;
  if (!isMap(outer)) return fail('malformed', 'the bundle is not a CBOR map');
  if ('v' in outer && isUint32(outer.v) && outer.v !== BUNDLE_FORMAT) return fail('format', `bundle format ${outer.v} is not supported`);
  if (Object.keys(outer).sort().join(',') !== 'body,kid,sig,v' || outer.v !== BUNDLE_FORMAT ||
    !(outer.kid instanceof Uint8Array) || outer.kid.length !== KEY_ID_BYTES ||
    !(outer.sig instanceof Uint8Array) || outer.sig.length !== 64 || !(outer.body instanceof Uint8Array)) {
    return fail('malformed', 'the bundle must be {v: 1, kid: 8 bytes, sig: 64 bytes, body: bytes}');
  }
  return { ok: true, value: { kid: outer.kid, sig: outer.sig, body: outer.body } };
}

export function bundleSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---- helpers ----

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function isInt32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// Making signed bundles from what users have: a .rule source (built for a target), an artifact with its
// manifest next to it, or an existing .bundle file. Used by `rules bundle` and `rules flash`.
import { existsSync, readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { CompileResult } from '../compiler/index.js';
import { decodeBundle, encodeBundle, parsePrivateKeyPem, parsePublicKeyText, BundleError } from '../contract/bundle.js';
import type { Manifest } from '../contract/manifest.js';

/** A problem the user can fix (a missing file, a bad key, a rule that does not build). */
export class BundleInputError extends Error {
  constructor(message: string, readonly compileResult?: CompileResult) {
    super(message);
    this.name = 'BundleInputError';
  }
}

export interface MadeBundle {
  bytes: Uint8Array;
  manifest: Manifest;
  /** Where it came from: `source`, `artifact` or `bundle` (already signed). */
  from: 'source' | 'artifact' | 'bundle';
}

export function readPrivateKey(path: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BundleInputError(`cannot read the key ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (make one with `rules keygen`)' : (e as Error).message}`);
  }
  try {
    return parsePrivateKeyPem(text);
  } catch (e) {
    const hint = text.startsWith('rules-ed25519') ? ' (that is a public key: sign with the .key file)' : '';
    throw new BundleInputError(`${path}: ${(e as Error).message}${hint}`);
  }
}

export function readPublicKey(path: string): KeyObject {
  try {
    return parsePublicKeyText(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BundleInputError(`${path}: ${e instanceof BundleError ? e.message : (e as Error).message}`);
  }
}

export interface MakeOptions {
  /** For a .rule source: the target to build for. */
  target?: string;
  key?: KeyObject;
  /** The rule version: sets it when building from source, must match an artifact's manifest. */
  version?: number;
  /** Signed rollback: the installed version this bundle may replace. */
  rollbackFrom?: number;
}

/** A bundle from a .rule, a .wasm (with NAME.manifest.json beside it) or a .bundle file. */
export async function makeBundle(path: string, options: MakeOptions): Promise<MadeBundle> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new BundleInputError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (path.endsWith('.bundle') || (bytes[0] === 0xa4 && bytes[1] === 0x61 && bytes[2] === 0x76)) {
    const decoded = decodeBundle(bytes);
    if (!decoded.ok) throw new BundleInputError(`${path} is not a valid bundle: ${decoded.message}`);
    if (options.target && decoded.value.manifest.target !== options.target) {
      throw new BundleInputError(`${path} is built for ${decoded.value.manifest.target}, not ${options.target}`);
    }
    return { bytes, manifest: decoded.value.manifest, from: 'bundle' };
  }
  if (!options.key) throw new BundleInputError('signing needs a private key: pass --key FILE (make one with `rules keygen`)');
  if (path.endsWith('.wasm')) return fromArtifact(path, bytes, options.key, options);
  if (!options.target) throw new BundleInputError(`building ${path} needs a target: pass --target`);
  // The compiler is loaded only for a source: flashing a ready bundle or artifact does without it.
  const { compile } = await import('../compiler/index.js');
  const result = await compile(new TextDecoder().decode(bytes), { target: options.target, file: path, ruleVersion: options.version ?? 1 });
  if (!result.artifact) throw new BundleInputError(`${path} does not build for ${options.target}`, result);
  const manifest = result.artifact.manifest;
  return { bytes: encodeBundle({ manifest, wasm: result.artifact.wasm, rollback: options.rollbackFrom }, options.key), manifest, from: 'source' };
}

function fromArtifact(path: string, wasm: Uint8Array, key: KeyObject, options: MakeOptions): MadeBundle {
  const manifestPath = path.replace(/\.wasm$/, '.manifest.json');
  if (!existsSync(manifestPath)) throw new BundleInputError(`${path} has no manifest beside it (${manifestPath}): build it with \`rules build\``);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new BundleInputError(`${manifestPath}: not a JSON manifest (${(e as Error).message})`);
  }
  if (options.target && manifest.target !== options.target) throw new BundleInputError(`${path} is built for ${manifest.target}, not ${options.target}`);
  if (options.version !== undefined && manifest.version !== options.version) {
    throw new BundleInputError(`${manifestPath} says version ${manifest.version}, not ${options.version}: rebuild it with rules build --rule-version ${options.version}`);
  }
  try {
    return { bytes: encodeBundle({ manifest, wasm, rollback: options.rollbackFrom }, key), manifest, from: 'artifact' };
  } catch (e) {
    throw new BundleInputError(`${path}: ${(e as Error).message}`);
  }
}


// The module verifier's shared test vectors (tests/vectors/verifier/, device-abi.md §4.5): each case is a .wat file
// whose header comments say the claim, the target's limit, floating point and the expected verdict.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import wabtInit from 'wabt';
import { repoRoot } from './paths.js';

export const vectorsDir = join(repoRoot, 'tests', 'vectors', 'verifier');

export interface VerifierVector {
  name: string;
  path: string;
  /** The first comment line: what the case is. */
  description: string;
  claim: number;
  limit: number;
  floatingPoint: boolean;
  expect: { verdict: 'accept'; bound: number } | { verdict: 'refuse'; code: string; bound?: number; functionIndex?: number };
}

function header(text: string, key: string): string | undefined {
  return new RegExp(`^;; ${key}: (.+)$`, 'm').exec(text)?.[1].trim();
}

export function parseVector(path: string): VerifierVector {
  const text = readFileSync(path, 'utf8');
  const need = (key: string) => {
    const v = header(text, key);
    if (v === undefined) throw new Error(`${path}: missing ";; ${key}:" line`);
    return v;
  };
  const [verdict, arg] = need('expect').split(/\s+/);
  const bound = header(text, 'bound');
  const fn = header(text, 'function');
  let expect: VerifierVector['expect'];
  if (verdict === 'accept') expect = { verdict, bound: Number(arg) };
  else if (verdict === 'refuse') expect = { verdict, code: arg, bound: bound === undefined ? undefined : Number(bound), functionIndex: fn === undefined ? undefined : Number(fn) };
  else throw new Error(`${path}: ";; expect:" must be "accept N" or "refuse CODE"`);
  return {
    name: basename(path, '.wat'), path, description: /^;; (.+)$/m.exec(text)![1],
    claim: Number(need('claim')), limit: Number(need('limit')), floatingPoint: need('float') === 'yes', expect,
  };
}

export function verifierVectors(): VerifierVector[] {
  return readdirSync(vectorsDir).filter((f) => f.endsWith('.wat')).sort().map((f) => parseVector(join(vectorsDir, f)));
}

const wabt = await wabtInit();

/** The module's bytes, as `wat2wasm --no-check` gives them: the refused cases include ill-typed modules. */
export function watToWasm(path: string): Uint8Array {
  const module = wabt.parseWat(basename(path), readFileSync(path, 'utf8'), { sign_extension: true, mutable_globals: true });
  try {
    module.resolveNames();
    return new Uint8Array(module.toBinary({ write_debug_names: false }).buffer);
  } finally {
    module.destroy();
  }
}

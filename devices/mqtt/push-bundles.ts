// What `rules push` sends: signed bundles made from rule sources (built for the target and signed with
// the operator's key) or bundle files used as they are.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { buildRules, hasErrors, type BuildOutcome } from '../../compiler/build.js';
import { decodeBundle, encodeBundle } from '../../contract/bundle.js';
import type { TargetProfile } from '../../contract/targets.js';
import type { RolloutBundle } from './rollout.js';

export interface PreparedBundles {
  bundles: RolloutBundle[];
  /** Build outcomes of the sources, for their diagnostics. */
  builds: BuildOutcome[];
  /** Files that are neither a buildable rule nor a readable bundle, with why. */
  problems: string[];
}

export async function prepareBundles(files: string[], options: { target: TargetProfile; signingKey?: KeyObject; ruleVersion: number }): Promise<PreparedBundles> {
  const out: PreparedBundles = { bundles: [], builds: [], problems: [] };
  const sources = files.filter((f) => extname(f) === '.rule');
  for (const file of files.filter((f) => extname(f) !== '.rule')) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      out.problems.push(`${file}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      continue;
    }
    const decoded = decodeBundle(bytes);
    if (!decoded.ok) {
      out.problems.push(`${file}: not a rule bundle (${decoded.message})`);
      continue;
    }
    out.bundles.push({ bytes, rule: decoded.value.manifest.rule, version: decoded.value.manifest.version });
  }
  if (sources.length > 0) {
    if (!options.signingKey) {
      out.problems.push('rule sources need --key: the private key that signs their bundles (see `rules keygen`)');
      return out;
    }
    out.builds = await buildRules(sources, { target: options.target, outDir: null, ruleVersion: options.ruleVersion });
    for (const b of out.builds) {
      if (hasErrors(b) || !b.result.artifact) continue;
      const { wasm, manifest } = b.result.artifact;
      out.bundles.push({ bytes: encodeBundle({ wasm, manifest }, options.signingKey), rule: manifest.rule, version: manifest.version });
    }
  }
  return out;
}

/** Device ids from a fleet file: a JSON array, or {"devices": [...]}, or one id per line (# comments). */
export function readFleetFile(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const v = JSON.parse(trimmed) as unknown;
    const list = Array.isArray(v) ? v : (v as { devices?: unknown }).devices;
    if (!Array.isArray(list) || !list.every((d) => typeof d === 'string')) throw new Error('expected a JSON array of device ids, or {"devices": [...]}');
    return list;
  }
  return text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l.length > 0);
}

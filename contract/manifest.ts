// The manifest that travels next to every artifact (device-abi.md): what a host needs to
// validate, schedule and report a rule. Key order is fixed so manifests are byte-reproducible.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImportName } from './abi.js';

export const COMPILER_NAME = 'rules';

let cachedVersion: string | null = null;

/** The compiler's version, from package.json: part of every manifest (and what `rules --version` prints). */
export function compilerVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'rules') return (cachedVersion = String(pkg.version));
    } catch { /* keep looking upward */ }
    dir = dirname(dir);
  }
  return (cachedVersion = '0.0.0');
}


export interface Capabilities {
  sensor: number[];
  gpio_in: number[];
  gpio_out: number[];
}

/** The range a host saturates one sensor channel's readings to: the profile's, narrowed by `requires`. */
export interface SensorRange {
  channel: number;
  min: number;
  max: number;
}

export interface Manifest {
  rule: string;
  description: string;
  version: number;
  target: string;
  abi: number;
  size: number;
  sha256: string;
  imports: ImportName[];
  capabilities: Capabilities;
  /** One entry per declared sensor channel, sorted by channel. */
  ranges: SensorRange[];
  periodMs: number;
  stateSlots: number;
  maxInstructionsPerTick: number;
  sourceSha256: string;
  compiler: { name: string; version: string };
}

/** A copy of a manifest with exactly its own fields, in the fixed key order (JSON on disk, CBOR in bundles). */
export function orderedManifest(m: Manifest): Manifest {
  return {
    rule: m.rule,
    description: m.description,
    version: m.version,
    target: m.target,
    abi: m.abi,
    size: m.size,
    sha256: m.sha256,
    imports: [...m.imports],
    capabilities: { sensor: [...m.capabilities.sensor], gpio_in: [...m.capabilities.gpio_in], gpio_out: [...m.capabilities.gpio_out] },
    ranges: m.ranges.map((r) => ({ channel: r.channel, min: r.min, max: r.max })),
    periodMs: m.periodMs,
    stateSlots: m.stateSlots,
    maxInstructionsPerTick: m.maxInstructionsPerTick,
    sourceSha256: m.sourceSha256,
    compiler: { name: m.compiler.name, version: m.compiler.version },
  };
}

/** Serializes a manifest with a fixed key order and a trailing newline. */
export function manifestJson(m: Manifest): string {
  return JSON.stringify(orderedManifest(m), null, 2) + '\n';
}

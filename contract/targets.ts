// Loads target profiles: one JSON data file per target under targets/, validated on load,
// so a user can add a board without touching code.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SensorChannel {
  channel: number;
  quantity: string;
  unit: string;
  min: number;
  max: number;
}

export interface TargetProfile {
  name: string;
  description: string;
  host: string;
  maxArtifactBytes: number;
  floatingPoint: boolean;
  gpio: { min: number; max: number; numbering: string };
  sensors: SensorChannel[];
  maxStateSlots: number;
  maxLoopTrips: number;
  maxInstructionsPerTick: number;
  minPeriodMs: number;
  transports: string[];
}

/** The directory holding the built-in profiles, found from this module's location (src or dist). */
export function targetsDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'targets');
    if (existsSync(join(candidate, 'rpi.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the targets/ directory next to the compiler');
}

export class TargetError extends Error {}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isInt(v: unknown, lo = INT32_MIN, hi = INT32_MAX): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

/** Checks the shape of a parsed profile; returns a list of problems (empty when valid). */
export function validateProfile(p: any, source: string): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => { if (!ok) problems.push(`${source}: ${what}`); };
  need(typeof p === 'object' && p !== null, 'must be a JSON object');
  if (problems.length) return problems;
  need(typeof p.name === 'string' && /^[a-z0-9_-]+$/.test(p.name), '"name" must be a lowercase identifier');
  need(typeof p.description === 'string', '"description" must be a string');
  need(typeof p.host === 'string', '"host" must be a string');
  need(isInt(p.maxArtifactBytes, 8, 65536), '"maxArtifactBytes" must be an integer from 8 to 65536');
  need(typeof p.floatingPoint === 'boolean', '"floatingPoint" must be true or false');
  need(typeof p.gpio === 'object' && p.gpio !== null && isInt(p.gpio.min, 0) && isInt(p.gpio.max, 0)
    && p.gpio.min <= p.gpio.max && typeof p.gpio.numbering === 'string',
    '"gpio" must be {min, max, numbering} with 0 <= min <= max');
  need(Array.isArray(p.sensors), '"sensors" must be an array');
  if (Array.isArray(p.sensors)) {
    const seen = new Set<number>();
    p.sensors.forEach((s: any, i: number) => {
      const ok = typeof s === 'object' && s !== null && isInt(s.channel, 0) && typeof s.quantity === 'string'
        && typeof s.unit === 'string' && isInt(s.min) && isInt(s.max) && s.min <= s.max;
      need(ok, `"sensors[${i}]" must be {channel, quantity, unit, min, max} with int32 min <= max`);
      if (ok) {
        need(!seen.has(s.channel), `sensor channel ${s.channel} is listed twice`);
        seen.add(s.channel);
      }
    });
  }
  need(isInt(p.maxStateSlots, 0), '"maxStateSlots" must be a non-negative integer');
  need(isInt(p.maxLoopTrips, 0), '"maxLoopTrips" must be a non-negative integer');
  need(isInt(p.maxInstructionsPerTick, 1), '"maxInstructionsPerTick" must be a positive integer');
  need(isInt(p.minPeriodMs, 1), '"minPeriodMs" must be a positive integer');
  need(Array.isArray(p.transports) && p.transports.every((t: unknown) => typeof t === 'string'),
    '"transports" must be an array of strings');
  return problems;
}

export function loadProfileFile(path: string): TargetProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TargetError(`${path}: not readable JSON (${(e as Error).message})`);
  }
  const problems = validateProfile(parsed, path);
  if (problems.length) throw new TargetError(problems.join('\n'));
  const profile = parsed as TargetProfile;
  if (profile.name !== basename(path, '.json')) {
    throw new TargetError(`${path}: "name" is "${profile.name}" but the file is named ${basename(path)}`);
  }
  profile.sensors = [...profile.sensors].sort((a, b) => a.channel - b.channel);
  return profile;
}

const cache = new Map<string, TargetProfile>();

/** Names of the built-in targets, sorted. */
export function targetNames(dir = targetsDirectory()): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
}

/** Loads a target by name from the targets directory; throws TargetError naming the choices. */
export function loadTarget(name: string, dir = targetsDirectory()): TargetProfile {
  const key = join(dir, name);
  const hit = cache.get(key);
  if (hit) return hit;
  const names = targetNames(dir);
  if (!names.includes(name)) {
    throw new TargetError(`unknown target "${name}"; choose one of: ${names.join(', ')}`);
  }
  const profile = loadProfileFile(join(dir, `${name}.json`));
  cache.set(key, profile);
  return profile;
}

export function sensorChannel(profile: TargetProfile, channel: number): SensorChannel | undefined {
  return profile.sensors.find((s) => s.channel === channel);
}

/** A sorted list of pins or channels as text, runs shown as ranges: "0..3, 7". */
export function describeNumbers(sorted: number[]): string {
  if (sorted.length === 0) return 'none';
  const runs: string[] = [];
  let start = sorted[0];
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1] + 1) continue;
    const end = sorted[i - 1];
    runs.push(end === start ? `${start}` : end === start + 1 ? `${start}, ${end}` : `${start}..${end}`);
    start = sorted[i];
  }
  return runs.join(', ');
}

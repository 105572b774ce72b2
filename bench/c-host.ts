// The engine's per-tick peer in `npm run bench`: a minimal C host (bench/c-host.c) built at bench time with cc from
// the same wasm3 sources and the same flags as the engine's binding (engine/native/binding.gyp), run on the same
// artifacts and the same inputs as the engine.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One tick's inputs: the declared input levels in gpio_in order, then the readings in sensor order. */
export type InputRow = number[];

export interface CHostRun {
  nsPerTick: number;
  checksum: bigint;
}

/** The cflags and defines the binding is compiled with, read from binding.gyp so the two builds cannot drift. */
function bindingFlags(root: string): string[] {
  const gyp = readFileSync(join(root, 'engine', 'native', 'binding.gyp'), 'utf8');
  const json = gyp.split('\n').filter((line) => !line.trim().startsWith('#')).join('\n');
  const target = (JSON.parse(json) as { targets: { cflags: string[]; defines: string[] }[] }).targets[0];
  // The binding is a shared library, so its code is position-independent; the host's is too, to compare alike.
  return ['-fPIC', ...target.cflags, ...target.defines.map((d) => `-D${d}`)];
}

/** Compiles the C host into `outDir`; returns its path, or throws with the compiler's output. */
export function buildCHost(root: string, outDir: string): string {
  const wasm3 = join(root, 'engine', 'native', 'wasm3');
  if (!existsSync(join(wasm3, 'wasm3.h'))) throw new Error(`the wasm3 sources are missing from ${wasm3}; run npm install`);
  const sources = readdirSync(wasm3).filter((f) => f.endsWith('.c')).sort().map((f) => join(wasm3, f));
  const out = join(outDir, 'c-host');
  const cc = process.env.CC ?? 'cc';
  const args = [...bindingFlags(root), `-I${wasm3}`, join(root, 'bench', 'c-host.c'), ...sources, '-o', out, '-lm'];
  const result = spawnSync(cc, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${cc} could not build the C host:\n${result.stderr}${result.error?.message ?? ''}`);
  return out;
}

/** Writes the inputs file bench/c-host.c reads (little-endian int32). */
export function writeInputs(path: string, pins: number[], channels: number[], rows: InputRow[]): void {
  const words = [pins.length, channels.length, rows.length, ...pins, ...channels, ...rows.flat()];
  writeFileSync(path, Buffer.from(Int32Array.from(words).buffer));
}

export function runCHost(host: string, artifact: string, inputs: string, periodMs: number, rounds: number, ticks: number,
  checkTicks: number): CHostRun {
  const result = spawnSync(host, [artifact, inputs, String(periodMs), String(rounds), String(ticks), String(checkTicks)],
    { encoding: 'utf8' });
  const m = /^([\d.]+) (-?\d+)\s*$/.exec(result.stdout ?? '');
  if (result.status !== 0 || !m) throw new Error(`the C host failed on ${artifact}: ${result.stderr}${result.stdout}`);
  return { nsPerTick: Number(m[1]), checksum: BigInt(m[2]) };
}

/**
 * The checksum bench/c-host.c computes, from the engine's side: every result weighted by its tick (from 1), plus for
 * every pin written in a tick (pin * 2 + level + 1) weighted the same way.
 */
export function checksumTick(tick: number, result: number, writes: [pin: number, level: number][]): bigint {
  const weight = BigInt(tick + 1);
  let sum = BigInt(result) * weight;
  for (const [pin, level] of writes) sum += BigInt(pin * 2 + level + 1) * weight;
  return sum;
}

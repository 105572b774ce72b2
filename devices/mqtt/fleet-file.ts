// Reading a fleet file for `rules push --fleet`: one device id per line (# comments), or a JSON array,
// or {"devices": [...]}.
import { readFileSync } from 'node:fs';

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

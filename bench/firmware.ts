// The flash and RAM footprint of the Cortex-M device host builds (`npm run bench -- --sections firmware`), split into
// wasm3, crypto (Monocypher), our core, the board port and the C library, from each image's linker map.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface PartSize { flash: number; ram: number }
interface ImageSize { elf: string; target: string; flash: number; staticRam: number; stack: number; parts: Record<string, PartSize> }

/** What the chip each image stands for offers: STM32F405xG, and an nRF5340 application core. */
const CHIP: Record<string, { label: string; flash: number; ram: number }> = {
  stm32: { label: 'STM32F405 (1 MB flash, 128 KB RAM)', flash: 1024 * 1024, ram: 128 * 1024 },
  nrf5340: { label: 'nRF5340 app core (1 MB flash, 512 KB RAM)', flash: 1024 * 1024, ram: 512 * 1024 },
};

const PARTS = ['wasm3', 'crypto', 'core', 'port', 'libc'];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

/** Builds the images (incrementally) and returns their sizes, or why it could not. */
export function firmwareSizes(root: string): { ok: true; sizes: Record<string, ImageSize> } | { ok: false; why: string } {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-firmware.mjs'), '--quiet'], { encoding: 'utf8' });
  const report = join(root, 'devices', 'host', 'build', 'firmware-size.json');
  if (build.status !== 0 || !existsSync(report)) return { ok: false, why: (build.stderr || build.stdout).trim() };
  return { ok: true, sizes: JSON.parse(readFileSync(report, 'utf8')) as Record<string, ImageSize> };
}

/** Markdown tables: per image, flash and static RAM by part, with each part's share and the chip's share used. */
export function firmwareFootprint(root: string, heapByImage: Record<string, { heap: number; stack: number }> = {}): string {
  const result = firmwareSizes(root);
  if (!result.ok) return `## Firmware footprint\n\nskipped: ${result.why}\n`;
  const out: string[] = ['## Firmware footprint (arm-none-eabi-gcc -Os, newlib-nano, --gc-sections)\n'];
  const header = ['image', 'flash', 'static RAM', ...PARTS.map((p) => `${p} flash / RAM`)];
  out.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ':--' : '--:')).join('|')}|`);
  for (const [name, image] of Object.entries(result.sizes)) {
    const cells = PARTS.map((p) => {
      const s = image.parts[p] ?? { flash: 0, ram: 0 };
      return `${kb(s.flash)} (${pct(s.flash, image.flash)}) / ${kb(s.ram)}`;
    });
    out.push(`| ${name} | ${kb(image.flash)} | ${kb(image.staticRam)} | ${cells.join(' | ')} |`);
  }
  out.push('');
  for (const [name, image] of Object.entries(result.sizes)) {
    const chip = CHIP[image.target];
    if (!chip) continue;
    const run = heapByImage[name];
    const ram = image.staticRam + image.stack + (run?.heap ?? 0);
    out.push(`- ${name}, for ${chip.label}: flash ${pct(image.flash, chip.flash)} of the chip; RAM ${kb(ram)} = ` +
      `static ${kb(image.staticRam)} (slot storage in RAM included) + stack reserve ${kb(image.stack)}` +
      (run ? ` + wasm3 heap ${kb(run.heap)} measured on the emulated board with one rule running (stack high-water ${kb(run.stack)})` : '') +
      `, ${pct(ram, chip.ram)} of the chip.`);
  }
  out.push('\nParts come from the linker map: every input section kept after --gc-sections, by the object it came from ' +
    '(flash: code, read-only data and .data\'s initial values; RAM: .data, .bss, .noinit). Percentages in the table are of ' +
    'the image\'s flash.\n');
  return out.join('\n');
}

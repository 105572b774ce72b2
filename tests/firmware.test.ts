// The Cortex-M firmware builds (scripts/build-firmware.mjs): both images link, fit their chips, and their flash and
// RAM are split into wasm3, crypto, our core, the port and the C library from the linker map.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureFirmware } from '../devices/qemu-board.js';
import { repoRoot } from './support/paths.js';

interface PartSize { flash: number; ram: number }
interface ImageSize { target: string; flash: number; staticRam: number; stack: number; parts: Record<string, PartSize> }

const buildScript = pathToFileURL(join(repoRoot, 'scripts', 'build-firmware.mjs')).href;

function sizes(): Record<string, ImageSize> {
  ensureFirmware();
  return JSON.parse(readFileSync(join(repoRoot, 'devices', 'host', 'build', 'firmware-size.json'), 'utf8'));
}

test('both Cortex-M images build and fit their chips (STM32F405: 1 MB / 128 KB; nRF5340: 1 MB / 512 KB)', (t) => {
  const s = sizes();
  t.deepEqual(Object.keys(s).sort(), ['m33-qemu', 'stm32f4', 'stm32f4-qemu']);
  for (const [name, image] of Object.entries(s)) {
    const ram = image.target === 'stm32' ? 128 * 1024 : 512 * 1024;
    t.true(image.flash > 20_000 && image.flash < 1024 * 1024, `${name} flash ${image.flash}`);
    t.true(image.staticRam + image.stack < ram, `${name} RAM ${image.staticRam} + ${image.stack}`);
  }
});

test('flash and RAM by part add up to the image, and every part is there', (t) => {
  for (const [name, image] of Object.entries(sizes())) {
    for (const part of ['wasm3', 'crypto', 'core', 'port', 'libc']) {
      t.true((image.parts[part]?.flash ?? 0) > 500, `${name}: ${part} has flash`);
    }
    const flash = Object.values(image.parts).reduce((sum, p) => sum + p.flash, 0);
    const ram = Object.values(image.parts).reduce((sum, p) => sum + p.ram, 0);
    // What the parts miss is only alignment padding between sections.
    t.true(image.flash - flash >= 0 && image.flash - flash < 256, `${name}: parts ${flash} vs image ${image.flash}`);
    t.true(image.staticRam - ram >= 0 && image.staticRam - ram < 256, `${name}: parts ${ram} vs image ${image.staticRam}`);
  }
});

test('the stm32 build leaves wasm3\'s floating point out (the target has none); the nrf5340 build keeps it', (t) => {
  const s = sizes();
  const stm32 = s['stm32f4-qemu']!.parts.wasm3!.flash;
  const m33 = s['m33-qemu']!.parts.wasm3!.flash;
  t.true(stm32 + 8000 < m33, `wasm3 flash: stm32 ${stm32}, m33 ${m33}`);
});

test('sizesFromMap attributes each kept input section to its part, wrapped lines included', async (t) => {
  const { sizesFromMap } = (await import(buildScript)) as { sizesFromMap: (map: string) => Record<string, PartSize> };
  const map = [
    'Discarded input sections',
    ' .text.unused  0x00000000  0x400 build/m/obj/core/host.o',
    '',
    'Linker script and memory map',
    '',
    '.isr_vector     0x08000000      0x188',
    ' *(.isr_vector)',
    ' .isr_vector    0x08000000      0x188 build/m/obj/port/board.o',
    '.text           0x08000188     0x1000',
    ' .text.m3_ParseModule',
    '                0x08000188      0x300 build/m/obj/wasm3/m3_parse.o',
    ' .text.crypto_eddsa_check',
    '                0x08000488      0x200 build/m/obj/crypto/monocypher.o',
    ' .rodata.tables 0x08000688       0x40 build/m/obj/core/verify.o',
    ' .text.memcpy   0x080006c8       0x20 /usr/lib/arm-none-eabi/lib/libc_nano.a(lib_a-memcpy.o)',
    ' *fill*         0x080006e8        0x8 ',
    '.data           0x20000000       0x10 load address 0x08001188',
    ' .data.smp_rx   0x20000000       0x10 build/m/obj/port/board.o',
    '.bss            0x20000010      0x100',
    ' .bss.hosts     0x20000010       0xf0 build/m/obj/core/host.o',
    ' COMMON         0x20000100       0x10 build/m/obj/wasm3/m3_core.o',
    '.noinit         0x20000200      0x800',
    ' .noinit        0x20000200      0x800 build/m/obj/port/board.o',
  ].join('\n');
  t.deepEqual(sizesFromMap(map), {
    port: { flash: 0x188 + 0x10, ram: 0x10 + 0x800 },
    wasm3: { flash: 0x300, ram: 0x10 },
    crypto: { flash: 0x200, ram: 0 },
    core: { flash: 0x40, ram: 0xf0 },
    libc: { flash: 0x20, ram: 0 },
  });
});

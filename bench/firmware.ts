// The flash and RAM footprint of the Cortex-M device host builds (`npm run bench -- --sections firmware`), split into
// wasm3, crypto (Monocypher and Mbed TLS's SHA-256), our core, the board port and the C library, from each image's linker map.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

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

/** One rule installed on each emulated board: wasm3's heap and the stack high-water marks, and the install's cost. */
export interface BoardRun { heap: number; stack: number; installMs: number; wireBytes: number }

export async function measureOnEmulatedBoards(root: string): Promise<Record<string, BoardRun> | string> {
  const { readFileSync: read } = await import('node:fs');
  const { SerialPort } = await import('serialport');
  const { compile } = await import('../compiler/index.js');
  const { loadTarget } = await import('../contract/targets.js');
  const { encodeBundle, generateKeyPair, rawPublicKey } = await import('../contract/bundle.js');
  const { startQemuBoard } = await import('../devices/qemu-board.js');
  const { SmpClient, streamTransport } = await import('../devices/smp/protocol.js');
  const smp = await import('../devices/smp/commands.js');
  const source = read(join(root, 'rules', 'fan_control.rule'), 'utf8');
  const runs: Record<string, BoardRun> = {};
  for (const [board, image, target] of [['stm32f4', 'stm32f4-qemu', 'stm32'], ['m33', 'm33-qemu', 'nrf5340']] as const) {
    const keys = generateKeyPair();
    const built = await compile(source, { target: loadTarget(target), file: 'fan_control.rule' });
    if (!built.artifact) return `fan_control does not build for ${target}`;
    const bundle = encodeBundle({ manifest: built.artifact.manifest, wasm: built.artifact.wasm }, keys.privateKey);
    let qemu;
    try {
      qemu = await startQemuBoard(board, { trustedKeys: [rawPublicKey(keys.publicKey)], lifetimeMs: 60_000 });
    } catch (e) {
      return (e as Error).message;
    }
    const port = new SerialPort({ path: qemu.port, baudRate: 115200, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
      let wireBytes = 0;
      const client = new SmpClient(streamTransport(port, (_direction, count) => { wireBytes += count; }), { timeoutMs: 3000 });
      await qemu.setSensor(0, 30_000);
      const start = performance.now();
      await smp.install(client, bundle, { rule: 'fan_control', version: 1, sha256: built.artifact.manifest.sha256 });
      await qemu.waitForGpio(17, 1, 5000);
      const installMs = performance.now() - start;
      const stats = await qemu.stats();
      runs[image] = { ...stats, installMs, wireBytes };
    } finally {
      await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
      await qemu.stop();
    }
  }
  return runs;
}

/** The emulated boards' install figures, against the time the same bytes take at 115 200 baud (10 bits a byte). */
export function installTable(runs: Record<string, BoardRun>): string {
  const rows = Object.entries(runs).map(([image, r]) => {
    const wireMs = (r.wireBytes * 10 * 1000) / 115_200;
    return `| ${image} | ${r.wireBytes} | ${wireMs.toFixed(0)} ms | ${r.installMs.toFixed(0)} ms | ${(r.installMs / wireMs).toFixed(2)}x |`;
  });
  return ['### fan_control installed on the emulated boards (signature check, verifier, commit, first tick)\n',
    '| image | bytes on the wire (both ways) | at 115 200 baud | command to running (QEMU, pty) | ratio |',
    '|:--|--:|--:|--:|--:|', ...rows, '',
    'QEMU\'s pseudo-terminals do not pace bytes at the baud rate, so the ratio shows the firmware\'s own work ' +
    '(Ed25519 verification, the verifier, the commit) under emulation, not a real link.\n'].join('\n');
}

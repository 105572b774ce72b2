// End to end on the emulated boards: the Cortex-M device host firmware under QEMU (netduinoplus2, an STM32F405;
// mps2-an505, a Cortex-M33), reached over a real pseudo-terminal with the SMP client. On each: install a signed
// rule and see it drive its output, list, replace it with a newer version, survive a reset, remove it, and refuse
// a bundle signed by a key the board does not trust.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { compile } from '../compiler/index.js';
import { encodeBundle, generateKeyPair, publicKeyText, rawPublicKey, type KeyPair } from '../contract/bundle.js';
import type { Manifest } from '../contract/manifest.js';
import { loadTarget } from '../contract/targets.js';
import { startQemuBoard, type QemuBoard } from '../devices/qemu-board.js';
import * as smp from '../devices/smp/commands.js';
import { SmpClient, SmpError, streamTransport } from '../devices/smp/protocol.js';
import { cliPath, repoRoot, rulesDir } from './support/paths.js';

const FAN = readFileSync(join(rulesDir, 'fan_control.rule'), 'utf8');
/** The same rule with higher thresholds: on above 35 °C, off below 33 °C. */
const FAN_V2 = FAN.replace(/const ON\s*=\s*28_000/, 'const ON  = 35_000').replace(/const OFF\s*=\s*26_000/, 'const OFF = 33_000');
const FAN_PIN = 17;

async function signedBundle(source: string, target: string, version: number, keys: KeyPair): Promise<{ bytes: Uint8Array; manifest: Manifest }> {
  const r = await compile(source, { target: loadTarget(target), file: 'fan_control.rule' });
  if (!r.artifact) throw new Error(`fan_control does not build for ${target}: ${JSON.stringify(r.diagnostics)}`);
  const manifest = { ...r.artifact.manifest, version };
  return { bytes: encodeBundle({ manifest, wasm: r.artifact.wasm }, keys.privateKey), manifest };
}

async function connect(board: QemuBoard): Promise<{ client: SmpClient; close: () => Promise<void> }> {
  const port = new SerialPort({ path: board.port, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const client = new SmpClient(streamTransport(port), { timeoutMs: 3000, retries: 3 });
  return { client, close: () => new Promise<void>((resolve) => port.close(() => resolve())) };
}

/** Waits for the next boot line on the events link after `since` lines. */
async function rebooted(board: QemuBoard, since: number, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = board.log.slice(since).find((l) => l.includes('"event":"boot"'));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`the board did not come back after reset:\n${board.log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const [board, target] of [['stm32f4', 'stm32'], ['m33', 'nrf5340']] as const) {
  const title = board === 'stm32f4' ? 'emulated STM32F405 (netduinoplus2)' : 'emulated Cortex-M33 (mps2-an505)';

  test.serial(`${title}: install, run, list, replace, reset, remove and refuse, over SMP on a pseudo-terminal`, async (t) => {
    const keys = generateKeyPair();
    const qemu = await startQemuBoard(board, { trustedKeys: [rawPublicKey(keys.publicKey)] });
    t.teardown(() => qemu.stop());
    t.like(await qemu.status(), { target, keys: 1, rules: 0, status: 'ok' });
    const link = await connect(qemu);
    t.teardown(link.close);
    const { client } = link;

    // 1. Install v1 at 30 °C: above its 28 °C threshold, so the fan pin goes high.
    await qemu.setSensor(0, 30_000);
    const v1 = await signedBundle(FAN, target, 1, keys);
    const installed = await smp.install(client, v1.bytes, { rule: 'fan_control', version: 1, sha256: v1.manifest.sha256 });
    t.like(installed, { name: 'fan_control', version: 1, sha256: v1.manifest.sha256, alreadyInstalled: false });
    await qemu.waitForGpio(FAN_PIN, 1, 5000);
    t.like((await smp.list(client))[0], { name: 'fan_control', version: 1, sha256: v1.manifest.sha256, state: 'running' });

    // 2. Replace with v2 (on above 35 °C, off below 33 °C) at 31 °C: v1 would keep the fan on, v2 turns it off.
    await qemu.setSensor(0, 31_000);
    const mark = qemu.gpio.length;
    const v2 = await signedBundle(FAN_V2, target, 2, keys);
    t.not(v2.manifest.sha256, v1.manifest.sha256);
    t.like(await smp.install(client, v2.bytes, { rule: 'fan_control', version: 2, sha256: v2.manifest.sha256 }), { version: 2 });
    await qemu.waitForGpio(FAN_PIN, 0, 5000, mark);
    const afterReplace = await smp.list(client);
    t.is(afterReplace.length, 1);
    t.like(afterReplace[0], { name: 'fan_control', version: 2, sha256: v2.manifest.sha256, state: 'running' });

    // 3. A downgrade to v1 is refused, and v2 keeps running.
    const downgrade = await smp.install(client, v1.bytes, { rule: 'fan_control', version: 1, sha256: v1.manifest.sha256 })
      .then(() => null, (e: unknown) => e);
    t.true(downgrade instanceof SmpError, `a downgrade must be refused, got ${String(downgrade)}`);
    t.like((await smp.list(client))[0], { version: 2, sha256: v2.manifest.sha256 });

    // 4. A bundle signed by a key the board does not trust is refused with a reason.
    const stranger = await signedBundle(FAN_V2, target, 3, generateKeyPair());
    const refused = await smp.install(client, stranger.bytes, { rule: 'fan_control', version: 3, sha256: stranger.manifest.sha256 })
      .then(() => null, (e: unknown) => e);
    t.true(refused instanceof SmpError && smp.rulesErrorName(refused) === 'unknown_key', `got ${String(refused)}`);

    // 5. Reset: the board boots again, re-verifies what its slot storage holds and runs v2 again.
    const linesBefore = qemu.log.length;
    const gpioBefore = qemu.gpio.length;
    await smp.reset(client);
    t.regex(await rebooted(qemu, linesBefore), /"rules":1,"storage":"ram","status":"ok"/);
    await qemu.setSensor(0, 36_000); // scripted inputs are RAM too: set again after the reset
    await qemu.waitForGpio(FAN_PIN, 1, 5000, gpioBefore);
    t.like((await smp.list(client))[0], { name: 'fan_control', version: 2, state: 'running' });

    // 6. Remove: the list is empty and the pin no longer follows the sensor.
    await smp.remove(client, 'fan_control');
    t.deepEqual(await smp.list(client), []);
    const afterRemove = qemu.gpio.length;
    await qemu.setSensor(0, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    t.deepEqual(qemu.gpio.slice(afterRemove), [], 'no GPIO change once the rule is removed');

    const stats = await qemu.stats();
    t.log(`heap high-water ${stats.heap} B, stack high-water ${stats.stack} B`);
    t.true(stats.stack < 8 * 1024, 'the stack stays within its 8 KB reserve');
  });
}

test.serial('scripts/qemu-board.mjs runs the emulated STM32 in the foreground, links its SMP port, and stops QEMU with itself', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-qemu-script-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keys = generateKeyPair();
  writeFileSync(join(dir, 'ops.pub'), publicKeyText(keys.publicKey));
  const link = join(dir, 'stm32');
  const script = join(repoRoot, 'scripts', 'qemu-board.mjs');
  const child = spawn(process.execPath, [script, 'stm32', '--link', link, '--trust', join(dir, 'ops.pub'), '--sensor', '0=30000',
    '--json', '--seconds', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  const ready = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 30_000);
    child.stdout.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
  });
  t.is(readlinkSync(link), ready.port);
  t.regex(ready.board, /STM32F405/);
  // The board answers SMP on the linked port.
  const port = new SerialPort({ path: link, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const client = new SmpClient(streamTransport(port), { timeoutMs: 3000 });
  t.is(await smp.echo(client, 'are you there'), 'are you there');
  await new Promise<void>((resolve) => port.close(() => resolve()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 0);
  t.false(existsSync(link), 'the link is removed when the board stops');
});

test('scripts/qemu-board.mjs refuses to start without a trusted key, with a usage message', (t) => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'qemu-board.mjs'), 'stm32', '--link', '/tmp/x'], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /--trust KEY\.pub is required/);
});

test.serial('an emulated board provisioned with no key trusts nothing: every bundle is refused as signed by an unknown key', async (t) => {
  const qemu = await startQemuBoard('m33', { trustedKeys: [] });
  t.teardown(() => qemu.stop());
  t.like(await qemu.status(), { keys: 0, rules: 0, status: 'ok' });
  const link = await connect(qemu);
  t.teardown(link.close);
  const bundle = await signedBundle(FAN, 'nrf5340', 1, generateKeyPair());
  const refused = await smp.install(link.client, bundle.bytes, { rule: 'fan_control', version: 1, sha256: bundle.manifest.sha256 })
    .then(() => null, (e: unknown) => e);
  t.true(refused instanceof SmpError && smp.rulesErrorName(refused) === 'unknown_key', `got ${String(refused)}`);
  t.deepEqual(await smp.list(link.client), []);
});

test.serial('README: the emulated STM32 in two commands, flashed with `rules flash`, drives the fan pin', async (t) => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /To try the emulated STM32[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(block, 'the README shows the two commands');
  const [startLine, flashLine] = block!.trim().split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'rules-readme-stm32-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is(spawnSync(process.execPath, [cliPath, 'keygen', '--out', 'ops'], { cwd: dir }).status, 0);
  // The commands as shown, with the link in this test's own directory and the CLI from this checkout.
  const words = (line: string) => line.replace(/\s+#.*$/, '').replaceAll('/tmp/rules-stm32', join(dir, 'rules-stm32')).split(/\s+/);
  const start = words(startLine!);
  t.deepEqual(start.slice(0, 2), ['node', 'scripts/qemu-board.mjs']);
  const board = spawn(process.execPath, [join(repoRoot, start[1]!), ...start.slice(2)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let boardOut = '';
  board.stdout.on('data', (c: Buffer) => { boardOut += c.toString(); });
  board.stderr.on('data', (c: Buffer) => { boardOut += c.toString(); });
  const exited = new Promise((resolve) => board.once('exit', resolve));
  t.teardown(() => board.kill('SIGKILL'));
  await waitFor(() => boardOut.includes('GPIO changes follow'), 30_000, () => boardOut);
  const flash = words(flashLine!);
  t.deepEqual(flash.slice(0, 3), ['npx', 'rules', 'flash']);
  const flashed = spawnSync(process.execPath, [cliPath, ...flash.slice(2).map((w) => (w.startsWith('rules/') ? join(repoRoot, w) : w))],
    { cwd: dir, encoding: 'utf8' });
  t.is(flashed.status, 0, flashed.stderr);
  t.regex(flashed.stdout, /now runs fan_control v1 \(running\), sha256 [0-9a-f]{12}/);
  await waitFor(() => /gpio 17 high/.test(boardOut), 10_000, () => boardOut);
  board.kill('SIGINT');
  await exited;
  t.false(existsSync(join(dir, 'rules-stm32')), 'Ctrl-C stops QEMU and removes the link');
});

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.serial('emulated STM32: power cut (QEMU killed) at points through an install leaves the old or the new rule, whole and running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-qemu-power-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const flashFile = join(dir, 'flash.bin');
  const keys = generateKeyPair();
  const trustedKeys = [rawPublicKey(keys.publicKey)];
  const v1 = await signedBundle(FAN, 'stm32', 1, keys);
  const v2 = await signedBundle(FAN_V2, 'stm32', 2, keys);

  let qemu = await startQemuBoard('stm32f4', { trustedKeys, flashFile });
  t.teardown(() => qemu.stop());
  t.like(await qemu.status(), { storage: 'file', rules: 0 });
  let link = await connect(qemu);
  await smp.install(link.client, v1.bytes, { rule: 'fan_control', version: 1, sha256: v1.manifest.sha256 });
  await link.close();
  await qemu.powerCut();

  // Boots the board on the same flash file and checks it runs exactly one fan_control, v1 or v2, whole.
  const seen = new Set<number>();
  const bootAndCheck = async (when: string): Promise<number> => {
    qemu = await startQemuBoard('stm32f4', { trustedKeys, flashFile });
    t.like(await qemu.status(), { storage: 'file', status: 'ok' }, when);
    link = await connect(qemu);
    const rules = await smp.list(link.client);
    t.is(rules.length, 1, `one rule ${when}`);
    const now = rules[0]!;
    t.like(now, { name: 'fan_control', sha256: now.version === 1 ? v1.manifest.sha256 : v2.manifest.sha256, state: 'running' },
      `whole ${when}`);
    seen.add(now.version);
    return now.version;
  };
  let version = await bootAndCheck('after a cut with v1 installed');
  for (const cutAfterMs of [0, 20, 40, 60, 90, 130, 200, 400]) {
    if (version === 2) break;
    const install = smp.install(link.client, v2.bytes, { rule: 'fan_control', version: 2, sha256: v2.manifest.sha256 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, cutAfterMs));
    await qemu.powerCut();
    await install;
    await link.close();
    version = await bootAndCheck(`after a cut ${cutAfterMs} ms into installing v2`);
  }
  if (version === 1) {
    // No cut came after the commit: finish the install, cut, and check v2 is there whole.
    await smp.install(link.client, v2.bytes, { rule: 'fan_control', version: 2, sha256: v2.manifest.sha256 });
    await qemu.powerCut();
    await link.close();
    t.is(await bootAndCheck('after a cut once v2 was installed'), 2);
  }
  await link.close();
  t.log(`versions seen after cuts: ${[...seen].join(', ')}`);
});

// The host firmware over the cable: `rules device images|firmware|confirm` against the virtual board's SMP group 1
// (MCUboot's image upload, state, and swap with revert), through real pseudo-terminals and the fault-injecting relay.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTarget } from '../contract/targets.js';
import { boardArguments, boardBinary, readPublicKeyFile } from '../devices/virtual-board.js';
import { readMcubootImage } from '../devices/mcuboot.js';
import { rulesAsync } from './support/cli.js';
import { startRelay, type Relay } from './support/relay.js';
import { MiniSmp, bundleVectors } from './support/board-harness.js';
import { imageHash, mcubootImage } from './support/mcuboot-image.js';
import { ptyProgram, stopChild, waitFor } from './support/pty.js';
import { repoRoot } from './support/paths.js';
import { vectorsDir } from './support/bundle-vectors.js';

const rules = rulesAsync;

interface FirmwareBoard { link: string; state: string; output: () => string; relay: Relay; stop(): Promise<void>; kill(): Promise<void> }

/** The virtual board with its state folder, behind the relay (a real pty pair, as a USB serial adapter). */
async function startBoard(state = mkdtempSync(join(tmpdir(), 'rules-fw-state-'))): Promise<FirmwareBoard> {
  const dir = mkdtempSync(join(tmpdir(), 'rules-fw-'));
  const link = join(dir, 'board');
  const args = boardArguments({ link, target: loadTarget('stm32'), trusted: [readPublicKeyFile(join(bundleVectors, 'trusted.pub'))], stateDir: state });
  const child: ChildProcess = spawn(boardBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  await waitFor(() => /serial on/.test(output) || child.exitCode !== null, 5000, 'the virtual board');
  const relay = await startRelay(link);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    link, state, output: () => output, relay,
    stop: async () => { await relay.stop(); await stopChild(child); },
    // Power lost: no clean-up, no last write.
    kill: async () => { child.kill('SIGKILL'); await exited; await relay.stop(); },
  };
}

function imageFile(version: [number, number, number], bodySize = 6000): { path: string; bytes: Buffer; hash: string } {
  const bytes = mcubootImage({ version, bodySize });
  const path = join(mkdtempSync(join(tmpdir(), 'rules-fw-image-')), `app-${version.join('.')}.bin`);
  writeFileSync(path, bytes);
  return { path, bytes, hash: imageHash(bytes) };
}

async function images(port: string): Promise<{ slot: number; version: string; hash: string; active: boolean; confirmed: boolean; pending: boolean; permanent: boolean }[]> {
  const r = await rules(['device', 'images', '--port', port, '--json']);
  if (r.code !== 0) throw new Error(`rules device images failed: ${r.stderr}`);
  return JSON.parse(r.stdout).images;
}

const slots = (list: Awaited<ReturnType<typeof images>>) => list.map((s) => [s.slot, s.version, s.active, s.confirmed, s.pending]);

test('the test image builder follows MCUboot\'s format, and the reader checks it', (t) => {
  const image = mcubootImage({ version: [1, 2, 3, 4], bodySize: 100 });
  const read = readMcubootImage(image);
  t.true(read.ok);
  if (read.ok) t.like(read.image, { version: '1.2.3.4', hash: imageHash(image), headerSize: 0x200, imageSize: 100, totalSize: image.length });
  const damaged = Buffer.from(image);
  damaged[0x200 + 5] ^= 1;
  t.like(readMcubootImage(damaged), { ok: false });
  t.regex((readMcubootImage(image.subarray(0, 0x200 + 50)) as { why: string }).why, /not a whole MCUboot image/);
  t.regex((readMcubootImage(Buffer.from('hello world, not an image at all....')) as { why: string }).why, /no header magic/);
});

test.serial('firmware: upload, list, test, reset, confirm; the confirmed image stays after another reset', async (t) => {
  const board = await startBoard();
  const port = board.relay.port;
  try {
    const before = await images(port);
    t.deepEqual(slots(before), [[0, '0.1.0', true, true, false]]);
    const builtin = before[0].hash;
    t.is(builtin, createHash('sha256').update(readFileSync(boardBinary())).digest('hex'));
    const image = imageFile([1, 2, 3]);

    const up = await rules(['device', 'firmware', image.path, '--port', port]);
    t.is(up.code, 0, up.stderr);
    t.regex(up.stdout, /^firmware 1\.2\.3 \([0-9a-f]{12}\): .* runs it as a test: `rules device confirm --port .*` keeps it/);
    t.deepEqual(slots(await images(port)), [[0, '1.2.3', true, false, false], [1, '0.1.0', false, true, false]]);
    t.is((await images(port))[0].hash, image.hash);
    t.deepEqual(readFileSync(join(board.state, 'image-1.bin')).subarray(0, image.bytes.length), image.bytes);

    const confirm = await rules(['device', 'confirm', '--port', port]);
    t.is(confirm.code, 0, confirm.stderr);
    t.regex(confirm.stdout, /runs firmware 1\.2\.3, confirmed/);
    t.is((await rules(['device', 'reset', '--port', port])).code, 0);
    await waitFor(() => /board reset/.test(board.output()), 5000, 'the reset');
    t.deepEqual(slots(await images(port)), [[0, '1.2.3', true, true, false], [1, '0.1.0', false, false, false]]);

    const again = await rules(['device', 'firmware', image.path, '--port', port, '--json']);
    t.is(again.code, 0, again.stderr);
    t.like(JSON.parse(again.stdout), { ok: true, version: '1.2.3', hash: image.hash, state: 'running', alreadyRunning: true });
  } finally {
    await board.stop();
  }
});

test.serial('firmware: a test image not confirmed is reverted at the second reset; --no-reset only marks it', async (t) => {
  const board = await startBoard();
  const port = board.relay.port;
  try {
    const image = imageFile([2, 0, 1]);
    const marked = await rules(['device', 'firmware', image.path, '--port', port, '--no-reset', '--json']);
    t.is(marked.code, 0, marked.stderr);
    t.like(JSON.parse(marked.stdout), { ok: true, state: 'pending', resumedFrom: 0 });
    t.deepEqual(slots(await images(port)), [[0, '0.1.0', true, true, false], [1, '2.0.1', false, false, true]]);

    t.is((await rules(['device', 'reset', '--port', port])).code, 0);
    await waitFor(() => (board.output().match(/board reset/g) ?? []).length === 1, 5000, 'the first reset');
    t.deepEqual(slots(await images(port)), [[0, '2.0.1', true, false, false], [1, '0.1.0', false, true, false]]);
    // While a test image runs, the image to go back to is kept: no upload may overwrite it.
    const other = imageFile([3, 0, 0]);
    const refused = await rules(['device', 'firmware', other.path, '--port', port, '--json']);
    t.is(refused.code, 1);
    t.like(JSON.parse(refused.stdout), { ok: false, error: { kind: 'bad_state', rc: 6 } });

    t.is((await rules(['device', 'reset', '--port', port])).code, 0);
    await waitFor(() => (board.output().match(/board reset/g) ?? []).length === 2, 5000, 'the second reset');
    t.deepEqual(slots(await images(port)), [[0, '0.1.0', true, true, false], [1, '2.0.1', false, false, false]]);

    // The image still in slot 1 is not sent again; --no-reset --confirm makes it permanent at the next reset.
    const permanent = await rules(['device', 'firmware', image.path, '--port', port, '--no-reset', '--confirm', '--json']);
    t.is(permanent.code, 0, permanent.stderr);
    t.like(JSON.parse(permanent.stdout), { ok: true, state: 'pending-permanent' });
    t.like((await images(port))[1], { slot: 1, pending: true, permanent: true });
    t.is((await rules(['device', 'reset', '--port', port])).code, 0);
    await waitFor(() => (board.output().match(/board reset/g) ?? []).length === 3, 5000, 'the third reset');
    t.deepEqual(slots(await images(port)), [[0, '2.0.1', true, true, false], [1, '0.1.0', false, false, false]]);
  } finally {
    await board.stop();
  }
});

test.serial('firmware: a link cut mid-upload comes back and the upload resumes where the board is', async (t) => {
  const board = await startBoard();
  let relay = board.relay;
  try {
    await relay.stop();
    relay = await startRelay(board.link, { cutAfter: 9000 });
    const image = imageFile([1, 5, 0], 20000);
    const pending = rules(['device', 'firmware', image.path, '--port', relay.port, '--timeout', '300', '--json']);
    await relay.exited;
    t.is(relay.stats()?.toBoard, 9000);
    relay = await startRelay(board.link, {}, relay.port);
    const r = await pending;
    t.is(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    t.like(json, { ok: true, version: '1.5.0', state: 'test' });
    t.true(json.resumedFrom > 0 && json.resumedFrom < image.bytes.length, `resumed at ${json.resumedFrom}`);
    t.is((await images(relay.port))[0].hash, image.hash);
  } finally {
    await relay.stop();
    await board.stop();
  }
});

test.serial('firmware: power lost mid-upload leaves no image in slot 1; after the restart the upload starts over and completes', async (t) => {
  let board = await startBoard();
  const state = board.state;
  const image = imageFile([1, 7, 0], 30000);
  try {
    await board.relay.stop();
    const relay = await startRelay(board.link, { cutAfter: 12000 });
    const cut = await rules(['device', 'firmware', image.path, '--port', relay.port, '--timeout', '300', '--reconnect', '1', '--json']);
    t.is(cut.code, 1);
    const written = readFileSync(join(state, 'image-1.bin')).length;
    t.true(written > 0 && written < image.bytes.length, `the board holds ${written} of ${image.bytes.length} bytes`);
    await board.kill();
    board = await startBoard(state);
    t.deepEqual(slots(await images(board.relay.port)), [[0, '0.1.0', true, true, false]]);
    const again = await rules(['device', 'firmware', image.path, '--port', board.relay.port, '--json']);
    t.is(again.code, 0, again.stderr);
    t.like(JSON.parse(again.stdout), { ok: true, version: '1.7.0', state: 'test', resumedFrom: 0 });
  } finally {
    await board.stop();
  }
});

test.serial('firmware: what is not a whole MCUboot image is refused before a byte is sent', async (t) => {
  const board = await startBoard();
  try {
    const good = imageFile([1, 0, 0]);
    const damaged = Buffer.from(good.bytes);
    damaged[0x300] ^= 0xff;
    const dir = mkdtempSync(join(tmpdir(), 'rules-fw-bad-'));
    writeFileSync(join(dir, 'damaged.bin'), damaged);
    writeFileSync(join(dir, 'cut.bin'), good.bytes.subarray(0, 1000));
    const cases: [string, RegExp][] = [
      [join(repoRoot, 'README.md'), /README\.md is not an MCUboot image \(no header magic 0x96f3b83d\); sign the firmware with MCUboot's imgtool first/],
      [join(dir, 'damaged.bin'), /its SHA-256 TLV does not match its header and body: the file is damaged/],
      [join(dir, 'cut.bin'), /not a whole MCUboot image/],
      [join(dir, 'missing.bin'), /missing\.bin/],
    ];
    for (const [file, message] of cases) {
      const r = await rules(['device', 'firmware', file, '--port', board.relay.port, '--json']);
      t.is(r.code, 2, file);
      t.regex(r.stderr, message);
      t.like(JSON.parse(r.stdout), { ok: false, error: { kind: 'input' } });
    }
    t.is(board.relay.stats()?.toBoard, 0, 'nothing was sent to the board');
  } finally {
    await board.stop();
  }
});

test.serial('firmware: the board refuses an image too big for its slot, and an upload whose sha does not match', async (t) => {
  const board = await startBoard();
  try {
    const big = imageFile([9, 9, 9], 140 * 1024);
    const r = await rules(['device', 'firmware', big.path, '--port', board.relay.port, '--json']);
    t.is(r.code, 1);
    t.like(JSON.parse(r.stdout), { ok: false, error: { kind: 'too_big', rc: 2 } });
    t.regex(r.stderr, /the board refused: the image has \d+ bytes; the slot holds 131072 \(rc 2\)/);

    // The CLI always sends the right sha, so a raw client announces a wrong one.
    const image = mcubootImage({ version: [4, 0, 0], bodySize: 800 });
    const smp = new MiniSmp(board.relay.port);
    try {
      const wrongSha = createHash('sha256').update('something else').digest();
      let rsp = await smp.request(2, 1, 1, { image: 0, off: 0, len: image.length, sha: wrongSha, data: image.subarray(0, 300) });
      t.is(rsp.off, 300);
      for (let off = 300; off < image.length && rsp.rc === undefined; off = rsp.off ?? off) {
        rsp = await smp.request(2, 1, 1, { off, data: image.subarray(off, off + 300) });
      }
      t.is(rsp.rc, 9);
      t.regex(rsp.rsn, /do not have the SHA-256 the first chunk announced/);
      const notImage = await smp.request(2, 1, 1, { image: 0, off: 0, len: 64, sha: wrongSha, data: Buffer.alloc(64, 1) });
      t.is(notImage.rc, 3);
      t.regex(notImage.rsn, /not an MCUboot image/);
    } finally {
      smp.close();
    }
    t.deepEqual(slots(await images(board.relay.port)), [[0, '0.1.0', true, true, false]]);
  } finally {
    await board.stop();
  }
});

test.serial('firmware: a board without image management is told apart from a board that does not answer', async (t) => {
  const fake = await ptyProgram(`node ${join(repoRoot, 'dist', 'tests', 'support', 'fake-board-serve.js')} --target stm32 --trust ${join(vectorsDir, 'trusted.pub')}`);
  try {
    const r = await rules(['device', 'images', '--port', fake.path, '--json']);
    t.is(r.code, 1);
    t.like(JSON.parse(r.stdout), { ok: false, error: { kind: 'not_supported' } });
    t.regex(r.stderr, /does not manage firmware images over SMP \(group 1\): update its firmware with MCUboot's serial recovery/);
  } finally {
    await fake.stop();
  }
  t.false(existsSync(fake.path));
});

// The virtual board end to end, through a socat relay: install, replace, refuse, remove, sensors set at run
// time, GPIO changes printed; and power loss at every flash operation of an install (old or new rule, whole).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { encodeBundle } from '../contract/bundle.js';
import type { Manifest } from '../contract/manifest.js';
import { bundleVectors, MiniSmp, startBoard } from './support/board-harness.js';
import { testKey } from './support/bundle-vectors.js';

const fan = new Uint8Array(readFileSync(join(bundleVectors, 'inputs', 'fan_control.wasm')));
const fanManifest = JSON.parse(readFileSync(join(bundleVectors, 'inputs', 'fan_control.manifest.json'), 'utf8')) as Manifest;
const fanBundle = (version: number) => encodeBundle({ manifest: { ...fanManifest, version }, wasm: fan }, testKey('trusted'));

test.serial('a bundle installed over SMP runs on the board, drives its output, and is replaced, refused and removed', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'rules-state-'));
  const board = await startBoard(state, { 0: 29_000 });
  const smp = new MiniSmp(board.port);
  try {
    t.deepEqual(await smp.request(2, 0, 0, { d: 'hello' }), { r: 'hello' });
    const info = await smp.request(0, 64, 4, {});
    t.is(info.target, 'stm32');

    const installed = await smp.install(fanBundle(1));
    t.like(installed, { name: 'fan_control', version: 1, state: 'running' });
    // fan_control: above 28 °C the fan (pin 17) goes on.
    await board.waitFor((e) => e.event === 'gpio' && e.pin === 17 && e.level === 1);

    // A sensor set at run time through stdin: below 26 °C the fan goes off.
    board.send('sensor 0 25000');
    await board.waitFor((e) => e.event === 'gpio' && e.pin === 17 && e.level === 0);

    t.like(await smp.install(fanBundle(2)), { name: 'fan_control', version: 2 });
    const downgrade = await smp.install(fanBundle(1));
    t.deepEqual(downgrade.err, { group: 64, rc: 9 });
    t.regex(downgrade.rsn, /not newer/);

    const tampered = fanBundle(3);
    tampered[tampered.length - 40] ^= 1;
    const refused = await smp.install(tampered);
    t.deepEqual(refused.err, { group: 64, rc: 4 });

    const list = await smp.request(0, 64, 1, {});
    t.is(list.rules.length, 1);
    t.like(list.rules[0], { name: 'fan_control', version: 2, state: 'running' });
    const status = await smp.request(0, 64, 3, { name: 'fan_control' });
    t.true(status.ticks > 0);
    t.deepEqual(status.sat, [[0, 0]]);

    board.send('status');
    const line = await board.waitFor((e) => e.event === 'status');
    t.like(line, { rule: 'fan_control', version: 2, state: 'running', saturated: 0, assumptionsFailed: 0, error: '' });
    await board.waitFor((e) => e.event === 'status-end' && e.rules === 1);

    t.deepEqual(await smp.request(2, 64, 2, { name: 'fan_control' }), {});
    t.deepEqual((await smp.request(0, 64, 1, {})).rules, []);
    t.deepEqual((await smp.request(0, 64, 3, { name: 'fan_control' })).err, { group: 64, rc: 13 });
    board.send('quit');
    if (board.process.exitCode === null) await new Promise((resolve) => board.process.once('exit', resolve));
    t.is(board.process.exitCode, 0);
  } finally {
    smp.close();
    await board.stop();
  }
});

test.serial('power loss in any flash operation of an install leaves the old rule or the new one, whole', async (t) => {
  const outcomes = new Set<number>();
  for (let cut = 1; cut <= 30; cut++) {
    const state = mkdtempSync(join(tmpdir(), 'rules-crash-'));
    let board = await startBoard(state, { 0: 29_000 });
    let smp = new MiniSmp(board.port);
    t.like(await smp.install(fanBundle(1)), { version: 1 });
    smp.close();
    await board.stop();

    // The board dies in the middle of its cut-th flash operation, as if the power went.
    board = await startBoard(state, { 0: 29_000 }, { ...process.env, RULES_BOARD_CRASH_AFTER: String(cut) });
    smp = new MiniSmp(board.port);
    let finished = true;
    try {
      await smp.install(fanBundle(2), 200, 1500);
    } catch {
      finished = false; /* no answer: the board died */
    }
    smp.close();
    await board.stop();

    board = await startBoard(state, { 0: 29_000 });
    smp = new MiniSmp(board.port);
    try {
      const list = await smp.request(0, 64, 1, {});
      t.is(list.rules.length, 1, `cut ${cut}`);
      const rule = list.rules[0];
      t.is(rule.state, 'running', `cut ${cut}`);
      t.true(rule.version === 1 || rule.version === 2, `cut ${cut}`);
      outcomes.add(rule.version);
      await board.waitFor((e) => e.event === 'gpio' && e.pin === 17 && e.level === 1);
      if (finished) {
        t.is(rule.version, 2);
        break;
      }
    } finally {
      smp.close();
      await board.stop();
    }
  }
  t.deepEqual([...outcomes].sort(), [1, 2]);
});

test.serial('rules board starts the virtual board in the foreground, prints its link, and stops on SIGTERM', async (t) => {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const { cliPath } = await import('./support/paths.js');
  const dir = mkdtempSync(join(tmpdir(), 'rules-cli-board-'));
  const link = join(dir, 'ttyRULES');
  const child = spawn(process.execPath, [cliPath, 'board', '--link', link, '--trust', join(bundleVectors, 'trusted.pub'),
    '--state', dir, '--sensor', '0=29000'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
  t.regex(out, new RegExp(`^board stm32: serial on ${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(/dev/pts/\\d+\\), 0 rules installed\\n`));
  t.true(existsSync(link));
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.false(existsSync(link));
});

test('rules board refuses a key file that is not a public key, with exit code 2', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { cliPath } = await import('./support/paths.js');
  const r = spawnSync(process.execPath, [cliPath, 'board', '--link', join(tmpdir(), 'nope'), '--trust', join(bundleVectors, 'trusted.key')],
    { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /is not a rules public key/);
});

test('regression: rules board never deletes a file at --link that is not a symlink', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { existsSync, writeFileSync } = await import('node:fs');
  const { cliPath } = await import('./support/paths.js');
  const dir = mkdtempSync(join(tmpdir(), 'rules-cli-board-'));
  const file = join(dir, 'precious.txt');
  writeFileSync(file, 'keep me');
  const r = spawnSync(process.execPath, [cliPath, 'board', '--link', file, '--trust', join(bundleVectors, 'trusted.pub'), '--state', dir],
    { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /exists and is not a symlink/);
  t.true(existsSync(file));
  t.is(readFileSync(file, 'utf8'), 'keep me');
});

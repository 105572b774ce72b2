// The fault-injecting relay (tests/support/fault-relay.ts) and the client's recovery, against the board
// double: damaged bytes are survived by retries and shorter chunks; a cut link by reconnecting and resuming.
import test from 'ava';
import { join } from 'node:path';
import { repoRoot } from './support/paths.js';
import { ptyProgram } from './support/pty.js';
import { startRelay } from './support/relay.js';
import { vectorsDir } from './support/bundle-vectors.js';
import { rulesAsync } from './support/cli.js';

const fakeBoard = join(repoRoot, 'dist', 'tests', 'support', 'fake-board-serve.js');

const rules = rulesAsync;

test.serial('a lossy, corrupting, delaying link: the flash succeeds and the relay really did damage bytes', async (t) => {
  const board = await ptyProgram(`node ${fakeBoard} --target stm32 --trust ${join(vectorsDir, 'trusted.pub')}`);
  const relay = await startRelay(board.path, { drop: 0.001, corrupt: 0.001, delay: 5, seed: 7 });
  try {
    const r = await rules(['flash', join(vectorsDir, 'valid-v2.bundle'), '--port', relay.port, '--timeout', '300', '--json']);
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), { ok: true, version: 2 });
  } finally {
    await relay.stop();
    await board.stop();
  }
  const stats = relay.stats();
  t.truthy(stats);
  t.true(stats!.dropped + stats!.corrupted > 0);
});

test.serial('a cut link that comes back: the same flash command reconnects and finishes', async (t) => {
  const board = await ptyProgram(`node ${fakeBoard} --target stm32 --trust ${join(vectorsDir, 'trusted.pub')}`);
  let relay = await startRelay(board.path, { cutAfter: 300 });
  try {
    const pending = rules(['flash', join(vectorsDir, 'valid-v2.bundle'), '--port', relay.port, '--timeout', '300', '--json']);
    await relay.exited;
    t.is(relay.stats()?.toBoard, 300);
    relay = await startRelay(board.path, {}, relay.port);
    const r = await pending;
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), { ok: true, version: 2, state: 'running' });
  } finally {
    await relay.stop();
    await board.stop();
  }
});

// The shared end-to-end suite: the real CLI flashes, lists, replaces and removes rules on a board through a
// real pseudo-terminal, checks that the rule then drives its output, that bad bundles are refused with a
// reason, and (through the fault-injecting relay) that lost, damaged, delayed and cut links end with the old
// or the new rule, whole. The same tests run on every board kind in tests/support/test-boards.ts.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBundle } from '../contract/bundle.js';
import type { Manifest } from '../contract/manifest.js';
import { compile } from '../compiler/index.js';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { connect } from '../devices/serial.js';
import * as smp from '../devices/smp/commands.js';
import { SmpError } from '../devices/smp/protocol.js';
import { repoRoot } from './support/paths.js';
import { testKey, vectorsDir } from './support/bundle-vectors.js';
import { selectedBoardKinds, type BoardKind, type TestBoard } from './support/test-boards.js';
import { startRelay } from './support/relay.js';
import { rulesAsync } from './support/cli.js';

const trustedKey = join(vectorsDir, 'trusted.key');
const trustedPub = join(vectorsDir, 'trusted.pub');
const fanSource = join(repoRoot, 'rules', 'fan_control.rule');
const FAN_PIN = 17;
const HOT = 29_000;
const COOL = 25_000;

const rules = rulesAsync;

/** fan_control built for a target at a version, and bundles made from it. */
async function fanFor(target: string) {
  const built = await compile(readFileSync(fanSource, 'utf8'), { target, file: fanSource });
  if (!built.artifact) throw new Error(`fan_control does not build for ${target}`);
  const { wasm, manifest } = built.artifact;
  const dir = mkdtempSync(join(tmpdir(), 'rules-e2e-bundles-'));
  const write = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
  const bundle = (m: Partial<Manifest>, w = wasm, key = testKey('trusted')) => encodeBundle({ manifest: { ...manifest, ...m }, wasm: w }, key);
  return { wasm, manifest, dir, write, bundle };
}

async function installed(board: TestBoard): Promise<{ name: string; version: number; state: string }[]> {
  const r = await rules(['device', 'list', '--port', board.port, '--json']);
  if (r.code !== 0) throw new Error(`rules device list failed: ${r.stderr}`);
  return JSON.parse(r.stdout).rules;
}

async function withBoard(t: ExecutionContext, kind: BoardKind, body: (board: TestBoard) => Promise<void>): Promise<void> {
  const board = await kind.start({ trustedPub, sensors: { 0: HOT } });
  try {
    await body(board);
  } finally {
    await board.stop();
  }
  t.pass();
}

for (const kind of selectedBoardKinds()) {
  const why = kind.unavailable();
  if (why) {
    test(`${kind.name}: cannot run here`, (t) => t.fail(why));
    continue;
  }

  test.serial(`${kind.name}: flash, list, replace and remove; the rule drives its output`, async (t) => {
    await withBoard(t, kind, async (board) => {
      const first = await rules(['flash', fanSource, '--port', board.port, '--key', trustedKey, '--rule-version', '1']);
      t.is(first.code, 0, first.stderr);
      t.regex(first.stdout, /now runs fan_control v1 \(running\), sha256 [0-9a-f]{12}/);
      await board.waitForGpio(FAN_PIN, 1);
      t.deepEqual((await installed(board)).map((r) => [r.name, r.version, r.state]), [['fan_control', 1, 'running']]);

      const second = await rules(['flash', fanSource, '--port', board.port, '--key', trustedKey, '--rule-version', '2', '--json']);
      t.is(second.code, 0, second.stderr);
      const result = JSON.parse(second.stdout);
      t.like(result, { ok: true, rule: 'fan_control', version: 2, state: 'running', alreadyInstalled: false });
      t.deepEqual((await installed(board)).map((r) => [r.name, r.version]), [['fan_control', 2]]);
      const since = board.gpio.length;
      await board.setSensor(0, COOL);
      await board.waitForGpio(FAN_PIN, 0, undefined, since);

      const status = await rules(['device', 'status', 'fan_control', '--port', board.port, '--json']);
      t.is(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout);
      t.true(s.ticks > 0);
      t.deepEqual(s.saturated.map((c: { channel: number }) => c.channel), [0]);

      const removed = await rules(['device', 'remove', 'fan_control', '--port', board.port]);
      t.is(removed.code, 0, removed.stderr);
      t.deepEqual(await installed(board), []);

      // The host firmware's image slots (SMP group 1): the virtual board serves them; the Cortex-M ports leave
      // them to MCUboot and answer rc 8, which the CLI turns into advice.
      const images = await rules(['device', 'images', '--port', board.port, '--json']);
      if (kind.name.startsWith('virtual')) {
        t.is(images.code, 0, images.stderr);
        t.like(JSON.parse(images.stdout).images[0], { slot: 0, version: '0.1.0', active: true, confirmed: true });
      } else {
        t.is(images.code, 1);
        t.like(JSON.parse(images.stdout), { ok: false, error: { kind: 'not_supported' } });
      }
    });
  });

  test.serial(`${kind.name}: tampered, unsigned, wrong-key, wrong-target, downgraded, mismatched-hash and unverifiable bundles are refused with a reason`, async (t) => {
    const fan = await fanFor(kind.target);
    await withBoard(t, kind, async (board) => {
      const good = fan.write('good.bundle', fan.bundle({ version: 5 }));
      t.is((await rules(['flash', good, '--port', board.port])).code, 0);
      // The hash the board reports is the one it computed: node:crypto's SHA-256 of the artifact.
      const artifactSha256 = createHash('sha256').update(fan.wasm).digest('hex');
      const listed = await rules(['device', 'list', '--port', board.port, '--json']);
      t.is(JSON.parse(listed.stdout).rules[0]?.sha256, artifactSha256, listed.stdout);
      // Signed by the trusted key, but the manifest states another artifact's SHA-256 (its last bit flipped).
      const otherSha256 = createHash('sha256').update(fan.wasm).digest();
      otherSha256[31] ^= 0x01;
      const tampered = fan.bundle({ version: 6 });
      // One bit of the artifact: the bundle still decodes, only the signature can tell.
      tampered[Buffer.from(tampered).indexOf(Buffer.from(fan.wasm)) + 40] ^= 0x10;
      const unsigned = fan.bundle({ version: 6 });
      unsigned.fill(0, 23, 87);
      const other = kind.target === 'stm32' ? 'nrf5340' : 'stm32';
      const spin = new Uint8Array(readFileSync(join(vectorsDir, 'inputs', 'spin.wasm')));
      const cases: [string, Uint8Array, string, RegExp][] = [
        ['tampered', tampered, 'bad_signature', /signature/],
        ['unsigned', unsigned, 'bad_signature', /signature/],
        ['wrong-key', fan.bundle({ version: 6 }, fan.wasm, testKey('other')), 'unknown_key', /key/],
        ['downgraded', fan.bundle({ version: 4 }), 'downgrade', /newer|version/],
        ['mismatched-hash', fan.bundle({ version: 6, sha256: otherSha256.toString('hex') }), 'artifact_mismatch', /SHA-256 .* is not the manifest's sha256/],
        ['unverifiable', fan.bundle({
          rule: 'spin', version: 1, size: spin.length, sha256: createHash('sha256').update(spin).digest('hex'),
          imports: [], capabilities: { sensor: [], gpio_in: [], gpio_out: [] }, ranges: [], stateSlots: 0, maxInstructionsPerTick: 10,
        }, spin), 'unverifiable', /./],
      ];
      for (const [name, bytes, code, reason] of cases) {
        const r = await rules(['flash', fan.write(`${name}.bundle`, bytes), '--port', board.port, '--json']);
        t.is(r.code, 1, `${name}: ${r.stderr}`);
        const error = JSON.parse(r.stdout).error;
        t.is(error.kind, code, `${name}: ${r.stderr}`);
        t.regex(r.stderr, /the board refused: /);
        t.regex(error.message, reason, name);
      }
      // Another target's bundle: the CLI says so before sending; sent anyway, the board refuses it too.
      const foreign = await fanFor(other);
      const wrongTarget = fan.write('wrong-target.bundle', foreign.bundle({ version: 9 }));
      const r = await rules(['flash', wrongTarget, '--port', board.port]);
      t.is(r.code, 1);
      t.regex(r.stderr, new RegExp(`built for ${other}; the board on .* is ${kind.target}`));
      const conn = await connect(board.port);
      try {
        const e = await t.throwsAsync(smp.install(conn.client, readFileSync(wrongTarget), { rule: 'fan_control', version: 9, sha256: foreign.manifest.sha256 }), { instanceOf: SmpError });
        t.is(e && smp.rulesErrorName(e), 'wrong_target');
      } finally {
        await conn.close();
      }
      // Through all of it the good rule kept running, whole.
      t.deepEqual((await installed(board)).map((x) => [x.name, x.version, x.state]), [['fan_control', 5, 'running']]);
    });
  });

  test.serial(`${kind.name}: through a relay that drops, corrupts and delays bytes, flashing still succeeds`, async (t) => {
    const fan = await fanFor(kind.target);
    await withBoard(t, kind, async (board) => {
      const relay = await startRelay(board.port, { drop: 0.001, corrupt: 0.001, delay: 10, seed: 3 });
      try {
        const r = await rules(['flash', fan.write('v3.bundle', fan.bundle({ version: 3 })), '--port', relay.port, '--timeout', '500', '--json']);
        t.is(r.code, 0, r.stderr);
        t.like(JSON.parse(r.stdout), { ok: true, version: 3, state: 'running' });
      } finally {
        await relay.stop();
      }
      t.true((relay.stats()?.dropped ?? 0) + (relay.stats()?.corrupted ?? 0) > 0, `the relay damaged something: ${JSON.stringify(relay.stats())}`);
      t.deepEqual((await installed(board)).map((x) => [x.name, x.version, x.state]), [['fan_control', 3, 'running']]);
    });
  });

  test.serial(`${kind.name}: a link cut mid-transfer leaves the old rule whole; the CLI resumes when the link comes back, or says why it failed`, async (t) => {
    const fan = await fanFor(kind.target);
    // A bundle several chunks long, so the cut falls inside the upload.
    const big = (version: number) => fan.write(`big-v${version}.bundle`, fan.bundle({ version, description: 'x'.repeat(600) }));
    await withBoard(t, kind, async (board) => {
      t.is((await rules(['flash', fan.write('v1.bundle', fan.bundle({ version: 1 })), '--port', board.port])).code, 0);
      await board.waitForGpio(FAN_PIN, 1);

      // Cut for good: the CLI gives up with a message; the board still runs version 1, whole. The answer timeout is
      // generous: an emulated board on a busy machine can take longer than a real one, and a timeout before the
      // first chunk is accepted would leave nothing to resume (regression: "resumed from 0" under load).
      let relay = await startRelay(board.port, { cutAfter: 1500 });
      const failed = await rules(['flash', big(2), '--port', relay.port, '--timeout', '3000', '--reconnect', '1']);
      await relay.exited;
      t.is(failed.code, 1, failed.stdout);
      t.regex(failed.stderr, /the serial link closed|no answer from/);
      t.deepEqual((await installed(board)).map((x) => [x.name, x.version, x.state]), [['fan_control', 1, 'running']]);

      // The next flash resumes from the offset the board reports.
      const resumed = await rules(['flash', big(2), '--port', board.port, '--json']);
      t.is(resumed.code, 0, resumed.stderr);
      const out = JSON.parse(resumed.stdout);
      t.like(out, { version: 2, state: 'running' });
      t.true(out.resumedFrom > 0, `resumed from ${out.resumedFrom}`);

      // Cut and back within the CLI's reconnect window: the same command succeeds.
      relay = await startRelay(board.port, { cutAfter: 1500 });
      const port = relay.port;
      const pending = rules(['flash', big(3), '--port', port, '--timeout', '3000', '--reconnect', '15', '--json']);
      await relay.exited;
      await new Promise((r) => setTimeout(r, 500));
      relay = await startRelay(board.port, {}, port);
      try {
        const r = await pending;
        t.is(r.code, 0, r.stderr);
        t.like(JSON.parse(r.stdout), { version: 3, state: 'running' });
      } finally {
        await relay.stop();
      }
      t.deepEqual((await installed(board)).map((x) => [x.name, x.version, x.state]), [['fan_control', 3, 'running']]);
      const since = board.gpio.length;
      await board.setSensor(0, COOL);
      await board.waitForGpio(FAN_PIN, 0, undefined, since);
    });
  });
}

// SMP commands (devices/smp/commands.ts, docs/smp.md §3-5) against a board double over a lossy in-memory
// link: install in chunks with resume, refusals with the device's reason, list, status, remove, info, echo.
import test from 'ava';
import { decode } from 'cborg';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBundle, decodeBundle, keyId } from '../contract/bundle.js';
import { encodePayload, SmpClient, SmpError, SmpTimeout } from '../devices/smp/protocol.js';
import * as smp from '../devices/smp/commands.js';
import { FakeBoard } from './support/fake-board.js';
import { packetLink } from './support/packet-link.js';
import { testKey, vectorsDir } from './support/bundle-vectors.js';

const trusted = testKey('trusted');
const vector = (name: string) => new Uint8Array(readFileSync(join(vectorsDir, name)));
const valid2 = vector('valid-v2.bundle');
const decoded = decodeBundle(valid2);
if (!decoded.ok) throw new Error(decoded.message);
const { manifest, wasm } = decoded.value;
const expect = (m = manifest) => ({ rule: m.rule, version: m.version, sha256: m.sha256 });
/** A bigger bundle than one chunk: the same rule with a long description. */
const large = encodeBundle({ manifest: { ...manifest, version: 3, description: 'x'.repeat(1000) }, wasm }, trusted);

function setup(faults = {}, mtu = 128) {
  const board = new FakeBoard({ target: 'stm32', trusted: [trusted], maxBundle: 4096 });
  const link = packetLink((b) => board.handle(b), faults);
  const client = new SmpClient(link, { timeoutMs: 20, retries: 2, mtu });
  return { board, link, client };
}

test('install: chunks within the MTU, progress to the end, the installed rule back', async (t) => {
  const { board, client } = setup();
  const progress: number[] = [];
  const r = await smp.install(client, large, expect({ ...manifest, version: 3 }), { onProgress: (sent) => progress.push(sent) });
  t.is(r.name, 'fan_control');
  t.is(r.version, 3);
  t.is(r.sha256, manifest.sha256);
  t.is(r.state, 'running');
  t.false(r.alreadyInstalled);
  t.true(progress.length >= Math.ceil(large.length / 128));
  t.is(progress[progress.length - 1], large.length);
  t.deepEqual(progress, [...progress].sort((a, b) => a - b));
  const first = board.log[0].payload;
  t.is(first.off, 0);
  t.is(first.len, large.length);
  t.is((first.sha as Uint8Array).length, 32);
  t.true(board.log.slice(1).every((l) => !('sha' in l.payload)));
});

test('install over a link that loses every third request and every fifth response still completes', async (t) => {
  const { board, client } = setup({ dropRequest: (n: number) => n % 3 === 2, dropResponse: (n: number) => n % 5 === 4 });
  const r = await smp.install(client, large, expect({ ...manifest, version: 3 }), { finalTimeoutMs: 50 });
  t.is(r.version, 3);
  t.is(board.rules.get('fan_control')?.version, 3);
});

test('a cut link: the install fails with no answer; the next install resumes where the device is', async (t) => {
  const board = new FakeBoard({ target: 'stm32', trusted: [trusted], maxBundle: 4096 });
  let alive = 6;
  const cut = new SmpClient(packetLink((b) => board.handle(b), { dropRequest: () => alive-- <= 0 }), { timeoutMs: 10, retries: 1, mtu: 128 });
  await t.throwsAsync(smp.install(cut, large, expect(), { resumes: 1 }), { instanceOf: SmpTimeout });
  t.false(board.rules.has('fan_control'));
  const client = new SmpClient(packetLink((b) => board.handle(b)), { timeoutMs: 20, mtu: 128 });
  const sentBefore = board.log.length;
  const r = await smp.install(client, large, expect({ ...manifest, version: 3 }));
  t.true(r.resumedFrom > 0);
  t.is(r.version, 3);
  // The resumed upload sent only what the device lacked (and one handshake).
  const chunks = board.log.slice(sentBefore).map((l) => (l.payload.data as Uint8Array).length);
  t.true(chunks.slice(1).reduce((a, b) => a + b, 0) <= large.length - r.resumedFrom);
});

test('refusals carry the device\'s reason and code', async (t) => {
  const { client } = setup({}, 512);
  for (const [file, code] of [['wrong-key.bundle', 'unknown_key'], ['tampered-wasm.bundle', 'bad_signature'], ['wrong-target.bundle', 'wrong_target']] as const) {
    const e = await t.throwsAsync(smp.install(client, vector(file), expect()), { instanceOf: SmpError });
    t.is(e && smp.rulesErrorName(e), code, file);
    t.truthy(e?.reason);
  }
});

test('the same bundle again is reported as already running; an older one is a downgrade', async (t) => {
  const { client } = setup({}, 512);
  await smp.install(client, valid2, expect());
  const again = await smp.install(client, valid2, expect());
  t.true(again.alreadyInstalled);
  const e = await t.throwsAsync(smp.install(client, vector('valid-v1.bundle'), expect({ ...manifest, version: 1 })), { instanceOf: SmpError });
  t.is(e && smp.rulesErrorName(e), 'downgrade');
});

test('list, status, remove, info, echo', async (t) => {
  const { client } = setup({}, 512);
  t.deepEqual(await smp.list(client), []);
  await smp.install(client, valid2, expect());
  t.deepEqual(await smp.list(client), [{ name: 'fan_control', version: 2, sha256: manifest.sha256, state: 'running' }]);
  const st = await smp.status(client, 'fan_control');
  t.deepEqual(st.saturated, [{ channel: 0, count: 2 }]);
  t.is(st.assumptionFailures, 1);
  t.is(st.error, null);
  const info = await smp.info(client);
  t.is(info.target, 'stm32');
  t.deepEqual(info.keys, [Buffer.from(keyId(trusted)).toString('hex')]);
  t.is(await smp.echo(client, 'ping'), 'ping');
  await smp.remove(client, 'fan_control');
  t.deepEqual(await smp.list(client), []);
  const e = await t.throwsAsync(smp.status(client, 'fan_control'), { instanceOf: SmpError });
  t.is(e && smp.rulesErrorName(e), 'no_such_rule');
});

test('a device that lost the upload (bad_chunk) gets it again from the start', async (t) => {
  const { board, client } = setup();
  let forget = true;
  const original = board.handle.bind(board);
  board.handle = (b) => {
    const out = original(b);
    // After the second chunk, the board restarts and forgets its upload.
    if (forget && board.log.length === 2) { forget = false; (board as unknown as { upload: null }).upload = null; }
    return out;
  };
  const r = await smp.install(client, large, expect({ ...manifest, version: 3 }));
  t.is(r.version, 3);
});

test('image state and upload (group 1) speak mcumgr\'s keys', async (t) => {
  const uploads: Record<string, unknown>[] = [];
  let held = 0;
  const image = new Uint8Array(1000).map((_, i) => i & 0xff);
  const { client } = (() => {
    const handle = (body: Uint8Array) => {
      const board = new FakeBoard({ target: 'x', trusted: [] });
      // Reuse the double's header handling, answering group 1 ourselves.
      const fake = board.handle(body)!;
      const header = fake.subarray(0, 8);
      const req = decodeRequest(body);
      let answer: Record<string, unknown>;
      if (header[5] === 1 && header[7] === 1) {
        uploads.push(req);
        if (req.off === held) held += (req.data as Uint8Array).length;
        answer = { off: held };
      } else {
        answer = { images: [{ slot: 0, version: '1.2.0', hash: new Uint8Array(32).fill(0xab), bootable: true, confirmed: true, active: true }] };
      }
      return reframe(header, answer);
    };
    return { client: new SmpClient(packetLink(handle), { timeoutMs: 20, mtu: 256 }) };
  })();
  const slots = await smp.imageState(client);
  t.is(slots[0].version, '1.2.0');
  t.true(slots[0].active);
  t.is(slots[0].hash, 'ab'.repeat(32));
  await smp.imageUpload(client, image);
  t.is(held, 1000);
  t.is(uploads[0].image, 0);
  t.is(uploads[0].len, 1000);
});

function decodeRequest(body: Uint8Array): Record<string, unknown> {
  return decode(body.subarray(8)) as Record<string, unknown>;
}
function reframe(header: Uint8Array, answer: Record<string, unknown>): Uint8Array {
  const data = encodePayload(answer);
  const out = new Uint8Array(8 + data.length);
  out.set(header);
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, 8);
  return out;
}

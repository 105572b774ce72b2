// The SMP protocol layer (devices/smp/protocol.ts, docs/smp.md §2): headers, sequence numbers, both
// error forms, timeouts and retries, with the clock and the transport injected.
import test from 'ava';
import {
  decodeHeader, encodeHeader, encodePayload, HEADER_BYTES, SmpClient, SmpError, SmpTimeout, type PacketTransport,
} from '../devices/smp/protocol.js';
import { ManualClock } from './support/manual-clock.js';

function scriptedTransport() {
  const sent: Uint8Array[] = [];
  let receive: (b: Uint8Array) => void = () => undefined;
  let close: (e?: Error) => void = () => undefined;
  const transport: PacketTransport = {
    send: (b) => { sent.push(b); },
    onPacket: (r) => { receive = r; return () => undefined; },
    onClose: (c) => { close = c; return () => undefined; },
  };
  const reply = (request: Uint8Array, payload: Record<string, unknown>, change: Partial<ReturnType<typeof decodeHeader>> = {}) => {
    const h = decodeHeader(request);
    const data = encodePayload(payload);
    const body = new Uint8Array(HEADER_BYTES + data.length);
    body.set(encodeHeader({ ...h, op: h.op + 1, length: data.length, ...change }));
    body.set(data, HEADER_BYTES);
    receive(body);
  };
  return { transport, sent, reply, receiveRaw: (b: Uint8Array) => receive(b), close: (e?: Error) => close(e) };
}

const tick = () => new Promise((r) => setImmediate(r));

test('the header: op and version in byte 0, big-endian length and group, sequence, command', (t) => {
  const h = { op: 2, version: 1, flags: 0, length: 0x0102, group: 64, seq: 0xfe, command: 4 };
  const b = encodeHeader(h);
  t.is(Buffer.from(b).toString('hex'), '0a00010200 40fe04'.replace(' ', ''));
  t.deepEqual(decodeHeader(b), h);
});

test('a real mcumgr echo response (indefinite-length CBOR map, version 0 header) is read', async (t) => {
  // From the mcumgr-smp crate's documentation: {"r": "Hello World"} as Zephyr's TinyCBOR writes it.
  const s = scriptedTransport();
  const client = new SmpClient(s.transport, { clock: new ManualClock() });
  const pending = client.request('write', 0, 0, { d: 'Hello World' });
  await tick();
  const seq = s.sent[0][6];
  s.receiveRaw(new Uint8Array([3, 0, 0, 16, 0, 0, seq, 0, 191, 97, 114, 107, 72, 101, 108, 108, 111, 32, 87, 111, 114, 108, 100, 255]));
  t.deepEqual(await pending, { r: 'Hello World' });
});

test('sequence numbers count up and wrap; a stale answer is ignored', async (t) => {
  const s = scriptedTransport();
  const client = new SmpClient(s.transport, { clock: new ManualClock() });
  for (let i = 0; i < 258; i++) {
    const p = client.request('read', 64, 1, {});
    await tick();
    const request = s.sent[s.sent.length - 1];
    t.is(request[6], i & 0xff);
    if (i > 0) s.reply(s.sent[s.sent.length - 2], { rules: ['stale'] }); // last request's answer, again
    s.reply(request, { rules: [] });
    t.deepEqual(await p, { rules: [] });
  }
});

test('no answer: the identical packet is resent, then SmpTimeout', async (t) => {
  const s = scriptedTransport();
  const clock = new ManualClock();
  const client = new SmpClient(s.transport, { clock, timeoutMs: 1000, retries: 2 });
  const p = client.request('write', 0, 0, { d: 'x' });
  await tick();
  clock.advance(999);
  t.is(s.sent.length, 1);
  clock.advance(1);
  t.is(s.sent.length, 2);
  t.deepEqual(s.sent[1], s.sent[0]);
  clock.advance(2000);
  t.is(s.sent.length, 3);
  const e = await t.throwsAsync(p, { instanceOf: SmpTimeout });
  t.is(e?.attempts, 3);
  t.is(clock.pending, 0);
});

test('an answer to a retry is accepted', async (t) => {
  const s = scriptedTransport();
  const clock = new ManualClock();
  const client = new SmpClient(s.transport, { clock, timeoutMs: 500 });
  const p = client.request('write', 0, 0, { d: 'x' });
  await tick();
  clock.advance(500);
  s.reply(s.sent[1], { r: 'x' });
  t.deepEqual(await p, { r: 'x' });
  t.is(clock.pending, 0);
});

test('both error forms become SmpError with the reason', async (t) => {
  const s = scriptedTransport();
  const client = new SmpClient(s.transport, { clock: new ManualClock() });
  const a = client.request('write', 64, 0, {});
  await tick();
  s.reply(s.sent[0], { err: { group: 64, rc: 4 }, rsn: 'signature does not match' });
  const ea = await t.throwsAsync(a, { instanceOf: SmpError });
  t.is(ea?.form, 'group');
  t.is(ea?.group, 64);
  t.is(ea?.rc, 4);
  t.is(ea?.reason, 'signature does not match');
  const b = client.request('read', 9, 0, {});
  await tick();
  s.reply(s.sent[1], { rc: 8 });
  const eb = await t.throwsAsync(b, { instanceOf: SmpError });
  t.is(eb?.form, 'mgmt');
  t.is(eb?.rc, 8);
  t.regex(eb?.message ?? '', /not supported/);
  // rc 0 and err.rc 0 are successes.
  const c = client.request('read', 0, 0, {});
  await tick();
  s.reply(s.sent[2], { rc: 0, err: { group: 0, rc: 0 }, r: 'ok' });
  t.is((await c).r, 'ok');
});

test('requests go one at a time, in order', async (t) => {
  const s = scriptedTransport();
  const client = new SmpClient(s.transport, { clock: new ManualClock() });
  const first = client.request('write', 0, 0, { d: '1' });
  const second = client.request('write', 0, 0, { d: '2' });
  await tick();
  t.is(s.sent.length, 1);
  s.reply(s.sent[0], { r: '1' });
  t.is((await first).r, '1');
  await tick();
  t.is(s.sent.length, 2);
  s.reply(s.sent[1], { r: '2' });
  t.is((await second).r, '2');
});

test('a request over the MTU is refused before sending; a closed link fails the request', async (t) => {
  const s = scriptedTransport();
  const client = new SmpClient(s.transport, { clock: new ManualClock(), mtu: 64 });
  await t.throwsAsync(client.request('write', 0, 0, { d: 'x'.repeat(100) }), { message: /MTU of 64/ });
  t.is(s.sent.length, 0);
  const p = client.request('write', 0, 0, { d: 'x' });
  await tick();
  s.close(new Error('device unplugged'));
  await t.throwsAsync(p, { message: /link closed: device unplugged/ });
});

// SMP serial framing (devices/smp/framing.ts, docs/smp.md §1): CRC-16/XMODEM, frames of at most 127
// bytes with their markers, and a receiver that survives noise, cuts and damage.
import test from 'ava';
import { crc16xmodem, Deframer, DeframeStream, encodeFrames, FrameStream, FRAME_MAX } from '../devices/smp/framing.js';

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

test('CRC-16/XMODEM: the catalogue check value and the documented echo packet', (t) => {
  t.is(crc16xmodem(new TextEncoder().encode('123456789')), 0x31c3);
  t.is(crc16xmodem(new Uint8Array(0)), 0);
  t.is(crc16xmodem(bytes('0a00000900002a00 a161646568656c6c6f')), 0x0a38);
});

test('the echo request of docs/smp.md §1 frames to the documented bytes', (t) => {
  const frames = encodeFrames(bytes('0a00000900002a00 a161646568656c6c6f'));
  t.is(Buffer.from(frames).toString('latin1'), '\x06\x09ABMKAAAJAAAqAKFhZGVoZWxsbwo4\n');
  t.deepEqual(new Deframer().push(frames), [bytes('0a00000900002a00 a161646568656c6c6f')]);
});

test('packets of every size up to 700 bytes: frames of at most 127 bytes, markers right, round trip exact', (t) => {
  for (let size = 0; size <= 700; size += 7) {
    const body = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
    const wire = Buffer.from(encodeFrames(body));
    const lines = wire.toString('latin1').split('\n').slice(0, -1);
    t.is(lines.length, Math.max(1, Math.ceil(Math.ceil((size + 4) / 3) * 4 / 124)));
    for (const [i, line] of lines.entries()) {
      t.true(line.length + 1 <= FRAME_MAX);
      t.is(line.slice(0, 2), i === 0 ? '\x06\x09' : '\x04\x14');
    }
    t.deepEqual(new Deframer().push(wire), [body], `size ${size}`);
  }
});

test('noise between packets is ignored; bytes fed one at a time work', (t) => {
  const a = bytes('0102030405');
  const b = new Uint8Array(300).fill(0x5a);
  const wire = Buffer.concat([Buffer.from('boot banner\r\n*** rules host ***\n'), encodeFrames(a), Buffer.from('log: hello\n'), encodeFrames(b)]);
  const deframer = new Deframer();
  const out: Uint8Array[] = [];
  for (const byte of wire) out.push(...deframer.push(new Uint8Array([byte])));
  t.deepEqual(out, [a, b]);
  t.is(deframer.stats.dropped, 0);
});

test('a damaged packet is dropped and the next one is received', (t) => {
  const good = new Uint8Array(200).fill(7);
  for (let at = 0; at < encodeFrames(good).length; at += 3) {
    const damaged = Buffer.from(encodeFrames(good));
    damaged[at] ^= 0x20;
    const deframer = new Deframer();
    const out = deframer.push(Buffer.concat([damaged, encodeFrames(good)]));
    // Damage is detected (or, in a marker or newline, costs at most that packet), never a wrong body.
    t.true(out.every((b) => Buffer.from(b).equals(Buffer.from(good))), `damage at ${at}`);
    t.true(out.length >= 1, `damage at ${at}: the following packet is still received`);
  }
});

test('a packet cut short is dropped at the next start marker', (t) => {
  const body = new Uint8Array(250).fill(1);
  const wire = Buffer.from(encodeFrames(body));
  const deframer = new Deframer();
  t.deepEqual(deframer.push(wire.subarray(0, 140)), []);
  t.deepEqual(deframer.push(encodeFrames(bytes('aa'))), [bytes('aa')]);
  t.is(deframer.stats.dropped, 1);
});

test('the Transform streams carry packets both ways', async (t) => {
  const framer = new FrameStream();
  const deframer = new DeframeStream();
  framer.pipe(deframer);
  const got: Uint8Array[] = [];
  deframer.on('data', (b: Uint8Array) => got.push(b));
  const bodies = [bytes('00'), new Uint8Array(500).fill(3), bytes('0a00000900002a00a161646568656c6c6f')];
  for (const b of bodies) framer.write(b);
  framer.end();
  await new Promise((resolve) => deframer.on('end', resolve));
  t.deepEqual(got.map((b) => Buffer.from(b).toString('hex')), bodies.map((b) => Buffer.from(b).toString('hex')));
});

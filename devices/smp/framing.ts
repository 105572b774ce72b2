// SMP serial framing (docs/smp.md §1, Zephyr's mcumgr serial transport): packets of bytes to and from
// 127-byte base64 frames with markers, length and CRC-16/XMODEM. Knows bytes only, nothing of SMP headers.
import { Transform, type TransformCallback } from 'node:stream';

export const FRAME_MAX = 127;
/** Base64 characters per frame: 127 - 2 (marker) - 1 (newline); a multiple of 4, so 93 bytes each. */
export const FRAME_TEXT_MAX = 124;
export const START_MARKER = [0x06, 0x09] as const;
export const CONTINUATION_MARKER = [0x04, 0x14] as const;
/** The largest packet body this side accepts; larger announced lengths are dropped as garbage. */
export const DEFAULT_MAX_BODY = 4096;

/** CRC-16/XMODEM: polynomial 0x1021, initial 0, no reflection, no final XOR. */
export function crc16xmodem(data: Uint8Array, crc = 0): number {
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** One packet body as the bytes of its frames. */
export function encodeFrames(body: Uint8Array): Uint8Array {
  if (body.length + 2 > 0xffff) throw new RangeError(`an SMP packet body has at most 65533 bytes (got ${body.length})`);
  const packet = Buffer.alloc(body.length + 4);
  packet.writeUInt16BE(body.length + 2, 0);
  packet.set(body, 2);
  packet.writeUInt16BE(crc16xmodem(body), body.length + 2);
  const text = packet.toString('base64');
  const frames: Buffer[] = [];
  for (let at = 0; at < text.length; at += FRAME_TEXT_MAX) {
    const marker = at === 0 ? START_MARKER : CONTINUATION_MARKER;
    frames.push(Buffer.from(marker), Buffer.from(text.slice(at, at + FRAME_TEXT_MAX), 'latin1'), Buffer.from([0x0a]));
  }
  return new Uint8Array(Buffer.concat(frames));
}

export interface DeframerStats {
  packets: number;
  /** Packets dropped: bad base64, bad length, bad CRC, a continuation without a start. */
  dropped: number;
}

const BASE64_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') BASE64_BYTE[c.charCodeAt(0)] = 1;

/**
 * Reassembles packet bodies from received bytes. Bytes outside frames (a boot banner, logs) are
 * ignored; a damaged packet is dropped and the next start marker begins again.
 */
export class Deframer {
  readonly stats: DeframerStats = { packets: 0, dropped: 0 };
  /** Inside a frame: its kind; outside: null. */
  private frame: 'start' | 'continuation' | null = null;
  private line = '';
  private previous = -1;
  /** The base64 text of the packet being received; null when none is. */
  private text: string | null = null;

  constructor(private readonly maxBody = DEFAULT_MAX_BODY) {}

  /** Feeds bytes; returns the bodies of the packets they complete. */
  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const byte of bytes) {
      if (this.frame === null) {
        if (this.previous === START_MARKER[0] && byte === START_MARKER[1]) this.beginFrame('start');
        else if (this.previous === CONTINUATION_MARKER[0] && byte === CONTINUATION_MARKER[1]) this.beginFrame('continuation');
        else this.previous = byte;
        continue;
      }
      if (byte === 0x0a) {
        const body = this.endFrame();
        if (body) out.push(body);
      } else if (BASE64_BYTE[byte] && this.line.length < FRAME_TEXT_MAX) {
        this.line += String.fromCharCode(byte);
      } else {
        // Not base64, or too long: the frame was cut or garbled. A marker may start right here.
        this.drop();
        this.frame = null;
        this.previous = byte;
      }
    }
    return out;
  }

  private beginFrame(kind: 'start' | 'continuation'): void {
    this.frame = kind;
    this.line = '';
    this.previous = -1;
    if (kind === 'start') {
      if (this.text !== null) this.drop();
      this.text = '';
    }
  }

  private endFrame(): Uint8Array | null {
    const kind = this.frame;
    this.frame = null;
    if (this.text === null) {
      if (kind === 'continuation') this.stats.dropped++;
      return null;
    }
    this.text += this.line;
    // The length lives in the first two decoded bytes: four characters hold it.
    if (this.text.length < 4) return null;
    const length = Buffer.from(this.text.slice(0, 4), 'base64').readUInt16BE(0);
    if (length < 2 || length - 2 > this.maxBody) return this.drop();
    const needChars = Math.ceil((length + 2) / 3) * 4;
    if (this.text.length < needChars) return this.text.includes('=') ? this.drop() : null;
    const text = this.text;
    this.text = null;
    const packet = Buffer.from(text, 'base64');
    if (text.length !== needChars || !/^[^=]*={0,2}$/.test(text) || packet.length !== length + 2) return this.count();
    const body = packet.subarray(2, packet.length - 2);
    if (crc16xmodem(body) !== packet.readUInt16BE(packet.length - 2)) return this.count();
    this.stats.packets++;
    return new Uint8Array(body);
  }

  private drop(): null {
    if (this.text !== null) this.stats.dropped++;
    this.text = null;
    return null;
  }

  private count(): null {
    this.stats.dropped++;
    return null;
  }
}

/** Bytes in, packet bodies out (one chunk per packet). */
export class DeframeStream extends Transform {
  readonly deframer: Deframer;

  constructor(maxBody = DEFAULT_MAX_BODY) {
    super({ readableObjectMode: true });
    this.deframer = new Deframer(maxBody);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const body of this.deframer.push(chunk)) this.push(body);
    done();
  }
}

/** Packet bodies in (one chunk per packet), frame bytes out. */
export class FrameStream extends Transform {
  constructor() {
    super({ writableObjectMode: true });
  }

  override _transform(body: Uint8Array, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.push(encodeFrames(body));
      done();
    } catch (e) {
      done(e as Error);
    }
  }
}

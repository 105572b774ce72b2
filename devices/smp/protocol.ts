// The SMP protocol layer (docs/smp.md §2): 8-byte headers, sequence numbers, CBOR payloads, both error
// forms, timeouts and retries, over any packet transport. Knows nothing of what the groups mean.
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import type { Duplex } from 'node:stream';
import { DeframeStream, encodeFrames } from './framing.js';

export const SMP_VERSION = 1;
export const HEADER_BYTES = 8;
/** The smallest MTU every device accepts (docs/smp.md §2); `info` may report more. */
export const DEFAULT_MTU = 512;

export type Op = 'read' | 'write';
const OP_CODES = { read: 0, write: 2 } as const;

export interface SmpHeader {
  op: number;
  version: number;
  flags: number;
  length: number;
  group: number;
  seq: number;
  command: number;
}

export function encodeHeader(h: SmpHeader): Uint8Array {
  const b = Buffer.alloc(HEADER_BYTES);
  b[0] = (h.op & 0x07) | ((h.version & 0x03) << 3);
  b[1] = h.flags & 0xff;
  b.writeUInt16BE(h.length, 2);
  b.writeUInt16BE(h.group, 4);
  b[6] = h.seq & 0xff;
  b[7] = h.command & 0xff;
  return new Uint8Array(b);
}

export function decodeHeader(bytes: Uint8Array): SmpHeader {
  if (bytes.length < HEADER_BYTES) throw new SmpProtocolError(`a packet of ${bytes.length} bytes has no SMP header`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return { op: b[0] & 0x07, version: (b[0] >> 3) & 0x03, flags: b[1], length: b.readUInt16BE(2), group: b.readUInt16BE(4), seq: b[6], command: b[7] };
}

export type Payload = Record<string, unknown>;

export function encodePayload(payload: Payload): Uint8Array {
  return encode(payload, rfc8949EncodeOptions);
}

export function decodePayload(bytes: Uint8Array): Payload {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (e) {
    throw new SmpProtocolError(`the device sent a payload that is not CBOR: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new SmpProtocolError('the device sent a payload that is not a CBOR map');
  }
  return value as Payload;
}

/** SMP's own error codes (MGMT_ERR_*), the `rc` of the version 1 error form. */
export const MGMT_ERRORS: Record<number, string> = {
  1: 'unknown error', 2: 'out of memory', 3: 'invalid request', 4: 'timeout', 5: 'not found', 6: 'bad state',
  7: 'message too large', 8: 'not supported', 9: 'corrupt', 10: 'busy', 11: 'access denied',
};

/** The device answered with an error, in either form. */
export class SmpError extends Error {
  constructor(
    /** `mgmt` for `{rc}`, `group` for `{err: {group, rc}}`. */
    readonly form: 'mgmt' | 'group',
    readonly group: number,
    readonly rc: number,
    readonly reason: string | undefined,
  ) {
    super(form === 'mgmt'
      ? `the device answered error ${rc} (${MGMT_ERRORS[rc] ?? 'unknown'})${reason ? `: ${reason}` : ''}`
      : `the device answered group ${group} error ${rc}${reason ? `: ${reason}` : ''}`);
    this.name = 'SmpError';
  }
}

/** No answer after every retry. */
export class SmpTimeout extends Error {
  constructor(readonly attempts: number, readonly waitedMs: number) {
    super(`no answer from the device after ${attempts} tries (${(waitedMs / 1000).toFixed(1)} s)`);
    this.name = 'SmpTimeout';
  }
}

/** The device sent something this client cannot read, or the link closed. */
export class SmpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmpProtocolError';
  }
}

/** Sends and receives whole packet bodies. */
export interface PacketTransport {
  send(body: Uint8Array): void;
  /** Registers the receiver of every packet body; returns a function that unregisters it. */
  onPacket(receive: (body: Uint8Array) => void): () => void;
  /** Called when the link closes or fails; returns a function that unregisters it. */
  onClose(closed: (error?: Error) => void): () => void;
}

/** Timers, injectable so tests control time. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/** The packet transport over a byte stream (a serial port): SMP serial framing both ways. */
export function streamTransport(stream: Duplex, onBytes?: (direction: 'out' | 'in', count: number) => void): PacketTransport {
  const deframer = new DeframeStream();
  stream.on('data', (chunk: Buffer) => {
    onBytes?.('in', chunk.length);
    deframer.write(chunk);
  });
  return {
    send(body) {
      const frames = encodeFrames(body);
      onBytes?.('out', frames.length);
      stream.write(frames);
    },
    onPacket(receive) {
      deframer.on('data', receive);
      return () => deframer.off('data', receive);
    },
    onClose(closed) {
      const onClose = () => closed();
      const onError = (e: Error) => closed(e);
      stream.on('close', onClose);
      stream.on('error', onError);
      return () => { stream.off('close', onClose); stream.off('error', onError); };
    },
  };
}

export interface RequestOptions {
  timeoutMs?: number;
  retries?: number;
}

export interface ClientOptions extends RequestOptions {
  clock?: Clock;
  mtu?: number;
}

/** One request at a time, matched to its response by group, command and sequence number. */
export class SmpClient {
  readonly clock: Clock;
  mtu: number;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private waiting: ((header: SmpHeader, payload: Uint8Array) => void) | null = null;
  private closed: Error | null = null;
  private onClosed: ((error: Error) => void) | null = null;

  constructor(private readonly transport: PacketTransport, options: ClientOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.retries = options.retries ?? 3;
    transport.onPacket((body) => {
      let header: SmpHeader;
      try {
        header = decodeHeader(body);
      } catch {
        return;
      }
      this.waiting?.(header, body.subarray(HEADER_BYTES, HEADER_BYTES + header.length));
    });
    transport.onClose((error) => {
      this.closed = new SmpProtocolError(`the serial link closed${error ? `: ${error.message}` : ''}`);
      this.onClosed?.(this.closed);
    });
  }

  /** Sends a request and resolves with the response payload, or rejects with SmpError or SmpTimeout. */
  request(op: Op, group: number, command: number, payload: Payload, options: RequestOptions = {}): Promise<Payload> {
    const run = () => this.exchange(op, group, command, payload, options);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The largest request payload that fits the MTU. */
  get maxPayload(): number {
    return this.mtu - HEADER_BYTES;
  }

  private async exchange(op: Op, group: number, command: number, payload: Payload, options: RequestOptions): Promise<Payload> {
    if (this.closed) throw this.closed;
    const data = encodePayload(payload);
    if (data.length > this.maxPayload) throw new SmpProtocolError(`a request of ${data.length + HEADER_BYTES} bytes exceeds the device's MTU of ${this.mtu}`);
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    const body = new Uint8Array(HEADER_BYTES + data.length);
    body.set(encodeHeader({ op: OP_CODES[op], version: SMP_VERSION, flags: 0, length: data.length, group, seq, command }));
    body.set(data, HEADER_BYTES);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const attempts = (options.retries ?? this.retries) + 1;
    const started = this.clock.now();
    const response = await new Promise<Uint8Array | null>((resolve, reject) => {
      let attempt = 0;
      let timer: unknown = null;
      const finish = () => {
        if (timer !== null) this.clock.clearTimeout(timer);
        this.waiting = null;
        this.onClosed = null;
      };
      this.waiting = (header, bytes) => {
        // A late answer to an earlier request (or another group's chatter) is not ours.
        if (header.op !== OP_CODES[op] + 1 || header.group !== group || header.command !== command || header.seq !== seq) return;
        finish();
        resolve(bytes);
      };
      this.onClosed = (error) => { finish(); reject(error); };
      const send = () => {
        if (attempt === attempts) {
          finish();
          resolve(null);
          return;
        }
        attempt++;
        try {
          this.transport.send(body);
        } catch (e) {
          finish();
          reject(new SmpProtocolError(`cannot write to the serial link: ${(e as Error).message}`));
          return;
        }
        timer = this.clock.setTimeout(send, timeoutMs);
      };
      send();
    });
    if (response === null) throw new SmpTimeout(attempts, this.clock.now() - started);
    const answer = decodePayload(response);
    const err = answer.err as { group?: unknown; rc?: unknown } | undefined;
    if (err && typeof err === 'object' && typeof err.rc === 'number' && err.rc !== 0) {
      throw new SmpError('group', typeof err.group === 'number' ? err.group : group, err.rc, reasonOf(answer));
    }
    if (typeof answer.rc === 'number' && answer.rc !== 0) throw new SmpError('mgmt', group, answer.rc, reasonOf(answer));
    return answer;
  }
}

function reasonOf(answer: Payload): string | undefined {
  return typeof answer.rsn === 'string' && answer.rsn.length > 0 ? answer.rsn : undefined;
}

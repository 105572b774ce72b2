// Test support for the virtual board: start it (behind a socat relay, as a real serial link would be), speak
// just enough SMP to install, list and remove, and watch its JSON lines. The full client lives in devices/smp.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from 'cborg';
import { loadTarget } from '../../contract/targets.js';
import { boardArguments, boardBinary, readPublicKeyFile } from '../../devices/virtual-board.js';
import { repoRoot } from './paths.js';

export const bundleVectors = join(repoRoot, 'tests', 'vectors', 'bundle');

export interface Board {
  process: ChildProcess;
  events: Array<Record<string, unknown>>;
  /** The pseudo-terminal a client opens: socat's end of the relay. */
  port: string;
  stop(): Promise<void>;
  send(line: string): void;
  waitFor(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startBoard(stateDir: string, sensors: Record<number, number>, env: NodeJS.ProcessEnv = process.env): Promise<Board> {
  const dir = mkdtempSync(join(tmpdir(), 'rules-board-'));
  const link = join(dir, 'board');
  const args = boardArguments({ link, target: loadTarget('stm32'), trusted: [readPublicKeyFile(join(bundleVectors, 'trusted.pub'))],
    stateDir, sensors, json: true });
  const child = spawn(boardBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const events: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try { events.push(JSON.parse(line)); } catch { /* not JSON */ }
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const waitFor = async (pred: (e: Record<string, unknown>) => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = events.find(pred);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no such board event; saw ${JSON.stringify(events)}`);
      await sleep(20);
    }
  };
  await waitFor((e) => e.event === 'ready');
  // A socat relay between the board's pty and a second pty, as a USB serial adapter would sit between them.
  const port = join(dir, 'client');
  const relay = spawn('socat', [`pty,link=${port},raw,echo=0`, `file:${link},raw,echo=0`], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(port); i++) await sleep(20);
  return {
    process: child, events, port,
    send: (line) => child.stdin!.write(line + '\n'),
    waitFor,
    stop: async () => {
      relay.kill('SIGTERM');
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---- a minimal SMP client over a pty, for the tests ----

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export function frame(body: Uint8Array): Buffer {
  const pkt = Buffer.alloc(body.length + 4);
  pkt.writeUInt16BE(body.length + 2, 0);
  Buffer.from(body).copy(pkt, 2);
  pkt.writeUInt16BE(crc16(body), body.length + 2);
  const text = pkt.toString('base64');
  const frames: Buffer[] = [];
  for (let i = 0; i < text.length; i += 124) {
    frames.push(Buffer.from(i === 0 ? [6, 9] : [4, 20]), Buffer.from(text.slice(i, i + 124)), Buffer.from('\n'));
  }
  return Buffer.concat(frames);
}

export class MiniSmp {
  private fd: number;
  private seq = 0;
  private pending = '';
  constructor(port: string) {
    this.fd = openSync(port, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
    spawnSync('stty', ['-F', port, 'raw', '-echo']);
  }
  close() { closeSync(this.fd); }

  /** One request and its response payload; op 0 read, 2 write. */
  async request(op: number, group: number, id: number, payload: Record<string, unknown>, ms = 5000): Promise<any> {
    const data = encode(payload);
    const seq = this.seq = (this.seq + 1) & 0xff;
    const body = Buffer.alloc(8 + data.length);
    body[0] = (1 << 3) | op;
    body.writeUInt16BE(data.length, 2);
    body.writeUInt16BE(group, 4);
    body[6] = seq;
    body[7] = id;
    Buffer.from(data).copy(body, 8);
    writeSync(this.fd, frame(body));
    const deadline = Date.now() + ms;
    const chunk = Buffer.alloc(4096);
    let text = '';
    while (Date.now() < deadline) {
      let n = 0;
      try { n = readSync(this.fd, chunk, 0, chunk.length, null); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e; }
      if (n === 0) { await sleep(10); continue; }
      this.pending += chunk.subarray(0, n).toString('latin1');
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        if (line.startsWith('\x06\x09')) text = line.slice(2);
        else if (line.startsWith('\x04\x14')) text += line.slice(2);
        else continue;
        const raw = Buffer.from(text, 'base64');
        if (raw.length >= 2 && raw.readUInt16BE(0) === raw.length - 2) {
          const rsp = raw.subarray(2, raw.length - 2);
          if (rsp[6] === seq) return decode(rsp.subarray(8), { useMaps: false });
        }
      }
    }
    throw new Error('no answer from the board');
  }

  /** Installs a bundle in chunks; returns the last response. */
  async install(bundle: Uint8Array, chunk = 200, ms = 15000): Promise<any> {
    let off = 0;
    let rsp: any;
    for (let guard = 0; guard < 100; guard++) {
      const req: Record<string, unknown> = { off, data: bundle.subarray(off, off + chunk) };
      if (off === 0) Object.assign(req, { len: bundle.length, sha: createHash('sha256').update(bundle).digest() });
      rsp = await this.request(2, 64, 0, req, ms);
      if (rsp.err || rsp.rc || rsp.name) return rsp;
      off = rsp.off;
    }
    return rsp;
  }
}

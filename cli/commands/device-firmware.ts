// `rules device images|firmware|confirm --port P`: the board's firmware over SMP group 1 (MCUboot's slots):
// list the slots, upload an image with resume, mark it for test, reset, and confirm it once it runs.
import { readFileSync } from 'node:fs';
import { readMcubootImage, type McubootImage } from '../../devices/mcuboot.js';
import { connect, type Connection } from '../../devices/serial.js';
import { SmpError, SmpProtocolError, SmpTimeout } from '../../devices/smp/protocol.js';
import * as smp from '../../devices/smp/commands.js';
import { Progress } from '../progress.js';
import { fileErrorMessage } from './shared.js';
import { reopenPort, reportDeviceError, shortHash, type PortArgs } from './device-shared.js';

export interface FirmwareArgs extends PortArgs {
  action: 'images' | 'firmware' | 'confirm';
  name?: string;
  confirm: boolean;
  reset: boolean;
  reconnect: number;
}

export async function firmwareAction(args: FirmwareArgs): Promise<number> {
  if (args.action === 'firmware') return firmware(args);
  let conn: Connection | null = null;
  try {
    conn = await connect(args.port, { baudRate: args.baud, timeoutMs: args.timeout });
    const slots = args.action === 'confirm' ? await smp.imageSetState(conn.client, null, true) : await smp.imageState(conn.client);
    const running = slots.find((s) => s.slot === 0);
    if (args.action === 'confirm') {
      out(args, { ok: true, port: args.port, images: slots }, `${args.port} runs firmware ${running?.version ?? '?'}, confirmed: it stays at the next reset\n`);
    } else {
      out(args, { ok: true, port: args.port, images: slots }, slots.map(slotLine).join('') || `no images on ${args.port}\n`);
    }
    return 0;
  } catch (e) {
    return reportImageError(e, args);
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

function slotLine(s: smp.ImageSlot): string {
  const flags = (['active', 'confirmed', 'pending', 'permanent'] as const).filter((f) => s[f]).join(',') || '-';
  return `slot ${s.slot}  ${s.version.padEnd(12)} ${flags.padEnd(24)} ${shortHash(s.hash)}\n`;
}

async function firmware(args: FirmwareArgs): Promise<number> {
  if (!args.name) return fail(args, 2, 'input', '`rules device firmware` needs the image file: rules device firmware IMAGE.bin --port P');
  let bytes: Buffer;
  try {
    bytes = readFileSync(args.name);
  } catch (e) {
    return fail(args, 2, 'input', fileErrorMessage(e) ?? `cannot read ${args.name}`);
  }
  // Nothing is sent unless the file is a whole MCUboot image whose hash holds.
  const check = readMcubootImage(bytes);
  if (!check.ok) return fail(args, 2, 'input', `${args.name} is ${check.why.startsWith('not') ? check.why : `not usable: ${check.why}`}; sign the firmware with MCUboot's imgtool first`);
  const image = check.image;
  const upload = bytes.subarray(0, image.totalSize);
  let conn: Connection | null = null;
  try {
    conn = await connect(args.port, { baudRate: args.baud, timeoutMs: args.timeout });
    const before = await smp.imageState(conn.client);
    if (before.some((s) => s.slot === 0 && s.hash === image.hash)) {
      const running = before.find((s) => s.slot === 0)!;
      if (args.confirm && !running.confirmed) await smp.imageSetState(conn.client, null, true);
      return finish(args, image, 'running', { alreadyRunning: true, resumedFrom: 0, images: await smp.imageState(conn.client) });
    }
    let resumedFrom = 0;
    if (!before.some((s) => s.slot === 1 && s.hash === image.hash)) {
      const progress = new Progress(upload.length, `uploading firmware ${image.version}`, args.json);
      for (let reconnects = 0; ; reconnects++) {
        try {
          const r = await smp.imageUpload(conn.client, upload, { onProgress: (sent) => progress.update(sent) });
          resumedFrom = Math.max(resumedFrom, r.resumedFrom);
          break;
        } catch (e) {
          if (!(e instanceof SmpProtocolError && /link closed/.test(e.message)) || reconnects >= 3) throw e;
          await conn.close().catch(() => undefined);
          conn = null;
          conn = await reopenPort(args, args.reconnect * 1000);
          if (!conn) throw e;
        }
      }
      progress.done();
    }
    // Test first (with --no-reset and --confirm: permanent at the next reset, as MCUboot's confirm of slot 1 is).
    await smp.imageSetState(conn.client, Buffer.from(image.hash, 'hex'), !args.reset && args.confirm);
    if (!args.reset) {
      return finish(args, image, args.confirm ? 'pending-permanent' : 'pending', { alreadyRunning: false, resumedFrom, images: await smp.imageState(conn.client) });
    }
    await smp.reset(conn.client);
    await conn.close().catch(() => undefined);
    conn = null;
    // The board restarts (on USB its port may vanish for a while); MCUboot swaps the image in.
    const back = await reopenAndAsk(args, args.reconnect * 1000);
    conn = back.conn;
    let images = back.images;
    const running = images.find((s) => s.slot === 0);
    if (!running || running.hash !== image.hash) {
      return fail(args, 1, 'not_swapped', `${args.port} came back running firmware ${running?.version ?? 'unknown'}, not ${image.version}: ` +
        'its bootloader did not take the image (is MCUboot built with swap and this image\'s signing key?)');
    }
    if (args.confirm) images = await smp.imageSetState(conn.client, null, true);
    return finish(args, image, args.confirm ? 'confirmed' : 'test', { alreadyRunning: false, resumedFrom, images });
  } catch (e) {
    return reportImageError(e, args);
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

type Outcome = 'running' | 'pending' | 'pending-permanent' | 'test' | 'confirmed';

function finish(args: FirmwareArgs, image: McubootImage, state: Outcome, more: { alreadyRunning: boolean; resumedFrom: number; images: smp.ImageSlot[] }): number {
  const what: Record<Outcome, string> = {
    running: 'runs it already',
    pending: 'boots it at the next reset, as a test',
    'pending-permanent': 'boots it at the next reset, for good',
    test: `runs it as a test: \`rules device confirm --port ${args.port}\` keeps it, a reset without that goes back`,
    confirmed: 'runs it, confirmed',
  };
  const resumed = more.resumedFrom > 0 ? ` (upload resumed at byte ${more.resumedFrom})` : '';
  out(args, { ok: true, port: args.port, version: image.version, hash: image.hash, bytes: image.totalSize, state, ...more },
    `firmware ${image.version} (${shortHash(image.hash)}): ${args.port} ${what[state]}${resumed}\n`);
  return 0;
}

/** After a reset: the port back, and the board answering image state, within `waitMs`. */
async function reopenAndAsk(args: FirmwareArgs, waitMs: number): Promise<{ conn: Connection; images: smp.ImageSlot[] }> {
  const until = Date.now() + waitMs;
  let last: unknown = new SmpTimeout(0, waitMs);
  await new Promise((r) => setTimeout(r, 300));
  while (Date.now() < until) {
    const conn = await reopenPort(args, until - Date.now());
    if (!conn) break;
    try {
      return { conn, images: await smp.imageState(conn.client) };
    } catch (e) {
      last = e;
      await conn.close().catch(() => undefined);
      if (!(e instanceof SmpTimeout || e instanceof SmpProtocolError)) throw e;
    }
  }
  throw last;
}

function reportImageError(e: unknown, args: FirmwareArgs): number {
  if (e instanceof SmpError && e.form === 'mgmt' && e.rc === 8) {
    return fail(args, 1, 'not_supported', `the board on ${args.port} does not manage firmware images over SMP (group 1): ` +
      'update its firmware with MCUboot\'s serial recovery (hold its button at reset) or a debug probe');
  }
  if (e instanceof SmpError && e.form === 'mgmt' && smp.IMAGE_ERRORS[e.rc]) {
    return fail(args, 1, smp.IMAGE_ERRORS[e.rc], `the board refused: ${e.reason ?? smp.IMAGE_ERRORS[e.rc]} (rc ${e.rc})`, { rc: e.rc });
  }
  return reportDeviceError(e, args);
}

function out(args: { json: boolean }, json: unknown, text: string): void {
  process.stdout.write(args.json ? JSON.stringify(json, null, 2) + '\n' : text);
}

function fail(args: { json: boolean }, code: number, kind: string, message: string, extra: Record<string, unknown> = {}): number {
  if (args.json) process.stdout.write(JSON.stringify({ ok: false, error: { kind, message, ...extra } }, null, 2) + '\n');
  process.stderr.write(`rules: ${message}\n`);
  return code;
}

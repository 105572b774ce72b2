// SMP commands (docs/smp.md §3-5): group 0 (echo, reset), group 1 (image state and upload, for the host
// firmware through MCUboot) and group 64 (rules: install in chunks with resume, list, remove, status, info).
import { createHash } from 'node:crypto';
import { HEADER_BYTES, SmpError, SmpTimeout, encodePayload, type Payload, type SmpClient } from './protocol.js';

export const GROUP_OS = 0;
export const GROUP_IMAGE = 1;
export const GROUP_RULES = 64;

export const OS_ECHO = 0;
export const OS_RESET = 5;
export const IMAGE_STATE = 0;
export const IMAGE_UPLOAD = 1;
export const RULES_INSTALL = 0;
export const RULES_LIST = 1;
export const RULES_REMOVE = 2;
export const RULES_STATUS = 3;
export const RULES_INFO = 4;

/** Group 64's error codes (docs/smp.md §5): 1-10 are the bundle verdicts of docs/bundle.md §3. */
export const RULES_ERRORS: Record<number, string> = {
  1: 'malformed', 2: 'format', 3: 'unknown_key', 4: 'bad_signature', 5: 'wrong_abi', 6: 'wrong_target',
  7: 'artifact_mismatch', 8: 'too_big', 9: 'downgrade', 10: 'unverifiable', 11: 'bad_chunk', 12: 'no_space',
  13: 'no_such_rule', 14: 'storage',
};

export function rulesErrorName(e: SmpError): string | undefined {
  return e.form === 'group' && e.group === GROUP_RULES ? RULES_ERRORS[e.rc] : undefined;
}

/** The shortest chunk an upload shrinks to on a bad link. */
export const MIN_CHUNK = 32;

/** Timeout for the last chunk of an install: the device verifies and stores the bundle before it answers. */
export const FINAL_CHUNK_TIMEOUT_MS = 5000;

// ---- group 0 ----

export async function echo(client: SmpClient, text: string): Promise<string> {
  const r = await client.request('write', GROUP_OS, OS_ECHO, { d: text });
  if (typeof r.r !== 'string') throw new SmpShapeError('echo', '`r` text');
  return r.r;
}

export async function reset(client: SmpClient): Promise<void> {
  await client.request('write', GROUP_OS, OS_RESET, {});
}

// ---- group 1 ----

export interface ImageSlot {
  image: number;
  slot: number;
  version: string;
  hash: string;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

export async function imageState(client: SmpClient): Promise<ImageSlot[]> {
  return imagesOf(await client.request('read', GROUP_IMAGE, IMAGE_STATE, {}));
}

/** Marks an image to boot next (test mode), or with confirm the running one as permanent. */
export async function imageSetState(client: SmpClient, hash: Uint8Array | null, confirm: boolean): Promise<ImageSlot[]> {
  const payload: Payload = { confirm };
  if (hash) payload.hash = hash;
  return imagesOf(await client.request('write', GROUP_IMAGE, IMAGE_STATE, payload));
}

function imagesOf(r: Payload): ImageSlot[] {
  if (!Array.isArray(r.images)) throw new SmpShapeError('image state', '`images` array');
  return r.images.map((i: Record<string, unknown>) => ({
    image: typeof i.image === 'number' ? i.image : 0,
    slot: Number(i.slot ?? 0),
    version: String(i.version ?? ''),
    hash: i.hash instanceof Uint8Array ? Buffer.from(i.hash).toString('hex') : '',
    bootable: i.bootable === true, pending: i.pending === true, confirmed: i.confirmed === true,
    active: i.active === true, permanent: i.permanent === true,
  }));
}

export interface UploadOptions {
  onProgress?: (sent: number, total: number) => void;
  /** Restarts from the device's offset after a timeout, this many times. */
  resumes?: number;
  /** How long to wait for the answer to the last chunk. */
  finalTimeoutMs?: number;
}

/** mcumgr's image group errors (the `{rc}` form, docs/smp.md §4) by what they mean for an upload or state write. */
export const IMAGE_ERRORS: Record<number, string> = {
  2: 'too_big', 3: 'not_an_image', 5: 'no_such_image', 6: 'bad_state', 9: 'corrupt',
};

/**
 * Uploads a firmware image to MCUboot's secondary slot (mcumgr image upload), resuming from the offset the
 * device reports; resolves with the offset the device already held when the upload began (a resumed upload).
 */
export async function imageUpload(client: SmpClient, image: Uint8Array, options: UploadOptions = {}): Promise<{ resumedFrom: number }> {
  let resumedFrom = 0;
  await chunkedUpload(client, GROUP_IMAGE, IMAGE_UPLOAD, image, { image: 0 }, { ...options, onResume: (off) => { resumedFrom = Math.max(resumedFrom, off); } });
  return { resumedFrom };
}

// ---- group 64 ----

export type RuleState = 'running' | 'disabled' | 'failed';

export interface RuleSummary {
  name: string;
  version: number;
  /** The artifact's SHA-256, hex. */
  sha256: string;
  state: RuleState | string;
}

export interface RuleStatus extends RuleSummary {
  error: string | null;
  ticks: number;
  /** Per declared sensor channel: readings saturated to its range. */
  saturated: { channel: number; count: number }[];
  assumptionFailures: number;
}

export interface DeviceInfo {
  target: string;
  abi: number;
  mtu: number;
  maxBundle: number;
  maxRules: number;
  host: string;
  keys: string[];
}

export async function info(client: SmpClient): Promise<DeviceInfo> {
  const r = await client.request('read', GROUP_RULES, RULES_INFO, {});
  if (typeof r.target !== 'string') throw new SmpShapeError('info', '`target` text');
  return {
    target: r.target,
    abi: num(r.abi),
    mtu: num(r.mtu),
    maxBundle: num(r.maxBundle),
    maxRules: num(r.maxRules),
    host: typeof r.host === 'string' ? r.host : '',
    keys: Array.isArray(r.keys) ? r.keys.filter((k) => k instanceof Uint8Array).map((k) => Buffer.from(k).toString('hex')) : [],
  };
}

export async function list(client: SmpClient): Promise<RuleSummary[]> {
  const r = await client.request('read', GROUP_RULES, RULES_LIST, {});
  if (!Array.isArray(r.rules)) throw new SmpShapeError('list', '`rules` array');
  return r.rules.map((x) => summaryOf(x as Payload));
}

export async function status(client: SmpClient, name: string): Promise<RuleStatus> {
  const r = await client.request('read', GROUP_RULES, RULES_STATUS, { name });
  const sat = Array.isArray(r.sat) ? r.sat : [];
  return {
    ...summaryOf(r),
    error: typeof r.err === 'string' && r.err.length > 0 ? r.err : null,
    ticks: num(r.ticks),
    saturated: sat.filter((p): p is number[] => Array.isArray(p) && p.length === 2).map(([channel, count]) => ({ channel: num(channel), count: num(count) })),
    assumptionFailures: num(r.asf),
  };
}

export async function remove(client: SmpClient, name: string): Promise<void> {
  await client.request('write', GROUP_RULES, RULES_REMOVE, { name });
}

export interface InstallResult extends RuleSummary {
  /** True when the device already ran this bundle and nothing changed. */
  alreadyInstalled: boolean;
  /** Bytes the device already held when this upload began (a resumed upload). */
  resumedFrom: number;
}

/**
 * Installs a signed bundle: uploads it in chunks, resuming from the offset the device reports, and
 * resolves with the rule the device now runs. A refusal rejects with an SmpError carrying the device's reason.
 */
export async function install(client: SmpClient, bundle: Uint8Array, expect: { rule: string; version: number; sha256: string }, options: UploadOptions = {}): Promise<InstallResult> {
  let resumedFrom = 0;
  try {
    const r = await chunkedUpload(client, GROUP_RULES, RULES_INSTALL, bundle, {}, { ...options, onResume: (off) => { resumedFrom = Math.max(resumedFrom, off); } });
    return { ...summaryOf(r), alreadyInstalled: false, resumedFrom };
  } catch (e) {
    // A device that does not answer an identical bundle as installed refuses it as a downgrade (docs/smp.md §5 step 5).
    if (e instanceof SmpError && rulesErrorName(e) === 'downgrade') {
      const now = await status(client, expect.rule).catch(() => null);
      if (now && now.version === expect.version && now.sha256 === expect.sha256) {
        return { name: now.name, version: now.version, sha256: now.sha256, state: now.state, alreadyInstalled: true, resumedFrom };
      }
    }
    throw e;
  }
}

interface ChunkOptions extends UploadOptions {
  onResume?: (offset: number) => void;
}

/** mcumgr's upload: the first chunk carries len and sha; the device answers the offset it wants next. */
async function chunkedUpload(client: SmpClient, group: number, command: number, bytes: Uint8Array, extra: Payload, options: ChunkOptions): Promise<Payload> {
  const sha = new Uint8Array(createHash('sha256').update(bytes).digest());
  const len = bytes.length;
  let resumesLeft = options.resumes ?? 4;
  // A link that loses whole packets loses long ones more often: after a timeout, chunks get shorter.
  let chunkLimit = Infinity;
  let restartedOnce = false;
  let off = 0;
  let handshake = true;
  for (;;) {
    const base: Payload = handshake ? { ...extra, off: 0, len, sha } : { off };
    const at = handshake ? 0 : off;
    const size = Math.min(len - at, chunkLimit, chunkRoom(client, base, len - at));
    const data = bytes.subarray(at, at + size);
    const last = at + size === len;
    let r: Payload;
    try {
      r = await client.request('write', group, command, { ...base, data }, last ? { timeoutMs: options.finalTimeoutMs ?? FINAL_CHUNK_TIMEOUT_MS } : {});
    } catch (e) {
      // No answer: the link may have dropped for a while. Ask the device where it is, from the top.
      if (e instanceof SmpTimeout && resumesLeft > 0) {
        resumesLeft--;
        chunkLimit = Math.max(MIN_CHUNK, Math.floor(size / 2));
        handshake = true;
        continue;
      }
      // The device lost the upload (it restarted): start again once.
      if (e instanceof SmpError && group === GROUP_RULES && rulesErrorName(e) === 'bad_chunk' && !restartedOnce) {
        restartedOnce = true;
        handshake = true;
        continue;
      }
      throw e;
    }
    if (typeof r.off !== 'number' || !Number.isInteger(r.off) || r.off < 0 || r.off > len) {
      throw new SmpShapeError('upload', `\`off\` between 0 and ${len}`);
    }
    if (handshake && r.off > size) options.onResume?.(r.off);
    handshake = false;
    off = r.off;
    options.onProgress?.(off, len);
    if (off === len) {
      if (group !== GROUP_RULES || typeof r.name === 'string') return r;
      throw new SmpShapeError('the last chunk of an install', 'installed rule');
    }
  }
}

/** How many data bytes fit in one request with these other keys, within the MTU. */
function chunkRoom(client: SmpClient, base: Payload, wanted: number): number {
  const overhead = encodePayload({ ...base, data: new Uint8Array(0) }).length;
  // The byte string's head grows from 1 to 3 bytes past 23 bytes, and to 5 past 65535.
  const room = client.mtu - HEADER_BYTES - overhead - 2;
  if (room < 1) throw new Error(`the device's MTU of ${client.mtu} bytes leaves no room for data`);
  return Math.min(room, wanted);
}

function summaryOf(r: Payload): RuleSummary {
  if (typeof r.name !== 'string') throw new SmpShapeError('rule', '`name` text');
  return {
    name: r.name,
    version: num(r.version),
    sha256: r.sha256 instanceof Uint8Array ? Buffer.from(r.sha256).toString('hex') : typeof r.sha256 === 'string' ? r.sha256 : '',
    state: typeof r.state === 'string' ? r.state : 'unknown',
  };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : 0;
}

/** A response without the keys the command defines. */
export class SmpShapeError extends Error {
  constructor(command: string, wanted: string) {
    super(`the device's answer to ${command} has no ${wanted}: is this the rules device host?`);
    this.name = 'SmpShapeError';
  }
}

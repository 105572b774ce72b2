// A fleet rollout (`rules push`): publishes bundles to each device's install topic at a set rate, matches
// every answer on the result topics to what was sent, times out devices that do not answer, and stops
// sending when the share of failed devices crosses the abort threshold (transports.md).
import { bundleSha256 } from '../../contract/bundle.js';
import { parseInstallResult, type InstallResult } from './messages.js';
import { installTopic, parseTopic, TOPIC_ROOT } from './topics.js';

/** What a rollout needs of a broker connection; BrokerSession provides it. */
export interface RolloutLink {
  subscribe(topic: string, qos?: 0 | 1): Promise<void>;
  publish(topic: string, payload: Buffer, options?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  onMessage(handler: (topic: string, payload: Buffer) => void | Promise<void>): void;
  /** Called after every reconnect, so installs that were in flight can be sent again. */
  on?(event: 'connect', handler: () => void): unknown;
  off?(event: 'connect', handler: () => void): unknown;
}

export interface RolloutTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: RolloutTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RolloutBundle {
  bytes: Uint8Array;
  rule: string;
  version: number;
}

export type DeviceOutcome = 'accepted' | 'rejected' | 'timed out' | 'not sent';

export interface DeviceReport {
  device: string;
  outcome: DeviceOutcome;
  /** One line per bundle that was not accepted, or notes such as "already installed". */
  reasons: string[];
  ms: number | null;
}

export interface RolloutProgress {
  total: number;
  sent: number;
  accepted: number;
  rejected: number;
  timedOut: number;
}

export interface RolloutOptions {
  devices: string[];
  bundles: RolloutBundle[];
  /** Devices started per minute; unlimited when omitted. */
  ratePerMinute?: number;
  /** Stop sending when more than this percentage of the finished devices failed (rejected or timed out). */
  abortAtPercent?: number;
  /** Failures are only judged against the threshold once this many devices have finished (default 10, or all). */
  abortMinFinished?: number;
  /** Per device: how long to wait for all of its answers. */
  timeoutMs: number;
  /**
   * A device that has not answered gets its bundles again this often, and after every reconnect: the
   * broker may have lost them (a restart without persistence), and bundles are idempotent. Default 5 s.
   */
  resendEveryMs?: number;
  onProgress?: (p: RolloutProgress) => void;
  timers?: RolloutTimers;
}

export interface RolloutSummary extends RolloutProgress {
  aborted: boolean;
  devices: DeviceReport[];
}

interface Pending {
  device: string;
  waiting: Map<string, RolloutBundle>;
  reasons: string[];
  rejected: boolean;
  startedAt: number;
  timer: unknown;
  resendTimer: unknown;
  done: boolean;
}

export async function rollout(link: RolloutLink, options: RolloutOptions): Promise<RolloutSummary> {
  const timers = options.timers ?? realTimers;
  const bundles = options.bundles.map((b) => ({ ...b, sha: bundleSha256(b.bytes) }));
  const reports = new Map<string, DeviceReport>(options.devices.map((d) => [d, { device: d, outcome: 'not sent', reasons: [], ms: null }]));
  const pending = new Map<string, Pending>();
  const progress: RolloutProgress = { total: options.devices.length, sent: 0, accepted: 0, rejected: 0, timedOut: 0 };
  const minFinished = Math.min(options.abortMinFinished ?? 10, options.devices.length);
  let aborted = false;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((resolve) => { finish = resolve; });
  let sending = true;

  const report = () => options.onProgress?.({ ...progress });
  const settle = (p: Pending, outcome: Exclude<DeviceOutcome, 'not sent'>) => {
    if (p.done) return;
    p.done = true;
    timers.clearTimeout(p.timer);
    timers.clearTimeout(p.resendTimer);
    pending.delete(p.device);
    reports.set(p.device, { device: p.device, outcome, reasons: p.reasons, ms: timers.now() - p.startedAt });
    if (outcome === 'accepted') progress.accepted++;
    else if (outcome === 'rejected') progress.rejected++;
    else progress.timedOut++;
    const finished = progress.accepted + progress.rejected + progress.timedOut;
    const failed = progress.rejected + progress.timedOut;
    if (options.abortAtPercent !== undefined && !aborted && finished >= minFinished && failed * 100 > options.abortAtPercent * finished) {
      aborted = true;
      sending = false;
    }
    report();
    if (!sending && pending.size === 0) finish();
  };

  link.onMessage((topic, payload) => {
    const where = parseTopic(topic);
    if (!where || where.kind !== 'result') return;
    const p = pending.get(where.device);
    const result: InstallResult | null = parseInstallResult(payload);
    if (!p || !result || result.id !== where.device) return;
    const bundle = p.waiting.get(result.bundle);
    if (!bundle) return;
    p.waiting.delete(result.bundle);
    if (result.outcome === 'rejected') {
      p.rejected = true;
      p.reasons.push(`${bundle.rule} v${bundle.version}: ${result.reason ?? 'rejected'}`);
    } else if (result.reason) {
      p.reasons.push(`${bundle.rule} v${bundle.version}: ${result.reason}`);
    }
    if (p.waiting.size === 0) settle(p, p.rejected ? 'rejected' : 'accepted');
  });
  await link.subscribe(`${TOPIC_ROOT}/+/result`, 1);

  const resendEveryMs = options.resendEveryMs ?? 5_000;
  // Publishing is not awaited: a QoS 1 publish in flight when the connection drops may never be acknowledged.
  const send = (p: Pending) => {
    if (p.done) return;
    for (const b of p.waiting.values()) link.publish(installTopic(p.device), Buffer.from(b.bytes), { qos: 1 }).catch(() => {});
    timers.clearTimeout(p.resendTimer);
    p.resendTimer = timers.setTimeout(() => send(p), resendEveryMs);
  };
  const resendAll = () => { for (const p of pending.values()) send(p); };
  link.on?.('connect', resendAll);

  const gapMs = options.ratePerMinute ? 60_000 / options.ratePerMinute : 0;
  const started = timers.now();
  for (let i = 0; i < options.devices.length && sending; i++) {
    const due = started + i * gapMs;
    const wait = due - timers.now();
    if (wait > 0) await new Promise<void>((resolve) => timers.setTimeout(resolve, wait));
    if (!sending) break;
    const device = options.devices[i];
    const p: Pending = {
      device, waiting: new Map(bundles.map((b) => [b.sha, b])), reasons: [], rejected: false,
      startedAt: timers.now(), timer: null, resendTimer: null, done: false,
    };
    pending.set(device, p);
    p.timer = timers.setTimeout(() => {
      for (const b of p.waiting.values()) p.reasons.push(`${b.rule} v${b.version}: no answer within ${options.timeoutMs / 1000} s`);
      settle(p, 'timed out');
    }, options.timeoutMs);
    progress.sent++;
    report();
    send(p);
  }
  sending = false;
  if (pending.size > 0) await allDone;
  link.off?.('connect', resendAll);
  return { ...progress, aborted, devices: options.devices.map((d) => reports.get(d)!) };
}

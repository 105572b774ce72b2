// The gateway agent (`rules agent`): keeps an MQTT session to the broker, installs signed bundles as
// device-abi.md asks (signature, target, anti-rollback, the module verifier, atomic switch), answers
// each install on `result`, keeps the retained `status` true, persists rules in its state folder and
// runs them on wasm3 on their periods; bundles for a board are relayed to it over its serial port.
import type { KeyObject } from 'node:crypto';
import { bundleSha256, verifyBundle, type BundleErrorCode, type DecodedBundle } from '../../contract/bundle.js';
import type { TargetProfile } from '../../contract/targets.js';
import { loadRule, RuleRejected, type LoadedRule } from '../../engine/engine.js';
import { encodeJson, type DeviceStatus, type InstallResult, type RuleStatus } from '../mqtt/messages.js';
import { BrokerSession, type BrokerOptions, type Clock } from '../mqtt/session.js';
import { installTopic, resultTopic, statusTopic } from '../mqtt/topics.js';
import { RuleScheduler, realClock, type SchedulerClock } from './scheduler.js';
import type { GatewayBoard } from './sim-board.js';
import { GatewayStore } from './store.js';

/** A board behind the gateway's serial port: what the agent needs from the SMP client to relay bundles. */
export interface BoardRelay {
  /** Targets the board accepts (e.g. stm32). */
  readonly targets: string[];
  /** Installs the bundle on the board; resolves with its verdict. */
  install(bundle: Uint8Array): Promise<{ ok: true; rule: string; version: number; sha256: string } | { ok: false; reason: string }>;
  /** The board's installed rules, for the gateway's status. */
  list(): Promise<RuleStatus[]>;
  close(): Promise<void>;
}

export interface AgentOptions {
  id: string;
  broker: BrokerOptions;
  target: TargetProfile;
  trusted: KeyObject[];
  stateDir: string;
  board: GatewayBoard;
  relay?: BoardRelay;
  /** Version text reported in the status. */
  agentVersion: string;
  clock?: SchedulerClock;
  sessionClock?: Clock;
  /** How often the status is republished while counts change. Default 10 s. */
  statusIntervalMs?: number;
  log?: (line: string) => void;
}

interface Installed {
  bundleSha: string;
  decoded: DecodedBundle;
  rule: LoadedRule;
  state: RuleStatus['state'];
  lastError: string | null;
  ticks: number;
}

export class GatewayAgent {
  private readonly store: GatewayStore;
  private readonly session: BrokerSession;
  private readonly installed = new Map<string, Installed>();
  private readonly scheduler: RuleScheduler;
  private readonly clock: SchedulerClock;
  private relayed: RuleStatus[] = [];
  private statusTimer: unknown = null;
  private lastStatus = '';
  /** Installs run one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: AgentOptions) {
    this.clock = options.clock ?? realClock;
    this.store = new GatewayStore(options.stateDir);
    this.scheduler = new RuleScheduler(options.target.minPeriodMs, (name, e) => this.onTrap(name, e), this.clock);
    this.session = new BrokerSession(
      { ...options.broker, clientId: options.broker.clientId || `rules-agent-${options.id}` },
      { topic: statusTopic(options.id), payload: encodeJson({ online: false, id: options.id } satisfies DeviceStatus), retain: true },
      options.sessionClock,
    );
    this.session.onMessage((topic, payload) => this.onMessage(topic, payload));
    this.session.on('connect', () => { void this.publishStatus(true); });
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Loads the persisted rules and starts them, then connects. */
  async start(): Promise<void> {
    for (const [name, bytes] of this.store.bundles()) {
      const result = this.verify(bytes, false);
      if (!result.ok) {
        this.log(`stored rule ${name} no longer verifies (${result.message}); it is not started`);
        continue;
      }
      try {
        this.activate(result.value, bundleSha256(bytes));
        this.store.recordVersion(result.value.manifest.rule, result.value.manifest.version);
      } catch (e) {
        this.log(`stored rule ${name} cannot be loaded: ${(e as Error).message}`);
      }
    }
    await this.session.subscribe(installTopic(this.options.id), 1);
    await this.session.start();
    if (this.options.relay) await this.refreshRelayed();
    await this.publishStatus(true);
    const interval = this.options.statusIntervalMs ?? 10_000;
    const republish = () => {
      this.statusTimer = this.clock.setTimeout(() => {
        void this.publishStatus(false).finally(() => { if (!this.stopped) republish(); });
      }, interval);
    };
    republish();
  }

  /** Stops the rules, says offline on the status topic, and disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statusTimer !== null) this.clock.clearTimeout(this.statusTimer);
    this.scheduler.stopAll();
    await this.queue.catch(() => {});
    try {
      await this.session.publish(statusTopic(this.options.id), encodeJson({ online: false, id: this.options.id }), { retain: true });
    } catch { /* the last will says it instead */ }
    await this.session.close(true);
    for (const i of this.installed.values()) i.rule.close();
    this.installed.clear();
    await this.options.relay?.close();
    this.options.board.close();
  }

  /** Drops the connection without a clean disconnect, as a crash or a pulled cable would (tests). */
  async kill(): Promise<void> {
    this.stopped = true;
    if (this.statusTimer !== null) this.clock.clearTimeout(this.statusTimer);
    this.scheduler.stopAll();
    await this.session.close(false);
    for (const i of this.installed.values()) i.rule.close();
    this.installed.clear();
    await this.options.relay?.close();
  }

  rules(): RuleStatus[] {
    return [...this.installed.values()].map((i) => this.ruleStatus(i)).concat(this.relayed);
  }

  private onMessage(topic: string, payload: Buffer): Promise<void> {
    if (topic !== installTopic(this.options.id)) return Promise.resolve();
    const next = this.queue.then(async () => { await this.install(payload); });
    this.queue = next.catch(() => {});
    return next;
  }

  private verify(bytes: Uint8Array, forInstall: boolean, target = this.options.target.name) {
    return verifyBundle(bytes, {
      trusted: this.options.trusted,
      target,
      maxArtifactBytes: target === this.options.target.name ? this.options.target.maxArtifactBytes : undefined,
      installedVersion: forInstall ? (rule) => {
        const v = this.store.versions()[rule];
        return v === undefined ? undefined : v;
      } : undefined,
    });
  }

  /**
   * One install: verified, stored and switched to when the promise settles. The answer and the new status
   * are sent without waiting for the broker's acknowledgement: mqtt.js reads no packet, PUBACKs included,
   * until the message handler that called this returns.
   */
  async install(bytes: Uint8Array): Promise<InstallResult> {
    const result = await this.installInner(bytes);
    this.log(`install ${result.rule ?? '?'} v${result.version ?? '?'}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`);
    this.session.publish(resultTopic(this.options.id), encodeJson(result)).catch((e) => this.log(`cannot publish the result: ${(e as Error).message}`));
    void this.publishStatus(true);
    return result;
  }

  private async installInner(bytes: Uint8Array): Promise<InstallResult> {
    const bundle = bundleSha256(bytes);
    const answer = (outcome: InstallResult['outcome'], reason: string | null, d?: { rule: string; version: number; sha256: string }): InstallResult =>
      ({ id: this.options.id, bundle, outcome, reason, rule: d?.rule ?? null, version: d?.version ?? null, sha256: d?.sha256 ?? null });

    // Idempotent: the bundle that is already installed is accepted again without reinstalling.
    for (const i of this.installed.values()) {
      if (i.bundleSha === bundle) return answer('accepted', 'already installed', i.decoded.manifest);
    }
    const relay = this.options.relay;
    const first = this.verify(bytes, true);
    if (!first.ok && first.code === 'wrong_target' && relay) {
      const forBoard = relay.targets.map((t) => this.verify(bytes, false, t)).find((r) => r.ok);
      if (forBoard?.ok) return this.relayInstall(bytes, forBoard.value, answer);
    }
    if (!first.ok) return answer('rejected', describeRefusal(first.code, first.message));
    const decoded = first.value;
    try {
      // Load (and so validate and verify) the new rule before anything is replaced or written.
      const loaded = this.load(decoded);
      this.store.saveBundle(decoded.manifest.rule, bytes);
      this.store.recordVersion(decoded.manifest.rule, decoded.manifest.version);
      this.switchTo(decoded, bundle, loaded);
    } catch (e) {
      if (e instanceof RuleRejected) return answer('rejected', `unverifiable: ${e.problems.join('; ')}`, decoded.manifest);
      return answer('rejected', `cannot install: ${(e as Error).message}`, decoded.manifest);
    }
    return answer('accepted', null, decoded.manifest);
  }

  private async relayInstall(bytes: Uint8Array, decoded: DecodedBundle,
    answer: (o: InstallResult['outcome'], r: string | null, d?: { rule: string; version: number; sha256: string }) => InstallResult): Promise<InstallResult> {
    try {
      const verdict = await this.options.relay!.install(bytes);
      await this.refreshRelayed();
      if (verdict.ok) return answer('accepted', `relayed to the ${decoded.manifest.target} board on the serial port`, decoded.manifest);
      return answer('rejected', `the ${decoded.manifest.target} board refused it: ${verdict.reason}`, decoded.manifest);
    } catch (e) {
      return answer('rejected', `cannot reach the ${decoded.manifest.target} board: ${(e as Error).message}`, decoded.manifest);
    }
  }

  private async refreshRelayed(): Promise<void> {
    try {
      this.relayed = (await this.options.relay!.list()).map((r) => ({ ...r, where: 'serial' as const }));
    } catch (e) {
      this.log(`cannot list the board's rules: ${(e as Error).message}`);
    }
  }

  private load(decoded: DecodedBundle): LoadedRule {
    return loadRule(decoded.wasm, { manifest: decoded.manifest, target: this.options.target, io: this.options.board.io(decoded.manifest.rule) });
  }

  private activate(decoded: DecodedBundle, bundleSha: string): void {
    this.switchTo(decoded, bundleSha, this.load(decoded));
  }

  /** The atomic switch: the old rule stops and the new one starts in the same turn of the event loop. */
  private switchTo(decoded: DecodedBundle, bundleSha: string, loaded: LoadedRule): void {
    const name = decoded.manifest.rule;
    const old = this.installed.get(name);
    const entry: Installed = { bundleSha, decoded, rule: loaded, state: 'running', lastError: null, ticks: 0 };
    this.installed.set(name, entry);
    this.scheduler.start({
      name,
      periodMs: decoded.manifest.periodMs,
      tick: (now) => {
        entry.ticks++;
        return loaded.run(now);
      },
    });
    old?.rule.close();
  }

  private onTrap(name: string, error: unknown): void {
    const entry = this.installed.get(name);
    if (!entry) return;
    entry.state = 'failed';
    entry.lastError = error instanceof Error ? error.message : String(error);
    this.log(`rule ${name} failed and is disabled: ${entry.lastError}`);
    void this.publishStatus(true);
  }

  private ruleStatus(i: Installed): RuleStatus {
    const counters: { saturations: Record<number, number>; assumptionFailures: number } =
      i.rule.state === 'closed' ? { saturations: {}, assumptionFailures: 0 } : i.rule.counters();
    const m = i.decoded.manifest;
    return {
      name: m.rule, version: m.version, sha256: m.sha256, state: i.state, lastError: i.lastError,
      saturations: Object.fromEntries(Object.entries(counters.saturations).map(([k, v]) => [String(k), v])),
      assumptionFailures: counters.assumptionFailures, ticks: i.ticks, where: 'gateway',
    };
  }

  /** Publishes the retained status when it changed (or always, with `force`). */
  private async publishStatus(force: boolean): Promise<void> {
    if (this.stopped && !force) return;
    const status: DeviceStatus = {
      online: true, id: this.options.id, target: this.options.target.name, agent: this.options.agentVersion, rules: this.rules(),
    };
    const text = JSON.stringify(status);
    if (!force && text === this.lastStatus) return;
    this.lastStatus = text;
    try {
      await this.session.publish(statusTopic(this.options.id), Buffer.from(text), { retain: true });
    } catch (e) {
      this.log(`cannot publish the status: ${(e as Error).message}`);
    }
  }
}

function describeRefusal(code: BundleErrorCode, message: string): string {
  return `${code.replace(/_/g, ' ')}: ${message}`;
}

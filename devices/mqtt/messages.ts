// The JSON payloads of the result and status topics (docs/mqtt.md), with readers that check what
// arrives from the network instead of trusting it.

export type RuleRunState = 'running' | 'disabled' | 'failed';

/** One installed rule as a gateway reports it on its retained status topic. */
export interface RuleStatus {
  name: string;
  version: number;
  /** SHA-256 of the artifact (the manifest's `sha256`). */
  sha256: string;
  state: RuleRunState;
  lastError: string | null;
  /** Readings saturated to the manifest's `ranges`, per channel. */
  saturations: Record<string, number>;
  assumptionFailures: number;
  ticks: number;
  /** Where the rule runs: on this gateway, or relayed to the board on its serial port. */
  where: 'gateway' | 'serial';
}

export interface DeviceStatus {
  online: boolean;
  id: string;
  target?: string;
  agent?: string;
  rules?: RuleStatus[];
}

/** The answer to one install, on the result topic (QoS 1, not retained). */
export interface InstallResult {
  id: string;
  /** SHA-256 of the bundle's bytes: how the pusher matches answers to what it sent. */
  bundle: string;
  outcome: 'accepted' | 'rejected';
  /** Why it was rejected; for an accepted bundle, null or a note such as "already installed". */
  reason: string | null;
  rule: string | null;
  version: number | null;
  sha256: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

function parseJson(payload: Uint8Array | string): unknown {
  try {
    return JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
}

export function parseInstallResult(payload: Uint8Array | string): InstallResult | null {
  const v = parseJson(payload);
  if (!isObject(v) || typeof v.id !== 'string' || !isHash(v.bundle)) return null;
  if (v.outcome !== 'accepted' && v.outcome !== 'rejected') return null;
  return {
    id: v.id,
    bundle: v.bundle,
    outcome: v.outcome,
    reason: typeof v.reason === 'string' ? v.reason : null,
    rule: typeof v.rule === 'string' ? v.rule : null,
    version: Number.isInteger(v.version) ? (v.version as number) : null,
    sha256: isHash(v.sha256) ? v.sha256 : null,
  };
}

function parseRuleStatus(v: unknown): RuleStatus | null {
  if (!isObject(v) || typeof v.name !== 'string' || !Number.isInteger(v.version) || !isHash(v.sha256)) return null;
  if (v.state !== 'running' && v.state !== 'disabled' && v.state !== 'failed') return null;
  const saturations: Record<string, number> = {};
  if (isObject(v.saturations)) {
    for (const [k, n] of Object.entries(v.saturations)) if (Number.isInteger(n)) saturations[k] = n as number;
  }
  return {
    name: v.name,
    version: v.version as number,
    sha256: v.sha256,
    state: v.state,
    lastError: typeof v.lastError === 'string' ? v.lastError : null,
    saturations,
    assumptionFailures: Number.isInteger(v.assumptionFailures) ? (v.assumptionFailures as number) : 0,
    ticks: Number.isInteger(v.ticks) ? (v.ticks as number) : 0,
    where: v.where === 'serial' ? 'serial' : 'gateway',
  };
}

export function parseDeviceStatus(payload: Uint8Array | string): DeviceStatus | null {
  const v = parseJson(payload);
  if (!isObject(v) || typeof v.online !== 'boolean' || typeof v.id !== 'string') return null;
  const status: DeviceStatus = { online: v.online, id: v.id };
  if (typeof v.target === 'string') status.target = v.target;
  if (typeof v.agent === 'string') status.agent = v.agent;
  if (Array.isArray(v.rules)) status.rules = v.rules.map(parseRuleStatus).filter((r): r is RuleStatus => r !== null);
  return status;
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

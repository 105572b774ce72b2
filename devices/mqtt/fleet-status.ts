// Reads the fleet's retained status topics (`rules status`): every gateway's last word, online or
// offline, and the rules it runs. Retained messages arrive right after subscribing; the read ends when
// every asked-for device has answered, or when the broker has been quiet for a moment.
import { parseDeviceStatus, type DeviceStatus } from './messages.js';
import type { RolloutLink } from './rollout.js';
import { parseTopic, statusTopic, TOPIC_ROOT } from './topics.js';

export interface FleetStatusOptions {
  /** Only these devices; all when omitted. */
  devices?: string[];
  /** How long to wait after the last status arrived before deciding there are no more. */
  quietMs?: number;
  /** The longest the read may take. */
  timeoutMs?: number;
}

export async function readFleetStatus(link: RolloutLink, options: FleetStatusOptions = {}): Promise<Map<string, DeviceStatus | null>> {
  const wanted = options.devices ? new Set(options.devices) : null;
  const seen = new Map<string, DeviceStatus | null>();
  const quietMs = options.quietMs ?? 400;
  let quietTimer: NodeJS.Timeout | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => { finish = resolve; });
  const quiet = () => {
    clearTimeout(quietTimer);
    quietTimer = setTimeout(finish, quietMs);
  };
  link.onMessage((topic, payload) => {
    const where = parseTopic(topic);
    if (!where || where.kind !== 'status' || (wanted && !wanted.has(where.device))) return;
    const status = parseDeviceStatus(payload);
    seen.set(where.device, status && status.id === where.device ? status : null);
    if (wanted && [...wanted].every((d) => seen.has(d))) finish();
    else quiet();
  });
  const overall = setTimeout(finish, options.timeoutMs ?? 5_000);
  if (wanted) for (const d of wanted) await link.subscribe(statusTopic(d), 1);
  else await link.subscribe(`${TOPIC_ROOT}/+/status`, 1);
  if (!wanted || wanted.size > 0) quiet();
  else finish();
  await done;
  clearTimeout(quietTimer);
  clearTimeout(overall);
  const out = new Map<string, DeviceStatus | null>();
  for (const d of wanted ? [...wanted] : [...seen.keys()].sort()) out.set(d, seen.get(d) ?? null);
  return out;
}

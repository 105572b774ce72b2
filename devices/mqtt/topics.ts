// The MQTT topic layout of transports.md, in one place: every gateway `{d}` has an install, a result
// and a retained status topic under `rules/v1/{d}/`.

export const TOPIC_ROOT = 'rules/v1';

/** Device ids become one topic level: no wildcards, separators or control characters, at most 128 bytes. */
export function isValidDeviceId(id: string): boolean {
  return /^[A-Za-z0-9._:-]{1,128}$/.test(id);
}

export function installTopic(device: string): string {
  return `${TOPIC_ROOT}/${device}/install`;
}

export function resultTopic(device: string): string {
  return `${TOPIC_ROOT}/${device}/result`;
}

export function statusTopic(device: string): string {
  return `${TOPIC_ROOT}/${device}/status`;
}

/** The device id and kind of a topic under rules/v1, or null for any other topic. */
export function parseTopic(topic: string): { device: string; kind: 'install' | 'result' | 'status' } | null {
  const parts = topic.split('/');
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const kind = parts[3];
  if (kind !== 'install' && kind !== 'result' && kind !== 'status') return null;
  return { device: parts[2], kind };
}

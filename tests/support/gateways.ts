// Gateways, keys and bundles for the MQTT tests: signed bundles of real rules, agents on a simulated
// board with their own state folders, and a raw client to watch topics.
import type { KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { compile } from '../../compiler/index.js';
import { encodeBundle, generateKeyPair, type KeyPair } from '../../contract/bundle.js';
import type { Manifest } from '../../contract/manifest.js';
import { loadTarget } from '../../contract/targets.js';
import { GatewayAgent, type BoardRelay } from '../../devices/gateway/agent.js';
import { SimulatedGatewayBoard } from '../../devices/gateway/sim-board.js';
import type { BrokerOptions } from '../../devices/mqtt/session.js';
import { rulesDir } from './paths.js';

export const operatorKeys: KeyPair = generateKeyPair();

/** The artifact and manifest of an example rule (or of a source given inline). */
export async function built(ruleOrSource: string, target = 'rpi', version = 1): Promise<{ wasm: Uint8Array; manifest: Manifest }> {
  const source = ruleOrSource.includes('\n') ? ruleOrSource : readFileSync(join(rulesDir, `${ruleOrSource}.rule`), 'utf8');
  const result = await compile(source, { target, file: `${ruleOrSource.includes('\n') ? 'inline' : ruleOrSource}.rule`, ruleVersion: version });
  if (!result.artifact) throw new Error(`cannot build: ${result.diagnostics.map((d) => d.message).join('; ')}`);
  return { wasm: result.artifact.wasm, manifest: result.artifact.manifest };
}

export async function signedBundle(rule: string, options: { target?: string; version?: number; keys?: KeyPair } = {}): Promise<Uint8Array> {
  const content = await built(rule, options.target, options.version);
  return encodeBundle(content, (options.keys ?? operatorKeys).privateKey);
}

export interface TestGateway {
  agent: GatewayAgent;
  board: SimulatedGatewayBoard;
  stateDir: string;
  lines: string[];
}

export async function startGateway(brokerUrl: string, id: string, options: {
  stateDir?: string; target?: string; broker?: Partial<BrokerOptions>; relay?: BoardRelay; sensors?: Record<number, number>; trusted?: KeyObject[];
} = {}): Promise<TestGateway> {
  const board = new SimulatedGatewayBoard();
  for (const [ch, v] of Object.entries(options.sensors ?? {})) board.sensors.set(Number(ch), v);
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), `rules-agent-${id}-`));
  const lines: string[] = [];
  const agent = new GatewayAgent({
    id,
    broker: { url: brokerUrl, clientId: `rules-agent-${id}`, ...options.broker },
    target: loadTarget(options.target ?? 'rpi'),
    trusted: options.trusted ?? [operatorKeys.publicKey],
    stateDir,
    board,
    relay: options.relay,
    agentVersion: 'test',
    statusIntervalMs: 200,
    log: (line) => lines.push(line),
  });
  await agent.start();
  return { agent, board, stateDir, lines };
}

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A plain client that records every message on the topics it subscribes to. */
export async function watcher(url: string, topics: string[], options: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(url, { clientId: `watch-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0, ...options });
  const messages: { topic: string; text: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, text: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(topics, { qos: 1 });
  return { client, messages };
}

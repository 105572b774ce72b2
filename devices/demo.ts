// `rules demo`: a whole fleet in one process, with nothing installed. An embedded MQTT broker (aedes) on a
// loopback port, a few simulated gateways, a throwaway signing key; the example rules are pushed, a
// new version and a tampered bundle follow, and the fleet's status shows it converge.
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { compile } from '../compiler/index.js';
import { encodeBundle, generateKeyPair, keyId, rawPublicKey } from '../contract/bundle.js';
import { loadTarget, targetsDirectory } from '../contract/targets.js';
import { GatewayAgent, type BoardRelay } from './gateway/agent.js';
import { SerialBoardRelay } from './gateway/serial-relay.js';
import { startBoard } from './virtual-board.js';
import type { ChildProcess } from 'node:child_process';
import { SimulatedGatewayBoard } from './gateway/sim-board.js';
import { readFleetStatus } from './mqtt/fleet-status.js';
import { rollout, type RolloutProgress, type RolloutSummary } from './mqtt/rollout.js';
import { BrokerSession } from './mqtt/session.js';

export interface DemoOptions {
  gateways: number;
  /** How long the fleet runs between steps, in ms. */
  settleMs: number;
  say: (line: string) => void;
  onProgress?: (p: RolloutProgress) => void;
}

export interface DemoOutcome {
  pushed: string[];
  first: RolloutSummary;
  update: RolloutSummary;
  tampered: RolloutSummary;
  converged: boolean;
  gpioChanges: number;
  /** The rule relayed to the virtual board behind gw-1, when the board is built. */
  boardRule: string | null;
}

async function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const say = options.say;
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  const port = await listen(server);
  const url = `mqtt://127.0.0.1:${port}`;
  const stateRoot = mkdtempSync(join(tmpdir(), 'rules-demo-'));
  const keys = generateKeyPair();
  const target = loadTarget('rpi');
  const agents: GatewayAgent[] = [];
  const boards: SimulatedGatewayBoard[] = [];
  let link: BrokerSession | null = null;
  let gpioChanges = 0;
  let board: ChildProcess | null = null;
  let boardGpio = 0;
  let boardRule: string | null = null;
  try {
    say(`broker: aedes, embedded, on ${url}`);
    const ids = Array.from({ length: options.gateways }, (_, i) => `gw-${i + 1}`);
    // A virtual board (the C device host, built by npm install) on gw-1's serial port.
    let relay: BoardRelay | undefined;
    try {
      const link = join(stateRoot, 'board-tty');
      board = startBoard({ link, target: loadTarget('stm32'), trusted: [{ id: keyId(keys.publicKey), key: rawPublicKey(keys.publicKey) }],
        stateDir: stateRoot, sensors: { 0: 29_000 }, json: true });
      board.stdout!.on('data', (d: Buffer) => { boardGpio += (d.toString().match(/"event":"gpio"/g) ?? []).length; });
      for (let i = 0; i < 100 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 20));
      relay = await SerialBoardRelay.open(link);
      say(`a virtual ${relay.targets.join(', ')} board (the C device host) on gw-1's serial port`);
    } catch (e) {
      say(`no virtual board behind gw-1: ${(e as Error).message}`);
    }
    for (const id of ids) {
      const board = new SimulatedGatewayBoard();
      // Warm, dark and dry: most example rules have something to do.
      for (let ch = 0; ch < 16; ch++) board.sensors.set(ch, [29_000, 40, 950, 5_000][ch % 4]);
      board.on('change', () => { gpioChanges++; });
      const agent = new GatewayAgent({
        id, broker: { url, clientId: `rules-agent-${id}` }, target, trusted: [keys.publicKey],
        stateDir: join(stateRoot, id), board, agentVersion: 'demo', statusIntervalMs: 500, relay: id === 'gw-1' ? relay : undefined,
      });
      await agent.start();
      agents.push(agent);
      boards.push(board);
    }
    say(`gateways: ${ids.join(', ')} (${target.name}, simulated boards), trusting a throwaway key`);

    const examples = join(targetsDirectory(), '..', 'rules');
    const built: { rule: string; bytes: Uint8Array; source: string }[] = [];
    for (const file of readdirSync(examples).filter((f) => f.endsWith('.rule')).sort()) {
      const source = readFileSync(join(examples, file), 'utf8');
      const result = await compile(source, { target: target.name, file, ruleVersion: 1 });
      if (!result.artifact) continue;
      built.push({ rule: result.artifact.manifest.rule, source, bytes: encodeBundle(result.artifact, keys.privateKey) });
    }
    say(`pushing ${built.length} example rules built for ${target.name} to ${ids.length} gateways`);
    link = new BrokerSession({ url, clientId: 'rules-demo-push', persistent: false });
    await link.start();
    const first = await rollout(link, {
      devices: ids, bundles: built.map((b) => ({ bytes: b.bytes, rule: b.rule, version: 1 })), timeoutMs: 15_000, onProgress: options.onProgress,
    });
    say(`first rollout: ${first.accepted}/${first.total} gateways accepted every rule`);
    await new Promise((r) => setTimeout(r, options.settleMs));

    const updated = built[0];
    const v2 = await compile(updated.source, { target: target.name, file: `${updated.rule}.rule`, ruleVersion: 2 });
    const update = await rollout(link, {
      devices: ids, bundles: [{ bytes: encodeBundle(v2.artifact!, keys.privateKey), rule: updated.rule, version: 2 }], timeoutMs: 15_000, onProgress: options.onProgress,
    });
    say(`update: ${updated.rule} v2 accepted by ${update.accepted}/${update.total}`);

    if (relay) {
      const fan = await compile(readFileSync(join(examples, 'fan_control.rule'), 'utf8'), { target: 'stm32', file: 'fan_control.rule', ruleVersion: 1 });
      const toBoard = await rollout(link, {
        devices: ['gw-1'], bundles: [{ bytes: encodeBundle(fan.artifact!, keys.privateKey), rule: 'fan_control', version: 1 }], timeoutMs: 15_000,
      });
      say(`fan_control for stm32 through gw-1 to its board: ${toBoard.devices[0].outcome} (${toBoard.devices[0].reasons.join('; ')})`);
      if (toBoard.accepted === 1) boardRule = 'fan_control';
    }

    const tamperedBytes = Uint8Array.from(built[1].bytes);
    tamperedBytes[tamperedBytes.length - 3] ^= 0x40;
    const tampered = await rollout(link, {
      devices: ids.slice(0, 1), bundles: [{ bytes: tamperedBytes, rule: built[1].rule, version: 1 }], timeoutMs: 15_000,
    });
    say(`a tampered ${built[1].rule} bundle: ${tampered.devices[0].outcome} (${tampered.devices[0].reasons.join('; ')})`);
    await new Promise((r) => setTimeout(r, options.settleMs));

    const fleet = await readFleetStatus(link, { devices: ids });
    let converged = true;
    for (const [id, status] of fleet) {
      const rules = status?.rules ?? [];
      const running = rules.filter((r) => r.state === 'running').length;
      const ticks = rules.reduce((n, r) => n + r.ticks, 0);
      const onBoard = rules.filter((r) => r.where === 'serial').map((r) => r.name);
      say(`${id}: ${status?.online ? 'online' : 'offline'}, ${running}/${rules.length} rules running, ${ticks} ticks so far` +
        (onBoard.length ? ` (on its board: ${onBoard.join(', ')})` : ''));
      const own = rules.filter((r) => r.where === 'gateway');
      if (!status?.online || own.length !== built.length || own.some((r) => r.state !== 'running') ||
        !own.some((r) => r.name === updated.rule && r.version === 2)) converged = false;
      if (id === 'gw-1' && boardRule && !rules.some((r) => r.where === 'serial' && r.name === boardRule && r.state === 'running')) converged = false;
    }
    say(converged ? `the fleet converged: ${ids.length} gateways run the same ${built.length} rules; ${gpioChanges} GPIO changes on their boards` +
      (boardRule ? `, ${boardGpio} on the virtual board` : '')
      : 'the fleet did not converge');
    return { pushed: built.map((b) => b.rule), first, update, tampered, converged, gpioChanges, boardRule };
  } finally {
    await link?.close();
    for (const a of agents) await a.stop();
    if (board && board.exitCode === null) {
      const exited = new Promise((r) => board!.once('exit', r));
      board.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

// MQTT rollout and gateway load (`npm run bench -- --sections mqtt`): one rule rolled out to many simulated
// gateways through a local Mosquitto, every result collected, against AWS IoT Jobs' maximum rollout rate;
// and one gateway running 100 rules every 100 ms: its CPU and memory.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compiler/index.js';
import { encodeBundle, generateKeyPair, publicKeyText } from '../contract/bundle.js';
import { loadTarget } from '../contract/targets.js';
import { GatewayAgent } from '../devices/gateway/agent.js';
import { SimulatedGatewayBoard } from '../devices/gateway/sim-board.js';
import { Mosquitto } from '../devices/mqtt/mosquitto.js';
import { rollout } from '../devices/mqtt/rollout.js';
import { BrokerSession } from '../devices/mqtt/session.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'rules.js');

/** AWS IoT Jobs' ceiling for a rollout's rate (maximumPerMinute), the peer this section compares with. */
const AWS_IOT_JOBS_MAX_PER_MINUTE = 1000;

const FAN = (name: string, period: string) => `rule ${name}
uses sensor(0), gpio_out(17)
every ${period}
on tick {
  let t = sensor(0)
  if t > 28_000 { gpio(17) = 1 }
  else if t < 26_000 { gpio(17) = 0 }
}
`;

/** Simulated gateways keep their state on tmpfs when there is one: on a fleet each has its own disk. */
function stateRoot(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'rules-bench-'));
}

async function startAgents(url: string, count: number, root: string, keys: ReturnType<typeof generateKeyPair>): Promise<GatewayAgent[]> {
  const target = loadTarget('rpi');
  const agents: GatewayAgent[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => new GatewayAgent({
      id: `gw-${i + j}`, broker: { url, clientId: `rules-agent-gw-${i + j}` }, target, trusted: [keys.publicKey],
      stateDir: join(root, `gw-${i + j}`), board: new SimulatedGatewayBoard(), agentVersion: 'bench', statusIntervalMs: 60_000,
    }));
    await Promise.all(batch.map((a) => a.start()));
    agents.push(...batch);
  }
  return agents;
}

export async function mqttBench(quick: boolean): Promise<string> {
  const count = quick ? 100 : 1000;
  const keys = generateKeyPair();
  const broker = await Mosquitto.start();
  const root = stateRoot();
  const lines: string[] = [];
  try {
    const agents = await startAgents(broker.url, count, root, keys);
    const built = await compile(FAN('fan_control', '500ms'), { target: 'rpi', file: 'fan_control.rule' });
    const bytes = encodeBundle(built.artifact!, keys.privateKey);
    const link = new BrokerSession({ url: broker.url, clientId: 'rules-bench-push', persistent: false });
    await link.start();
    const devices = agents.map((_, i) => `gw-${i}`);
    const started = performance.now();
    const summary = await rollout(link, { devices, bundles: [{ bytes, rule: 'fan_control', version: 1 }], timeoutMs: 60_000 });
    const wallMs = performance.now() - started;
    await link.close();
    const perMinute = (summary.accepted / wallMs) * 60_000;
    const times = summary.devices.map((d) => d.ms ?? 0).sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    const slowest = times[times.length - 1];
    lines.push(`### Rollout: one rule to ${count} simulated gateways through a local Mosquitto\n`,
      '| what | figure |', '| --- | ---: |',
      `| gateways that accepted | ${summary.accepted} of ${count} |`,
      `| wall time, first publish to last result | ${(wallMs / 1000).toFixed(2)} s |`,
      `| a gateway's answer: median, 90th percentile, slowest | ${(at(0.5) / 1000).toFixed(2)} s, ${(at(0.9) / 1000).toFixed(2)} s, ${(slowest / 1000).toFixed(2)} s |`,
      `| gateways per minute | ${Math.round(perMinute).toLocaleString('en-US')} |`,
      `| vs AWS IoT Jobs' maximum rollout rate (${AWS_IOT_JOBS_MAX_PER_MINUTE}/min) | ${(perMinute / AWS_IOT_JOBS_MAX_PER_MINUTE).toFixed(1)}x |`,
      '',
      `All ${count} agents, the pusher and Mosquitto share this machine's 2 cores; each agent verifies the signature, ` +
      'verifies and loads the module on wasm3, stores the bundle (fsync, rename) and answers. The agents\' state folders are on tmpfs: ' +
      'on a real fleet every gateway has its own disk, here 1 000 would queue on one.\n');
    for (const a of agents) await a.stop();
  } finally {
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
  lines.push(await oneAgentLoad(quick, keys));
  return lines.join('\n');
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

/** One `rules agent` process running 100 rules every 100 ms on wasm3: its CPU share and memory. */
async function oneAgentLoad(quick: boolean, keys: ReturnType<typeof generateKeyPair>): Promise<string> {
  const broker = await Mosquitto.start();
  const root = stateRoot();
  const pub = join(root, 'ops.pub');
  writeFileSync(pub, publicKeyText(keys.publicKey));
  const agent = spawn(process.execPath, [CLI, 'agent', '--broker', broker.url, '--id', 'gw-load', '--trust', pub, '--state', join(root, 'state'), '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      agent.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('"started"')) resolve(); });
      agent.once('exit', (code) => reject(new Error(`rules agent exited with ${code}`)));
    });
    const idle = processUsage(agent.pid!);
    const bundles = [];
    for (let i = 0; i < 100; i++) {
      const name = `fan_${String(i).padStart(3, '0')}`;
      const built = await compile(FAN(name, '100ms'), { target: 'rpi', file: `${name}.rule` });
      bundles.push({ bytes: encodeBundle(built.artifact!, keys.privateKey), rule: name, version: 1 });
    }
    const link = new BrokerSession({ url: broker.url, clientId: 'rules-bench-load', persistent: false });
    await link.start();
    const summary = await rollout(link, { devices: ['gw-load'], bundles, timeoutMs: 60_000 });
    await link.close();
    if (summary.accepted !== 1) throw new Error(`the agent did not accept all 100 rules: ${summary.devices[0].reasons.join('; ')}`);
    await new Promise((r) => setTimeout(r, 1_000));
    const windowMs = quick ? 3_000 : 10_000;
    const before = processUsage(agent.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const after = processUsage(agent.pid!);
    const wall = (performance.now() - t0) / 1000;
    const cpuPct = ((after.cpuSeconds - before.cpuSeconds) / wall) * 100;
    const ticks = 100 * (wall * 10);
    return ['### One gateway agent, 100 rules every 100 ms\n',
      '| what | figure |', '| --- | ---: |',
      `| CPU, share of one core | ${cpuPct.toFixed(1)} % |`,
      `| CPU per tick (at 1 000 ticks/s) | ${(((after.cpuSeconds - before.cpuSeconds) * 1e6) / ticks).toFixed(1)} µs |`,
      `| resident memory, idle with no rules | ${(idle.rssBytes / 2 ** 20).toFixed(0)} MiB |`,
      `| resident memory with 100 rules | ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB |`,
      '', `\`rules agent\` as its own process, measured from /proc over ${windowMs / 1000} s.\n`].join('\n');
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

// The MQTT commands as a user runs them: `rules agent` as its own process, `rules push` and `rules status`
// against a real Mosquitto, their exit codes and one-line errors, and `rules demo`.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Mosquitto } from '../devices/mqtt/mosquitto.js';
import { rules } from './support/cli.js';
import { cliPath, repoRoot, rulesDir } from './support/paths.js';

const fan = join(rulesDir, 'fan_control.rule');

function keys(): { key: string; pub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rules-keys-'));
  const r = rules(['keygen', '--out', join(dir, 'ops')]);
  if (r.code !== 0) throw new Error(r.stderr);
  return { key: join(dir, 'ops.key'), pub: join(dir, 'ops.pub') };
}

/** `rules agent` in the background; resolves once it says it started. */
async function agentProcess(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; lines: string[]; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [cliPath, 'agent', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  let err = '';
  child.stderr!.on('data', (d) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      lines.push(...d.toString().split('\n').filter(Boolean));
      if (lines.some((l) => l.includes('"started"'))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`rules agent exited with ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, stop: async () => { child.kill('SIGTERM'); return exited; } };
}

async function eventuallyCli(args: string[], check: (stdout: string) => boolean, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = rules(args);
    if (check(r.stdout)) return r.stdout;
    if (Date.now() > deadline) throw new Error(`rules ${args.join(' ')} never showed what was expected; last output:\n${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

test.serial('rules agent, push and status: a rule pushed from source runs on the agent, and a second push is safe', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const { key, pub } = keys();
  const agent = await agentProcess(['--broker', broker.url, '--id', 'gw-cli', '--trust', pub, '--state', mkdtempSync(join(tmpdir(), 'rules-agent-cli-')), '--sensor', '0=29000']);
  t.teardown(() => { agent.child.kill('SIGKILL'); });

  const push = rules(['push', fan, '--broker', broker.url, '--device', 'gw-cli', '--key', key]);
  t.is(push.code, 0, push.stderr);
  t.regex(push.stdout, /^gw-cli\s+accepted\s+/m);
  t.regex(push.stdout, /fan_control v1 to 1 gateway\(s\): 1 accepted, 0 rejected, 0 timed out/);

  const status = await eventuallyCli(['status', '--broker', broker.url, '--device', 'gw-cli'], (out) => /fan_control v1 \w{12} running/.test(out));
  t.regex(status, /^gw-cli: online, rpi, 1 rule\(s\)$/m);
  // spawnSync kept this process from reading the agent's output meanwhile: give it a moment.
  const deadline = Date.now() + 5_000;
  while (!agent.lines.some((l) => /"event":"gpio","pin":17,"level":1/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.true(agent.lines.some((l) => /"event":"gpio","pin":17,"level":1/.test(l)), `the agent printed the fan turning on:\n${agent.lines.join('\n')}`);

  const again = rules(['push', fan, '--broker', broker.url, '--device', 'gw-cli', '--key', key, '--json']);
  t.is(again.code, 0);
  t.deepEqual(JSON.parse(again.stdout).devices[0].reasons, ['fan_control v1: already installed']);

  t.is(await agent.stop(), 0, 'the agent stops cleanly on SIGTERM');
  const offline = await eventuallyCli(['status', '--broker', broker.url, '--json'], (out) => out.includes('"online": false'));
  t.deepEqual(JSON.parse(offline), [{ online: false, id: 'gw-cli' }]);
});

test.serial('rules push: a gateway that never answers is reported timed out and the exit code is 1', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const { key } = keys();
  const fleet = join(mkdtempSync(join(tmpdir(), 'rules-fleet-')), 'fleet.txt');
  writeFileSync(fleet, '# two gateways nobody runs\nghost-1\nghost-2\n');
  const r = rules(['push', fan, '--broker', broker.url, '--fleet', fleet, '--key', key, '--timeout', '0.5']);
  t.is(r.code, 1);
  t.regex(r.stdout, /^ghost-1\s+timed out\s+.*no answer within 0.5 s/m);
  t.regex(r.stdout, /0 accepted, 0 rejected, 2 timed out/);
});

test('rules push and status: usage and environment errors are one line and exit 2', (t) => {
  const { key } = keys();
  const cases: [string[], RegExp][] = [
    [['push', fan, '--broker', 'mqtt://127.0.0.1:1', '--key', key], /name the gateways with --device ID\.\.\. or --fleet FILE/],
    [['push', fan, '--broker', 'mqtt://127.0.0.1:1', '--device', 'a', '--fleet', 'f'], /one of the two/],
    [['push', fan, '--broker', 'mqtt://127.0.0.1:1', '--device', 'gw-1'], /needs a private key|--key/],
    [['push', fan, '--broker', 'mqtt://127.0.0.1:1', '--device', 'a/b', '--key', key], /"a\/b" is not a device id/],
    [['push', fan, '--broker', 'http://x', '--device', 'gw', '--key', key], /scheme must be mqtt, mqtts, ws or wss/],
    [['push', fan, '--broker', 'mqtt://127.0.0.1:1', '--device', 'gw', '--key', key], /cannot connect to mqtt:\/\/127.0.0.1:1/],
    [['push', fan, '--broker', 'mqtt://127.0.0.1:1', '--device', 'gw', '--key', key, '--rate', '0'], /--rate must be a positive number/],
    [['status', '--broker', 'not a url'], /not a broker URL/],
    [['agent', '--broker', 'mqtt://127.0.0.1:1', '--id', 'gw', '--trust', '/nonexistent.pub'], /nonexistent\.pub/],
    [['agent', '--broker', 'mqtt://127.0.0.1:1', '--id', '+', '--trust', key], /--id must be one device id/],
  ];
  for (const [args, message] of cases) {
    const r = rules(args);
    t.is(r.code, 2, `rules ${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.notRegex(r.stderr, /^\s+at .+:\d+:\d+/m, 'no stack trace');
    t.is(r.stdout, '');
  }
});

test('rules demo: an embedded broker, simulated gateways and the examples converge', (t) => {
  const r = rules(['demo', '--gateways', '2', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.true(out.converged);
  t.true(out.pushed.includes('fan_control'));
  t.is(out.boardRule, 'fan_control', 'a rule reached the virtual board behind gw-1');
  t.true(out.steps.some((s: string) => /^a tampered \w+ bundle: rejected \(\w+ v1: bad signature/.test(s)), out.steps.join('\n'));
});

/**
 * Stand-ins for libgpiod's tools that keep pin levels in files: the agent's side of the boundary is real. Each
 * speaks one generation's syntax strictly, as the real ones do: 1.x takes the chip first and looks a bare name up
 * under /dev; 2.x takes -c CHIP, prints `"4"=active` unless given --numeric, and its gpioset holds the line until
 * killed unless given -t0.
 */
function fakeGpiod(major: 1 | 2 = 1): { dir: string; setInput: (pin: number, level: number) => void; sets: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'rules-gpiod-'));
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n[ "$1" = --version ] && { echo "${name} (libgpiod) v${major === 1 ? '1.6.3' : '2.1.3'}"; exit 0; }\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  const known = 'case "$chip" in 0|gpiochip0|/dev/gpiochip0) ;; *)';
  if (major === 1) {
    const chip = `chip="$1"; ${known} echo "$(basename "$0"): looking up chip $chip: No such file or directory" >&2; exit 1;; esac`;
    tool('gpioinfo', `${chip}; echo "gpiochip0 - 54 lines:"`);
    tool('gpioget', `${chip}; cat "${dir}/in-$2" 2>/dev/null || echo 0`);
    tool('gpioset', `${chip}; echo "$2" >> "${dir}/set.log"`);
  } else {
    const chip = `numeric=0; hold=1; while :; do case "$1" in --numeric) numeric=1; shift;; -t0) hold=0; shift;; -c) chip="$2"; shift 2;; *) break;; esac; done
${known} echo "$(basename "$0"): cannot find GPIO chip character device '$chip'" >&2; exit 1;; esac`;
    tool('gpioinfo', `${chip}; echo "gpiochip0 - 54 lines:"`);
    tool('gpioget', `${chip}; v=$(cat "${dir}/in-$1" 2>/dev/null || echo 0); if [ $numeric = 1 ]; then echo $v; else [ $v = 1 ] && echo "\"$1\"=active" || echo "\"$1\"=inactive"; fi`);
    tool('gpioset', `${chip}; echo "$1" >> "${dir}/set.log"; [ $hold = 1 ] && sleep 30; exit 0`);
  }
  return {
    dir,
    setInput: (pin, level) => writeFileSync(join(dir, `in-${pin}`), `${level}\n`),
    sets: () => (existsSync(join(dir, 'set.log')) ? readFileSync(join(dir, 'set.log'), 'utf8').split('\n').filter(Boolean) : []),
  };
}

for (const major of [1, 2] as const) {
test.serial(`rules agent --gpio chip0 reads and drives pins through libgpiod ${major}.x's tools`, async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const { key, pub } = keys();
  const gpiod = fakeGpiod(major);
  const env = { ...process.env, PATH: `${gpiod.dir}:${process.env.PATH}` };
  const noTools = spawnSync(process.execPath, [cliPath, 'agent', '--broker', broker.url, '--id', 'gw-pi', '--trust', pub, '--gpio', 'chip0'],
    { env: { ...process.env, PATH: dirname(process.execPath) }, encoding: 'utf8' });
  t.is(noTools.status, 2);
  t.regex(noTools.stderr, /^rules: gpioinfo is not installed: on Raspberry Pi OS or Debian, `apt-get install gpiod`\n$/);
  const noChip = spawnSync(process.execPath, [cliPath, 'agent', '--broker', broker.url, '--id', 'gw-pi', '--trust', pub, '--gpio', 'chip9'], { env, encoding: 'utf8' });
  t.is(noChip.status, 2);
  t.regex(noChip.stderr, major === 1
    ? /^rules: gpioinfo \/dev\/gpiochip9: gpioinfo: looking up chip \/dev\/gpiochip9: No such file or directory\n$/
    : /^rules: gpioinfo -c \/dev\/gpiochip9: gpioinfo: cannot find GPIO chip character device '\/dev\/gpiochip9'\n$/);
  const notAChip = spawnSync(process.execPath, [cliPath, 'agent', '--broker', broker.url, '--id', 'gw-pi', '--trust', pub, '--gpio', 'pin17'], { env, encoding: 'utf8' });
  t.is(notAChip.status, 2);
  t.regex(notAChip.stderr, /^rules: --gpio pin17: name a GPIO chip, such as chip0/);
  const agent = await agentProcess(['--broker', broker.url, '--id', 'gw-pi', '--trust', pub, '--gpio', 'chip0',
    '--state', mkdtempSync(join(tmpdir(), 'rules-agent-pi-'))], env);
  t.teardown(() => { agent.child.kill('SIGKILL'); });
  const mirror = join(mkdtempSync(join(tmpdir(), 'rules-mirror-')), 'mirror.rule');
  writeFileSync(mirror, 'rule mirror\nuses gpio_in(4), gpio_out(17)\nevery 50ms\non tick {\n  gpio(17) = gpio(4)\n}\n');
  const push = rules(['push', mirror, '--broker', broker.url, '--device', 'gw-pi', '--key', key]);
  t.is(push.code, 0, push.stdout + push.stderr);
  const waitFor = async (line: string) => {
    const deadline = Date.now() + 10_000;
    while (!gpiod.sets().includes(line) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.true(gpiod.sets().includes(line), `gpioset chip0 ${line}; saw ${gpiod.sets().join(', ')}`);
  };
  await waitFor('17=0');
  gpiod.setInput(4, 1);
  await waitFor('17=1');
  t.deepEqual(gpiod.sets(), ['17=0', '17=1'], 'an output is set only when its level changes');
});
}

/** A unit's ExecStart as systemd expands it from an EnvironmentFile: `${VAR}` is one word, `$VAR` splits on spaces. */
function expandExecStart(unit: string, env: Record<string, string>): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('the unit has no ExecStart');
  return line.slice('ExecStart='.length).split(/\s+/).filter(Boolean).flatMap((word) => {
    const braced = /^\$\{(\w+)\}$/.exec(word);
    if (braced) return [env[braced[1]] ?? ''];
    const bare = /^\$(\w+)$/.exec(word);
    if (bare) return (env[bare[1]] ?? '').split(/\s+/).filter(Boolean);
    if (word.includes('$')) throw new Error(`the test does not expand ${word}`);
    return [word];
  });
}

test.serial('the systemd unit as shipped: its ExecStart, from the documented environment file, runs an agent that drives the Pi\'s pins', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const { key, pub } = keys();
  const gpiod = fakeGpiod();
  const unit = readFileSync(join(repoRoot, 'devices', 'gateway', 'rules-agent.service'), 'utf8');
  t.regex(unit, /^EnvironmentFile=\/etc\/default\/rules-agent$/m);
  t.regex(unit, /^StateDirectory=rules-agent$/m);
  const argv = expandExecStart(unit, {
    RULES_BROKER: broker.url, RULES_DEVICE_ID: 'gw-unit', RULES_TRUST: pub, RULES_AGENT_OPTIONS: '--sensor 0=29000 --target rpi',
  });
  t.deepEqual(argv.slice(0, 3), ['/usr/bin/env', 'rules', 'agent']);
  t.true(argv.includes('chip0'), 'the unit drives the real GPIO chip, not a simulated board');
  const state = mkdtempSync(join(tmpdir(), 'rules-agent-unit-'));
  const args = argv.slice(3).map((a) => (a === '/var/lib/rules-agent' ? state : a)).filter((a) => a !== '--json');
  const agent = await agentProcess(args, { ...process.env, PATH: `${gpiod.dir}:${process.env.PATH}` });
  t.teardown(() => { agent.child.kill('SIGKILL'); });
  const push = rules(['push', fan, '--broker', broker.url, '--device', 'gw-unit', '--key', key]);
  t.is(push.code, 0, push.stdout + push.stderr);
  const deadline = Date.now() + 10_000;
  while (!gpiod.sets().includes('17=1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.true(gpiod.sets().includes('17=1'), `29 °C turns the fan on through gpioset; saw ${gpiod.sets().join(', ')}`);
  t.true(readFileSync(join(state, 'versions.json'), 'utf8').includes('fan_control'), 'the rule is stored in the unit\'s state folder');
  t.is(await agent.stop(), 0, 'systemctl stop (SIGTERM) ends the agent cleanly');
});

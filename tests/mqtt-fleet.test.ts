// Pushing rules to gateways over MQTT against a real Mosquitto on a loopback port: installs, results,
// retained status, offline agents, broker restarts, duplicates, restarts, refusals and the abort threshold.
import test from 'ava';
import { assembleBundle, decodeBundle, encodeBundle, generateKeyPair } from '../contract/bundle.js';
import { rollout } from '../devices/mqtt/rollout.js';
import { BrokerSession } from '../devices/mqtt/session.js';
import { readFleetStatus } from '../devices/mqtt/fleet-status.js';
import { parseDeviceStatus } from '../devices/mqtt/messages.js';
import { statusTopic } from '../devices/mqtt/topics.js';
import { Mosquitto } from '../devices/mqtt/mosquitto.js';
import { built, eventually, operatorKeys, signedBundle, startGateway, watcher } from './support/gateways.js';
import { handRule } from './support/engine-fixtures.js';

/** `loop br 0 end`: never returns; wasm3 cannot stop it, so only the verifier can refuse it. */
const loopForeverModule = () => handRule([0x03, 0x40, 0x0c, 0x00, 0x0b, 0x41, 0x00]);

async function pusher(url: string) {
  const session = new BrokerSession({ url, clientId: `rules-push-${Math.random().toString(16).slice(2)}`, persistent: false });
  await session.start();
  return session;
}

test('a push to one gateway installs the rule, answers accepted, and the rule drives its output', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-1', { sensors: { 0: 29_000 } });
  t.teardown(() => gw.agent.stop());
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  const summary = await rollout(link, { devices: ['gw-1'], bundles: [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }], timeoutMs: 10_000 });
  t.is(summary.accepted, 1);
  t.is(summary.devices[0].outcome, 'accepted');
  await eventually(() => gw.board.outputs.get(17) === 1, 'the fan output to go high');
  // The retained status catches up with the install: online, the rule running and ticking.
  await eventually(async () => {
    const s = (await readFleetStatus(link, { devices: ['gw-1'], quietMs: 100 })).get('gw-1');
    return s?.online === true && s.rules?.[0]?.name === 'fan_control' && s.rules[0].state === 'running' && s.rules[0].ticks > 0;
  }, 'the retained status to show the rule running');
  t.pass();
});

test('a push to many gateways collects every answer', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const ids = Array.from({ length: 12 }, (_, i) => `gw-${i}`);
  const gws = await Promise.all(ids.map((id) => startGateway(broker.url, id)));
  t.teardown(() => Promise.all(gws.map((g) => g.agent.stop())));
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  const progress: number[] = [];
  const summary = await rollout(link, {
    devices: ids, bundles: [{ bytes: await signedBundle('night_light'), rule: 'night_light', version: 1 }], timeoutMs: 10_000,
    onProgress: (p) => progress.push(p.accepted),
  });
  t.is(summary.accepted, 12);
  t.false(summary.aborted);
  t.is(progress.at(-1), 12);
  for (const g of gws) t.deepEqual(g.agent.rules().map((r) => r.name), ['night_light']);
});

test('pushing the same bundle again is safe: the gateway answers "already installed" and installs once', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-dup');
  t.teardown(() => gw.agent.stop());
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  const bundles = [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }];
  const first = await rollout(link, { devices: ['gw-dup'], bundles, timeoutMs: 10_000 });
  const second = await rollout(link, { devices: ['gw-dup'], bundles, timeoutMs: 10_000 });
  t.is(first.accepted, 1);
  t.is(second.accepted, 1);
  t.regex(second.devices[0].reasons.join(), /already installed/);
  t.is(gw.lines.filter((l) => /install fan_control v1: accepted$/.test(l)).length, 1);
});

test('a duplicate delivery of one bundle installs it once', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-twice');
  t.teardown(() => gw.agent.stop());
  const watch = await watcher(broker.url, ['rules/v1/gw-twice/result']);
  t.teardown(() => watch.client.endAsync());
  const bytes = Buffer.from(await signedBundle('fan_control'));
  await watch.client.publishAsync('rules/v1/gw-twice/install', bytes, { qos: 1 });
  await watch.client.publishAsync('rules/v1/gw-twice/install', bytes, { qos: 1 });
  await eventually(() => watch.messages.length === 2, 'two results');
  const results = watch.messages.map((m) => JSON.parse(m.text));
  t.deepEqual(results.map((r) => r.outcome), ['accepted', 'accepted']);
  t.is(results[0].reason, null);
  t.is(results[1].reason, 'already installed');
});

test('a gateway offline during the push installs the rule when it reconnects', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  // Connect once so the broker keeps its session, then drop off without a clean disconnect.
  const first = await startGateway(broker.url, 'gw-away');
  await first.agent.kill();
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  const summary = await rollout(link, { devices: ['gw-away'], bundles: [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }], timeoutMs: 500 });
  t.is(summary.timedOut, 1);
  t.regex(summary.devices[0].reasons[0], /no answer within 0.5 s/);
  const again = await startGateway(broker.url, 'gw-away', { stateDir: first.stateDir });
  t.teardown(() => again.agent.stop());
  await eventually(() => again.agent.rules().some((r) => r.name === 'fan_control' && r.state === 'running'), 'the queued install');
});

test('a broker restarted mid-rollout: every gateway still answers', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const ids = Array.from({ length: 6 }, (_, i) => `gw-r${i}`);
  const gws = await Promise.all(ids.map((id) => startGateway(broker.url, id)));
  t.teardown(() => Promise.all(gws.map((g) => g.agent.stop())));
  const link = new BrokerSession({ url: broker.url, clientId: 'rules-push-restart' }, undefined, undefined, { initialMs: 50, maxMs: 300 });
  await link.start();
  t.teardown(() => link.close());
  const bundles = [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }];
  const done = rollout(link, { devices: ids, bundles, timeoutMs: 20_000, resendEveryMs: 1_000, ratePerMinute: 600 });
  await new Promise((r) => setTimeout(r, 250));
  await broker.restart(200);
  const summary = await done;
  t.is(summary.accepted, ids.length, JSON.stringify(summary.devices));
});

test('a restarted gateway runs its installed rules again without a push', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-restart', { sensors: { 0: 29_000 } });
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  await rollout(link, { devices: ['gw-restart'], bundles: [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }], timeoutMs: 10_000 });
  await gw.agent.stop();
  const again = await startGateway(broker.url, 'gw-restart', { stateDir: gw.stateDir, sensors: { 0: 29_000 } });
  t.teardown(() => again.agent.stop());
  t.deepEqual(again.agent.rules().map((r) => [r.name, r.state]), [['fan_control', 'running']]);
  await eventually(() => again.board.outputs.get(17) === 1, 'the fan output after the restart');
});

test('the last will marks a gateway that vanished offline on its retained status', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-will');
  await gw.agent.kill();
  await eventually(async () => {
    const w = await watcher(broker.url, [statusTopic('gw-will')]);
    await eventually(() => w.messages.length > 0, 'the retained status', 2_000).catch(() => {});
    await w.client.endAsync();
    return w.messages.some((m) => m.retain && parseDeviceStatus(m.text)?.online === false);
  }, 'the offline status', 15_000);
  t.pass();
});

async function refusal(t: any, make: () => Promise<Uint8Array>, reason: RegExp, setup?: (push: (b: Uint8Array) => Promise<unknown>) => Promise<void>) {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-x');
  t.teardown(() => gw.agent.stop());
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  const push = (bytes: Uint8Array) => rollout(link, { devices: ['gw-x'], bundles: [{ bytes, rule: 'x', version: 0 }], timeoutMs: 10_000 });
  if (setup) await setup(push);
  const before = gw.agent.rules().map((r) => `${r.name}@${r.version}`);
  const summary = await push(await make());
  t.is(summary.rejected, 1);
  t.regex(summary.devices[0].reasons.join('\n'), reason);
  t.deepEqual(gw.agent.rules().map((r) => `${r.name}@${r.version}`), before, 'nothing changed on the gateway');
}

test('a tampered bundle is refused', (t) => refusal(t, async () => {
  const bytes = await signedBundle('fan_control');
  bytes[bytes.length - 5] ^= 0x01;
  return bytes;
}, /signature|malformed|mismatch/));

test('an unsigned bundle is refused', (t) => refusal(t, async () => {
  const decoded = decodeBundle(await signedBundle('fan_control'));
  if (!decoded.ok) throw new Error(decoded.message);
  return assembleBundle(decoded.value.body, decoded.value.kid, new Uint8Array(64));
}, /bad signature/));

test('a bundle signed with a key the gateway does not trust is refused', (t) => refusal(t, async () => signedBundle('fan_control', { keys: generateKeyPair() }), /unknown key/));

test('a bundle for another target is refused', (t) => refusal(t, async () => signedBundle('fan_control', { target: 'stm32' }), /wrong target: .*stm32.*rpi/));

test('a downgrade is refused', (t) => refusal(t, async () => signedBundle('fan_control', { version: 1 }), /downgrade: version 1 .* not newer than the installed version 2/,
  async (push) => { await push(await signedBundle('fan_control', { version: 2 })); }));

test('an unverifiable module (loop br 0) with a signed manifest is refused', (t) => refusal(t, async () => {
  const { manifest } = await built('fan_control');
  const wasm = loopForeverModule();
  const { createHash } = await import('node:crypto');
  return encodeBundle({ manifest: { ...manifest, size: wasm.length, sha256: createHash('sha256').update(wasm).digest('hex'), imports: [],
    capabilities: { sensor: [], gpio_in: [], gpio_out: [] }, ranges: [], stateSlots: 0 }, wasm }, operatorKeys.privateKey);
}, /^x v0: unverifiable: the verifier refuses the module \(loop-form\): .*`br_if 0`; found `br 0`/m));

test('the abort threshold stops a rollout', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gws = await Promise.all(['gw-a0', 'gw-a1'].map((id) => startGateway(broker.url, id)));
  t.teardown(() => Promise.all(gws.map((g) => g.agent.stop())));
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  // The first ids have no gateway behind them, so they time out; one a second, so the abort comes early.
  const devices = [...Array.from({ length: 8 }, (_, i) => `ghost-${i}`), 'gw-a0', 'gw-a1'];
  const summary = await rollout(link, {
    devices, bundles: [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }],
    timeoutMs: 200, ratePerMinute: 60, abortAtPercent: 50, abortMinFinished: 3,
  });
  t.true(summary.aborted);
  t.is(summary.timedOut, 3);
  t.true(summary.sent <= 4, `sent ${summary.sent}`);
  t.deepEqual(summary.devices.slice(-2).map((d) => d.outcome), ['not sent', 'not sent']);
  t.deepEqual(gws.map((g) => g.agent.rules().length), [0, 0], 'the gateways after the abort got nothing');
});

test('a rule that traps is disabled and reported; the gateway\'s other rules keep running', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const gw = await startGateway(broker.url, 'gw-trap', { sensors: { 0: 29_000 } });
  t.teardown(() => gw.agent.stop());
  // The board's sensor 5 fails (a broken wire): the host call fails, which traps the rule that reads it.
  const io = gw.board.io.bind(gw.board);
  gw.board.io = (rule) => ({ ...io(rule), readSensor: (ch) => { if (ch === 5) throw new Error('sensor 5 does not answer'); return io(rule).readSensor(ch); } });
  const reader = `rule reads_five\nuses sensor(5), gpio_out(22)\nevery 100ms\non tick {\n  if sensor(5) > 1000 { gpio(22) = 1 }\n}\n`;
  const link = await pusher(broker.url);
  t.teardown(() => link.close());
  const summary = await rollout(link, { devices: ['gw-trap'], bundles: [
    { bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 },
    { bytes: encodeBundle(await built(reader), operatorKeys.privateKey), rule: 'reads_five', version: 1 },
  ], timeoutMs: 10_000 });
  t.is(summary.accepted, 1);
  await eventually(() => gw.agent.rules().some((r) => r.name === 'reads_five' && r.state === 'failed'), 'the failing rule to be disabled');
  const failed = gw.agent.rules().find((r) => r.name === 'reads_five')!;
  t.regex(failed.lastError ?? '', /sensor 5 does not answer/);
  const fan = () => gw.agent.rules().find((r) => r.name === 'fan_control')!;
  const ticks = fan().ticks;
  await eventually(() => fan().ticks > ticks + 2 && fan().state === 'running', 'fan_control to keep ticking');
  t.is(gw.board.outputs.get(17), 1);
  await eventually(async () => {
    const s = (await readFleetStatus(link, { devices: ['gw-trap'], quietMs: 100 })).get('gw-trap');
    return s?.rules?.some((r) => r.name === 'reads_five' && r.state === 'failed' && /sensor 5/.test(r.lastError ?? '')) === true;
  }, 'the retained status to report the failure');
});

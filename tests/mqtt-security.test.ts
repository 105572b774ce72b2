// Real deployments against Mosquitto: TLS with a CA and passwords for the agent and the pusher, and the
// documented ACL (docs/mqtt.md) keeping each gateway to its own topics.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rollout } from '../devices/mqtt/rollout.js';
import { BrokerError, BrokerSession } from '../devices/mqtt/session.js';
import { Mosquitto } from '../devices/mqtt/mosquitto.js';
import { eventually, signedBundle, startGateway, watcher } from './support/gateways.js';

/** A CA and a server certificate for 127.0.0.1, made with openssl for this run. */
function certificates(): { caFile: string; certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rules-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=rules test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
}

const ACL = `pattern read rules/v1/%u/install
pattern write rules/v1/%u/result
pattern write rules/v1/%u/status

user operator
topic write rules/v1/+/install
topic read rules/v1/+/result
topic read rules/v1/+/status
`;

test('over TLS with passwords, a push reaches the gateway and its answer comes back', async (t) => {
  const tls = certificates();
  const broker = await Mosquitto.start({ tls, passwords: { 'gw-tls': 'gw secret', operator: 'op secret' }, acl: ACL });
  t.teardown(() => broker.stop());
  t.regex(broker.url, /^mqtts:/);
  const gw = await startGateway(broker.url, 'gw-tls', { broker: { caFile: tls.caFile, username: 'gw-tls', password: 'gw secret' } });
  t.teardown(() => gw.agent.stop());
  const link = new BrokerSession({ url: broker.url, clientId: 'rules-push-tls', caFile: tls.caFile, username: 'operator', password: 'op secret', persistent: false });
  await link.start();
  t.teardown(() => link.close());
  const summary = await rollout(link, { devices: ['gw-tls'], bundles: [{ bytes: await signedBundle('fan_control'), rule: 'fan_control', version: 1 }], timeoutMs: 10_000 });
  t.is(summary.accepted, 1);
});

test('a wrong password or an unknown CA is refused with a clear error', async (t) => {
  const tls = certificates();
  const broker = await Mosquitto.start({ tls, passwords: { operator: 'op secret' } });
  t.teardown(() => broker.stop());
  const badPassword = new BrokerSession({ url: broker.url, clientId: 'bad-pw', caFile: tls.caFile, username: 'operator', password: 'nope', persistent: false });
  await t.throwsAsync(badPassword.start(), { instanceOf: BrokerError, message: /cannot connect to mqtts:\/\/127.0.0.1:\d+: .*(Not authorized|Bad username or password)/i });
  const noCa = new BrokerSession({ url: broker.url, clientId: 'no-ca', username: 'operator', password: 'op secret', persistent: false });
  await t.throwsAsync(noCa.start(), { instanceOf: BrokerError, message: /certificate/i });
});

test('the documented ACL keeps a gateway off other gateways\' topics', async (t) => {
  const broker = await Mosquitto.start({ passwords: { 'gw-1': 'one', 'gw-2': 'two', operator: 'op' }, acl: ACL });
  t.teardown(() => broker.stop());
  const operator = await watcher(broker.url, ['rules/v1/+/status', 'rules/v1/+/result'], { username: 'operator', password: 'op' });
  t.teardown(() => operator.client.endAsync());
  const gw1 = await watcher(broker.url, ['rules/v1/gw-1/install'], { username: 'gw-1', password: 'one' });
  t.teardown(() => gw1.client.endAsync());
  const gw2 = await watcher(broker.url, ['rules/v1/gw-1/install'], { username: 'gw-2', password: 'two' });
  t.teardown(() => gw2.client.endAsync());

  // gw-2 pretends to be gw-1, then speaks for itself (the control that the path works at all).
  await gw2.client.publishAsync('rules/v1/gw-1/status', '{"online":true,"id":"gw-1"}', { qos: 1, retain: true });
  await gw2.client.publishAsync('rules/v1/gw-1/result', '{"forged":true}', { qos: 1 });
  await gw2.client.publishAsync('rules/v1/gw-2/status', '{"online":true,"id":"gw-2"}', { qos: 1, retain: true });
  await operator.client.publishAsync('rules/v1/gw-1/install', 'bundle bytes', { qos: 1 });
  await eventually(() => operator.messages.some((m) => m.topic === 'rules/v1/gw-2/status'), 'gw-2\'s own status');
  await eventually(() => gw1.messages.some((m) => m.topic === 'rules/v1/gw-1/install'), 'gw-1\'s own install');
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(operator.messages.filter((m) => m.topic.startsWith('rules/v1/gw-1/')), [], 'nothing published by gw-2 on gw-1\'s topics got through');
  t.deepEqual(gw2.messages, [], 'gw-2 received nothing from gw-1\'s install topic');
});

// A gateway relays bundles for the board on its serial port: pushed over MQTT, installed on the virtual
// board over SMP through a socat relay, the board's verdict returned as the result.
import test from 'ava';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBundle } from '../contract/bundle.js';
import { SerialBoardRelay } from '../devices/gateway/serial-relay.js';
import { Mosquitto } from '../devices/mqtt/mosquitto.js';
import { rollout } from '../devices/mqtt/rollout.js';
import { BrokerSession } from '../devices/mqtt/session.js';
import { startBoard } from './support/board-harness.js';
import { testKey } from './support/bundle-vectors.js';
import { built, eventually, startGateway } from './support/gateways.js';

test.serial('a bundle for the board behind a gateway is relayed over SMP, runs there, and a downgrade comes back refused', async (t) => {
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const board = await startBoard(mkdtempSync(join(tmpdir(), 'rules-relay-board-')), { 0: 29_000 });
  t.teardown(() => board.stop());
  const relay = await SerialBoardRelay.open(board.port);
  t.deepEqual(relay.targets, ['stm32']);
  const key = testKey('trusted');
  const gw = await startGateway(broker.url, 'gw-relay', { relay, trusted: [createPublicKey(key)] });
  t.teardown(() => gw.agent.stop());
  const link = new BrokerSession({ url: broker.url, clientId: 'rules-push-relay', persistent: false });
  await link.start();
  t.teardown(() => link.close());
  const bundle = async (version: number) => encodeBundle(await built('fan_control', 'stm32', version), key);

  const first = await rollout(link, { devices: ['gw-relay'], bundles: [{ bytes: await bundle(2), rule: 'fan_control', version: 2 }], timeoutMs: 20_000 });
  t.is(first.accepted, 1, first.devices[0].reasons.join());
  t.regex(first.devices[0].reasons.join(), /relayed to the stm32 board/);
  await board.waitFor((e) => e.event === 'gpio' && e.pin === 17 && e.level === 1);
  await eventually(() => gw.agent.rules().some((r) => r.name === 'fan_control' && r.where === 'serial' && r.version === 2), 'the board\'s rule in the gateway status');

  const older = await rollout(link, { devices: ['gw-relay'], bundles: [{ bytes: await bundle(1), rule: 'fan_control', version: 1 }], timeoutMs: 20_000 });
  t.is(older.rejected, 1);
  t.regex(older.devices[0].reasons.join(), /the stm32 board refused it: .*not newer/);
});

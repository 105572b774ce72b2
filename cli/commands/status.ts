// `rules status --broker URL [--device ID...] [--json]`: gateways online or not and their installed rules,
// read from the retained status topics.
import type { CommandModule } from 'yargs';
import { readFleetStatus } from '../../devices/mqtt/fleet-status.js';
import { BrokerError, BrokerSession } from '../../devices/mqtt/session.js';
import { UsageError } from '../files.js';
import { brokerOptions, withBroker, type BrokerArgs } from './broker-options.js';
import { guarded, withJson, type SetExit } from './shared.js';

interface StatusArgs extends BrokerArgs {
  device?: string[];
  json: boolean;
}

export function statusCommand(setExit: SetExit): CommandModule<object, StatusArgs> {
  return {
    command: 'status',
    describe: 'show gateways and their rules from the broker\'s retained status',
    builder: (y) => withJson(withBroker(y))
      .option('device', { type: 'string', array: true, describe: 'only this gateway (repeatable)' }) as any,
    handler: (args) => guarded(setExit, async () => {
      let link: BrokerSession;
      try {
        link = new BrokerSession(brokerOptions(args, `rules-status-${process.pid}-${Date.now().toString(36)}`, false));
        await link.start();
      } catch (e) {
        if (e instanceof BrokerError) throw new UsageError(e.message);
        throw e;
      }
      const fleet = await readFleetStatus(link, { devices: args.device?.map(String) }).finally(() => link.close());
      if (args.json) {
        process.stdout.write(JSON.stringify([...fleet].map(([id, s]) => s ?? { id, online: null }), null, 2) + '\n');
        return [...fleet.values()].every((s) => s !== null) ? 0 : 1;
      }
      if (fleet.size === 0) {
        process.stdout.write('no gateway has published a status on this broker\n');
        return 0;
      }
      for (const [id, s] of fleet) {
        if (!s) {
          process.stdout.write(`${id}: unknown (no status on the broker)\n`);
          continue;
        }
        const rules = s.rules ?? [];
        process.stdout.write(`${id}: ${s.online ? 'online' : 'offline'}${s.target ? `, ${s.target}` : ''}` +
          `${s.online ? `, ${rules.length} rule(s)` : ''}\n`);
        for (const r of rules) {
          const sat = Object.entries(r.saturations).filter(([, n]) => n > 0).map(([ch, n]) => `ch${ch}:${n}`).join(' ');
          process.stdout.write(`  ${r.name} v${r.version} ${r.sha256.slice(0, 12)} ${r.state}${r.where === 'serial' ? ' (on the serial board)' : ''}` +
            `, ${r.ticks} ticks, saturated ${sat || 'none'}, assumption failures ${r.assumptionFailures}` +
            `${r.lastError ? `, last error: ${r.lastError}` : ''}\n`);
        }
      }
      return [...fleet.values()].every((s) => s !== null) ? 0 : 1;
    }),
  };
}

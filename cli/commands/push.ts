// `rules push <rules or bundles...> --broker URL (--device ID... | --fleet FILE) [--key K] [--rate N]
// [--abort-at P] [--timeout S]`: a rollout to gateways over MQTT, with live progress and a summary.
import type { CommandModule } from 'yargs';
import type { KeyObject } from 'node:crypto';
import { loadTarget } from '../../contract/targets.js';
import { BundleInputError, makeBundle, readPrivateKey } from '../../devices/bundles.js';
import { readFleetFile } from '../../devices/mqtt/fleet-file.js';
import { rollout, type RolloutBundle, type RolloutProgress } from '../../devices/mqtt/rollout.js';
import { BrokerError, BrokerSession } from '../../devices/mqtt/session.js';
import { isValidDeviceId } from '../../devices/mqtt/topics.js';
import { UsageError } from '../files.js';
import { brokerOptions, withBroker, type BrokerArgs } from './broker-options.js';
import { guarded, printDiagnostics, withJson, withTarget, type SetExit } from './shared.js';

interface PushArgs extends BrokerArgs {
  paths: string[];
  device?: string[];
  fleet?: string;
  key?: string;
  target?: string;
  ruleVersion?: number;
  rate?: number;
  abortAt?: number;
  timeout: number;
  json: boolean;
}

function positive(name: string, value: unknown, integer: boolean): void {
  if (value === undefined) return;
  if (Array.isArray(value)) throw new UsageError(`--${name} was given more than once`);
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
}

function progressLine(p: RolloutProgress): string {
  return `sent ${p.sent}/${p.total} · accepted ${p.accepted} · rejected ${p.rejected} · timed out ${p.timedOut}`;
}

export function pushCommand(setExit: SetExit): CommandModule<object, PushArgs> {
  return {
    command: 'push <paths..>',
    describe: 'roll rules (sources or bundles) out to gateways over MQTT',
    builder: (y) => withJson(withTarget(withBroker(y), false))
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: '.rule sources or .bundle files' })
      .option('device', { type: 'string', array: true, describe: 'a gateway id (repeatable)' })
      .option('fleet', { type: 'string', describe: 'a file of gateway ids: one per line, or a JSON array' })
      .option('key', { type: 'string', describe: 'private key that signs bundles built from sources' })
      .option('rule-version', { type: 'number', describe: 'the version of bundles built from sources (default 1)' })
      .option('rate', { type: 'number', describe: 'gateways started per minute (default: all at once)' })
      .option('abort-at', { type: 'number', describe: 'stop when more than this % of finished gateways rejected or timed out' })
      .option('timeout', { type: 'number', default: 30, describe: 'seconds to wait for each gateway\'s answer' }) as any,
    handler: (args) => guarded(setExit, async () => {
      positive('rate', args.rate, false);
      positive('timeout', args.timeout, false);
      positive('rule-version', args.ruleVersion, true);
      if (args.abortAt !== undefined && (typeof args.abortAt !== 'number' || !(args.abortAt >= 0 && args.abortAt <= 100))) {
        throw new UsageError('--abort-at must be a percentage from 0 to 100');
      }
      if ((args.device === undefined) === (args.fleet === undefined)) throw new UsageError('name the gateways with --device ID... or --fleet FILE (one of the two)');
      let devices: string[];
      if (args.fleet !== undefined) {
        if (Array.isArray(args.fleet)) throw new UsageError('--fleet was given more than once');
        try {
          devices = readFleetFile(args.fleet);
        } catch (e) {
          throw new UsageError(`--fleet ${args.fleet}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      } else {
        devices = args.device!.map(String);
      }
      devices = [...new Set(devices)];
      const bad = devices.find((d) => !isValidDeviceId(d));
      if (bad !== undefined) throw new UsageError(`"${bad}" is not a device id: letters, digits and . _ : - only`);
      if (devices.length === 0) throw new UsageError('the fleet has no gateways');
      if (Array.isArray(args.key)) throw new UsageError('--key was given more than once');
      const target = loadTarget(args.target ?? 'rpi');
      const bundles: RolloutBundle[] = [];
      try {
        const key: KeyObject | undefined = args.key !== undefined ? readPrivateKey(args.key) : undefined;
        for (const path of args.paths.map(String)) {
          // A bundle file may be for a board behind a gateway: its target is the gateway's to judge.
          const made = await makeBundle(path, { target: path.endsWith('.bundle') ? undefined : target.name, key, version: args.ruleVersion });
          bundles.push({ bytes: made.bytes, rule: made.manifest.rule, version: made.manifest.version });
        }
      } catch (e) {
        if (!(e instanceof BundleInputError)) throw e;
        if (e.compileResult) printDiagnostics({ result: e.compileResult });
        process.stderr.write(`rules: ${e.message}\n`);
        return e.compileResult ? 1 : 2;
      }

      let link: BrokerSession;
      try {
        link = new BrokerSession(brokerOptions(args, `rules-push-${process.pid}-${Date.now().toString(36)}`, true));
        await link.start();
      } catch (e) {
        if (e instanceof BrokerError) throw new UsageError(e.message);
        throw e;
      }
      const live = !args.json && process.stderr.isTTY === true;
      const summary = await rollout(link, {
        devices, bundles, ratePerMinute: args.rate, abortAtPercent: args.abortAt, timeoutMs: args.timeout * 1000,
        onProgress: (p) => { if (live) process.stderr.write(`\r\x1b[K${progressLine(p)}`); },
      }).finally(() => link.close());
      if (live) process.stderr.write('\r\x1b[K');
      const failed = summary.devices.filter((d) => d.outcome !== 'accepted');
      if (args.json) {
        process.stdout.write(JSON.stringify({ ...summary, ok: failed.length === 0 }, null, 2) + '\n');
      } else {
        const rows = summary.devices.length <= 50 ? summary.devices : failed;
        const width = Math.max(6, ...rows.map((d) => d.device.length));
        if (rows.length > 0) {
          process.stdout.write(`${'device'.padEnd(width)}  ${'outcome'.padEnd(9)}  ${'time'.padStart(7)}  details\n`);
          for (const d of rows) {
            const time = d.ms === null ? '-' : `${(d.ms / 1000).toFixed(2)} s`;
            process.stdout.write(`${d.device.padEnd(width)}  ${d.outcome.padEnd(9)}  ${time.padStart(7)}  ${d.reasons.join('; ')}\n`);
          }
        }
        const rules = bundles.map((b) => `${b.rule} v${b.version}`).join(', ');
        process.stdout.write(`${rules} to ${summary.total} gateway(s): ${summary.accepted} accepted, ${summary.rejected} rejected, ` +
          `${summary.timedOut} timed out${summary.aborted ? `, ${summary.total - summary.sent} not sent (aborted at ${args.abortAt}%)` : ''}\n`);
      }
      return failed.length === 0 ? 0 : 1;
    }),
  };
}

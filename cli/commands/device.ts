// `rules device list|status|remove|echo|reset|info --port P`: what a board runs, and managing it over SMP;
// `images|firmware|confirm` (the host firmware through MCUboot) live in device-firmware.ts.
import type { CommandModule } from 'yargs';
import * as smp from '../../devices/smp/commands.js';
import { UsageError } from '../files.js';
import { guarded, withJson, type SetExit } from './shared.js';
import { shortHash, withDevice, withPort, type PortArgs } from './device-shared.js';

const ACTIONS = ['list', 'status', 'remove', 'echo', 'reset', 'info', 'images', 'firmware', 'confirm'] as const;
type Action = typeof ACTIONS[number];

interface DeviceArgs extends PortArgs { action: Action; name?: string; confirm: boolean; reset: boolean; reconnect: number }

export function deviceCommand(setExit: SetExit): CommandModule<object, DeviceArgs> {
  return {
    command: 'device <action> [name]',
    describe: 'ask a board what it runs (list, status NAME, info), remove NAME, echo TEXT, reset; its firmware: images, firmware IMAGE, confirm',
    builder: (y) => withJson(withPort(y))
      .positional('action', { choices: ACTIONS, demandOption: true, describe: 'what to do' })
      .positional('name', { type: 'string', describe: 'the rule (status, remove), the text (echo) or the MCUboot image file (firmware)' })
      .option('confirm', { type: 'boolean', default: false, describe: 'firmware: confirm the image once it runs (else it is a test a reset reverts)' })
      .option('reset', { type: 'boolean', default: true, describe: 'firmware: reset the board to boot the image (--no-reset: at the next reset)' })
      .option('reconnect', { type: 'number', default: 10, describe: 'firmware: seconds to wait for the port after a drop or the reset' }) as any,
    handler: (args) => guarded(setExit, async () => {
      if (args.action === 'images' || args.action === 'firmware' || args.action === 'confirm') {
        const { firmwareAction } = await import('./device-firmware.js');
        return firmwareAction({ ...args, action: args.action });
      }
      if ((args.action === 'status' || args.action === 'remove') && !args.name) throw new UsageError(`\`rules device ${args.action}\` needs a rule name`);
      return withDevice(args, async ({ client }) => {
        const out = (json: unknown, text: string) => process.stdout.write(args.json ? JSON.stringify(json, null, 2) + '\n' : text);
        switch (args.action) {
          case 'list': {
            const rules = await smp.list(client);
            const lines = rules.map((r) => `${r.name.padEnd(24)} v${String(r.version).padEnd(5)} ${r.state.padEnd(9)} ${shortHash(r.sha256)}\n`);
            out({ ok: true, port: args.port, rules }, rules.length ? lines.join('') : `no rules on ${args.port}\n`);
            return 0;
          }
          case 'status': {
            const s = await smp.status(client, args.name!);
            const sat = s.saturated.length ? s.saturated.map((c) => `channel ${c.channel}: ${c.count}`).join(', ') : 'none';
            out({ ok: true, port: args.port, ...s },
              `${s.name} v${s.version}: ${s.state}\n  sha256 ${s.sha256}\n  ticks ${s.ticks}, failed assumptions ${s.assumptionFailures}\n` +
              `  saturated readings: ${sat}\n  last error: ${s.error ?? 'none'}\n`);
            return s.state === 'running' ? 0 : 1;
          }
          case 'remove':
            await smp.remove(client, args.name!);
            out({ ok: true, port: args.port, removed: args.name }, `removed ${args.name} from ${args.port}\n`);
            return 0;
          case 'echo': {
            const text = args.name ?? 'hello';
            const back = await smp.echo(client, text);
            out({ ok: back === text, port: args.port, echo: back }, `${back}\n`);
            return back === text ? 0 : 1;
          }
          case 'reset':
            await smp.reset(client);
            out({ ok: true, port: args.port }, `${args.port}: the board restarts\n`);
            return 0;
          case 'info': {
            const i = await smp.info(client);
            out({ ok: true, port: args.port, ...i },
              `${args.port}: ${i.host}, target ${i.target}, ABI ${i.abi}, up to ${i.maxRules} rules and ${i.maxBundle} B per bundle, ` +
              `MTU ${i.mtu} B\n  trusted keys: ${i.keys.join(', ') || 'none'}\n`);
            return 0;
          }
          default:
            throw new UsageError(`unknown action ${args.action}`);
        }
      });
    }),
  };
}

// `rules demo [--gateways N]`: an embedded broker, simulated gateways and the example rules, in one
// process: shows a push, an update and a refused bundle, and the fleet converging.
import type { CommandModule } from 'yargs';
import { runDemo } from '../../devices/demo.js';
import { UsageError } from '../files.js';
import { guarded, withJson, type SetExit } from './shared.js';

interface DemoArgs { gateways: number; json: boolean }

export function demoCommand(setExit: SetExit): CommandModule<object, DemoArgs> {
  return {
    command: 'demo',
    describe: 'push the example rules to a simulated fleet over an embedded MQTT broker',
    builder: (y) => withJson(y)
      .option('gateways', { type: 'number', default: 3, describe: 'how many simulated gateways (1 to 50)' }) as any,
    handler: (args) => guarded(setExit, async () => {
      if (!Number.isInteger(args.gateways) || args.gateways < 1 || args.gateways > 50) throw new UsageError('--gateways must be an integer from 1 to 50');
      const lines: string[] = [];
      const live = !args.json && process.stderr.isTTY === true;
      const outcome = await runDemo({
        gateways: args.gateways, settleMs: 1_000,
        say: (line) => { if (args.json) lines.push(line); else process.stdout.write(`${line}\n`); },
        onProgress: (p) => { if (live) process.stderr.write(`\r\x1b[Ksent ${p.sent}/${p.total} · accepted ${p.accepted} · rejected ${p.rejected}${p.sent === p.accepted + p.rejected + p.timedOut ? '\r\x1b[K' : ''}`); },
      });
      if (args.json) process.stdout.write(JSON.stringify({ converged: outcome.converged, pushed: outcome.pushed, boardRule: outcome.boardRule, steps: lines }, null, 2) + '\n');
      return outcome.converged ? 0 : 1;
    }),
  };
}

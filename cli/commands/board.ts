// `rules board --link PATH --trust KEY.pub [--target T] [--state DIR] [--sensor CH=V]... [--json]`: runs the
// virtual board in the foreground and prints each GPIO change; stdin takes `sensor CH V` and `gpio PIN V`.
import { spawn } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { loadTarget } from '../../contract/targets.js';
import { boardArguments, boardBinary, BoardError, readPublicKeyFile } from '../../devices/virtual-board.js';
import { UsageError } from '../files.js';
import { guarded, withJson, type SetExit } from './shared.js';

interface BoardArgs {
  link: string;
  trust: string[];
  target: string;
  state?: string;
  sensor: string[];
  gpio: string[];
  json: boolean;
}

function pairs(values: string[], option: string): Record<number, number> {
  const out: Record<number, number> = {};
  for (const v of values) {
    const m = /^(\d+)=(-?\d+)$/.exec(v);
    if (!m) throw new UsageError(`--${option} takes N=V with integers, not \`${v}\``);
    out[Number(m[1])] = Number(m[2]);
  }
  return out;
}

export function boardCommand(setExit: SetExit): CommandModule<object, BoardArgs> {
  return {
    command: 'board',
    describe: 'run the virtual board: the C device host on a pseudo-terminal, in the foreground',
    builder: (y) => withJson(y)
      .option('link', { type: 'string', demandOption: true, describe: 'the symlink to create to the board\'s serial port' })
      .option('trust', { type: 'string', array: true, demandOption: true, describe: 'a public key file to trust (repeatable)' })
      .option('target', { alias: 't', type: 'string', default: 'stm32', describe: 'the target the board is' })
      .option('state', { type: 'string', describe: 'the directory that holds the board\'s flash (default: the current one)' })
      .option('sensor', { type: 'string', array: true, default: [], describe: 'a sensor reading CH=V (repeatable)' })
      .option('gpio', { type: 'string', array: true, default: [], describe: 'a GPIO input level PIN=V (repeatable)' }) as any,
    handler: (args) => guarded(setExit, async () => {
      let argv: string[];
      let binary: string;
      try {
        argv = boardArguments({
          link: args.link, target: loadTarget(args.target), trusted: args.trust.map(readPublicKeyFile), stateDir: args.state,
          sensors: pairs(args.sensor, 'sensor'), gpioInputs: pairs(args.gpio, 'gpio'), json: args.json,
        });
        binary = boardBinary();
      } catch (e) {
        if (e instanceof BoardError) throw new UsageError(e.message);
        throw e;
      }
      const child = spawn(binary, argv, { stdio: 'inherit' });
      const stop = () => child.kill('SIGTERM');
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 0 : 1))));
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      return code === 0 ? 0 : 2;
    }),
  };
}

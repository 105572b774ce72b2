// `rules run <file> --target T`: try a rule by hand on wasm3, with inputs from options or a steps file.
import type { CommandModule } from 'yargs';
import { loadTarget } from '../../contract/targets.js';
import { readFileSync } from 'node:fs';
import { buildRules, hasErrors } from '../../compiler/build.js';
import { parseSteps, Simulation, StepsError, type Step, type StepOutcome } from '../../runner/simulate.js';
import { Wasm3Unavailable } from '../../engine/native-addon.js';
import { nextDelay } from '../../runner/rule-tests.js';
import { UsageError } from '../files.js';
import { guarded, printDiagnostics, withJson, withTarget, type SetExit } from './shared.js';

interface RunArgs {
  file: string; target: string; json: boolean; sensor: string[]; gpio: string[];
  ticks: number; every?: number; steps?: string;
}

function assignments(values: string[], what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^(\d+)=(-?\d+)$/.exec(v.trim());
    if (!m) throw new UsageError(`--${what} ${v}: expected ${what === 'gpio' ? 'PIN' : 'CH'}=VALUE with integers, e.g. --${what} ${what === 'gpio' ? '4=1' : '0=29000'}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export function runCommand(setExit: SetExit): CommandModule<object, RunArgs> {
  return {
    command: 'run <file>',
    describe: 'run a rule on wasm3 for a few ticks with the inputs you give',
    builder: (y) => withJson(withTarget(y, true))
      .positional('file', { type: 'string', demandOption: true, describe: 'a .rule file' })
      .option('sensor', { type: 'string', array: true, default: [], describe: 'a sensor reading, CH=V (repeatable)' })
      .option('gpio', { type: 'string', array: true, default: [], describe: 'an input level, PIN=V (repeatable)' })
      .option('ticks', { type: 'number', default: 1, describe: 'how many ticks to run' })
      .option('every', { type: 'number', describe: 'ms between ticks (default: what the rule returns, or its period)' })
      .option('steps', { type: 'string', describe: 'a JSON file: [{"now": ms, "sensors": {"0": 29000}, "gpio": {"4": 1}}, ...]' })
      .check((argv) => {
        if (!Number.isInteger(argv.ticks) || (argv.ticks as number) < 1) return '--ticks must be a positive integer';
        if (argv.every !== undefined && (!Number.isInteger(argv.every) || (argv.every as number) < 1)) return '--every must be a positive integer';
        return true;
      }) as any,
    handler: (args) => guarded(setExit, async () => {
      const target = loadTarget(args.target);
      if (!args.file.endsWith('.rule')) throw new UsageError(`${args.file} is not a .rule file`);
      let steps: Step[] | null = null;
      if (args.steps) {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(args.steps, 'utf8'));
        } catch (e) {
          throw new UsageError(`cannot read the steps file ${args.steps}: ${(e as Error).message}`);
        }
        try {
          steps = parseSteps(json);
        } catch (e) {
          if (e instanceof StepsError) throw new UsageError(`${args.steps}: ${e.message}`);
          throw e;
        }
      }
      const [outcome] = await buildRules([args.file], { target, outDir: null });
      if (hasErrors(outcome)) {
        printDiagnostics(outcome);
        return 1;
      }
      const result = outcome.result;
      const period = result.rule!.periodMs;
      const print = (o: StepOutcome) => {
        if (args.json) {
          process.stdout.write(JSON.stringify(o) + '\n');
          return;
        }
        const writes = Object.entries(o.writes).map(([pin, level]) => `gpio(${pin}) = ${level}`).join(', ') || 'no writes';
        const next = o.returned > 0 ? `${o.returned} ms` : `0 (the period, ${period} ms)`;
        process.stdout.write(`tick ${o.step} at ${o.now} ms: ${writes}; returned ${next}\n`);
      };
      let sim: Simulation | null = null;
      try {
        sim = new Simulation(result);
        if (steps !== null) {
          for (const step of steps) print(sim.step(step));
        } else {
          // Without a steps file the inputs stay as given and the clock follows the rule.
          const sensors = assignments(args.sensor, 'sensor');
          const gpio = assignments(args.gpio, 'gpio');
          let now = 0;
          for (let i = 0; i < args.ticks; i++) {
            const o = sim.step({ now, sensors, gpio });
            print(o);
            now = (now + (args.every ?? nextDelay(o.returned, period, target))) | 0;
          }
        }
      } catch (e) {
        if (e instanceof Wasm3Unavailable) throw new UsageError(e.message);
        if (e instanceof Error && e.name === 'RuleTrap') {
          process.stderr.write(`rules: ${e.message}\n`);
          return 1;
        }
        throw e;
      } finally {
        sim?.close();
      }
      return 0;
    }),
  };
}

// `rules run <file> --target T`: try a rule by hand on wasm3, with inputs from options or a steps file.
import type { CommandModule } from 'yargs';
import { loadTarget } from '../../contract/targets.js';
import { readFileSync } from 'node:fs';
import { buildRules, hasErrors } from '../../compiler/build.js';
import { MAX_STEPS, parseSteps, Simulation, StepsError, type Step, type StepOutcome } from '../../runner/simulate.js';
import { Wasm3Unavailable } from '../../engine/native-addon.js';
import { describeCounters, nextDelay } from '../../runner/rule-tests.js';
import { describeFileError, UsageError } from '../files.js';
import { paint } from '../output.js';
import { guarded, printDiagnostics, withJson, withTarget, type SetExit } from './shared.js';

interface RunArgs {
  file: string; target: string; json: boolean; sensor?: string[]; gpio?: string[];
  ticks?: number; every?: number; steps?: string; saturate: boolean;
}

const MAX_EVERY_MS = 86_400_000;

function assignments(values: string[], what: 'sensor' | 'gpio'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^(\d{1,9})=(-?\d{1,10})$/.exec(v.trim());
    const value = m ? Number(m[2]) : NaN;
    if (!m || value < -2147483648 || value > 2147483647) {
      throw new UsageError(`--${what} ${v}: expected ${what === 'gpio' ? 'PIN' : 'CH'}=VALUE with 32-bit integers, e.g. --${what} ${what === 'gpio' ? '4=1' : '0=29000'}`);
    }
    if (m[1] in out) throw new UsageError(`--${what} ${m[1]} is given twice (${out[m[1]]} and ${value}); give each ${what === 'gpio' ? 'pin' : 'channel'} once`);
    out[m[1]] = value;
  }
  return out;
}

export function runCommand(setExit: SetExit): CommandModule<object, RunArgs> {
  return {
    command: 'run <file>',
    describe: 'run a rule on wasm3 for a few ticks with the inputs you give; shows writes, state and the returned delay',
    builder: (y) => withJson(withTarget(y, true))
      .positional('file', { type: 'string', demandOption: true, describe: 'a .rule file' })
      .option('sensor', { type: 'string', array: true, describe: 'a sensor reading, CH=V (repeatable); the channel must be declared' })
      .option('gpio', { type: 'string', array: true, describe: 'an input level, PIN=0|1 (repeatable); the pin must be a declared input' })
      .option('ticks', { type: 'number', describe: `how many ticks to run (default 1, at most ${MAX_STEPS})` })
      .option('every', { type: 'number', describe: 'ms between ticks (default: what the rule returns, or its period)' })
      .option('steps', { type: 'string', describe: 'a JSON file: [{"now": ms, "sensors": {"0": 29000}, "gpio": {"4": 1}}, ...]' })
      .option('saturate', { type: 'boolean', default: false, describe: 'clamp readings outside a channel\'s range, as hosts do, and say so (default: refuse them)' })
      .check((argv) => {
        if (argv.ticks !== undefined && (!Number.isInteger(argv.ticks) || (argv.ticks as number) < 1 || (argv.ticks as number) > MAX_STEPS)) {
          return `--ticks must be a whole number from 1 to ${MAX_STEPS}`;
        }
        if (argv.every !== undefined && (!Number.isInteger(argv.every) || (argv.every as number) < 1 || (argv.every as number) > MAX_EVERY_MS)) {
          return `--every must be a whole number of milliseconds from 1 to ${MAX_EVERY_MS} (24 h)`;
        }
        if (argv.steps !== undefined) {
          const clash = ['sensor', 'gpio', 'ticks', 'every'].filter((k) => argv[k] !== undefined);
          if (clash.length) return `--steps gives every input and time itself; drop ${clash.map((k) => `--${k}`).join(', ')}`;
        }
        return true;
      }) as any,
    handler: (args) => guarded(setExit, async () => {
      const target = loadTarget(args.target);
      if (!args.file.endsWith('.rule')) throw new UsageError(`${args.file} is not a .rule file`);
      let steps: Step[] | null = null;
      if (args.steps !== undefined) {
        let text: string;
        try {
          text = readFileSync(args.steps, 'utf8');
        } catch (e) {
          throw new UsageError(`cannot read the steps file ${args.steps}: ${describeFileError((e as NodeJS.ErrnoException).code)}`);
        }
        try {
          steps = parseSteps(JSON.parse(text));
        } catch (e) {
          if (e instanceof StepsError || e instanceof SyntaxError) throw new UsageError(`${args.steps}: ${e.message}`);
          throw e;
        }
      }
      const sensors = assignments(args.sensor ?? [], 'sensor');
      const gpio = assignments(args.gpio ?? [], 'gpio');
      const [outcome] = await buildRules([args.file], { target, outDir: null });
      if (hasErrors(outcome)) {
        printDiagnostics(outcome);
        return 1;
      }
      const result = outcome.result;
      const period = result.rule!.periodMs;
      const print = (o: StepOutcome, counters = sim!.counters()) => {
        if (args.json) {
          // With what the engine counted so far (readings saturated to the manifest's ranges, failed assumptions).
          process.stdout.write(JSON.stringify({ ...o, counters }) + '\n');
          return;
        }
        const writes = Object.entries(o.writes).map(([pin, level]) => `gpio(${pin}) = ${level}`).join(', ') || 'no writes';
        const next = o.returned > 0 ? `${o.returned} ms` : o.returned === 0 ? `0 (the period, ${period} ms)` : `${o.returned} (the period, ${period} ms)`;
        const state = Object.entries(o.state).map(([name, v]) => `${name} = ${v ?? '(removed: never read)'}`).join(', ');
        process.stdout.write(`tick ${o.step} at ${o.now} ms: ${writes}; returned ${next}${state ? `; state ${state}` : ''}\n`);
        for (const [ch, s] of Object.entries(o.saturated)) {
          process.stdout.write(`  ${paint('note', 'yellow')}: sensor ${ch} = ${s.given} is outside its range: the rule saw ${s.value} (saturated)\n`);
        }
        if (o.idle) process.stdout.write(`  ${paint('did nothing', 'dim')}: ${o.idle}\n`);
      };
      let sim: Simulation | null = null;
      try {
        sim = new Simulation(result, 'wasm3', args.saturate);
        if (steps !== null) {
          // Every input is known in advance: one engine batch runs them all (a refused step or a trap ends it there).
          const run = sim.runSteps(steps);
          run.outcomes.forEach((o, i) => print(o, run.counters[i]));
          if (run.error) throw run.error;
        } else {
          // Without a steps file the inputs stay as given and the clock follows the rule.
          let now = 0;
          for (let i = 0; i < (args.ticks ?? 1); i++) {
            const o = sim.step({ now, sensors, gpio });
            print(o);
            now = (now + (args.every ?? nextDelay(o.returned, period, target))) | 0;
          }
        }
        if (!args.json) process.stdout.write(`${describeCounters(sim.counters()) ?? 'no readings saturated, no failed assumptions'}\n`);
      } catch (e) {
        if (e instanceof Wasm3Unavailable) throw new UsageError(e.message);
        if (e instanceof StepsError) throw new UsageError(e.message);
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

// `rules targets [--json]`: the target profiles as a table.
import type { CommandModule } from 'yargs';
import { describeNumbers, loadTarget, targetNames } from '../../contract/targets.js';
import { guarded, withJson, type SetExit } from './shared.js';

export function targetsCommand(setExit: SetExit): CommandModule<object, { json: boolean }> {
  return {
    command: 'targets',
    describe: 'list the device targets and their limits',
    builder: (y) => withJson(y) as any,
    handler: (args) => guarded(setExit, () => {
      const profiles = targetNames().map((n) => loadTarget(n));
      if (args.json) {
        process.stdout.write(JSON.stringify(profiles, null, 2) + '\n');
        return 0;
      }
      const rows: string[][] = [
        ['', ...profiles.map((p) => p.name)],
        ['device', ...profiles.map((p) => p.description)],
        ['max artifact', ...profiles.map((p) => `${p.maxArtifactBytes} B`)],
        ['floating point', ...profiles.map((p) => (p.floatingPoint ? 'yes' : 'no'))],
        ['GPIO pins', ...profiles.map((p) => `${p.gpio.min}..${p.gpio.max}`)],
        ['sensor channels', ...profiles.map((p) => describeNumbers(p.sensors.map((s) => s.channel)))],
        ['state slots', ...profiles.map((p) => String(p.maxStateSlots))],
        ['loop trips / tick', ...profiles.map((p) => String(p.maxLoopTrips))],
        ['instructions / tick', ...profiles.map((p) => String(p.maxInstructionsPerTick))],
        ['shortest period', ...profiles.map((p) => `${p.minPeriodMs} ms`)],
        ['transports', ...profiles.map((p) => p.transports.join(', '))],
      ];
      const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
      for (const r of rows) process.stdout.write(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd() + '\n');
      process.stdout.write('\nSensor channels (unit, range):\n');
      for (const p of profiles) {
        process.stdout.write(`  ${p.name}:\n`);
        for (const s of p.sensors) process.stdout.write(`    ${String(s.channel).padStart(2)}  ${s.quantity}, ${s.unit}, ${s.min}..${s.max}\n`);
      }
      return 0;
    }),
  };
}

// `rules build <files or dirs...> --target T [--out DIR] [--json]`: compile rules to artifacts and manifests.
import type { CommandModule } from 'yargs';
import { collectRuleFileSet, prepareOutputDir } from '../files.js';
import { loadTarget } from '../../contract/targets.js';
import { join } from 'node:path';
import { buildRules, hasErrors } from '../../compiler/build.js';
import { Progress } from '../progress.js';
import { plural } from '../format.js';
import { watchAndRerun } from '../watch.js';
import { diagnosticsJson, exitCodeOf, withWatch, guarded, printDiagnostics, skipNote, withJson, withTarget, type SetExit } from './shared.js';

interface BuildArgs { paths: string[]; target: string; out?: string; json: boolean; watch: boolean; ruleVersion: number }

export function buildCommand(setExit: SetExit): CommandModule<object, BuildArgs> {
  return {
    command: 'build <paths..>',
    describe: 'compile .rule files (or directories of them) for a target',
    builder: (y) => withWatch(withJson(withTarget(y, true)))
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'rule files or directories' })
      .option('out', { alias: 'o', type: 'string', describe: 'output directory (default: build/<target>)' })
      .option('rule-version', { type: 'number', default: 1, describe: 'the version written into each manifest' })
      .check((argv) => {
        if (!Number.isInteger(argv['rule-version']) || (argv['rule-version'] as number) < 1) {
          return '--rule-version must be a positive integer';
        }
        return true;
      }) as any,
    handler: (args) => guarded(setExit, async () => {
      if (args.watch) return watchAndRerun({ paths: args.paths, label: 'build', runOnce: () => exitCodeOf(once) });
      return once();
      async function once(): Promise<number> {
        const target = loadTarget(args.target);
        const { files, fromFolders } = collectRuleFileSet(args.paths);
        const outDir = args.out ?? join('build', target.name);
        prepareOutputDir(outDir);
        const progress = new Progress(files.length, 'building', args.json);
        const outcomes = await buildRules(files, {
          target, outDir, ruleVersion: args.ruleVersion, skipOtherTargets: fromFolders, onStart: (done, file, bytes) => progress.starting(done, file, bytes), onProgress: (done) => progress.update(done),
        });
        progress.done();
        const failed = outcomes.filter(hasErrors).length;
        const skipped = outcomes.filter((o) => o.skipped !== undefined).length;
        if (args.json) {
          process.stdout.write(JSON.stringify({
            target: target.name,
            outDir,
            ok: failed === 0,
            rules: outcomes.map((o) => ({
              file: o.result.file,
              rule: o.result.program?.header?.name ?? null,
              ok: !hasErrors(o),
              skipped: o.skipped ?? null,
              wasm: o.wasmPath ?? null,
              manifest: o.result.artifact?.manifest ?? null,
              manifestPath: o.manifestPath ?? null,
              diagnostics: diagnosticsJson(o),
            })),
          }, null, 2) + '\n');
        } else {
          for (const o of outcomes) {
            if (o.skipped !== undefined) {
              process.stdout.write(`${skipNote(o)}\n`);
              continue;
            }
            printDiagnostics(o);
            const m = o.result.artifact?.manifest;
            if (m) {
              const imports = m.imports.length ? m.imports.join(' ') : 'none';
              process.stdout.write(`${m.rule}: ${m.size}/${target.maxArtifactBytes} B, imports ${imports}, ` +
                `<= ${m.maxInstructionsPerTick} instructions/tick -> ${o.wasmPath}\n`);
            } else {
              process.stdout.write(`${o.result.program?.header?.name ?? o.result.file}: failed (${plural(o.result.diagnostics.filter((d) => d.severity === 'error').length || 1, 'error')})\n`);
            }
          }
          process.stdout.write(`${plural(outcomes.length - failed - skipped, 'rule')} built for ${target.name}` +
            (failed ? `, ${failed} failed` : '') + (skipped ? `, ${skipped} skipped` : '') + '\n');
        }
        return failed ? 1 : 0;
      }
    }),
  };
}

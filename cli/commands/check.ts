// `rules check <files or dirs...> --target T`: every check of `rules build`, writing nothing.
import type { CommandModule } from 'yargs';
import { collectRuleFileSet } from '../files.js';
import { loadTarget } from '../../contract/targets.js';
import { buildRules, hasErrors } from '../../compiler/build.js';
import { Progress } from '../progress.js';
import { plural } from '../format.js';
import { diagnosticsJson, guarded, printDiagnostics, skipNote, withJson, withTarget, type SetExit } from './shared.js';

interface CheckArgs { paths: string[]; target: string; json: boolean }

export function checkCommand(setExit: SetExit): CommandModule<object, CheckArgs> {
  return {
    command: 'check <paths..>',
    describe: 'run all the checks of `build` (size and instruction limits included) without writing files',
    builder: (y) => withJson(withTarget(y, true))
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'rule files or directories' }) as any,
    handler: (args) => guarded(setExit, async () => {
      const target = loadTarget(args.target);
      const { files, fromFolders } = collectRuleFileSet(args.paths);
      const progress = new Progress(files.length, 'checking', args.json);
      const outcomes = await buildRules(files, { target, outDir: null, skipOtherTargets: fromFolders, onStart: (done, file, bytes) => progress.starting(done, file, bytes), onProgress: (done) => progress.update(done) });
      progress.done();
      const failed = outcomes.filter(hasErrors).length;
      const skipped = outcomes.filter((o) => o.skipped !== undefined).length;
      if (args.json) {
        process.stdout.write(JSON.stringify({
          target: target.name, ok: failed === 0,
          rules: outcomes.map((o) => ({ file: o.result.file, rule: o.result.program?.header?.name ?? null, ok: !hasErrors(o), skipped: o.skipped ?? null, diagnostics: diagnosticsJson(o) })),
        }, null, 2) + '\n');
      } else {
        for (const o of outcomes) {
          if (o.skipped !== undefined) process.stdout.write(`${skipNote(o)}\n`);
          else printDiagnostics(o);
        }
        process.stdout.write(`${plural(outcomes.length - failed - skipped, 'rule')} OK for ${target.name}` +
          (failed ? `, ${failed} with errors` : '') + (skipped ? `, ${skipped} skipped` : '') + '\n');
      }
      return failed ? 1 : 0;
    }),
  };
}

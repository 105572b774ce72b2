// `rules test <files or dirs...> [--target T]`: builds each rule and runs its tests on wasm3,
// against the very bytes `rules build` writes; without --target, on every target the rule builds for.
import type { CommandModule } from 'yargs';
import { loadTarget, targetNames } from '../../contract/targets.js';
import { testRules } from '../../runner/test-suite.js';
import { describeCounters } from '../../runner/rule-tests.js';
import { Wasm3Unavailable } from '../../engine/native-addon.js';
import { collectRuleFileSet, UsageError } from '../files.js';
import { Progress } from '../progress.js';
import { watchAndRerun } from '../watch.js';
import { diagnosticsJson, exitCodeOf, withWatch, guarded, printDiagnostics, skipNote, withJson, withTarget, type SetExit } from './shared.js';

interface TestArgs { paths: string[]; target?: string; json: boolean; watch: boolean; engine: string }

export function testCommand(setExit: SetExit): CommandModule<object, TestArgs> {
  return {
    command: 'test <paths..>',
    describe: 'build rules and run their `test` blocks on wasm3, for --target or for every target each rule builds for',
    builder: (y) => withWatch(withJson(withTarget(y, false)))
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'rule files or directories' })
      .option('engine', { choices: ['wasm3', 'node'], default: 'wasm3', describe: 'the WebAssembly engine to run on' }) as any,
    handler: (args) => guarded(setExit, async () => {
      if (args.watch) return watchAndRerun({ paths: args.paths, label: 'test', runOnce: () => exitCodeOf(once) });
      return once();
      async function once(): Promise<number> {
        const targets = args.target ? [loadTarget(args.target)] : targetNames().map((n) => loadTarget(n));
        const { files, fromFolders } = collectRuleFileSet(args.paths);
        const progress = new Progress(files.length * targets.length, 'testing', args.json);
        let reports;
        try {
          reports = await testRules(files, {
            targets, targetChosen: args.target !== undefined, fromFolders, backend: args.engine as 'wasm3' | 'node',
            onStart: (done, file, bytes) => progress.starting(done, file, bytes), onProgress: (done) => progress.update(done),
          });
        } catch (e) {
          if (e instanceof Wasm3Unavailable) throw new UsageError(e.message);
          throw e;
        } finally {
          progress.done();
        }
        let passed = 0;
        let failed = 0;
        for (const report of reports) {
          for (const run of report.runs) {
            passed += run.tests?.filter((t) => t.passed).length ?? 0;
            failed += run.tests?.filter((t) => !t.passed).length ?? 0;
          }
          // A rule that did not build where it had to counts as one failure.
          if (report.failed && report.runs.every((r) => r.tests === null || r.tests.every((t) => t.passed))) failed++;
        }
        if (args.json) {
          process.stdout.write(JSON.stringify({
            engine: args.engine, passed, failed,
            rules: reports.map((r) => ({
              file: r.file, failed: r.failed,
              targets: r.runs.map((run) => ({
                target: run.target, built: run.tests !== null, skipped: run.skipped, diagnostics: diagnosticsJson(run.outcome), tests: run.tests ?? [],
              })),
            })),
          }, null, 2) + '\n');
          return failed ? 1 : 0;
        }
        for (const report of reports) {
          const built = report.runs.filter((r) => r.tests !== null);
          for (const run of report.runs) {
            if (run.skipped) {
              // Without --target a rule is tested only where its `targets` line says; with one, say why not.
              if (args.target !== undefined) process.stdout.write(`${skipNote(run.outcome)}\n`);
              continue;
            }
            if (run.tests === null) {
              // On a target the user did not choose, not building is expected for some rules: one line, not the errors.
              if (args.target !== undefined || built.length === 0) {
                printDiagnostics(run.outcome);
                process.stdout.write(`${report.file}: does not build for ${run.target}; its tests did not run\n`);
              } else {
                const first = run.outcome.result.diagnostics.find((d) => d.severity === 'error');
                process.stdout.write(`${report.file}: not tested on ${run.target}: it does not build there` +
                  (first ? ` (${first.code}: ${first.message})` : '') + '\n');
              }
              continue;
            }
            printDiagnostics(run.outcome);
            const manifest = run.outcome.result.artifact!.manifest;
            process.stdout.write(`${report.file} (${manifest.rule}, ${run.target}, ${args.engine})\n`);
            if (run.tests.length === 0) process.stdout.write('  no tests\n');
            for (const t of run.tests) {
              process.stdout.write(`  ${t.passed ? 'passed' : 'FAILED'}  ${t.name}\n`);
              const counted = describeCounters(t.counters);
              if (counted) process.stdout.write(`      ${counted}\n`);
              if (t.failure) {
                process.stdout.write(`      ${report.file}:${t.failure.line}:${t.failure.column}: ${t.failure.source}\n`);
                process.stdout.write(`      ${t.failure.message}\n`);
                for (const v of t.failure.values) process.stdout.write(`        ${v.expression} = ${v.value}\n`);
              }
            }
          }
        }
        process.stdout.write(`${passed} passed, ${failed} failed\n`);
        return failed ? 1 : 0;
      }
    }),
  };
}

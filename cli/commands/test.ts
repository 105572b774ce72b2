// `rules test <files or dirs...> [--target T]`: builds each rule and runs its tests on wasm3,
// against the very bytes `rules build` writes.
import type { CommandModule } from 'yargs';
import { buildRules, hasErrors } from '../../compiler/build.js';
import { runRuleTests, type TestOutcome } from '../../runner/rule-tests.js';
import { Wasm3Unavailable } from '../../engine/native-addon.js';
import { Progress } from '../progress.js';
import { diagnosticsJson, guarded, printDiagnostics, resolveTarget, ruleFiles, withJson, withTarget, type SetExit } from './shared.js';

interface TestArgs { paths: string[]; target?: string; json: boolean; engine: string }

export function testCommand(setExit: SetExit): CommandModule<object, TestArgs> {
  return {
    command: 'test <paths..>',
    describe: 'build rules and run their `test` blocks on wasm3 (default target: rpi)',
    builder: (y) => withJson(withTarget(y, false))
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'rule files or directories' })
      .option('engine', { choices: ['wasm3', 'node'], default: 'wasm3', describe: 'the WebAssembly engine to run on' }) as any,
    handler: (args) => guarded(setExit, async () => {
      const target = resolveTarget(args.target ?? 'rpi');
      const files = ruleFiles(args.paths);
      const progress = new Progress(files.length, 'testing', args.json);
      const outcomes = await buildRules(files, { target, outDir: null, onProgress: (done) => progress.update(done) });
      progress.done();
      let passed = 0;
      let failed = 0;
      const report: unknown[] = [];
      for (const o of outcomes) {
        if (hasErrors(o)) {
          failed++;
          if (args.json) report.push({ file: o.result.file, built: false, diagnostics: diagnosticsJson(o), tests: [] });
          else {
            printDiagnostics(o);
            process.stdout.write(`${o.result.file}: does not build for ${target.name}; its tests did not run\n`);
          }
          continue;
        }
        if (!args.json) printDiagnostics(o);
        let tests: TestOutcome[];
        try {
          tests = runRuleTests(o.result, args.engine as 'wasm3' | 'node');
        } catch (e) {
          if (e instanceof Wasm3Unavailable) {
            process.stderr.write(`rules: ${e.message}\n`);
            return 2;
          }
          throw e;
        }
        passed += tests.filter((t) => t.passed).length;
        failed += tests.filter((t) => !t.passed).length;
        if (args.json) {
          report.push({ file: o.result.file, rule: o.result.artifact!.manifest.rule, built: true, tests });
          continue;
        }
        process.stdout.write(`${o.result.file} (${o.result.artifact!.manifest.rule}, ${target.name}, ${args.engine})\n`);
        if (tests.length === 0) process.stdout.write('  no tests\n');
        for (const t of tests) {
          process.stdout.write(`  ${t.passed ? 'passed' : 'FAILED'}  ${t.name}\n`);
          if (t.failure) {
            process.stdout.write(`      ${o.result.file}:${t.failure.line}:${t.failure.column}: ${t.failure.source}\n`);
            process.stdout.write(`      ${t.failure.message}\n`);
            for (const v of t.failure.values) process.stdout.write(`        ${v.expression} = ${v.value}\n`);
          }
        }
      }
      if (args.json) process.stdout.write(JSON.stringify({ target: target.name, engine: args.engine, passed, failed, rules: report }, null, 2) + '\n');
      else process.stdout.write(`${passed} passed, ${failed} failed\n`);
      return failed ? 1 : 0;
    }),
  };
}

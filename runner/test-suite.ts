// `rules test` as a library: builds each rule for the chosen targets and runs its tests on an
// engine. Without a chosen target, each rule is tested on every target it builds for.
import { buildRules, hasErrors, type BuildOutcome } from '../compiler/build.js';
import type { TargetProfile } from '../contract/targets.js';
import type { EngineBackend } from '../engine/engine.js';
import { runRuleTests, type TestOutcome } from './rule-tests.js';

export interface TargetRun {
  target: string;
  outcome: BuildOutcome;
  /** Null when the rule did not build for this target, or was skipped there. */
  tests: TestOutcome[] | null;
  /** The rule's `targets` line leaves this target out, and it was not named: not a failure. */
  skipped: boolean;
}

export interface RuleTestReport {
  file: string;
  runs: TargetRun[];
  /** The rule failed: it did not build where it had to, or a test failed. */
  failed: boolean;
}

export interface TestSuiteOptions {
  targets: TargetProfile[];
  /** The user named the target: not building for it is a failure, not a skip. */
  targetChosen: boolean;
  backend: EngineBackend;
  onProgress?: (done: number, total: number) => void;
  onStart?: (done: number, file: string, bytes: number) => void;
  /** Files found in a folder rather than named: skipped where their `targets` line leaves a chosen target out. */
  fromFolders?: ReadonlySet<string>;
}

export async function testRules(files: string[], options: TestSuiteOptions): Promise<RuleTestReport[]> {
  const perTarget = new Map<string, BuildOutcome[]>();
  let done = 0;
  for (const target of options.targets) {
    perTarget.set(target.name, await buildRules(files, {
      target, outDir: null, onStart: (_, file, bytes) => options.onStart?.(done, file, bytes), skipOtherTargets: options.targetChosen ? (options.fromFolders ?? false) : true, onProgress: () => options.onProgress?.(++done, files.length * options.targets.length),
    }));
  }
  return files.map((file, i) => {
    const runs: TargetRun[] = options.targets.map((target) => {
      const outcome = perTarget.get(target.name)![i];
      const skipped = outcome.skipped !== undefined;
      return { target: target.name, outcome, skipped, tests: hasErrors(outcome) || skipped ? null : runRuleTests(outcome.result, options.backend) };
    });
    const built = runs.filter((r) => r.tests !== null);
    const expected = runs.filter((r) => !r.skipped);
    const testFailed = built.some((r) => r.tests!.some((t) => !t.passed));
    // A rule that names its targets must build on each of them; one that does not, on at least one.
    const declared = runs.some((r) => r.outcome.result.program?.header?.targets);
    const buildFailed = options.targetChosen || declared ? built.length < expected.length : built.length === 0;
    return { file, runs, failed: testFailed || buildFailed };
  });
}

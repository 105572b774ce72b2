// `rules test` as a library: builds each rule for the chosen targets and runs its tests on an
// engine. Without a chosen target, each rule is tested on every target it builds for.
import { buildRules, hasErrors, type BuildOutcome } from '../compiler/build.js';
import type { TargetProfile } from '../contract/targets.js';
import type { EngineBackend } from '../engine/engine.js';
import { runRuleTests, type TestOutcome } from './rule-tests.js';

export interface TargetRun {
  target: string;
  outcome: BuildOutcome;
  /** Null when the rule did not build for this target. */
  tests: TestOutcome[] | null;
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
}

export async function testRules(files: string[], options: TestSuiteOptions): Promise<RuleTestReport[]> {
  const perTarget = new Map<string, BuildOutcome[]>();
  let done = 0;
  for (const target of options.targets) {
    perTarget.set(target.name, await buildRules(files, {
      target, outDir: null, onProgress: () => options.onProgress?.(++done, files.length * options.targets.length),
    }));
  }
  return files.map((file, i) => {
    const runs: TargetRun[] = options.targets.map((target) => {
      const outcome = perTarget.get(target.name)![i];
      return { target: target.name, outcome, tests: hasErrors(outcome) ? null : runRuleTests(outcome.result, options.backend) };
    });
    const built = runs.filter((r) => r.tests !== null);
    const testFailed = built.some((r) => r.tests!.some((t) => !t.passed));
    const buildFailed = options.targetChosen ? built.length < runs.length : built.length === 0;
    return { file, runs, failed: testFailed || buildFailed };
  });
}

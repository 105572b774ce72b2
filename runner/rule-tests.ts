// Runs a rule's `test` blocks against its artifact on an engine (wasm3 by default): inputs are set
// on a simulated board, `tick` calls the artifact's `run`, `expect` is checked against what it did.
import type { Expr, TestDecl } from '../compiler/ast.js';
import type { CompileResult } from '../compiler/index.js';
import { SourceMap } from '../compiler/diagnostics.js';
import { sensorChannel, type TargetProfile } from '../contract/targets.js';
import { loadRuleOn, RuleTrap, type EngineBackend, type LoadedRule, type RuleCounters } from '../engine/engine.js';
import type { SensorRange } from '../contract/manifest.js';
import { RuleInterpreter, type EvalContext } from './interpreter.js';
import { SimulatedBoard } from './board.js';


export interface ExpectFailure {
  line: number;
  column: number;
  /** The `expect` line as written. */
  source: string;
  /** Each input, output, state or result the condition read, with the value it saw. */
  values: { expression: string; value: number }[];
  message: string;
}

export interface TestOutcome {
  name: string;
  passed: boolean;
  failure?: ExpectFailure;
  ticks: number;
  /** What the engine counted over the test: readings it saturated to the manifest's ranges, failed assumptions. */
  counters: RuleCounters;
}

/** Runs every test of a compiled rule. The result must carry `rule` and `artifact`. */
export function runRuleTests(result: CompileResult, backend: EngineBackend = 'wasm3'): TestOutcome[] {
  return result.rule!.tests.map((test) => runOne(result, test, backend));
}

function runOne(result: CompileResult, test: TestDecl, backend: EngineBackend): TestOutcome {
  const rule = result.rule!;
  const artifact = result.artifact!;
  const board = new SimulatedBoard();
  const loaded: LoadedRule = loadRuleOn(backend, artifact.wasm, { manifest: artifact.manifest, target: result.target, io: board.io() });
  const interpreter = new RuleInterpreter(rule);
  const map = new SourceMap(result.source);
  let now = 0;
  let nextNow = 0;
  let lastResult = 0;
  let ticks = 0;
  const ctx = (): EvalContext => ({
    stateValue: (index) => stateValue(result, loaded, index),
    // What the rule itself reads: readings saturate at the channel's range, input levels are 0 or 1.
    sensor: (ch) => saturateReading(result.target, ch, board.sensors.get(ch) ?? 0, artifact.manifest.ranges),
    gpio: (pin) => (rule.capabilities.gpio_out.includes(pin) ? board.outputs.get(pin) ?? 0 : (board.inputs.get(pin) ? 1 : 0)),
    now,
    result: lastResult,
  });
  try {
    for (const s of test.body.statements) {
      if (s.kind === 'io-assign') {
        const index = interpreter.evaluate(s.target, ctx());
        const value = interpreter.evaluate(s.value, ctx());
        if (s.io === 'sensor') board.sensors.set(index, value);
        else board.inputs.set(index, value);
      } else if (s.kind === 'tick') {
        now = s.at ? interpreter.evaluate(s.at, ctx()) : nextNow;
        lastResult = loaded.run(now);
        ticks++;
        nextNow = (now + nextDelay(lastResult, rule.periodMs, result.target)) | 0;
      } else if (s.kind === 'expect') {
        if (!interpreter.evaluate(s.cond, ctx())) {
          return {
            name: test.name, passed: false, ticks, counters: loaded.counters(),
            failure: {
              line: s.span.line, column: s.span.column, source: map.lineText(s.span.line).trim(),
              values: observed(s.cond, result.source, interpreter, ctx()),
              message: 'the condition is false',
            },
          };
        }
      }
    }
  } catch (e) {
    const trap = e instanceof RuleTrap || e instanceof UnobservableState;
    if (!trap) throw e;
    return {
      name: test.name, passed: false, ticks, counters: loaded.counters(),
      failure: { line: test.span.line, column: test.span.column, source: `test "${test.name}"`, values: [], message: (e as Error).message },
    };
  } finally {
    loaded.close();
  }
  return { name: test.name, passed: true, ticks, counters: loaded.counters() };
}

export class UnobservableState extends Error {}

/**
 * A reading as the host hands it to a rule: within the channel's range in the manifest (the profile's,
 * narrowed by `requires`), or the profile's when the manifest has none for it (device-abi.md).
 */
export function saturateReading(target: TargetProfile, channel: number, value: number, ranges: SensorRange[] = []): number {
  const info = ranges.find((r) => r.channel === channel) ?? sensorChannel(target, channel);
  return info ? Math.min(info.max, Math.max(info.min, value)) : value;
}

/** `sensor(8) 2, sensor(9) 1 saturated; 1 assumption failure`, or null when nothing was counted. */
export function describeCounters(c: RuleCounters): string | null {
  const saturated = Object.entries(c.saturations).filter(([, n]) => n > 0).map(([ch, n]) => `sensor(${ch}) ${n}`);
  if (saturated.length === 0 && c.assumptionFailures === 0) return null;
  return `readings saturated to the manifest's ranges: ${saturated.join(', ') || 'none'}; `
    + `failed assumptions: ${c.assumptionFailures}`;
}

/**
 * When a host calls `run` next: after the delay it returned, or the period when it returned 0 or
 * less; never sooner than the target's shortest period.
 */
export function nextDelay(returned: number, periodMs: number, target: TargetProfile): number {
  return returned > 0 ? Math.max(returned, target.minPeriodMs) : periodMs;
}

/** A state's value on the engine; a state the optimizer removed either never changes or is never read. */
function stateValue(result: CompileResult, loaded: LoadedRule, index: number): number {
  const slot = result.artifact!.stateSlots[index];
  if (slot.global !== null) return loaded.getGlobal(slot.global);
  if (!slot.assigned) return slot.initial;
  throw new UnobservableState(`state \`${slot.name}\` is never read by the rule, so the compiler removed it; a test cannot check it`);
}

/** The leaves of a condition that depend on the run (inputs, outputs, state, result), with their values. */
function observed(cond: Expr, source: string, interpreter: RuleInterpreter, ctx: EvalContext): { expression: string; value: number }[] {
  const out: { expression: string; value: number }[] = [];
  const seen = new Set<string>();
  const visit = (e: Expr): void => {
    if (e.constant !== undefined) return;
    const leaf = e.kind === 'name' || e.kind === 'result' || e.kind === 'now'
      || (e.kind === 'call' && (e.callee === 'sensor' || e.callee === 'gpio' || e.fn !== undefined));
    if (leaf) {
      const text = source.slice(e.span.start, e.span.end);
      if (!seen.has(text)) {
        seen.add(text);
        out.push({ expression: text, value: interpreter.evaluate(e, ctx) });
      }
      return;
    }
    if (e.kind === 'unary') visit(e.operand);
    else if (e.kind === 'binary') { visit(e.left); visit(e.right); }
    else if (e.kind === 'cond') { visit(e.cond); visit(e.then); visit(e.else); }
    else if (e.kind === 'call') e.args.forEach(visit);
  };
  visit(cond);
  return out;
}

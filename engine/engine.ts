// The rule engine used by the CLI, the tests and the gateway agent: validates an artifact, then runs it on wasm3
// (what devices run) or on Node's own WebAssembly (for differential tests), behind the host's run-time checks.
import type { Manifest } from '../contract/manifest.js';
import type { TargetProfile } from '../contract/targets.js';
import { HostTrap, loadNativeAddon, type NativeError, type NativeWasm3Rule } from './native-addon.js';
import { TickFrame, type RuleIo } from './tick-frame.js';
import { batchLayout, layoutKey, TickBatch, type BatchLayout, type BatchOptions, type BatchOutcome } from './tick-batch.js';
import { validateArtifact } from './validate.js';
import { exportAllGlobals, parseWasmModule } from '../contract/wasm-module.js';

export { CapabilityViolation, InvalidReading, NOT_WRITTEN, type RuleIo } from './tick-frame.js';
export { TickBatch, type BatchLayout, type BatchOptions, type BatchOutcome } from './tick-batch.js';

export interface LoadRuleOptions {
  manifest: Manifest;
  target: TargetProfile;
  io: RuleIo;
}

export type EngineBackend = 'wasm3' | 'node';

/** ready: runs; failed: trapped, refuses to run until reset(); closed: released for good. */
export type RuleState = 'ready' | 'failed' | 'closed';

export interface LoadedRule {
  readonly name: string;
  readonly backend: EngineBackend;
  readonly state: RuleState;
  /** The trap that failed the rule, until reset(). */
  readonly lastError: RuleTrap | undefined;
  readonly globalCount: number;
  /** One tick: calls `run` with `nowMs` wrapped to int32; returns the next delay in ms (0: the manifest's period). */
  run(nowMs: number): number;
  /** Empty tables for `capacity` ticks of this rule (and of any rule with the same pins, channels and globals). */
  createBatch(capacity: number, options?: BatchOptions): TickBatch;
  /**
   * Ticks 0..count-1 of `batch` (all of it by default), with inputs from its rows instead of the RuleIo, in one
   * native call on wasm3: each tick exactly what run() would do with those inputs (atomic, the same checks,
   * saturations and counters), its result and writes recorded in the batch instead of handed to the RuleIo, which
   * the batch never calls. A trap stops the batch at that tick with no effect from it, keeps the ticks before it,
   * and fails the rule as run() would; it is returned, not thrown. Throws (running nothing) for a rule that cannot
   * run, a batch of another layout, or a row whose `now` is not a finite number.
   */
  runBatch(batch: TickBatch, count?: number): BatchOutcome;
  /**
   * What the host reports about the rule (device-abi.md, item 7), counted since loading or the last reset:
   * per declared sensor channel, the ticks whose reading the engine had to saturate to the manifest's `ranges`
   * (counted once per tick, when the rule reads the channel); and the ticks whose `run` returned a negative value
   * (a `requires` assumption did not hold, so the tick did nothing). A fresh object on every call.
   */
  counters(): RuleCounters;
  /** Zeroes the counters, for a host that reports them and starts over. */
  resetCounters(): void;
  /** Back to the state right after loading: every global at its initializer, a failed rule ready again, counters zero. */
  reset(): void;
  /** Global `index` of the module (an i32, or an f32 widened to a JS number). */
  getGlobal(index: number): number;
  close(): void;
}

/** See LoadedRule.counters(). */
export interface RuleCounters {
  /** Keyed by every declared sensor channel, zero included. */
  saturations: Record<number, number>;
  assumptionFailures: number;
}

/** The same text as TRAP_HOST_CALL_FAILED in engine/native/wasm3_node.c, so both backends report alike. */
export const HOST_CALL_TRAP = '[trap] host function failed';

export class RuleRejected extends Error {
  override name = 'RuleRejected';
  constructor(readonly rule: string, readonly problems: string[]) {
    super(`rule "${rule}" was refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export class RuleTrap extends Error {
  override name = 'RuleTrap';
  /**
   * @param wasm3Message wasm3's result string, such as "[trap] integer divide by zero"; on the Node backend,
   *   the wasm3 message for the same trap.
   * @param hostError what a host function threw (a CapabilityViolation, or an exception from the RuleIo).
   */
  constructor(readonly rule: string, readonly wasm3Message: string, readonly hostError?: unknown) {
    const reason = hostError instanceof Error ? hostError.message : hostError !== undefined ? String(hostError) : wasm3Message;
    super(`rule "${rule}" trapped: ${reason}`);
  }
}

/** A host's io callback that calls back into the rule it serves (run, reset or close) while it ticks. */
export class RuleBusy extends Error {
  override name = 'RuleBusy';
}

/** run() on a rule that trapped (until reset()) or was closed. */
export class RuleNotRunnable extends Error {
  override name = 'RuleNotRunnable';
  constructor(readonly rule: string, readonly state: Exclude<RuleState, 'ready'>, lastError?: RuleTrap) {
    super(state === 'closed'
      ? `rule "${rule}" is closed`
      : `rule "${rule}" is disabled after a trap (${lastError?.message ?? 'unknown'}); reset() it to run it again`);
  }
}

function validateOrThrow(bytes: Uint8Array, options: LoadRuleOptions): void {
  const problems = validateArtifact(bytes, options.manifest, options.target);
  if (problems.length > 0) throw new RuleRejected(options.manifest.rule, problems);
}

const enum TickStage { ReadInputs, Run, ApplyWrites }

/** What a backend's batch did: ticks completed, how many of them returned a negative value, and the trap if any. */
interface BatchRun {
  completed: number;
  failures: number;
  error?: unknown;
}

function nowProblem(t: number, now: number): TypeError {
  return new TypeError(`runBatch: tick ${t} needs a finite number of milliseconds as now, not ${String(now)}`);
}

/**
 * The state machine both backends share (failed after a trap until reset(), closed for good after close()) and
 * the tick: inputs read into the frame, `run`, then the writes applied together; a trap applies nothing and the
 * backend puts the globals back as they were before the tick.
 */
abstract class RuleBase implements LoadedRule {
  abstract readonly backend: EngineBackend;
  private currentState: RuleState = 'ready';
  private trap: RuleTrap | undefined;
  private assumptionFailures = 0;
  /** True during a tick, io callbacks included: the rule cannot be re-entered, reset or closed from them. */
  private busy = false;

  constructor(readonly name: string, protected readonly frame: TickFrame, private readonly io: RuleIo) {}

  /** The columns of this rule's batches, fixed at load (the module's globals never change in number). */
  private layout: BatchLayout | undefined;
  private layoutKeyCache: string | undefined;

  private batchLayout(): BatchLayout {
    this.layout ??= batchLayout(this.frame.manifest, this.countGlobals());
    return this.layout;
  }

  get state(): RuleState {
    return this.currentState;
  }

  get lastError(): RuleTrap | undefined {
    return this.trap;
  }

  get globalCount(): number {
    this.ensureOpen();
    return this.countGlobals();
  }

  // The hot path: one try for the whole tick, the stage telling what failed (a tick costs tens of nanoseconds).
  run(nowMs: number): number {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
      throw new TypeError(`run(nowMs) needs a finite number of milliseconds, not ${String(nowMs)}`);
    }
    if (this.currentState !== 'ready' || this.busy) this.refuse();
    this.busy = true;
    let stage = TickStage.ReadInputs;
    try {
      this.frame.fill(this.io);
      stage = TickStage.Run;
      const next = this.callRun(nowMs | 0); // `now` is an int that wraps, like on the device
      if (next < 0) this.assumptionFailures++;
      stage = TickStage.ApplyWrites;
      this.frame.apply(this.io);
      return next;
    } catch (e) {
      throw this.failure(e, stage);
    } finally {
      this.busy = false;
    }
  }

  createBatch(capacity: number, options: BatchOptions = {}): TickBatch {
    this.ensureOpen();
    return new TickBatch(this.batchLayout(), capacity, options);
  }

  runBatch(batch: TickBatch, count: number = batch?.capacity): BatchOutcome {
    if (!(batch instanceof TickBatch)) throw new TypeError('runBatch(batch) needs a TickBatch from createBatch()');
    this.ensureOpen();
    this.layoutKeyCache ??= layoutKey(this.batchLayout());
    if (batch.key !== this.layoutKeyCache) {
      throw new TypeError(`rule "${this.name}": the batch was made for other pins, channels or globals (${batch.key}, not ${this.layoutKeyCache})`);
    }
    if (!Number.isInteger(count) || count < 0 || count > batch.capacity) {
      throw new RangeError(`runBatch: count must be a whole number from 0 to the batch's ${batch.capacity} ticks, not ${String(count)}`);
    }
    if (this.currentState !== 'ready' || this.busy) this.refuse();
    this.busy = true;
    let ran: BatchRun;
    try {
      ran = this.callBatch(batch, count);
    } finally {
      this.busy = false;
    }
    this.assumptionFailures += ran.failures;
    if (!('error' in ran)) return { completed: ran.completed, trap: undefined };
    const trap = this.asTrap(ran.error);
    if (!trap) throw ran.error;
    this.currentState = 'failed';
    this.trap = trap;
    return { completed: ran.completed, trap };
  }

  private refuse(): never {
    if (this.currentState !== 'ready') throw new RuleNotRunnable(this.name, this.currentState, this.trap);
    throw new RuleBusy(`rule "${this.name}": the rule is running; a host handler cannot call back into it`);
  }

  /** What a tick's exception means: an io failure or a trap disables the rule; anything else is a bug, passed on. */
  private failure(error: unknown, stage: TickStage): unknown {
    // An io failure before run: the tick did not start. After run: the rule did its tick but the host could not
    // carry out its writes; either way the rule stops until it is reset.
    const trap = stage === TickStage.Run ? this.asTrap(error) : new RuleTrap(this.name, HOST_CALL_TRAP, error);
    if (!trap) return error;
    this.currentState = 'failed';
    this.trap = trap;
    return trap;
  }

  counters(): RuleCounters {
    const saturations: Record<number, number> = {};
    this.frame.channels.forEach((channel, k) => { saturations[channel] = this.frame.saturations[k]; });
    return { saturations, assumptionFailures: this.assumptionFailures };
  }

  resetCounters(): void {
    this.frame.saturations.fill(0);
    this.assumptionFailures = 0;
  }

  reset(): void {
    this.ensureOpen();
    if (this.busy) throw new RuleBusy(`rule "${this.name}": the rule is running; a host handler cannot reset it`);
    this.reinstantiate();
    this.currentState = 'ready';
    this.trap = undefined;
    this.resetCounters();
  }

  getGlobal(index: number): number {
    this.ensureOpen();
    const count = this.countGlobals();
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`rule "${this.name}" has ${count} globals; there is no global ${index}`);
    }
    return this.readGlobal(index);
  }

  close(): void {
    if (this.currentState === 'closed') return;
    if (this.busy) throw new RuleBusy(`rule "${this.name}": the rule is running; a host handler cannot close it`);
    this.release();
    this.currentState = 'closed';
  }

  private ensureOpen(): void {
    if (this.currentState === 'closed') throw new RuleNotRunnable(this.name, 'closed');
  }

  /** Calls `run` on the filled frame; on a trap, throws with every global back at its value and no writes. */
  protected abstract callRun(now: number): number;
  /**
   * Runs `count` rows of the batch; stops at a trap, returning it (as callRun would throw it) with the ticks before.
   * Throws a TypeError, before any tick, when a row's `now` is not finite.
   */
  protected abstract callBatch(batch: TickBatch, count: number): BatchRun;
  /** The trap an error from callRun or callBatch stands for, or undefined for a bug to pass on. */
  protected abstract asTrap(error: unknown): RuleTrap | undefined;
  protected abstract reinstantiate(): void;
  protected abstract countGlobals(): number;
  protected abstract readGlobal(index: number): number;
  protected abstract release(): void;
}

class Wasm3Rule extends RuleBase {
  readonly backend = 'wasm3' as const;
  private readonly native: NativeWasm3Rule;
  private readonly tickNative: (handle: unknown) => void;
  private readonly control: Int32Array;
  private readonly handle: unknown;

  constructor(name: string, bytes: Uint8Array, frame: TickFrame, io: RuleIo) {
    super(name, frame, io);
    const { Wasm3Rule: NativeRule, errorCodes, tick } = loadNativeAddon();
    this.control = frame.control;
    this.tickNative = tick;
    try {
      this.native = new NativeRule(bytes, frame);
      this.handle = this.native.handle;
    } catch (e) {
      const error = e as NativeError;
      if (error.code === errorCodes.load) throw new RuleRejected(name, [`wasm3 cannot load the module: ${error.message}`]);
      throw e;
    }
  }

  protected callRun(now: number): number {
    const control = this.control;
    control[0] = now;
    this.tickNative(this.handle);
    return control[1];
  }

  protected callBatch(batch: TickBatch, count: number): BatchRun {
    this.frame.forgetInvalid(); // a NaN in the batch is reported as NaN, not as what an earlier run() read
    try {
      const completed = this.native.runBatch(batch.inputs, count, batch.returned, batch.written, batch.globals, batch.saturated);
      return { completed, failures: this.control[2] };
    } catch (e) {
      const error = e as NativeError;
      if (error?.code === loadNativeAddon().errorCodes.trap && typeof error.completed === 'number') {
        return { completed: error.completed, failures: this.control[2], error };
      }
      if (error instanceof TypeError) { // a `now` that is not finite: no tick ran; the same words as the Node backend
        const { inputs, width } = batch;
        for (let t = 0; t < count; t++) if (!Number.isFinite(inputs[t * width])) throw nowProblem(t, inputs[t * width]);
      }
      throw e;
    }
  }

  protected asTrap(error: unknown): RuleTrap | undefined {
    const e = error as NativeError;
    if (e?.code !== loadNativeAddon().errorCodes.trap) return undefined;
    return new RuleTrap(this.name, e.wasm3Message ?? e.message, e.hostTrap === undefined ? undefined : this.hostError(e.hostTrap, e.hostValue!));
  }

  /** The error a failed io check in C stands for: the same the Node backend's handlers throw. */
  private hostError(why: HostTrap, value: number): Error {
    switch (why) {
      case HostTrap.GrUndeclared: return this.frame.violation('io.gr', value);
      case HostTrap.GwUndeclared: return this.frame.violation('io.gw', value);
      case HostTrap.SrUndeclared: return this.frame.violation('io.sr', value);
      default: return this.frame.invalidReading(value);
    }
  }

  protected reinstantiate(): void {
    this.native.reset();
  }

  protected countGlobals(): number {
    return this.native.globalCount;
  }

  protected readGlobal(index: number): number {
    return this.native.getGlobal(index);
  }

  protected release(): void {
    this.native.close();
  }
}

// V8's trap messages and the wasm3 result strings for the same traps.
const WASM3_TRAP_FOR_V8: Record<string, string> = {
  'unreachable': '[trap] unreachable executed',
  'divide by zero': '[trap] integer divide by zero',
  'remainder by zero': '[trap] integer divide by zero',
  'divide result unrepresentable': '[trap] integer overflow',
  'float unrepresentable in integer range': '[trap] integer overflow',
};

class NodeRule extends RuleBase {
  readonly backend = 'node' as const;
  private readonly module: WebAssembly.Module;
  private readonly imports: WebAssembly.Imports;
  private instance!: WebAssembly.Instance;
  private runExport!: (now: number) => number;
  private globals: WebAssembly.Global[] = [];
  private readonly saved: number[];
  private hostFailure: { error: unknown } | undefined;

  constructor(name: string, bytes: Uint8Array, frame: TickFrame, io: RuleIo) {
    super(name, frame, io);
    const rewritten = exportAllGlobals(bytes);
    const parsed = parseWasmModule(bytes);
    if (!rewritten.ok || !parsed.ok) {
      throw new RuleRejected(name, [`cannot prepare the module for Node: ${rewritten.ok ? 'unreadable' : rewritten.error}`]);
    }
    this.saved = new Array(parsed.module.globals.length).fill(0);
    this.module = new WebAssembly.Module(rewritten.bytes);
    // Host failures cross wasm as plain JS exceptions; remember them to report a trap like wasm3 does.
    const recorded = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R => {
      try {
        return fn(...args);
      } catch (e) {
        this.hostFailure = { error: e };
        throw e;
      }
    };
    const handlers = frame.handlers();
    this.imports = { io: { gr: recorded(handlers.gr), gw: recorded(handlers.gw), sr: recorded(handlers.sr) } };
    this.reinstantiate();
  }

  protected callRun(now: number): number {
    this.hostFailure = undefined;
    this.frame.begin();
    const { globals, saved } = this;
    for (let i = 0; i < globals.length; i++) saved[i] = globals[i].value as number;
    try {
      return this.runExport(now);
    } catch (e) {
      for (let i = 0; i < globals.length; i++) globals[i].value = saved[i];
      this.frame.discard();
      throw e;
    }
  }

  // The same tick as run() but for where the inputs come from and the writes go: a JS loop, as Node has no batch.
  protected callBatch(batch: TickBatch, count: number): BatchRun {
    const { frame } = this;
    const { inputs, width, returned, written, globals, saturated } = batch;
    const outputs = frame.written.length;
    const channels = frame.channels.length;
    const globalCount = this.globals.length;
    for (let t = 0; t < count; t++) if (!Number.isFinite(inputs[t * width])) throw nowProblem(t, inputs[t * width]);
    frame.forgetInvalid();
    let failures = 0;
    for (let t = 0; t < count; t++) {
      frame.load(inputs, t * width);
      let next: number;
      try {
        next = this.callRun(inputs[t * width] | 0);
      } catch (e) {
        return { completed: t, failures, error: e };
      }
      returned[t] = next;
      if (next < 0) failures++;
      written.set(frame.written, t * outputs);
      if (saturated) saturated.set(frame.saturatedThisTick, t * channels);
      if (globals) for (let i = 0; i < globalCount; i++) globals[t * globalCount + i] = this.globals[i].value as number;
    }
    return { completed: count, failures };
  }

  protected asTrap(error: unknown): RuleTrap | undefined {
    if (this.hostFailure) return new RuleTrap(this.name, HOST_CALL_TRAP, this.hostFailure.error);
    if (error instanceof WebAssembly.RuntimeError) {
      return new RuleTrap(this.name, WASM3_TRAP_FOR_V8[error.message] ?? `[trap] ${error.message}`);
    }
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      return new RuleTrap(this.name, '[trap] stack overflow');
    }
    return undefined;
  }

  protected reinstantiate(): void {
    this.instance = new WebAssembly.Instance(this.module, this.imports);
    this.runExport = this.instance.exports.run as (now: number) => number;
    this.globals = this.saved.map((_, i) => this.instance.exports[`g${i}`] as WebAssembly.Global);
  }

  protected countGlobals(): number {
    return this.globals.length;
  }

  protected readGlobal(index: number): number {
    return this.globals[index].value as number;
  }

  protected release(): void {
    // Nothing native to free; dropping the instance lets the GC reclaim it.
  }
}

/** Validates and loads a rule on wasm3; throws RuleRejected listing every problem when it may not run. */
export function loadRule(bytes: Uint8Array, options: LoadRuleOptions): LoadedRule {
  validateOrThrow(bytes, options);
  return new Wasm3Rule(options.manifest.rule, bytes, new TickFrame(options.manifest), options.io);
}

/** The same as loadRule, on Node's own WebAssembly: for differential tests against wasm3. */
export function loadRuleOnNode(bytes: Uint8Array, options: LoadRuleOptions): LoadedRule {
  validateOrThrow(bytes, options);
  return new NodeRule(options.manifest.rule, bytes, new TickFrame(options.manifest), options.io);
}

/** Loads a rule on the chosen backend: wasm3 (what devices run) or Node's WebAssembly. */
export function loadRuleOn(backend: EngineBackend, bytes: Uint8Array, options: LoadRuleOptions): LoadedRule {
  return backend === 'wasm3' ? loadRule(bytes, options) : loadRuleOnNode(bytes, options);
}

/** The wasm3 version of the native binding; throws Wasm3Unavailable when it is not built. */
export function wasm3Version(): string {
  return loadNativeAddon().wasm3Version;
}

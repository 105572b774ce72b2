// The rule engine used by the CLI, the tests and the gateway agent: validates an artifact, then runs it on wasm3
// (what devices run) or on Node's own WebAssembly (for differential tests), behind the host's run-time checks.
import type { Manifest } from '../contract/manifest.js';
import type { TargetProfile } from '../contract/targets.js';
import { loadNativeAddon, type NativeError, type NativeHandlers, type NativeWasm3Rule } from './native-addon.js';
import { validateArtifact } from './validate.js';
import { exportAllGlobals, parseWasmModule } from '../contract/wasm-module.js';

/** What a rule can touch on the device; the engine calls it only for declared pins and channels. */
export interface RuleIo {
  /** Level of a GPIO input; any nonzero value reads as 1. */
  readGpio(pin: number): number;
  /** Drives a GPIO output; `level` is always 0 or 1 here. */
  writeGpio(pin: number, level: number): void;
  /**
   * A sensor reading in the channel's fixed-point unit. The host guarantees readings within the target profile's
   * range for the channel, and the compiler relies on that, so the engine saturates anything outside it (and
   * truncates fractions); NaN or a non-number traps the rule.
   */
  readSensor(channel: number): number;
}

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
  /** Back to the state right after loading: every global at its initializer, a failed rule ready again. */
  reset(): void;
  /** Global `index` of the module (an i32, or an f32 widened to a JS number). */
  getGlobal(index: number): number;
  close(): void;
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

/** A pin or channel the manifest does not declare (the compiler should have made this impossible). */
export class CapabilityViolation extends Error {
  override name = 'CapabilityViolation';
  constructor(readonly rule: string, readonly importName: 'io.gr' | 'io.gw' | 'io.sr', readonly resource: string,
    declared: readonly number[], capability: string) {
    super(`rule "${rule}" used ${resource} through ${importName}, but its manifest does not declare it in ` +
      `${capability} (declared: ${declared.length ? declared.join(', ') : 'none'})`);
  }
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

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The io imports with the host's checks: declared pins and channels only, normalized and saturated values. */
function guardedHandlers(manifest: Manifest, target: TargetProfile, io: RuleIo): Required<NativeHandlers> {
  const rule = manifest.rule;
  const { gpio_in: gpioIn, gpio_out: gpioOut, sensor } = manifest.capabilities;
  const inputs = new Set(gpioIn);
  const outputs = new Set(gpioOut);
  const channels = new Set(sensor);
  const ranges = new Map(target.sensors.map((s) => [s.channel, s] as const));
  return {
    gr(pin) {
      if (!inputs.has(pin)) throw new CapabilityViolation(rule, 'io.gr', `GPIO input pin ${pin}`, gpioIn, 'gpio_in');
      return io.readGpio(pin) ? 1 : 0;
    },
    gw(pin, level) {
      if (!outputs.has(pin)) throw new CapabilityViolation(rule, 'io.gw', `GPIO output pin ${pin}`, gpioOut, 'gpio_out');
      io.writeGpio(pin, level !== 0 ? 1 : 0);
    },
    sr(channel) {
      if (!channels.has(channel)) throw new CapabilityViolation(rule, 'io.sr', `sensor channel ${channel}`, sensor, 'sensor');
      const reading = io.readSensor(channel);
      if (typeof reading !== 'number' || Number.isNaN(reading)) {
        throw new TypeError(`the host's sensor reader returned ${String(reading)} for channel ${channel}; it must return a number`);
      }
      const range = ranges.get(channel);
      const lo = Math.max(range?.min ?? INT32_MIN, INT32_MIN);
      const hi = Math.min(range?.max ?? INT32_MAX, INT32_MAX);
      return Math.min(hi, Math.max(lo, Math.trunc(reading)));
    },
  };
}

function validateOrThrow(bytes: Uint8Array, options: LoadRuleOptions): void {
  const problems = validateArtifact(bytes, options.manifest, options.target);
  if (problems.length > 0) throw new RuleRejected(options.manifest.rule, problems);
}

function checkNow(nowMs: number): number {
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
    throw new TypeError(`run(nowMs) needs a finite number of milliseconds, not ${String(nowMs)}`);
  }
  return nowMs | 0; // `now` is an int that wraps, like on the device
}

/** The state machine both backends share: failed after a trap until reset(), closed for good after close(). */
abstract class RuleBase implements LoadedRule {
  abstract readonly backend: EngineBackend;
  private currentState: RuleState = 'ready';
  private trap: RuleTrap | undefined;

  constructor(readonly name: string) {}

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

  run(nowMs: number): number {
    const now = checkNow(nowMs);
    if (this.currentState !== 'ready') throw new RuleNotRunnable(this.name, this.currentState, this.trap);
    try {
      return this.callRun(now);
    } catch (e) {
      const trap = this.asTrap(e);
      if (!trap) throw e;
      this.currentState = 'failed';
      this.trap = trap;
      throw trap;
    }
  }

  reset(): void {
    this.ensureOpen();
    this.reinstantiate();
    this.currentState = 'ready';
    this.trap = undefined;
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
    this.release();
    this.currentState = 'closed';
  }

  private ensureOpen(): void {
    if (this.currentState === 'closed') throw new RuleNotRunnable(this.name, 'closed');
  }

  protected abstract callRun(now: number): number;
  protected abstract asTrap(error: unknown): RuleTrap | undefined;
  protected abstract reinstantiate(): void;
  protected abstract countGlobals(): number;
  protected abstract readGlobal(index: number): number;
  protected abstract release(): void;
}

class Wasm3Rule extends RuleBase {
  readonly backend = 'wasm3' as const;
  private readonly native: NativeWasm3Rule;

  constructor(name: string, bytes: Uint8Array, handlers: Required<NativeHandlers>) {
    super(name);
    const { Wasm3Rule: NativeRule, errorCodes } = loadNativeAddon();
    try {
      this.native = new NativeRule(bytes, handlers);
    } catch (e) {
      const error = e as NativeError;
      if (error.code === errorCodes.load) throw new RuleRejected(name, [`wasm3 cannot load the module: ${error.message}`]);
      throw e;
    }
  }

  protected callRun(now: number): number {
    return this.native.run(now);
  }

  protected asTrap(error: unknown): RuleTrap | undefined {
    const e = error as NativeError;
    if (e?.code !== loadNativeAddon().errorCodes.trap) return undefined;
    return new RuleTrap(this.name, e.wasm3Message ?? e.message, e.hostError);
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
  private instance: WebAssembly.Instance;
  private readonly globals: number;
  private hostFailure: { error: unknown } | undefined;

  constructor(name: string, bytes: Uint8Array, handlers: Required<NativeHandlers>) {
    super(name);
    const rewritten = exportAllGlobals(bytes);
    const parsed = parseWasmModule(bytes);
    if (!rewritten.ok || !parsed.ok) {
      throw new RuleRejected(name, [`cannot prepare the module for Node: ${rewritten.ok ? 'unreadable' : rewritten.error}`]);
    }
    this.globals = parsed.module.globals.length;
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
    this.imports = { io: { gr: recorded(handlers.gr), gw: recorded(handlers.gw), sr: recorded(handlers.sr) } };
    this.instance = new WebAssembly.Instance(this.module, this.imports);
  }

  protected callRun(now: number): number {
    this.hostFailure = undefined;
    return (this.instance.exports.run as (now: number) => number)(now);
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
  }

  protected countGlobals(): number {
    return this.globals;
  }

  protected readGlobal(index: number): number {
    return (this.instance.exports[`g${index}`] as WebAssembly.Global).value as number;
  }

  protected release(): void {
    // Nothing native to free; dropping the instance lets the GC reclaim it.
  }
}

/** Validates and loads a rule on wasm3; throws RuleRejected listing every problem when it may not run. */
export function loadRule(bytes: Uint8Array, options: LoadRuleOptions): LoadedRule {
  validateOrThrow(bytes, options);
  return new Wasm3Rule(options.manifest.rule, bytes, guardedHandlers(options.manifest, options.target, options.io));
}

/** The same as loadRule, on Node's own WebAssembly: for differential tests against wasm3. */
export function loadRuleOnNode(bytes: Uint8Array, options: LoadRuleOptions): LoadedRule {
  validateOrThrow(bytes, options);
  return new NodeRule(options.manifest.rule, bytes, guardedHandlers(options.manifest, options.target, options.io));
}

/** Loads a rule on the chosen backend: wasm3 (what devices run) or Node's WebAssembly. */
export function loadRuleOn(backend: EngineBackend, bytes: Uint8Array, options: LoadRuleOptions): LoadedRule {
  return backend === 'wasm3' ? loadRule(bytes, options) : loadRuleOnNode(bytes, options);
}

/** The wasm3 version of the native binding; throws Wasm3Unavailable when it is not built. */
export function wasm3Version(): string {
  return loadNativeAddon().wasm3Version;
}

// Finds and loads the wasm3 N-API binding built by scripts/build-wasm3.mjs, with the types of its low-level API.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADDON_RELATIVE_PATH = join('engine', 'native', 'build', 'Release', 'wasm3.node');

/** The binding interface this engine speaks: RULES_BINDING_VERSION in engine/native/wasm3_node.c. */
export const BINDING_VERSION = 2;

/** The typed arrays of a TickFrame (engine/tick-frame.ts) that the binding reads, or keeps and shares. */
export interface NativeFrame {
  inputs: Int32Array;
  outputs: Int32Array;
  channels: Int32Array;
  min: Float64Array;
  max: Float64Array;
  readings: Float64Array;
  written: Int32Array;
  saturations: Float64Array;
  /** [0]: `now` for the next tick, set by JS; [1]: what `run` returned, set by tick(); [2]: set by runBatch. */
  control: Int32Array;
}

/** Why an io function trapped: NativeError.hostTrap, with hostValue (engine/native/wasm3_node.c, HostTrap). */
export const HostTrap = { GrUndeclared: 1, GwUndeclared: 2, SrUndeclared: 3, SrNotANumber: 4 } as const;
export type HostTrap = (typeof HostTrap)[keyof typeof HostTrap];

/** One module in its own wasm3 environment and runtime (engine/native/wasm3_node.c). */
export interface NativeWasm3Rule {
  /** What the module-level tick() takes: an External that keeps the native rule alive. */
  readonly handle: unknown;
  /**
   * `count` ticks like tick(), from rows of `inputs` (now, levels, readings; engine/tick-batch.ts), recording each
   * tick's result, writes and, when given, globals and saturated channels, and in frame.control[2] how many returned
   * a negative value. Returns `count`; a trap throws like tick() with `completed`, the ticks before it; a `now` that
   * is not finite throws a TypeError (code ERR_WASM3_INVALID_ARG) before any tick.
   */
  runBatch(inputs: Float64Array, count: number, returned: Int32Array, written: Int32Array, globals: Float64Array | null,
    saturated: Uint8Array | null): number;
  getGlobal(index: number): number;
  /** Reloads the module from its bytes, so every global is back at its initializer. */
  reset(): void;
  close(): void;
  readonly globalCount: number;
  readonly closed: boolean;
}

export interface NativeAddon {
  Wasm3Rule: new (bytes: Uint8Array, frame: NativeFrame) => NativeWasm3Rule;
  /**
   * One tick of a rule, on the readings in its frame.readings: calls `run(frame.control[0])` and leaves its result
   * in frame.control[1], the tick's writes in frame.written and saturations counted in frame.saturations. A trap
   * restores the globals, leaves no writes and throws an Error with code ERR_WASM3_TRAP, wasm3Message, and for a
   * failed io check hostTrap and hostValue. One function for every rule, so V8's call site stays monomorphic.
   */
  tick(handle: unknown): void;
  wasm3Version: string;
  /** RULES_BINDING_VERSION in engine/native/wasm3_node.c: which interface the binding was built with. */
  bindingVersion: number;
  errorCodes: {
    invalidArgument: string; load: string; trap: string; closed: string; busy: string; global: string; internal: string;
  };
}

/** The error a native call throws: a plain Error with these fields. */
export interface NativeError extends Error {
  code?: string;
  wasm3Message?: string;
  hostTrap?: HostTrap;
  hostValue?: number;
  /** On a trap in runBatch: the ticks that completed before it. */
  completed?: number;
}

export class Wasm3Unavailable extends Error {
  override name = 'Wasm3Unavailable';
}

/** The package root: the nearest directory above this module (src or dist) holding engine/native/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'engine', 'native', 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Wasm3Unavailable('cannot find engine/native/ above the engine module');
}

let addon: NativeAddon | undefined;

export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const root = packageRoot();
  const path = join(root, ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    throw new Wasm3Unavailable(`the wasm3 binding is not built (${path} is missing); ` +
      `run \`npm install\` or \`node scripts/build-wasm3.mjs\` in ${root}`);
  }
  let loaded: NativeAddon;
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new Wasm3Unavailable(`the wasm3 binding at ${path} does not load (${(e as Error).message}); ` +
      `rebuild it with \`node scripts/build-wasm3.mjs --force\` in ${root}`);
  }
  if (loaded.bindingVersion !== BINDING_VERSION) {
    // Sources updated (a pull, a rebase) but the binding not rebuilt: it would fail on its first call.
    throw new Wasm3Unavailable(`the wasm3 binding at ${path} was built from older sources (interface ` +
      `${loaded.bindingVersion ?? 1}, this engine needs ${BINDING_VERSION}); rebuild it with \`node scripts/build-wasm3.mjs\` in ${root}`);
  }
  addon = loaded;
  return addon;
}

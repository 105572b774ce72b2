// Finds and loads the wasm3 N-API binding built by scripts/build-wasm3.mjs, with the types of its low-level API.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADDON_RELATIVE_PATH = join('engine', 'native', 'build', 'Release', 'wasm3.node');

export interface NativeHandlers {
  gr?: (pin: number) => number;
  gw?: (pin: number, level: number) => void;
  sr?: (channel: number) => number;
}

/** One module in its own wasm3 environment and runtime (engine/native/wasm3_node.c). */
export interface NativeWasm3Rule {
  /** Calls `run(nowMs | 0)`; a trap throws an Error with code ERR_WASM3_TRAP, wasm3Message and maybe hostError. */
  run(nowMs: number): number;
  getGlobal(index: number): number;
  /** Reloads the module from its bytes, so every global is back at its initializer. */
  reset(): void;
  close(): void;
  readonly globalCount: number;
  readonly closed: boolean;
}

export interface NativeAddon {
  Wasm3Rule: new (bytes: Uint8Array, handlers: NativeHandlers) => NativeWasm3Rule;
  wasm3Version: string;
  errorCodes: {
    invalidArgument: string; load: string; trap: string; closed: string; busy: string; global: string; internal: string;
  };
}

/** The error a native call throws: a plain Error with these fields. */
export interface NativeError extends Error {
  code?: string;
  wasm3Message?: string;
  hostError?: unknown;
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
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new Wasm3Unavailable(`the wasm3 binding at ${path} does not load (${(e as Error).message}); ` +
      `rebuild it with \`node scripts/build-wasm3.mjs --force\` in ${root}`);
  }
  return addon;
}

// The device ABI's fixed tables (device-abi.md): its version, the imports a rule may use with their
// exact types and capabilities, and the one export. Shared by the compiler, the engine and the CLI.
import { createHash } from 'node:crypto';
import type { FuncType } from './wasm-module.js';

export const ABI_VERSION = 1;

export type ImportName = 'io.gr' | 'io.gw' | 'io.sr';

export type Capability = 'gpio_in' | 'gpio_out' | 'sensor';

/** The device ABI's import table: what each import is, its exact type and the capability it needs. */
export const ABI_IMPORTS: Record<ImportName, { field: string; type: FuncType; capability: Capability }> = {
  'io.gr': { field: 'gr', type: { params: ['i32'], results: ['i32'] }, capability: 'gpio_in' },
  'io.gw': { field: 'gw', type: { params: ['i32', 'i32'], results: [] }, capability: 'gpio_out' },
  'io.sr': { field: 'sr', type: { params: ['i32'], results: ['i32'] }, capability: 'sensor' },
};

export const RUN_EXPORT = 'run';
export const RUN_TYPE: FuncType = { params: ['i32'], results: ['i32'] };

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Hand-written WAT floors: for some example rules, the same logic written by hand in WebAssembly text, as small as
// we could make it within the device ABI. The size benchmark reports every artifact against its floor.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import wabtInit from 'wabt';

let wabt: Awaited<ReturnType<typeof wabtInit>> | null = null;

/** The bytes of a floor, exactly as written (wabt's wat2wasm, no names section, no optimization). */
export async function assembleFloor(file: string): Promise<Uint8Array> {
  wabt ??= await wabtInit();
  const module = wabt.parseWat(basename(file), readFileSync(file, 'utf8'));
  try {
    module.validate();
    return new Uint8Array(module.toBinary({ write_debug_names: false }).buffer);
  } finally {
    module.destroy();
  }
}

// Compiles AssemblyScript twins one after another inside one Node process, each to its own .wasm: the fair
// counterpart of one `rules build` over a directory (asc's CLI links several entry files into a single module).
// Usage: node dist/bench/asc-batch.js OUTDIR FILE.ts...
import asc from 'assemblyscript/asc';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TWIN_FLAGS } from './twin-flags.js';

/** Compiles one twin (with the benchmark flags unless told); returns the binary, or throws with asc's messages. */
export async function compileTwin(file: string, flags: readonly string[] = TWIN_FLAGS): Promise<Uint8Array> {
  let wasm: Uint8Array | undefined;
  const errors: string[] = [];
  const result = await asc.main([file, ...flags, '--outFile', 'twin.wasm'], {
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') wasm = contents;
    },
    stdout: asc.createMemoryStream(),
    stderr: asc.createMemoryStream((chunk) => { errors.push(String(chunk)); }),
  });
  if (result.error || !wasm) throw new Error(`asc failed on ${file}: ${result.error?.message ?? ''}\n${errors.join('')}`);
  return wasm;
}

async function main(argv: string[]): Promise<number> {
  const [outDir, ...files] = argv;
  if (!outDir || files.length === 0) {
    process.stderr.write('usage: asc-batch OUTDIR FILE.ts...\n');
    return 2;
  }
  for (const file of files) writeFileSync(join(outDir, basename(file, '.ts') + '.wasm'), await compileTwin(file));
  return 0;
}

// Run as a program only when invoked directly, so run.ts can import compileTwin.
if (process.argv[1] && basename(process.argv[1]) === 'asc-batch.js') {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}

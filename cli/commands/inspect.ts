// `rules inspect <file.wasm> [--json]`: sections and their sizes, imports, exports, and the code as text.
import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { parseWasmModule, describeFuncType } from '../../contract/wasm-module.js';
import { wasmToText } from '../../compiler/index.js';
import { describeFileError, UsageError } from '../files.js';
import { escapeUnprintable } from '../format.js';
import { guarded, withJson, type SetExit } from './shared.js';

export function inspectCommand(setExit: SetExit): CommandModule<object, { file: string; json: boolean }> {
  return {
    command: 'inspect <file>',
    describe: 'show the sections, imports, exports and code of a .wasm artifact',
    builder: (y) => withJson(y).positional('file', { type: 'string', demandOption: true, describe: 'a .wasm file' }) as any,
    handler: (args) => guarded(setExit, async () => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(args.file);
      } catch (e) {
        throw new UsageError(`cannot read ${args.file}: ${describeFileError((e as NodeJS.ErrnoException).code)}`);
      }
      const parsed = parseWasmModule(bytes);
      if (!parsed.ok) {
        process.stderr.write(`${escapeUnprintable(args.file)}: error: not a valid WebAssembly module: ${escapeUnprintable(parsed.error)}\n`);
        return 1;
      }
      const m = parsed.module;
      const importedFunctions = m.imports.filter((i) => i.kind === 'func').length;
      const text = await wasmToText(bytes);
      const imports = m.imports.map((i) => ({
        module: i.module, name: i.name, kind: i.kind, type: i.kind === 'func' ? describeFuncType(m.types[i.typeIndex]) : null,
      }));
      const exports = m.exports.map((e) => ({
        name: e.name, kind: e.kind, index: e.index,
        type: e.kind === 'func' && e.index >= importedFunctions ? describeFuncType(m.types[m.functions[e.index - importedFunctions]]) : null,
      }));
      const globals = m.globals.map((g) => ({ index: g.index, type: g.type, mutable: g.mutable, init: g.init.op.endsWith('const') ? Number((g.init as { value: number | bigint }).value) : null }));
      const functions = m.codes.map((c) => ({ index: c.functionIndex, size: c.size, instructions: c.instructionCount }));
      if (args.json) {
        process.stdout.write(JSON.stringify({
          file: args.file, size: bytes.length,
          sections: m.sections.map((s) => ({ name: s.name, size: s.totalSize })),
          imports, exports, globals, functions, text,
        }, null, 2) + '\n');
        return 0;
      }
      const out: string[] = [`${args.file}: ${bytes.length} bytes`, '', 'sections:'];
      for (const s of m.sections) out.push(`  ${s.name.padEnd(10)} ${String(s.totalSize).padStart(4)} B`);
      out.push('', 'imports:');
      if (imports.length === 0) out.push('  none');
      for (const i of imports) out.push(`  ${i.module}.${i.name}  ${i.type ?? i.kind}`);
      out.push('', 'exports:');
      for (const e of exports) out.push(`  ${e.name}  ${e.type ?? e.kind}`);
      out.push('', 'globals (state):');
      if (globals.length === 0) out.push('  none');
      for (const g of globals) out.push(`  #${g.index}  ${g.mutable ? 'mut ' : ''}${g.type} = ${g.init}`);
      out.push('', 'functions:');
      for (const f of functions) out.push(`  #${f.index}  ${f.size} B, ${f.instructions} instructions`);
      out.push('', 'code:', text ?? '  (binaryen could not print this module)');
      process.stdout.write(out.join('\n') + '\n');
      return 0;
    }),
  };
}

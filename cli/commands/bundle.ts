// `rules bundle <rule, artifact> --key K [--target T] [--rule-version N] [--rollback-from N] [--out F]`: a signed bundle (docs/bundle.md).
import type { CommandModule } from 'yargs';
import { basename, dirname, join } from 'node:path';
import { makeBundle, readPrivateKey, BundleInputError } from '../../devices/bundles.js';
import { writeFileAtomic } from '../../contract/atomic-file.js';
import { bundleSha256 } from '../../contract/bundle.js';
import { guarded, printDiagnostics, withJson, withTarget, type SetExit } from './shared.js';

interface BundleArgs { file: string; key: string; target?: string; ruleVersion?: number; rollbackFrom?: number; out?: string; json: boolean }

export function bundleCommand(setExit: SetExit): CommandModule<object, BundleArgs> {
  return {
    command: 'bundle <file>',
    describe: 'sign a rule (a .rule source or a built .wasm) into a bundle for devices',
    builder: (y) => withJson(withTarget(y, false))
      .positional('file', { type: 'string', demandOption: true, describe: 'a .rule file (built for --target) or a .wasm artifact with its manifest' })
      .option('key', { alias: 'k', type: 'string', demandOption: true, describe: 'the private key file (`rules keygen`)' })
      .option('rule-version', { type: 'number', describe: 'the rule version (monotonic; a .wasm must already have it)' })
      .option('rollback-from', { type: 'number', describe: 'sign a rollback: the installed version this bundle may replace' })
      .option('out', { alias: 'o', type: 'string', describe: 'output file (default: <rule>.bundle)' })
      .check((argv) => {
        for (const name of ['rule-version', 'rollback-from']) {
          const v = argv[name];
          if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 0xffffffff)) return `--${name} must be a positive integer`;
        }
        return true;
      }) as any,
    handler: (args) => guarded(setExit, async () => {
      try {
        const key = readPrivateKey(args.key);
        const made = await makeBundle(args.file, { target: args.target, key, version: args.ruleVersion, rollbackFrom: args.rollbackFrom });
        const out = args.out ?? (args.file.endsWith('.wasm') ? join(dirname(args.file), `${made.manifest.rule}.bundle`) : `${made.manifest.rule}.bundle`);
        writeFileAtomic(out, made.bytes);
        const sha = bundleSha256(made.bytes);
        if (args.json) {
          process.stdout.write(JSON.stringify({ ok: true, bundle: out, bytes: made.bytes.length, sha256: sha, manifest: made.manifest }, null, 2) + '\n');
        } else {
          process.stdout.write(`${made.manifest.rule} v${made.manifest.version} for ${made.manifest.target}: ${made.bytes.length} B bundle, ` +
            `signed -> ${out} (${basename(args.key)})\n`);
        }
        return 0;
      } catch (e) {
        if (!(e instanceof BundleInputError)) throw e;
        if (e.compileResult) printDiagnostics({ result: e.compileResult });
        if (args.json) process.stdout.write(JSON.stringify({ ok: false, error: { kind: 'input', message: e.message } }, null, 2) + '\n');
        process.stderr.write(`rules: ${e.message}\n`);
        return e.compileResult ? 1 : 2;
      }
    }),
  };
}

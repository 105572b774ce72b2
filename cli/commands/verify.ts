// `rules verify <artifact.wasm> --target T [--manifest FILE] [--json]`: the module verifier a device runs at every
// load (device-abi.md §4.5), on a file: the verdict, the reason and the worst-case instructions per tick.
import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadTarget } from '../../contract/targets.js';
import { verifyModule } from '../../contract/verify.js';
import { UsageError } from '../files.js';
import { guarded, withJson, withTarget, type SetExit } from './shared.js';

interface VerifyArgs {
  artifact: string;
  target: string;
  manifest?: string;
  json: boolean;
}

/** `<name>.manifest.json` beside `<name>.wasm`, as `rules build` writes them. */
function manifestBeside(artifact: string): string {
  return join(dirname(artifact), `${basename(artifact, '.wasm')}.manifest.json`);
}

function readOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function claimOf(path: string): number {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readOrFail(path, 'manifest').toString('utf8'));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`the manifest ${path} is not JSON: ${(e as Error).message}`);
  }
  const claim = (manifest as { maxInstructionsPerTick?: unknown } | null)?.maxInstructionsPerTick;
  if (typeof claim !== 'number' || !Number.isInteger(claim) || claim < 0) {
    throw new UsageError(`the manifest ${path} has no maxInstructionsPerTick (a non-negative integer): there is no claim to check`);
  }
  return claim;
}

export function verifyCommand(setExit: SetExit): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify <artifact>',
    describe: 'verify an artifact as a device does at every load: typing, counted loops, instructions per tick',
    builder: (y) => withJson(withTarget(y, true))
      .positional('artifact', { type: 'string', demandOption: true, describe: 'a .wasm artifact' })
      .option('manifest', { type: 'string', describe: 'its manifest (default: <name>.manifest.json beside <name>.wasm)' }) as any,
    handler: (args) => guarded(setExit, () => {
      const target = loadTarget(args.target);
      const bytes = readOrFail(args.artifact, 'artifact');
      const manifestPath = args.manifest ?? manifestBeside(args.artifact);
      const claim = claimOf(manifestPath);
      const verdict = verifyModule(bytes, { claim, targetLimit: target.maxInstructionsPerTick, floatingPoint: target.floatingPoint });
      const bound = verdict.ok ? verdict.bound : verdict.bound ?? null;
      if (args.json) {
        process.stdout.write(JSON.stringify({
          file: args.artifact, manifest: manifestPath, target: target.name,
          verdict: verdict.ok ? 'accepted' : 'refused', bound, claim, limit: target.maxInstructionsPerTick,
          code: verdict.ok ? null : verdict.refusal.code, message: verdict.ok ? null : verdict.refusal.message,
          function: verdict.ok ? null : verdict.refusal.functionIndex ?? null,
          offset: verdict.ok ? null : verdict.refusal.offset ?? null,
          functions: verdict.ok ? verdict.functionCosts : null,
        }, null, 2) + '\n');
      } else if (verdict.ok) {
        process.stdout.write(`${args.artifact}: accepted for ${target.name}: at most ${bound} instructions per tick ` +
          `(the manifest claims ${claim}; ${target.name} allows ${target.maxInstructionsPerTick})\n`);
      } else {
        process.stdout.write(`${args.artifact}: refused for ${target.name} (${verdict.refusal.code}): ${verdict.refusal.message}\n` +
          (bound !== null ? `  computed bound: ${bound} instructions per tick\n` : ''));
      }
      return verdict.ok ? 0 : 1;
    }),
  };
}

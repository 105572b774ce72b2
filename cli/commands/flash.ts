// `rules flash <rule, artifact or bundle> --port P [--key K] [--target T]`: sign if needed, upload over SMP
// with a progress bar, resume after an interruption, and say what the board runs now.
import type { CommandModule } from 'yargs';
import { keyId } from '../../contract/bundle.js';
import { makeBundle, readPrivateKey, BundleInputError, type MadeBundle } from '../../devices/bundles.js';
import { connect, type Connection } from '../../devices/serial.js';
import { SmpProtocolError } from '../../devices/smp/protocol.js';
import * as smp from '../../devices/smp/commands.js';
import { Progress } from '../progress.js';
import { guarded, printDiagnostics, withJson, withTarget, type SetExit } from './shared.js';
import { reopenPort, reportDeviceError, shortHash, withPort, type PortArgs } from './device-shared.js';

interface FlashArgs extends PortArgs { file: string; key?: string; target?: string; ruleVersion?: number; reconnect: number }

export function flashCommand(setExit: SetExit): CommandModule<object, FlashArgs> {
  return {
    command: 'flash <file>',
    describe: 'install a rule on a board over its serial port (builds and signs it first if needed)',
    builder: (y) => withJson(withTarget(withPort(y), false))
      .positional('file', { type: 'string', demandOption: true, describe: 'a .rule source, a .wasm artifact or a signed .bundle' })
      .option('key', { alias: 'k', type: 'string', describe: 'private key to sign with (not needed for a .bundle)' })
      .option('rule-version', { type: 'number', describe: 'the rule version when building from source (default 1)' })
      .option('reconnect', { type: 'number', default: 10, describe: 'seconds to wait for the port to come back if the link drops' })
      .check((argv) => {
        const v = argv['rule-version'];
        if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) return '--rule-version must be a positive integer';
        return true;
      }) as any,
    handler: (args) => guarded(setExit, () => flash(args)),
  };
}

async function flash(args: FlashArgs): Promise<number> {
  const started = Date.now();
  if (!args.key && !args.file.endsWith('.bundle')) {
    return reportDeviceError(new BundleInputError(`flashing ${args.file} needs a key to sign it: pass --key FILE (make one with \`rules keygen\`)`), args);
  }
  const key = args.key ? safe(() => readPrivateKey(args.key!)) : undefined;
  if (key instanceof Error) return reportDeviceError(key, args);
  let conn: Connection | null = null;
  const totals = { out: 0, in: 0 };
  try {
    conn = await connect(args.port, { baudRate: args.baud, timeoutMs: args.timeout });
    const info = await smp.info(conn.client);
    if (info.mtu > 0) conn.client.mtu = info.mtu;
    if (args.target && args.target !== info.target) {
      return fail(args, 'wrong_target', `the board on ${args.port} is a ${info.target} board, not ${args.target}: build for --target ${info.target}`);
    }
    let made: MadeBundle;
    try {
      made = await makeBundle(args.file, { target: args.file.endsWith('.bundle') ? undefined : info.target, key, version: args.ruleVersion });
    } catch (e) {
      if (e instanceof BundleInputError && e.compileResult) printDiagnostics({ result: e.compileResult });
      throw e;
    }
    if (made.manifest.target !== info.target) {
      return fail(args, 'wrong_target', `${args.file} is built for ${made.manifest.target}; the board on ${args.port} is ${info.target}`);
    }
    const signer = key ? Buffer.from(keyId(key)).toString('hex') : null;
    if (signer && info.keys.length > 0 && !info.keys.includes(signer)) {
      return fail(args, 'unknown_key', `the board does not trust key ${signer} (it trusts ${info.keys.join(', ')}): ` +
        'start or provision it with your .pub file, or sign with one of its keys');
    }
    if (made.bytes.length > info.maxBundle && info.maxBundle > 0) {
      return fail(args, 'too_big', `the bundle has ${made.bytes.length} bytes; the board takes at most ${info.maxBundle}`);
    }
    const progress = new Progress(made.bytes.length, `flashing ${made.manifest.rule}`, args.json);
    const expect = { rule: made.manifest.rule, version: made.manifest.version, sha256: made.manifest.sha256 };
    let result: smp.InstallResult | null = null;
    let resumedFrom = 0;
    // A dropped link (a pulled cable, a board reset) is waited out: the upload resumes where the board is.
    for (let reconnects = 0; ; reconnects++) {
      try {
        result = await smp.install(conn.client, made.bytes, expect, { onProgress: (sent) => progress.update(sent) });
        resumedFrom = Math.max(resumedFrom, result.resumedFrom);
        break;
      } catch (e) {
        if (!(e instanceof SmpProtocolError && /link closed/.test(e.message)) || reconnects >= 3) throw e;
        addBytes(totals, conn);
        await conn.close().catch(() => undefined);
        conn = null;
        conn = await reopenPort(args, args.reconnect * 1000);
        if (!conn) throw e;
        conn.client.mtu = info.mtu > 0 ? info.mtu : conn.client.mtu;
      }
    }
    progress.done();
    addBytes(totals, conn);
    const ms = Date.now() - started;
    if (args.json) {
      process.stdout.write(JSON.stringify({
        ok: true, port: args.port, rule: result.name, version: result.version, sha256: result.sha256, state: result.state,
        alreadyInstalled: result.alreadyInstalled, resumedFrom, bundleBytes: made.bytes.length, wire: totals, ms,
      }, null, 2) + '\n');
    } else {
      const how = result.alreadyInstalled ? 'already installed' : resumedFrom > 0 ? `resumed at byte ${resumedFrom}` : `${made.bytes.length} B in ${(ms / 1000).toFixed(1)} s`;
      process.stdout.write(`${args.port} now runs ${result.name} v${result.version} (${result.state}), sha256 ${shortHash(result.sha256)} (${how})\n`);
    }
    return result.state === 'running' ? 0 : 1;
  } catch (e) {
    return reportDeviceError(e, args);
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

function addBytes(totals: { out: number; in: number }, conn: Connection | null): void {
  if (!conn) return;
  totals.out += conn.bytes.out;
  totals.in += conn.bytes.in;
  conn.bytes.out = 0;
  conn.bytes.in = 0;
}

function fail(args: { json: boolean }, kind: string, message: string): number {
  if (args.json) process.stdout.write(JSON.stringify({ ok: false, error: { kind, message } }, null, 2) + '\n');
  process.stderr.write(`rules: ${message}\n`);
  return 1;
}

function safe<T>(f: () => T): T | Error {
  try {
    return f();
  } catch (e) {
    return e as Error;
  }
}

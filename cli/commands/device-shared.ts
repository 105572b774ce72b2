// What the device commands (flash, device, ports) share: the port options, connecting, and turning
// port, protocol and device errors into messages a user can act on, with exit codes 1 or 2.
import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { connect, PortError, type Connection } from '../../devices/serial.js';
import { SmpError, SmpProtocolError, SmpTimeout } from '../../devices/smp/protocol.js';
import { rulesErrorName, SmpShapeError } from '../../devices/smp/commands.js';
import { BundleInputError } from '../../devices/bundles.js';

export function withPort<T>(y: Argv<T>) {
  return y
    .option('port', { alias: 'p', type: 'string', demandOption: true, describe: 'serial port of the board (`rules ports` lists them)' })
    .option('baud', { type: 'number', default: 115200, describe: 'baud rate' })
    .option('timeout', { type: 'number', default: 2000, describe: 'milliseconds to wait for each answer before retrying' });
}

export interface PortArgs { port: string; baud: number; timeout: number; json: boolean }

/** Waits up to `waitMs` for a port that went away (a cable pulled, a board resetting) and opens it again. */
export async function reopenPort(args: PortArgs, waitMs: number): Promise<Connection | null> {
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    if (existsSync(args.port)) {
      try {
        return await connect(args.port, { baudRate: args.baud, timeoutMs: args.timeout });
      } catch { /* not back yet */ }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

/** Opens the port, runs the body with an SMP client, closes the port; maps errors to messages and exit codes. */
export async function withDevice(args: PortArgs, body: (conn: Connection) => Promise<number>): Promise<number> {
  let conn: Connection | null = null;
  try {
    conn = await connect(args.port, { baudRate: args.baud, timeoutMs: args.timeout });
    return await body(conn);
  } catch (e) {
    return reportDeviceError(e, args);
  } finally {
    await conn?.close();
  }
}

/** Prints a device-side failure and returns its exit code; rethrows what is not one. */
export function reportDeviceError(e: unknown, args: { port: string; json: boolean }): number {
  const fail = (code: number, kind: string, message: string, extra: Record<string, unknown> = {}) => {
    if (args.json) process.stdout.write(JSON.stringify({ ok: false, error: { kind, message, ...extra } }, null, 2) + '\n');
    process.stderr.write(`rules: ${message}\n`);
    return code;
  };
  if (e instanceof PortError) return fail(2, `port_${e.kind}`, e.message);
  if (e instanceof BundleInputError) return fail(e.compileResult ? 1 : 2, 'input', e.message);
  if (e instanceof SmpTimeout) {
    return fail(1, 'no_answer', `no answer from ${args.port} (${e.message.replace(/^no answer from the device /, '')}): ` +
      'is the rules device host flashed on the board, and is the baud rate right?');
  }
  if (e instanceof SmpError) {
    const name = rulesErrorName(e);
    if (name) return fail(1, name, `the board refused: ${e.reason ?? name} (${name})`, { rc: e.rc });
    if (e.form === 'mgmt' && e.rc === 8) {
      return fail(1, 'not_supported', `the board on ${args.port} speaks SMP but not this command: is it running the rules device host?`, { rc: e.rc });
    }
    return fail(1, 'device_error', e.message, { rc: e.rc });
  }
  if (e instanceof SmpProtocolError || e instanceof SmpShapeError) return fail(1, 'protocol', `${args.port}: ${e.message}`);
  throw e;
}

export function shortHash(hex: string): string {
  return hex.slice(0, 12);
}

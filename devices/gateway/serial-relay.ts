// The gateway's relay to a board on its serial port (`rules agent --serial PORT`): bundles for the board's
// target are installed on it over SMP, the board's verdict is the install's result, and the board's
// rules appear in the gateway's status.
import { decodeBundle } from '../../contract/bundle.js';
import { connect, type Connection } from '../serial.js';
import { info, install, list, status } from '../smp/commands.js';
import type { RuleStatus } from '../mqtt/messages.js';
import type { BoardRelay } from './agent.js';

export class SerialBoardRelay implements BoardRelay {
  private constructor(private readonly connection: Connection, readonly targets: string[]) {}

  /** Opens the port and asks the board which target it is. */
  static async open(path: string, baudRate = 115200): Promise<SerialBoardRelay> {
    const connection = await connect(path, { baudRate });
    try {
      const board = await info(connection.client);
      return new SerialBoardRelay(connection, [board.target]);
    } catch (e) {
      await connection.close();
      throw e;
    }
  }

  async install(bundle: Uint8Array): ReturnType<BoardRelay['install']> {
    const decoded = decodeBundle(bundle);
    if (!decoded.ok) return { ok: false, reason: decoded.message };
    const m = decoded.value.manifest;
    try {
      const r = await install(this.connection.client, bundle, { rule: m.rule, version: m.version, sha256: m.sha256 });
      return { ok: true, rule: r.name, version: r.version, sha256: r.sha256 };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  async list(): Promise<RuleStatus[]> {
    const out: RuleStatus[] = [];
    for (const summary of await list(this.connection.client)) {
      const s = await status(this.connection.client, summary.name);
      out.push({
        name: s.name, version: s.version, sha256: s.sha256,
        state: s.state === 'running' || s.state === 'disabled' || s.state === 'failed' ? s.state : 'failed',
        lastError: s.error, saturations: Object.fromEntries(s.saturated.map((x) => [String(x.channel), x.count])),
        assumptionFailures: s.assumptionFailures, ticks: s.ticks, where: 'serial',
      });
    }
    return out;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

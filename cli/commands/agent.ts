// `rules agent --broker URL --id ID --trust KEY.pub [--target rpi] [--state DIR] [--gpio sim] [--sensor CH=V]...`:
// the gateway host. Runs until SIGINT or SIGTERM; prints installs, failures and (simulated) GPIO changes.
import type { CommandModule } from 'yargs';
import { loadTarget } from '../../contract/targets.js';
import { compilerVersion } from '../../contract/manifest.js';
import { GatewayAgent } from '../../devices/gateway/agent.js';
import { AgentConfigError, defaultStateDir, parseAssignments, readTrustedKeys } from '../../devices/gateway/options.js';
import { SimulatedGatewayBoard } from '../../devices/gateway/sim-board.js';
import type { SerialBoardRelay } from '../../devices/gateway/serial-relay.js';
import { GpioToolError, LinuxGpioBoard } from '../../devices/gateway/linux-gpio.js';
import { BrokerError } from '../../devices/mqtt/session.js';
import { isValidDeviceId } from '../../devices/mqtt/topics.js';
import { UsageError } from '../files.js';
import { brokerOptions, withBroker, type BrokerArgs } from './broker-options.js';
import { guarded, withJson, withTarget, type SetExit } from './shared.js';

interface AgentArgs extends BrokerArgs {
  id: string;
  target?: string;
  trust: string[];
  state?: string;
  gpio: string;
  sensor: string[];
  serial?: string;
  baud: number;
  json: boolean;
}

export function agentCommand(setExit: SetExit): CommandModule<object, AgentArgs> {
  return {
    command: 'agent',
    describe: 'run the gateway agent: install pushed rules and run them on wasm3',
    builder: (y) => withJson(withTarget(withBroker(y), false))
      .option('id', { type: 'string', demandOption: true, describe: 'this gateway\'s device id (one topic level)' })
      .option('trust', { type: 'string', array: true, demandOption: true, describe: 'public key file(s) whose bundles are installed' })
      .option('state', { type: 'string', describe: 'folder for installed rules (default $XDG_STATE_HOME/rules/agent-ID)' })
      .option('gpio', { type: 'string', default: 'sim', describe: 'GPIO: sim (a simulated board) or a Linux GPIO chip such as chip0' })
      .option('sensor', { type: 'string', array: true, default: [], describe: 'a sensor reading CH=V (fixed; the gateway has no ADC of its own)' })
      .option('serial', { type: 'string', describe: 'serial port of a board behind this gateway: its bundles are relayed to it over SMP' })
      .option('baud', { type: 'number', default: 115200, describe: 'baud rate of --serial' }) as any,
    handler: (args) => guarded(setExit, async () => {
      if (Array.isArray(args.id) || !isValidDeviceId(args.id)) throw new UsageError(`--id must be one device id of letters, digits and . _ : - (got ${String(args.id)})`);
      const target = loadTarget(args.target ?? 'rpi');
      const emit = (event: Record<string, unknown>, text: string) =>
        process.stdout.write(args.json ? JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n' : `${text}\n`);
      let relay: SerialBoardRelay | undefined;
      if (args.serial !== undefined) {
        if (Array.isArray(args.serial)) throw new UsageError('--serial was given more than once');
        try {
          // Loaded only for a board behind the gateway: an agent without one needs no serial library.
          const { SerialBoardRelay } = await import('../../devices/gateway/serial-relay.js');
          relay = await SerialBoardRelay.open(args.serial, args.baud);
        } catch (e) {
          process.stderr.write(`rules: cannot reach the board on ${args.serial}: ${(e as Error).message}\n`);
          return 2;
        }
        emit({ event: 'relay', port: args.serial, targets: relay.targets }, `relaying ${relay.targets.join(', ')} bundles to the board on ${args.serial}`);
      }
      let agent: GatewayAgent;
      let board: SimulatedGatewayBoard | LinuxGpioBoard;
      try {
        const sensors = parseAssignments(args.sensor, 'sensor');
        if (Array.isArray(args.gpio)) throw new UsageError('--gpio was given more than once');
        if (args.gpio === 'sim') {
          board = new SimulatedGatewayBoard();
          for (const [ch, v] of sensors) board.sensors.set(ch, v);
        } else {
          board = new LinuxGpioBoard(args.gpio, sensors);
        }
        agent = new GatewayAgent({
          id: args.id,
          broker: brokerOptions(args, `rules-agent-${args.id}`, true),
          target,
          trusted: readTrustedKeys(args.trust),
          stateDir: args.state ?? defaultStateDir(args.id),
          board,
          relay,
          agentVersion: `rules ${compilerVersion()}`,
          log: (line) => emit({ event: 'log', message: line }, line),
        });
      } catch (e) {
        if (e instanceof AgentConfigError || e instanceof BrokerError || e instanceof GpioToolError) throw new UsageError(e.message);
        throw e;
      }
      board.on('change', (c) => emit({ event: 'gpio', pin: c.pin, level: c.level, rule: c.rule }, `gpio ${c.pin} = ${c.level} (${c.rule})`));
      try {
        await agent.start();
      } catch (e) {
        if (e instanceof BrokerError) {
          process.stderr.write(`rules: ${e.message}\n`);
          return 2;
        }
        throw e;
      }
      // Listening before saying "started": a supervisor may stop the agent the moment it reads that line.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      emit({ event: 'started', id: args.id, target: target.name, rules: agent.rules().map((r) => r.name) },
        `agent ${args.id} (${target.name}) connected to ${args.broker}; running ${agent.rules().length} rule(s)`);
      await stopped;
      await agent.stop();
      emit({ event: 'stopped', id: args.id }, `agent ${args.id} stopped`);
      return 0;
    }),
  };
}

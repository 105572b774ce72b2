// The broker options `rules agent`, `rules push` and `rules status` share: the URL, TLS files and a
// username, with the password taken from the RULES_MQTT_PASSWORD environment variable (never argv,
// which other users of the machine can read).
import type { Argv } from 'yargs';
import type { BrokerOptions } from '../../devices/mqtt/session.js';
import { UsageError } from '../files.js';

export const PASSWORD_VARIABLE = 'RULES_MQTT_PASSWORD';
export const USERNAME_VARIABLE = 'RULES_MQTT_USERNAME';

export interface BrokerArgs {
  broker: string;
  username?: string;
  ca?: string;
  cert?: string;
  keyFile?: string;
}

export function withBroker<T>(y: Argv<T>) {
  return y
    .option('broker', { type: 'string', demandOption: true, describe: 'broker URL: mqtt://host:1883 or mqtts://host:8883' })
    .option('username', { type: 'string', describe: `MQTT username (default $${USERNAME_VARIABLE}); the password comes from $${PASSWORD_VARIABLE}` })
    .option('ca', { type: 'string', describe: 'PEM file of the CA that signed the broker\'s certificate (mqtts)' })
    .option('cert', { type: 'string', describe: 'PEM client certificate, for brokers that require one' })
    .option('key-file', { type: 'string', describe: 'PEM private key of the client certificate' });
}

export function brokerOptions(args: BrokerArgs, clientId: string, persistent: boolean): BrokerOptions {
  for (const [name, value] of Object.entries({ broker: args.broker, username: args.username, ca: args.ca, cert: args.cert, 'key-file': args.keyFile })) {
    if (Array.isArray(value)) throw new UsageError(`--${name} was given more than once`);
  }
  if ((args.cert === undefined) !== (args.keyFile === undefined)) throw new UsageError('--cert and --key-file go together');
  const password = process.env[PASSWORD_VARIABLE] || undefined;
  const username = args.username ?? (process.env[USERNAME_VARIABLE] || undefined);
  if (password !== undefined && username === undefined) throw new UsageError(`$${PASSWORD_VARIABLE} is set but there is no --username (or $${USERNAME_VARIABLE})`);
  return {
    url: args.broker, clientId, persistent, username, password,
    caFile: args.ca, certFile: args.cert, keyFile: args.keyFile,
  };
}

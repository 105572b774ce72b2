// Turning the agent's command-line words into its configuration: trusted keys from files, scripted
// sensor readings, the default state folder. Errors here are the user's to fix (UsageError-like).
import type { KeyObject } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BundleInputError, readPublicKey } from '../bundles.js';

export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

export function readTrustedKeys(files: string[]): KeyObject[] {
  if (files.length === 0) throw new AgentConfigError('give at least one --trust KEY.pub: the agent installs only bundles signed by a trusted key');
  return files.map((file) => {
    try {
      return readPublicKey(file);
    } catch (e) {
      if (e instanceof BundleInputError) throw new AgentConfigError(e.message);
      throw e;
    }
  });
}

/** `CH=V` pairs, as `--sensor 0=29000`. */
export function parseAssignments(items: string[], what: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const item of items) {
    const m = /^(\d+)=(-?\d+)$/.exec(String(item));
    if (!m) throw new AgentConfigError(`--${what} ${item}: write it as NUMBER=VALUE, e.g. --${what} 0=21000`);
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Where the agent keeps its rules when --state is not given: $XDG_STATE_HOME/rules/agent-ID. */
export function defaultStateDir(id: string): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'rules', `agent-${id}`);
}

// The gateway's persistent state in --state DIR: each installed rule's bundle, and the highest version
// ever accepted per rule (anti-rollback survives removal and restarts). Every write is crash-safe: a
// temporary file, fsync, rename over the old one, fsync of the directory; a crash leaves old or new.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../../contract/atomic-file.js';
import { join } from 'node:path';

const RULE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class GatewayStore {
  private readonly rulesDir: string;
  private readonly versionsPath: string;

  constructor(readonly dir: string) {
    this.rulesDir = join(dir, 'rules');
    this.versionsPath = join(dir, 'versions.json');
    mkdirSync(this.rulesDir, { recursive: true });
    // Leftovers of a crash between write and rename are never the installed state.
    for (const name of readdirSync(this.rulesDir)) if (name.includes('.tmp-')) rmSync(join(this.rulesDir, name), { force: true });
  }

  /** The bundles of the installed rules, by rule name. */
  bundles(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const file of readdirSync(this.rulesDir).sort()) {
      const m = /^(.+)\.bundle$/.exec(file);
      if (m && RULE_NAME.test(m[1])) out.set(m[1], readFileSync(join(this.rulesDir, file)));
    }
    return out;
  }

  saveBundle(rule: string, bytes: Uint8Array): void {
    if (!RULE_NAME.test(rule)) throw new Error(`"${rule}" is not a rule name`);
    writeFileAtomic(join(this.rulesDir, `${rule}.bundle`), bytes, { mode: 0o600 });
  }

  removeBundle(rule: string): void {
    rmSync(join(this.rulesDir, `${rule}.bundle`), { force: true });
  }

  /** The highest version accepted so far for each rule. */
  versions(): Record<string, number> {
    try {
      const v = JSON.parse(readFileSync(this.versionsPath, 'utf8')) as unknown;
      if (typeof v !== 'object' || v === null) return {};
      return Object.fromEntries(Object.entries(v).filter(([, n]) => Number.isInteger(n))) as Record<string, number>;
    } catch {
      return {};
    }
  }

  recordVersion(rule: string, version: number): void {
    const all = this.versions();
    if ((all[rule] ?? 0) >= version) return;
    all[rule] = version;
    writeFileAtomic(this.versionsPath, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  }
}

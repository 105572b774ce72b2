// Expands the files and directories given on the command line into .rule files, in a stable order.
import { readdirSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';

export class UsageError extends Error {}

export function collectRuleFiles(paths: string[]): string[] {
  return collectRuleFileSet(paths).files;
}

/** The files, and which of them were found in a folder rather than named (those may be skipped). */
export function collectRuleFileSet(paths: string[]): { files: string[]; fromFolders: Set<string> } {
  const out: string[] = [];
  const named = new Set<string>();
  const fromFolders = new Set<string>();
  for (const p of paths) {
    let stat;
    try {
      stat = statSync(p);
    } catch {
      throw new UsageError(`no such file or directory: ${p}`);
    }
    if (stat.isDirectory()) {
      const found = walk(p);
      if (found.length === 0) throw new UsageError(`no .rule files in ${p}`);
      out.push(...found);
      for (const f of found) fromFolders.add(f);
    } else {
      if (extname(p) !== '.rule') throw new UsageError(`${p} is not a .rule file`);
      out.push(p);
      named.add(p);
    }
  }
  for (const f of named) fromFolders.delete(f);
  return { files: [...new Set(out)], fromFolders };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile() && extname(entry.name) === '.rule') out.push(path);
  }
  return out;
}

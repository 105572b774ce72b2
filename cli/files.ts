// Expands the files and directories given on the command line into .rule files, in a stable order.
import { accessSync, constants, lstatSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, parse, resolve, sep } from 'node:path';

export class UsageError extends Error {}

// What the file system says, in words: the environment's problem, not a bug in rules.
const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder', EISDIR: 'it is a folder', EEXIST: 'it already exists',
  EROFS: 'the file system is read-only', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many symbolic links', ENAMETOOLONG: 'the name is too long', EMFILE: 'too many open files',
  EIO: 'input/output error', EBUSY: 'the file is busy', EINVAL: 'invalid argument', ENXIO: 'no such device',
  ETXTBSY: 'the file is busy', EXDEV: 'the paths are on different devices', EFBIG: 'the file is too big',
};

export function knownFileError(code: string): boolean {
  return code in FILE_ERRORS;
}

/** The words for an errno code ("permission denied"), or the code itself when it is unusual. */
export function describeFileError(code: string | undefined): string {
  return code === undefined ? 'unknown error' : FILE_ERRORS[code] ?? code;
}

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
    } catch (e) {
      if (isSymlink(p)) throw new UsageError(`${p} is a symbolic link to nothing`);
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(code === 'ENOENT' ? `no such file or directory: ${p}` : `cannot read ${p}: ${describeFileError(code)}`);
    }
    if (stat.isDirectory()) {
      const found = walk(p);
      if (found.length === 0) throw new UsageError(`no .rule files in ${p}`);
      out.push(...found);
      for (const f of found) fromFolders.add(f);
    } else {
      if (!stat.isFile()) throw new UsageError(`${p} is not a file or a folder`);
      if (extname(p) !== '.rule') throw new UsageError(`${p} is not a .rule file`);
      out.push(p);
      named.add(p);
    }
  }
  for (const f of named) fromFolders.delete(f);
  return { files: [...new Set(out)], fromFolders };
}

function walk(dir: string, seen = new Set<string>()): string[] {
  const out: string[] = [];
  // A link back up the tree would walk forever: each real folder is walked once.
  const real = realpathSync(dir);
  if (seen.has(real)) return out;
  seen.add(real);
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    let kind: { isDirectory(): boolean; isFile(): boolean } = entry;
    if (entry.isSymbolicLink()) {
      // A link counts as what it points to; a link to nothing named like a rule is a mistake worth saying.
      try {
        kind = statSync(path);
      } catch {
        if (extname(entry.name) === '.rule') throw new UsageError(`${path} is a symbolic link to nothing`);
        continue;
      }
    }
    if (kind.isDirectory()) out.push(...walk(path, seen));
    else if (kind.isFile() && extname(entry.name) === '.rule') out.push(path);
  }
  return out;
}

/**
 * Makes sure `dir` is a folder rules can write into, creating what is missing one level at a
 * time, before any compiling: a file in the way, a symbolic link to nothing or a read-only place
 * is a usage error now, not a stack trace later. (`mkdir -p` under /proc spins forever.)
 */
export function prepareOutputDir(dir: string): void {
  const target = resolve(dir);
  const shown = dir === target ? dir : `${dir} (${target})`;
  const { root } = parse(target);
  let current = root;
  for (const part of target.slice(root.length).split(sep).filter(Boolean)) {
    current = join(current, part);
    let stat;
    try {
      stat = statSync(current);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new UsageError(`cannot use the output folder ${shown}: ${current}: ${describeFileError(code)}`);
      if (isSymlink(current)) throw new UsageError(`cannot use the output folder ${shown}: ${current} is a symbolic link to nothing`);
      try {
        mkdirSync(current);
      } catch (e2) {
        throw new UsageError(`cannot create the output folder ${shown}: ${current}: ${describeFileError((e2 as NodeJS.ErrnoException).code)}`);
      }
      continue;
    }
    if (!stat.isDirectory()) throw new UsageError(`cannot use the output folder ${shown}: ${current} is not a folder`);
  }
  try {
    accessSync(target, constants.W_OK);
  } catch {
    throw new UsageError(`cannot write into the output folder ${shown}: permission denied`);
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

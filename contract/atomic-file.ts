// One crash-safe file write for every layer: a temporary file in the same folder renamed over the target, so a
// reader or a crash sees the old file or the new one, whole; `durable` also makes the new one survive power loss.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o666 less the umask). */
  mode?: number;
  /**
   * Flush the file and its folder to the disk before returning (default true): device state and keys need it;
   * build outputs, which the same source always reproduces, can skip it.
   */
  durable?: boolean;
}

export function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  const { mode, durable = true } = options;
  const temp = `${path}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  // A temporary file left by a crashed writer with the same pid would keep its old mode: start afresh.
  rmSync(temp, { force: true });
  try {
    const fd = openSync(temp, 'wx', mode ?? 0o666);
    try {
      if (mode !== undefined) fchmodSync(fd, mode); // exactly `mode`, whatever the umask
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  // The rename lives in the folder's entries: without this, power loss can bring the old file back.
  if (durable) {
    const folder = openSync(dirname(path), 'r');
    try {
      fsyncSync(folder);
    } finally {
      closeSync(folder);
    }
  }
}

// A fault-injecting serial relay: a program between two pseudo-terminals that drops, corrupts and delays
// bytes and cuts the link. socat gives it the client's pty on stdin/stdout; it opens the board's pty itself:
//   socat pty,raw,echo=0,link=CLIENT SYSTEM:"node fault-relay.js --board /dev/pts/N [faults]"
// Faults (a seeded PRNG makes every run the same): --drop P and --corrupt P (per byte, both directions),
// --delay MS (each chunk held up to MS, order kept), --stall-after N --stall-ms MS (after N bytes towards
// the board, forward nothing for MS), --cut-after N (after N bytes towards the board, exit: the link is gone).
import { closeSync, constants, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { prng } from '../../bench/prng.js';
import { ReadStream } from 'node:tty';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const boardPath = process.argv[process.argv.indexOf('--board') + 1];
const statsPath = process.argv.includes('--stats') ? process.argv[process.argv.indexOf('--stats') + 1] : null;
const drop = arg('--drop', 0);
const corrupt = arg('--corrupt', 0);
const delay = arg('--delay', 0);
const stallAfter = arg('--stall-after', -1);
const stallMs = arg('--stall-ms', 0);
const cutAfter = arg('--cut-after', -1);
const seed = arg('--seed', 1);

/** Seeded, so a failing run can be repeated: which bytes to damage. */
const random = prng(seed);

const stats = { toBoard: 0, toClient: 0, dropped: 0, corrupted: 0 };
let stalledUntil = 0;
let stalled = false;

function saveStats(): void {
  if (!statsPath) return;
  // Atomically: the test may read it at any moment.
  writeFileSync(`${statsPath}.tmp`, JSON.stringify(stats));
  renameSync(`${statsPath}.tmp`, statsPath);
}

function damage(chunk: Buffer): Buffer {
  const before = stats.dropped + stats.corrupted;
  const out: number[] = [];
  for (const byte of chunk) {
    if (drop > 0 && random() < drop) { stats.dropped++; continue; }
    if (corrupt > 0 && random() < corrupt) { stats.corrupted++; out.push(byte ^ (1 << Math.floor(random() * 8))); continue; }
    out.push(byte);
  }
  if (stats.dropped + stats.corrupted !== before) saveStats();
  return Buffer.from(out);
}

/** Delivers chunks in order, each after a random delay of up to `delay` ms. */
function pipeline(write: (b: Buffer) => void): (b: Buffer) => void {
  let last = 0;
  return (b) => {
    if (delay <= 0) return write(b);
    const at = Math.max(Date.now() + random() * delay, last);
    last = at;
    setTimeout(() => write(b), at - Date.now());
  };
}

saveStats();
const boardFd = openSync(boardPath, constants.O_RDWR | constants.O_NOCTTY);
const fromBoard = new ReadStream(boardFd);
const writeAll = (fd: number, b: Buffer) => { let n = 0; while (n < b.length) n += writeSync(fd, b, n); };
const toBoard = pipeline((b) => { try { writeAll(boardFd, b); } catch { /* the board went away */ } });
const toClient = pipeline((b) => { try { writeAll(1, b); } catch { /* the client went away */ } });

function report(): void {
  saveStats();
  process.stderr.write(`fault-relay: ${JSON.stringify(stats)}\n`);
}

process.stdin.on('data', (chunk: Buffer) => {
  if (cutAfter >= 0 && stats.toBoard + chunk.length > cutAfter) {
    // Forward what fits, then the cable is pulled.
    const part = chunk.subarray(0, cutAfter - stats.toBoard);
    stats.toBoard += part.length;
    if (part.length) writeAll(boardFd, damage(part));
    report();
    closeSync(boardFd);
    process.exit(0);
  }
  if (stallAfter >= 0 && !stalled && stats.toBoard + chunk.length > stallAfter) {
    stalled = true;
    stalledUntil = Date.now() + stallMs;
  }
  stats.toBoard += chunk.length;
  if (Date.now() < stalledUntil) return;
  toBoard(damage(chunk));
});
fromBoard.on('data', (chunk: Buffer) => {
  stats.toClient += chunk.length;
  if (Date.now() < stalledUntil) return;
  toClient(damage(chunk));
});
fromBoard.on('error', () => { report(); process.exit(0); });
process.stdin.on('end', () => { report(); process.exit(0); });
process.on('SIGTERM', () => { report(); process.exit(0); });

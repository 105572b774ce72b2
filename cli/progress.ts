// Progress on stderr for builds and tests that take over a second: shown only on a terminal,
// never with --json. Compiling a file blocks the event loop, so there is no timer: the line is
// drawn when a file starts, once the run has taken a second, or at once for a file big enough
// to be slow on its own.

export interface ProgressStream { isTTY?: boolean; write(text: string): unknown }

/** Files above this size may take a second or more on their own (code generation grows with size). */
export const SLOW_FILE_BYTES = 4096;
const AFTER_MS = 1000;

export class Progress {
  private readonly enabled: boolean;
  private readonly started: number;
  private shown = false;

  constructor(
    private readonly total: number, private readonly label: string, quiet: boolean,
    private readonly stream: ProgressStream = process.stderr, private readonly clock: () => number = Date.now,
  ) {
    this.enabled = !quiet && stream.isTTY === true;
    this.started = clock();
  }

  /** Before a file: says which one is under way, when the wait is worth a line. */
  starting(done: number, file: string, bytes: number): void {
    if (!this.enabled || (this.clock() - this.started < AFTER_MS && bytes <= SLOW_FILE_BYTES)) return;
    this.draw(done, file);
  }

  /** After a file. */
  update(done: number): void {
    if (!this.enabled || this.clock() - this.started < AFTER_MS) return;
    this.draw(done, '');
  }

  private draw(done: number, file: string): void {
    const width = 24;
    const filled = Math.round((done / Math.max(1, this.total)) * width);
    const seconds = ((this.clock() - this.started) / 1000).toFixed(1);
    const name = file.length > 40 ? `...${file.slice(-37)}` : file;
    this.stream.write(`\r\x1b[K${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${seconds}s ${name}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

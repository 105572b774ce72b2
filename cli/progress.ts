// A progress bar on stderr for work over many files; shown only on a terminal, never with --json.

export class Progress {
  private readonly enabled: boolean;
  private readonly started = Date.now();
  private shown = false;

  constructor(private readonly total: number, private readonly label: string, quiet: boolean) {
    this.enabled = !quiet && process.stderr.isTTY === true && total > 1;
  }

  /** Draws the bar once the work has taken long enough to be worth one. */
  update(done: number): void {
    if (!this.enabled || Date.now() - this.started < 300) return;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}

// One collector for every compiler phase: problems are recorded with a stable code and a
// source range, never thrown. Only the CLI turns them into text.

export type Severity = 'error' | 'warning';

/** A half-open range of character offsets into the source, with 1-based line/column of its start. */
export interface Span {
  start: number;
  end: number;
  line: number;
  column: number;
}

export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  span: Span | null;
  hint?: string;
  /** Extra lines shown under the hint (size breakdowns, counterexamples). */
  notes?: string[];
}

export class Diagnostics {
  readonly items: Diagnostic[] = [];

  error(code: string, span: Span | null, message: string, hint?: string, notes?: string[]): void {
    this.items.push({ code, severity: 'error', message, span, hint, notes });
  }

  warning(code: string, span: Span | null, message: string, hint?: string): void {
    this.items.push({ code, severity: 'warning', message, span, hint });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === 'error').length;
  }

  /** Diagnostics in source order, errors before warnings at the same place. */
  sorted(): Diagnostic[] {
    return [...this.items].sort((a, b) => (a.span?.start ?? -1) - (b.span?.start ?? -1)
      || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  }
}

/** Computes line and column (1-based) for offsets into one source text. */
export class SourceMap {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  span(start: number, end: number): Span {
    const { line, column } = this.position(start);
    return { start, end, line, column };
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, '');
  }
}

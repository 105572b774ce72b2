// Turns diagnostics into text for people (file:line:col, the line, a caret, a hint) and into
// plain data for --json. The only place diagnostics are formatted.
import { SourceMap, type Diagnostic } from '../compiler/diagnostics.js';
import { paint } from './output.js';

export interface DiagnosticJson {
  file: string;
  code: string;
  severity: string;
  message: string;
  line: number | null;
  column: number | null;
  endLine: number | null;
  endColumn: number | null;
  hint: string | null;
  notes: string[];
}

// Control characters (C0, DEL, C1) and the bidirectional overrides that can make a line read
// differently from what it is: never written raw to a terminal.
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Shows unprintable characters as escapes (`\x1b`, `\u202e`), so a message stays one readable line. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function diagnosticToJson(file: string, source: string, d: Diagnostic): DiagnosticJson {
  const end = d.span ? new SourceMap(source).position(d.span.end) : null;
  return {
    file, code: d.code, severity: d.severity, message: d.message,
    line: d.span?.line ?? null, column: d.span?.column ?? null,
    endLine: end?.line ?? null, endColumn: end?.column ?? null,
    hint: d.hint ?? null, notes: d.notes ?? [],
  };
}

export function formatDiagnostic(file: string, source: string, d: Diagnostic): string {
  const lines: string[] = [];
  const severity = paint(`${d.severity}[${d.code}]`, d.severity === 'error' ? 'red' : 'yellow', 'bold');
  const message = paint(escapeUnprintable(d.message), 'bold');
  const shownFile = escapeUnprintable(file);
  if (!d.span) {
    lines.push(`${shownFile}: ${severity}: ${message}`);
  } else {
    const map = new SourceMap(source);
    const { line, column } = d.span;
    lines.push(`${paint(`${shownFile}:${line}:${column}`, 'bold')}: ${severity}: ${message}`);
    const raw = map.lineText(line).replace(/\t/g, ' ');
    const gutter = String(line).length;
    const endOnLine = Math.min(map.position(d.span.end).line === line ? map.position(d.span.end).column : raw.length + 1, raw.length + 1);
    // Columns count characters of the source; escapes widen the line, so the caret moves with them.
    const before = escapeUnprintable(raw.slice(0, column - 1)).length;
    const width = Math.max(1, escapeUnprintable(raw.slice(column - 1, Math.max(column - 1, endOnLine - 1))).length);
    const bar = paint('|', 'cyan');
    lines.push(`${' '.repeat(gutter)} ${bar}`);
    lines.push(`${paint(String(line), 'cyan')} ${bar} ${escapeUnprintable(raw)}`);
    lines.push(`${' '.repeat(gutter)} ${bar} ${' '.repeat(before)}${paint('^'.repeat(width), d.severity === 'error' ? 'red' : 'yellow', 'bold')}`);
  }
  const pad = d.span ? ' '.repeat(String(d.span.line).length) : '';
  if (d.hint) lines.push(`${pad} = ${paint('hint', 'cyan', 'bold')}: ${escapeUnprintable(d.hint)}`);
  for (const note of d.notes ?? []) lines.push(`${pad} = ${paint('note', 'bold')}: ${escapeUnprintable(note)}`);
  return lines.join('\n');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

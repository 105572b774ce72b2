// Turns diagnostics into text for people (file:line:col, the line, a caret, a hint) and into
// plain data for --json. The only place diagnostics are formatted.
import { SourceMap, type Diagnostic } from '../compiler/diagnostics.js';

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
  if (!d.span) {
    lines.push(`${file}: ${d.severity}[${d.code}]: ${d.message}`);
  } else {
    const map = new SourceMap(source);
    const { line, column } = d.span;
    lines.push(`${file}:${line}:${column}: ${d.severity}[${d.code}]: ${d.message}`);
    const text = map.lineText(line).replace(/\t/g, ' ');
    const gutter = String(line).length;
    const endOnLine = Math.min(map.position(d.span.end).line === line ? map.position(d.span.end).column : text.length + 1, text.length + 1);
    const width = Math.max(1, endOnLine - column);
    lines.push(`${' '.repeat(gutter)} |`);
    lines.push(`${line} | ${text}`);
    lines.push(`${' '.repeat(gutter)} | ${' '.repeat(column - 1)}${'^'.repeat(width)}`);
  }
  const pad = d.span ? ' '.repeat(String(d.span.line).length) : '';
  if (d.hint) lines.push(`${pad} = hint: ${d.hint}`);
  for (const note of d.notes ?? []) lines.push(`${pad} = note: ${note}`);
  return lines.join('\n');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// Turns rule source text into tokens. Newlines are tokens because they end statements;
// comments and other whitespace are dropped. Bad characters and literals become diagnostics.
import { Diagnostics, SourceMap, type Span } from './diagnostics.js';

export type TokenKind =
  | 'ident' | 'keyword' | 'int' | 'float' | 'duration' | 'string'
  | 'punct' | 'newline' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  span: Span;
  /** Numeric value of int, float and duration (in ms) tokens. */
  value?: number;
}

/** Reserved everywhere: they start statements or are values. */
export const KEYWORDS = new Set([
  'let', 'var', 'if', 'else', 'for', 'repeat', 'return', 'true', 'false', 'now', 'result',
]);

/**
 * Keywords only in one position (the start of a header line or a declaration, after `on`, `for x`,
 * `if c` or `tick`, or a statement in a test): they lex as names, so they are names everywhere else.
 */
export const CONTEXTUAL_KEYWORDS = new Set([
  'rule', 'uses', 'every', 'requires', 'ensures', 'targets', 'const', 'state', 'fn', 'on', 'tick', 'test',
  'then', 'in', 'expect', 'at',
]);

/** Built-in names: reserved, so a user name never hides one. */
export const BUILTINS = new Set([
  'sensor', 'gpio', 'gpio_in', 'gpio_out', 'min', 'max', 'abs', 'clamp', 'div', 'int', 'float', 'bool',
]);

const PUNCTUATION = [
  '..', '->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||',
  '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '=', '(', ')', '{', '}', ',', ':', ';',
];

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const INT32_MAX = 2147483647;

export function lex(text: string, map: SourceMap, diagnostics: Diagnostics): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, value?: number) =>
    tokens.push({ kind, text: text.slice(start, i), span: map.span(start, i), value });

  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (c === '\n') {
      i++;
      push('newline', start);
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++;
      const word = text.slice(start, i);
      push(KEYWORDS.has(word) ? 'keyword' : 'ident', start);
    } else if (/[0-9]/.test(c)) {
      lexNumber(start);
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i++;
      if (text[i] !== '"') {
        diagnostics.error('E0103', map.span(start, i), 'this string is not closed before the end of the line',
          'close it with a double quote `"`');
        push('string', start);
      } else {
        i++;
        push('string', start);
      }
    } else {
      const p = PUNCTUATION.find((q) => text.startsWith(q, i));
      if (p) {
        i += p.length;
        push('punct', start);
      } else {
        i++;
        diagnostics.error('E0101', map.span(start, i), `unexpected character \`${c}\``,
          'rules use ASCII letters, digits, operators and `#` comments');
      }
    }
  }
  tokens.push({ kind: 'eof', text: '', span: map.span(text.length, text.length) });
  return tokens;

  function lexNumber(start: number): void {
    let kind: 'int' | 'float' = 'int';
    let value: number;
    if (text[i] === '0' && /[xXbB]/.test(text[i + 1] ?? '')) {
      const hex = /[xX]/.test(text[i + 1]);
      i += 2;
      const digitsStart = i;
      const digit = hex ? /[0-9A-Fa-f_]/ : /[01_]/;
      while (i < text.length && digit.test(text[i])) i++;
      const digits = text.slice(digitsStart, i).replace(/_/g, '');
      value = digits.length ? parseInt(digits, hex ? 16 : 2) : NaN;
    } else {
      while (i < text.length && /[0-9_]/.test(text[i])) i++;
      if (text[i] === '.' && /[0-9]/.test(text[i + 1] ?? '')) {
        kind = 'float';
        i++;
        while (i < text.length && /[0-9_]/.test(text[i])) i++;
      }
      if (/[eE]/.test(text[i] ?? '') && /[0-9]/.test((/[+-]/.test(text[i + 1] ?? '') ? text[i + 2] : text[i + 1]) ?? '')) {
        kind = 'float';
        i += /[+-]/.test(text[i + 1]) ? 2 : 1;
        while (i < text.length && /[0-9]/.test(text[i])) i++;
      }
      value = Number(text.slice(start, i).replace(/_/g, ''));
    }
    // A number glued to letters is either a duration (`250ms`) or a mistake.
    const suffixStart = i;
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++;
    const suffix = text.slice(suffixStart, i);
    if (suffix) {
      if (kind === 'int' && suffix in DURATION_UNITS) {
        push('duration', start, value * DURATION_UNITS[suffix]);
      } else {
        diagnostics.error('E0102', map.span(start, i), `malformed number \`${text.slice(start, i)}\``,
          'durations use ms, s, m or h (e.g. `250ms`); separate a number from a name with a space');
        push(kind, start, 0);
      }
      return;
    }
    if (Number.isNaN(value)) {
      diagnostics.error('E0102', map.span(start, i), `malformed number \`${text.slice(start, i)}\``,
        'write digits after 0x or 0b');
      value = 0;
    } else if (kind === 'int' && value > INT32_MAX + 1) {
      // INT32_MAX + 1 is allowed here so that `-2147483648` works; the parser checks the sign.
      diagnostics.error('E0104', map.span(start, i), `integer literal ${text.slice(start, i)} does not fit in 32 bits`,
        'int values range from -2147483648 to 2147483647');
      value = 0;
    } else if (kind === 'float' && !Number.isFinite(Math.fround(value))) {
      diagnostics.error('E0105', map.span(start, i), `float literal ${text.slice(start, i)} is out of the float range`,
        'float is 32-bit IEEE-754: magnitudes up to about 3.4e38');
      value = 0;
    }
    push(kind, start, value);
  }
}

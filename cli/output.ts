// How this run prints: colour (on a terminal only, off with NO_COLOR or --no-color) and the cap
// on errors shown per file. Set once from the global options; read by every command's printing.

export interface OutputSettings {
  color: boolean;
  /** Diagnostics shown per file before "and N more"; 0 shows them all. */
  maxErrors: number;
}

export const DEFAULT_MAX_ERRORS = 20;

export const output: OutputSettings = { color: false, maxErrors: DEFAULT_MAX_ERRORS };

/** Colour only when asked for, or on a terminal with NO_COLOR unset (https://no-color.org). */
export function colorWanted(flag: boolean | undefined, stream: { isTTY?: boolean } = process.stdout): boolean {
  if (flag !== undefined) return flag;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && process.env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
export type Style = keyof typeof CODES;

export function paint(text: string, ...styles: Style[]): string {
  if (!output.color || styles.length === 0 || text === '') return text;
  return `\x1b[${styles.map((s) => CODES[s]).join(';')}m${text}\x1b[0m`;
}

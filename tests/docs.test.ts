// Docs that cannot drift: every command shown in README.md and docs/*.md runs, and its output is
// compared with what the docs show; every rule shown as a file is that file; every diagnostic
// shown in docs/diagnostics.md gives the hint the compiler gives (through the golden cases).
//
// The convention (docs/contributing-docs.md):
// - a fenced block whose first line starts with `$ rules ` or `$ npx rules ` is a session: each
//   `$` line runs from the repository root (in a scratch copy, so builds land there) and the
//   lines under it must equal its output (stdout and stderr as they interleave); a line `...`
//   stands for any number of lines. Commands of one page run in order, in one scratch copy.
// - ```console no-run (or sh no-run) marks a session that needs hardware or a device: not run.
// - `<!-- file: PATH -->` just before a block says the block is that file, byte for byte.
import test from 'ava';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliPath, goldenDir, repoRoot } from './support/paths.js';
import { withoutColor } from './support/cli.js';

interface Block { info: string; lines: string[]; line: number; file: string | null }

export function blocksOf(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const before = lines.slice(Math.max(0, i - 2), i).map((l) => /<!--\s*file:\s*(\S+)\s*-->/.exec(l)?.[1]).find(Boolean) ?? null;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) body.push(lines[j++].slice(indent));
    out.push({ info: open[2].trim(), lines: body, line: i + 1, file: before });
    i = j;
  }
  return out;
}

const PAGES = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

function isSession(b: Block): boolean {
  return /^\$ (npx )?rules( |$)/.test(b.lines[0] ?? '');
}

function runnable(b: Block): boolean {
  return isSession(b) && !/\bno-run\b/.test(b.info);
}

/** Splits a command line like a shell would for the simple words docs use: spaces and quotes. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** A scratch copy of the repository: links to everything but build/, so what commands write lands here. */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-docs-'));
  for (const entry of readdirSync(repoRoot)) {
    if (entry === 'build' || entry === '.git') continue;
    symlinkSync(join(repoRoot, entry), join(dir, entry));
  }
  return dir;
}

/** Runs one `$ ...` line; stdout and stderr share one file so they interleave as on a terminal. */
function run(command: string, cwd: string): { output: string; code: number } {
  const argv = words(command.replace(/^\$ /, ''));
  if (argv[0] === 'npx') argv.shift();
  if (argv[0] !== 'rules') throw new Error(`not a rules command: ${command}`);
  const outFile = join(mkdtempSync(join(tmpdir(), 'rules-docs-out-')), 'out');
  const fd = openSync(outFile, 'w');
  const r = spawnSync(process.execPath, [cliPath, ...argv.slice(1)], { cwd, stdio: ['ignore', fd, fd], env: withoutColor({ NO_COLOR: '1' }), timeout: 120_000 });
  closeSync(fd);
  return { output: readFileSync(outFile, 'utf8'), code: r.status ?? -1 };
}

/** Expected lines against actual ones; `...` matches any run of lines. */
export function matches(expected: string[], actual: string[]): boolean {
  const trim = (s: string) => s.trimEnd();
  const go = (i: number, j: number): boolean => {
    if (i === expected.length) return j === actual.length;
    if (expected[i].trim() === '...') {
      for (let k = j; k <= actual.length; k++) if (go(i + 1, k)) return true;
      return false;
    }
    return j < actual.length && trim(expected[i]) === trim(actual[j]) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

for (const page of PAGES) {
  const blocks = blocksOf(readFileSync(join(repoRoot, page), 'utf8'));
  const sessions = blocks.filter(runnable);
  if (sessions.length > 0) {
    test(`${page}: every command shown gives the output shown`, (t) => {
      const cwd = sandbox();
      for (const block of sessions) {
        let k = 0;
        while (k < block.lines.length) {
          const command = block.lines[k++];
          const expected: string[] = [];
          while (k < block.lines.length && !block.lines[k].startsWith('$ ')) expected.push(block.lines[k++]);
          while (expected.length && expected[expected.length - 1].trim() === '') expected.pop();
          const { output } = run(command, cwd);
          const actual = output.replace(/\n+$/, '').split('\n');
          if (output.trim() === '') actual.length = 0;
          t.true(matches(expected, actual), `${page}:${block.line}: \`${command}\` printed:\n${output}\nthe page shows:\n${expected.join('\n')}`);
        }
      }
    });
  }
  const files = blocks.filter((b) => b.file !== null);
  if (files.length > 0) {
    test(`${page}: every block marked as a file is that file`, (t) => {
      for (const b of files) {
        const path = join(repoRoot, b.file!);
        t.true(existsSync(path), `${page}:${b.line}: ${b.file} does not exist`);
        if (existsSync(path)) t.is(b.lines.join('\n') + '\n', readFileSync(path, 'utf8'), `${page}:${b.line}: the block differs from ${b.file}`);
      }
    });
  }
}

/** Diagnostics the compiler really gives, by code, from the golden cases (checked by golden.test.ts). */
function goldenDiagnostics(): Map<string, { message: string; hints: string[] }[]> {
  const byCode = new Map<string, { message: string; hints: string[] }[]>();
  for (const f of readdirSync(goldenDir).filter((f) => f.endsWith('.expected'))) {
    let current: { message: string; hints: string[] } | null = null;
    for (const line of readFileSync(join(goldenDir, f), 'utf8').split('\n')) {
      const d = /(?:error|warning)\[([EW]\d{4})\]: (.*)$/.exec(line);
      if (d) {
        current = { message: d[2], hints: [] };
        byCode.set(d[1], [...(byCode.get(d[1]) ?? []), current]);
      }
      const h = /^\s*= hint: (.*)$/.exec(line);
      if (h && current) current.hints.push(h[1]);
    }
  }
  return byCode;
}

/** The shape of a message: names in backticks, numbers and target names may differ from case to case. */
function shape(text: string): string {
  return text.replace(/`[^`]*`/g, '`_`').replace(/-?\d[\d_]*(\.\d+)?/g, 'N').replace(/\b(rpi|stm32|nrf5340)\b/g, 'T').replace(/"[^"]*"/g, '"_"');
}

test('docs/diagnostics.md: every hint shown is the one the compiler gives', (t) => {
  const golden = goldenDiagnostics();
  const blocks = blocksOf(readFileSync(join(repoRoot, 'docs', 'diagnostics.md'), 'utf8'));
  let checked = 0;
  for (const b of blocks) {
    for (const [i, line] of b.lines.entries()) {
      const d = /(?:error|warning)\[([EW]\d{4})\]: (.*)$/.exec(line);
      if (!d) continue;
      const real = golden.get(d[1]);
      if (!real) continue;
      // Messages name what the example holds (operators, types), so their wording varies by case; hints
      // are the compiler's advice for the code, and must read as one of those it gives.
      const hint = /^\s*= hint: (.*)$/.exec(b.lines[i + 1] ?? '')?.[1];
      if (hint === undefined) continue;
      const hints = real.flatMap((r) => r.hints);
      if (hints.length === 0) continue;
      checked++;
      t.true(hints.some((h) => h === hint || shape(h) === shape(hint)),
        `docs/diagnostics.md:${b.line + i + 2}: ${d[1]}'s hint reads "${hint}"; the compiler's is "${hints[0]}"`);
    }
  }
  t.true(checked >= 30, `only ${checked} hints checked`);
});

test('the docs-drift check can fail: a wrong output and a wrong file are caught', (t) => {
  t.false(matches(['fan_control: 98/160 B'], ['fan_control: 108/160 B']));
  t.true(matches(['a', '...', 'z'], ['a', 'b', 'c', 'z']));
  t.false(matches(['a', '...', 'z'], ['a', 'b']));
  const [b] = blocksOf('<!-- file: x.rule -->\n```\nrule x\n```\n');
  t.is(b.file, 'x.rule');
  t.deepEqual(b.lines, ['rule x']);
});

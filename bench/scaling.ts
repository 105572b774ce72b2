// How compile time grows with a rule's size, up to the point where the compiler refuses a rule as
// too large for any target (E0509), and what a refusal costs beyond it. Linear growth shows as a
// steady time per operation; the peer of each row is the smallest rule, measured in the same run.
import { performance } from 'node:perf_hooks';
import { codeOperations, compile, analyze, maxOperations } from '../compiler/index.js';

/** A rule of `n` guarded statements, each a comparison, an addition and an assignment to state. */
export function ruleOfSize(n: number): string {
  const lines = Array.from({ length: n }, (_, i) => `  if sensor(${i % 4}) > ${i * 7} { s = s + ${i + 1} }`);
  return `rule sized\nuses sensor(0..3), gpio_out(1)\nstate s = 0\non tick {\n${lines.join('\n')}\n  gpio(1) = s > 3\n}\n`;
}

export async function compileScaling(quick: boolean): Promise<string> {
  const limit = maxOperations();
  const sizes = quick ? [4, 16, 64, 128, 1000] : [4, 8, 16, 32, 64, 96, 128, 132, 200, 1000, 5000];
  const rounds = quick ? 1 : 3;
  await compile(ruleOfSize(4), { target: 'rpi' });
  const rows: { n: number; ops: number; bytes: number; ms: number; codes: string }[] = [];
  for (const n of sizes) {
    const source = ruleOfSize(n);
    const checked = analyze(source, { target: 'rpi' });
    const ops = checked.rule ? codeOperations(checked.rule) : 0;
    let best = Infinity;
    let codes = '';
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const result = await compile(source, { target: 'rpi' });
      best = Math.min(best, performance.now() - t0);
      codes = [...new Set(result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code))].join(' ') || 'built';
    }
    rows.push({ n, ops, bytes: source.length, ms: best, codes });
  }
  const base = rows[0].ms / rows[0].ops;
  const out = [
    `## Compile time against rule size (target rpi; refused above ${limit} operations)\n`,
    '| statements | operations | source (B) | compile (ms) | per operation (ms) | vs smallest | outcome |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.n} | ${r.ops} | ${r.bytes} | ${r.ms.toFixed(1)} | ${(r.ms / r.ops).toFixed(3)} | ${(r.ms / r.ops / base).toFixed(2)} | ${r.codes} |`),
    '',
    `Best of ${rounds}. Rows over the limit stop before code generation (E0509); the size notes of E0501 rebuild at most the 8 biggest statements, so they stay linear too.\n`,
  ];
  return out.join('\n');
}

// The tick benchmark cannot rot unnoticed: its quick run takes every example through the C host, the engine's live
// path and its batched path, and bench/run.ts stops with an error when any of them computes another checksum.
// Nothing here is timed: the figures are the bench's business (npm run bench), not the suite's.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeScriptAsync } from './support/cli.js';
import { repoRoot, rulesDir } from './support/paths.js';

test('the tick bench runs every example on the C host, run() and runBatch(), and all three agree', async (t) => {
  t.timeout(5 * 60_000);
  const { code, stdout, stderr } = await nodeScriptAsync(join(repoRoot, 'dist', 'bench', 'run.js'), ['--sections', 'tick', '--quick'],
    { cwd: repoRoot });
  t.is(code, 0, `the bench failed:\n${stderr}${stdout}`);
  t.regex(stdout, /All three agree on a checksum of 500 ticks\./);

  const examples = readdirSync(rulesDir).filter((f) => f.endsWith('.rule')).map((f) => f.slice(0, -'.rule'.length)).sort();
  const rows = stdout.split('\n').filter((line) => /^\| [a-z0-9_]+ \| (rpi|stm32|nrf5340) \|/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  t.deepEqual(rows.map((cells) => cells[0]).sort(), examples, 'one row per example rule');
  for (const cells of rows) {
    // C host, live and batched ns per tick, and the two ratios: measured numbers, whatever their size.
    for (const column of [3, 4, 5, 6, 7]) {
      const value = Number(cells[column]);
      t.true(Number.isFinite(value) && value > 0, `${cells[0]}: column ${column + 1} is ${cells[column]}`);
    }
  }
  t.regex(stdout, /^batched\/C host: geometric mean [\d.]+, worst [\d.]+ \([a-z0-9_]+\): /m);
});

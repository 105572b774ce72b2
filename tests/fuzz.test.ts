// Short libFuzzer runs (ASan + UBSan) of the device host's C parsers: framing, bundles, the module verifier, the SMP server.
// A few seconds each in the suite; scripts/fuzz.sh runs them longer (figures in the README).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './support/paths.js';

const SECONDS = 4;

test.serial('the C parsers survive a short fuzzing run under ASan and UBSan', (t) => {
  const r = spawnSync(join(repoRoot, 'scripts', 'fuzz.sh'), [String(SECONDS)], { encoding: 'utf8', timeout: 10 * 60_000 });
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  for (const target of ['frame', 'bundle', 'verify', 'smp']) {
    const line = new RegExp(`^fuzz-${target}: ${SECONDS}s, (\\d+) runs, .* no crash$`, 'm').exec(r.stdout);
    t.truthy(line, r.stdout);
    t.true(Number(line?.[1]) > 100, `fuzz-${target} ran ${line?.[1]} inputs`);
  }
});

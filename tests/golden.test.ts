// Golden tests of diagnostics: each tests/golden/*.rule must report exactly the text in its
// .expected file, and at least the diagnostic code its name starts with. UPDATE_GOLDEN=1 rewrites them;
// a case without its .expected file fails. `# target: NAME` picks a built-in target, `# profile: FILE`
// a user profile from tests/golden/profiles/.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { compile } from '../compiler/index.js';
import { loadProfileFile } from '../contract/targets.js';
import { formatDiagnostic } from '../cli/format.js';
import { goldenDir, repoRoot } from './support/paths.js';

const files = readdirSync(goldenDir).filter((f) => f.endsWith('.rule')).sort();

test('there is a golden case for every diagnostic code the compiler reports', (t) => {
  const reported = new Set<string>();
  for (const dir of ['compiler', 'cli']) {
    for (const f of readdirSync(join(repoRoot, dir)).filter((n) => n.endsWith('.ts'))) {
      for (const m of readFileSync(join(repoRoot, dir, f), 'utf8').matchAll(/'([EW]\d{4})'/g)) reported.add(m[1]);
    }
  }
  const covered = new Set(files.map((f) => /^([EW]\d{4})-/.exec(f)?.[1]).filter(Boolean));
  // Not about one rule's text: E0001..E0003 (a file that cannot be read, is not text or is too big) and E0701 (two rules
  // with one name) are tested by the CLI tests.
  const elsewhere = new Set(['E0001', 'E0002', 'E0003', 'E0701']);
  t.true(reported.size >= 60, `only ${reported.size} codes found in the sources`);
  t.deepEqual([...reported].filter((c) => !covered.has(c) && !elsewhere.has(c)).sort(), []);
});

for (const file of files) {
  test(`diagnostics of ${file}`, async (t) => {
    const path = join(goldenDir, file);
    const source = readFileSync(path, 'utf8');
    const profile = /^# profile: ([\w.-]+)/m.exec(source)?.[1];
    const target = profile ? loadProfileFile(join(goldenDir, 'profiles', profile)) : /^# target: (\w+)/.exec(source)?.[1] ?? 'rpi';
    const display = `tests/golden/${file}`;
    const result = await compile(source, { target, file: display });
    const text = result.diagnostics.map((d) => formatDiagnostic(display, source, d)).join('\n\n') + '\n';
    const expectedPath = join(goldenDir, `${basename(file, '.rule')}.expected`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedPath, text);
    if (!existsSync(expectedPath)) {
      t.fail(`tests/golden/${basename(expectedPath)} is missing; write it with UPDATE_GOLDEN=1 and check it by eye. It would be:\n${text}`);
      return;
    }
    t.is(text, readFileSync(expectedPath, 'utf8'));
    const code = /^([EW]\d{4})-/.exec(file)?.[1];
    if (code) t.true(result.diagnostics.some((d) => d.code === code), `${file} should report ${code}`);
    else t.true(result.diagnostics.filter((d) => d.severity === 'error').length >= 2, 'expected several errors');
    if (code?.startsWith('E') || !code) t.is(result.artifact, undefined, 'a rule with errors must not produce an artifact');
    else t.truthy(result.artifact, 'warnings alone must not stop the build');
  });
}

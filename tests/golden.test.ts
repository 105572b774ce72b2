// Golden tests of diagnostics: each tests/golden/*.rule must report exactly the text in its
// .expected file, and at least the diagnostic code its name starts with. UPDATE_GOLDEN=1 rewrites them.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { compile } from '../compiler/index.js';
import { formatDiagnostic } from '../cli/format.js';
import { goldenDir } from './support/paths.js';

const files = readdirSync(goldenDir).filter((f) => f.endsWith('.rule')).sort();

test('there is a golden case for every kind of diagnostic', (t) => {
  t.true(files.length >= 60, `only ${files.length} golden cases`);
});

for (const file of files) {
  test(`diagnostics of ${file}`, async (t) => {
    const path = join(goldenDir, file);
    const source = readFileSync(path, 'utf8');
    const target = /^# target: (\w+)/.exec(source)?.[1] ?? 'rpi';
    const display = `tests/golden/${file}`;
    const result = await compile(source, { target, file: display });
    const text = result.diagnostics.map((d) => formatDiagnostic(display, source, d)).join('\n\n') + '\n';
    const expectedPath = join(goldenDir, `${basename(file, '.rule')}.expected`);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(expectedPath)) writeFileSync(expectedPath, text);
    t.is(text, readFileSync(expectedPath, 'utf8'));
    const code = /^([EW]\d{4})-/.exec(file)?.[1];
    if (code) t.true(result.diagnostics.some((d) => d.code === code), `${file} should report ${code}`);
    else t.true(result.diagnostics.filter((d) => d.severity === 'error').length >= 2, 'expected several errors');
    if (code?.startsWith('E') || !code) t.is(result.artifact, undefined, 'a rule with errors must not produce an artifact');
    else t.truthy(result.artifact, 'warnings alone must not stop the build');
  });
}

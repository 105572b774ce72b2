// Bad input never crashes the compiler: random text, and example rules with random edits, always come
// back as diagnostics (or an artifact), never as an exception.
import test from 'ava';
import fc from 'fast-check';
import { compile } from '../compiler/index.js';
import { examples } from './support/examples.js';

const sources = examples().map((e) => e.source);
const TOKENS = ['rule', 'uses', 'sensor(0)', 'gpio(1)', 'gpio_out(1)', 'on', 'tick', '{', '}', '(', ')', 'if', 'else',
  'then', 'for', 'in', '..', 'repeat', 'return', 'let', 'var', 'state', 'const', 'fn', '->', 'int', 'bool', 'float',
  '=', '==', '/', '%', '<<', '&&', '||', '!', '-', '0', '1', '-2147483648', '2147483648', '0x', '1.5e99', '"', '#',
  '\n', ';', ',', 'x', 'now', 'result', 'expect', 'test "t"', 'requires', 'ensures', 'every', '10ms', 'div', 'min'];

async function compilesWithoutThrowing(source: string): Promise<boolean> {
  for (const target of ['rpi', 'stm32']) {
    const result = await compile(source, { target });
    if (!result.artifact && !result.diagnostics.some((d) => d.severity === 'error')) return false;
  }
  return true;
}

test('random text gives diagnostics, not exceptions', async (t) => {
  await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200 }), compilesWithoutThrowing), { numRuns: 300, seed: 7 });
  t.pass();
});

test('random token soup gives diagnostics, not exceptions', async (t) => {
  const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((ts) => ts.join(' '));
  await fc.assert(fc.asyncProperty(soup, compilesWithoutThrowing), { numRuns: 400, seed: 11 });
  t.pass();
});

test('example rules with a random edit give diagnostics, not exceptions', async (t) => {
  const edited = fc.tuple(fc.constantFrom(...sources), fc.nat(), fc.nat({ max: 20 }), fc.constantFrom(...TOKENS))
    .map(([src, at, cut, insert]) => {
      const i = at % (src.length + 1);
      return src.slice(0, i) + insert + src.slice(Math.min(src.length, i + cut));
    });
  await fc.assert(fc.asyncProperty(edited, compilesWithoutThrowing), { numRuns: 300, seed: 13 });
  t.pass();
});

// A `}` at the top level stopped error recovery without moving on, and the parser looped forever.
test('regression: a stray closing brace at the top level is reported, not looped on', async (t) => {
  const result = await compile('rule r\n}\non tick { }\n}\n', { target: 'rpi' });
  t.true(result.diagnostics.some((d) => d.code === 'E0201'));
});

// Deep nesting used to recurse until the stack overflowed.
test('regression: deeply nested expressions and blocks are refused with E0214, not a stack overflow', async (t) => {
  for (const source of [
    `rule r\non tick { return ${'('.repeat(20_000)}1${')'.repeat(20_000)} }\n`,
    `rule r\non tick { return ${'-'.repeat(20_000)}1 }\n`,
    `rule r\non tick { ${'if true {'.repeat(5_000)}${'}'.repeat(5_000)} }\n`,
  ]) {
    const result = await compile(source, { target: 'rpi' });
    t.true(result.diagnostics.some((d) => d.code === 'E0214'));
  }
});

// A loop over the whole int range made the checker enumerate four billion channels.
test('regression: a loop far over the target limit is refused at once, before its body is enumerated', async (t) => {
  const result = await compile('rule r\nuses sensor(0)\non tick {\n  var s = 0\n  for i in -2147483648..2147483647 { s = s + sensor(i) }\n  return s\n}\n', { target: 'rpi' });
  t.true(result.diagnostics.some((d) => d.code === 'E0503'));
});

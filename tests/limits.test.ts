// Limits with no back door: every limit of a target profile is reached from every place code can live (the tick,
// a helper, a helper's helper, a `requires` line, a `for` loop) and refused there with the limit's error.
import test from 'ava';
import { compile } from '../compiler/index.js';

/** A rule that runs `payload` (statements on a `var v` and a reading `x`) from one place; `h1` and `h2` are helpers. */
const PLACES: Record<string, (payload: string) => string> = {
  'the tick body': (p) => `on tick {\n  let x = sensor(1)\n  var v = x\n  ${p}\n  gpio(1) = v > 3\n}`,
  'a helper the tick calls': (p) => `fn h1(x: int) -> int {\n  var v = x\n  ${p}\n  return v\n}\non tick { gpio(1) = h1(sensor(1)) > 3 }`,
  'a helper of a helper': (p) => `fn h1(x: int) -> int {\n  var v = x\n  ${p}\n  return v\n}\nfn h2(x: int) -> int { return h1(x) + 1 }\non tick { gpio(1) = h2(sensor(1)) > 3 }`,
  'a helper a `requires` calls': (p) => `requires h1(sensor(1)) != 7\nfn h1(x: int) -> int {\n  var v = x\n  ${p}\n  return v\n}\non tick { gpio(1) = sensor(1) > 3 }`,
  'a helper of a helper a `requires` calls': (p) => `requires h2(sensor(1)) != 7\nfn h1(x: int) -> int {\n  var v = x\n  ${p}\n  return v\n}\nfn h2(x: int) -> int { return h1(x) - 1 }\non tick { gpio(1) = sensor(1) > 3 }`,
  'a `for` loop in the tick': (p) => `on tick {\n  let x = sensor(1)\n  var v = x\n  for i in 0..1 {\n    ${p}\n  }\n  gpio(1) = v > 3\n}`,
};

const HEADER = 'rule limits\nuses sensor(1), gpio_out(1)\n';

async function codes(source: string, target: string): Promise<string[]> {
  const result = await compile(source, { target });
  return result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
}

for (const [place, rule] of Object.entries(PLACES)) {
  test(`loop trips (E0503) are counted in ${place}`, async (t) => {
    // stm32 allows 32 loop iterations per tick; 20 twice over (in the `for` place) or 40 once is over it.
    const over = place.startsWith('a `for`') ? 'repeat 20 { v = v * 3 + 1 }' : 'repeat 40 { v = v * 3 + 1 }';
    const under = place.startsWith('a `for`') ? 'repeat 10 { v = v * 3 + 1 }' : 'repeat 20 { v = v * 3 + 1 }';
    t.deepEqual(await codes(HEADER + rule(under), 'stm32'), []);
    t.deepEqual(await codes(HEADER + rule(over), 'stm32'), ['E0503']);
  });

  test(`instructions per tick (E0506) are counted in ${place}`, async (t) => {
    // 15 iterations (30 in the `for` place): within stm32's loop limit, but each runs over 70 instructions.
    const body = Array.from({ length: 10 }, (_, i) => `v = (v * ${i + 3} + x) ^ (v >> ${(i % 7) + 1})`).join('\n');
    const over = `repeat 15 {\n${body}\n}`;
    const errors = await codes(HEADER + rule(over), 'stm32');
    t.true(errors.includes('E0506'), `expected E0506, got ${errors.join(', ') || 'none'}`);
    t.deepEqual(await codes(HEADER + rule('repeat 2 { v = v * 3 + 1 }'), 'stm32'), []);
  });

  test(`artifact size (E0501) is counted in ${place}`, async (t) => {
    // Straight-line code that binaryen cannot fold: every statement mixes in another reading.
    const over = Array.from({ length: 14 }, (_, i) => `v = (v * ${i + 3} + x) ^ (v >> ${(i % 7) + 1})`).join('\n  ');
    const errors = await codes(HEADER + rule(over), 'stm32');
    t.true(errors.includes('E0501'), `expected E0501, got ${errors.join(', ') || 'none'}`);
  });
}

test('state slots (E0502) count every state, whether the tick or only a `requires` reads it', async (t) => {
  const states = (n: number) => Array.from({ length: n }, (_, i) => `state s${i} = ${i}`).join('\n');
  const reads = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`).join(' + ');
  const inRequires = (n: number) => `${HEADER}requires ${reads(n)} >= 0\n${states(n)}\non tick {\n  s0 = s0 + 1\n  gpio(1) = sensor(1) > 3\n}`;
  const inTick = (n: number) => `${HEADER}${states(n)}\non tick {\n  s0 = s0 + 1\n  gpio(1) = ${reads(n)} > 3\n}`;
  for (const source of [inRequires, inTick]) {
    t.false((await codes(source(8), 'stm32')).includes('E0502'));
    t.true((await codes(source(9), 'stm32')).includes('E0502'));
  }
});

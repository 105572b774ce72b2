// The shared verifier vectors (tests/vectors/verifier/) on the reference verifier: one named test per case, each
// accepted with its hand-computed bound or refused with its reason code. The C hosts run the same files.
import test from 'ava';
import { verifyModule } from '../contract/verify.js';
import { verifierVectors, watToWasm } from './support/vectors.js';

const vectors = verifierVectors();

test('the vectors cover every refusal the issue names and both verdicts', (t) => {
  const names = vectors.map((v) => v.name);
  for (const required of [
    'refuse-loop-br-0-forever', 'refuse-counter-written-in-body', 'refuse-counter-stepped-wrong-way', 'refuse-bound-not-constant',
    'refuse-back-edge-br-table', 'refuse-back-edge-br-if-outer-loop', 'refuse-nested-loops-over-limit', 'refuse-false-claim',
    'refuse-import-outside-abi', 'refuse-opcode-i64', 'refuse-type-stack-underflow', 'refuse-type-wrong-operand',
    'refuse-type-block-i64',
  ]) t.true(names.includes(required), required);
  t.true(vectors.filter((v) => v.expect.verdict === 'accept').length >= 10);
});

test('the loop br 0 module is the 41 bytes of the issue', (t) => {
  t.is(watToWasm(vectors.find((v) => v.name === 'refuse-loop-br-0-forever')!.path).length, 41);
});

for (const v of vectors) {
  test(`${v.name}: ${v.description}`, (t) => {
    const verdict = verifyModule(watToWasm(v.path), { claim: v.claim, targetLimit: v.limit, floatingPoint: v.floatingPoint });
    if (v.expect.verdict === 'accept') {
      t.true(verdict.ok, verdict.ok ? '' : `refused: ${verdict.refusal.code}: ${verdict.refusal.message}`);
      if (verdict.ok) t.is(verdict.bound, v.expect.bound);
      return;
    }
    t.false(verdict.ok, 'accepted');
    if (verdict.ok) return;
    t.is(verdict.refusal.code as string, v.expect.code, verdict.refusal.message);
    if (v.expect.bound !== undefined) t.is(verdict.bound, v.expect.bound);
    if (v.expect.functionIndex !== undefined) t.is(verdict.refusal.functionIndex, v.expect.functionIndex);
    // A reason a person can act on: it names the function and the offset when it is about code.
    if (verdict.refusal.functionIndex !== undefined) t.regex(verdict.refusal.message, /^function \d+/);
  });
}

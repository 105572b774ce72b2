// `requires` as the language defines it: bounds on one channel become the manifest's `ranges` (readings saturate to
// them, no bytes in the artifact); any other assumption is checked by the artifact, and a tick where it fails does
// nothing and returns -1. With the regression tests named after the three surprises of issue 6.
import test from 'ava';
import { analyze, compile } from '../compiler/index.js';
import { RuleInterpreter, ASSUMPTION_FAILED } from '../runner/interpreter.js';
import { checkRule, type HandTick } from './support/three-way.js';
import { build } from './support/run-rule.js';

const OVERPRESSURE = `rule overpressure "Overpressure latch"
uses sensor(8), gpio_out(5)
every 100ms
requires sensor(8) >= 0 && sensor(8) <= 8_000   # the transmitter's 0..8 bar in millivolts
const TRIP = 7_000
state tripped = false
on tick {
  if sensor(8) > TRIP { tripped = true }
  gpio(5) = tripped
}`;

/** Runs ticks on the reference interpreter: what each returned and wrote. */
function interpret(rule: NonNullable<ReturnType<typeof analyze>['rule']>, ticks: { sensors: Record<number, number> }[]) {
  const interpreter = new RuleInterpreter(rule);
  return {
    interpreter,
    outcomes: ticks.map((tick, i) => {
      const writes: Record<number, number> = {};
      const returned = interpreter.tick(i * 100, {
        sensor: (ch) => tick.sensors[ch] ?? 0, gpioIn: () => 0, gpioOut: (pin, level) => { writes[pin] = level; },
      });
      return { returned, writes };
    }),
  };
}

test('regression: a failed requires no longer disables an overpressure trip (the reading saturates to the assumed range)', async (t) => {
  const result = await build(OVERPRESSURE, 'rpi');
  t.deepEqual(result.artifact!.manifest.ranges, [{ channel: 8, min: 0, max: 8_000 }]);
  // 9 500 mV is beyond the assumed range: it reads as 8 000, above the trip point, and the valve trips.
  const { interpreter, outcomes } = interpret(result.rule!, [{ sensors: { 8: 1_000 } }, { sensors: { 8: 9_500 } }]);
  t.deepEqual(outcomes, [{ returned: 0, writes: { 5: 0 } }, { returned: 0, writes: { 5: 1 } }]);
  t.deepEqual([...interpreter.saturations], [[8, 1]]);
  // The compiled rule does the same on wasm3 and Node's WebAssembly (the engine saturates to the manifest's ranges).
  const hand: HandTick[] = [{ now: 0, sensors: { 8: 1_000 } }, { now: 100, sensors: { 8: 9_500 } }, { now: 200, sensors: { 8: 0 } }];
  t.deepEqual((await checkRule(OVERPRESSURE, [hand], { targets: ['rpi'] })).ran, ['rpi']);
});

test('bounds on one channel cost no bytes: the artifact is the same as without the requires line', async (t) => {
  const without = await build(OVERPRESSURE.replace(/^requires.*\n/m, ''), 'rpi');
  const withBounds = await build(OVERPRESSURE, 'rpi');
  t.deepEqual(withBounds.artifact!.wasm, without.artifact!.wasm);
  t.deepEqual(without.artifact!.manifest.ranges, [{ channel: 8, min: 0, max: 10_000 }]);
});

test('any other assumption is checked by the artifact: the tick writes nothing, changes no state and returns -1', async (t) => {
  const source = `rule ratio
uses sensor(8, 9), gpio_out(5)
requires sensor(9) > sensor(8)      # relates two inputs: checked at the start of every tick
requires sensor(9) >= 100           # a bound: saturated by the host
state count = 0
on tick {
  count = count + 1
  gpio(5) = sensor(8) * 10 / sensor(9) > 5
  return count
}`;
  const result = await build(source, 'rpi');
  t.deepEqual(result.artifact!.manifest.ranges, [{ channel: 8, min: 0, max: 10_000 }, { channel: 9, min: 100, max: 10_000 }]);
  t.is(result.rule!.checkedRequires.length, 1);
  const { interpreter, outcomes } = interpret(result.rule!, [
    { sensors: { 8: 700, 9: 1_000 } }, { sensors: { 8: 2_000, 9: 1_000 } }, { sensors: { 8: 100, 9: 50 } },
  ]);
  t.deepEqual(outcomes, [
    { returned: 1, writes: { 5: 1 } },
    { returned: ASSUMPTION_FAILED, writes: {} },
    // 50 saturates to 100, which is then not above 100: the relation fails too.
    { returned: ASSUMPTION_FAILED, writes: {} },
  ]);
  t.deepEqual(interpreter.stateValues(), [1]);
  const hand: HandTick[] = [
    { now: 0, sensors: { 8: 700, 9: 1_000 } }, { now: 1, sensors: { 8: 2_000, 9: 1_000 } },
    { now: 2, sensors: { 8: 100, 9: 50 } }, { now: 3, sensors: { 8: 10, 9: 5_000 } },
  ];
  t.deepEqual((await checkRule(source, [hand], { targets: ['rpi', 'stm32'] })).ran, ['rpi', 'stm32']);
});

test('a requires may involve state: checked in the artifact', async (t) => {
  const source = `rule stateful
uses sensor(0), gpio_out(5)
requires sensor(0) - last < 10_000 && sensor(0) - last > -10_000   # no jumps of 10 degrees between ticks
state last = 0
on tick {
  gpio(5) = sensor(0) > 30_000
  last = sensor(0)
}`;
  const result = await build(source, 'rpi');
  t.is(result.rule!.checkedRequires.length, 1);
  const hand: HandTick[] = [{ now: 0, sensors: { 0: 5_000 } }, { now: 1, sensors: { 0: 40_000 } }, { now: 2, sensors: { 0: 12_000 } }];
  t.deepEqual((await checkRule(source, [hand], { targets: ['rpi'] })).ran, ['rpi']);
  const { outcomes } = interpret(result.rule!, hand.map((h) => ({ sensors: h.sensors ?? {} })));
  t.deepEqual(outcomes.map((o) => o.returned), [0, ASSUMPTION_FAILED, 0]);
});

test('regression: a rule that can never act no longer compiles OK (a fall detector built for rpi, a 2oo3 vote for stm32)', async (t) => {
  const fall = `rule fall_detect
uses sensor(1..3), gpio_out(13)
requires sensor(1) >= -8_000 && sensor(1) <= 8_000     # the accelerometer set to +-8 g
requires sensor(2) >= -8_000 && sensor(2) <= 8_000
requires sensor(3) >= -8_000 && sensor(3) <= 8_000
on tick { gpio(13) = sensor(1) + sensor(2) + sensor(3) < 400 }`;
  t.is((await compile(fall, { target: 'nrf5340' })).diagnostics.length, 0);
  const onRpi = await compile(fall, { target: 'rpi' });
  t.deepEqual(onRpi.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.span!.line]), [['E0370', 4]]);
  t.regex(onRpi.diagnostics[0].message, /sensor\(2\) on rpi reads air pressure in pascal, 30000\.\.110000/);
  t.is(onRpi.artifact, undefined);

  const vote = `rule vote
uses sensor(1..3), gpio_out(8)
on tick {
  var votes = 0
  for ch in 1..3 {
    let v = sensor(ch)
    votes = votes + int(v > 8_500)
  }
  gpio(8) = votes >= 2
}`;
  t.deepEqual((await compile(vote, { target: 'rpi' })).diagnostics, []);
  const onStm32 = await compile(vote, { target: 'stm32' });
  t.deepEqual(onStm32.diagnostics.map((d) => [d.code, d.severity]), [['W0106', 'warning']]);
  t.regex(onStm32.diagnostics[0].message, /always false: `v` is 0\.\.3300; sensor\(1\.\.3\) on stm32 read ADC input in millivolts, 0\.\.3300/);
});

test('regression: `state on = false` is accepted (keywords of one position are names elsewhere)', async (t) => {
  const source = `rule contextual
uses gpio_in(4), gpio_out(18)
state on = false
const every = 3
const at = 2
fn tick(rule: int, in: int) -> int { return rule + in }
on tick {
  let uses = gpio(4)
  var requires = tick(uses, at)
  let then = if on then 1 else 0
  let expect = requires + then
  let targets = expect > every
  let test = targets
  on = test
  gpio(18) = on
}
test "on follows the button" {
  gpio(4) = 1
  tick
  expect on
  tick at 5
  expect gpio(18) == 1
}`;
  const result = await compile(source, { target: 'rpi' });
  t.deepEqual(result.diagnostics, []);
  t.truthy(result.artifact);
  const hand: HandTick[] = [{ now: 0, pins: { 4: 1 } }, { now: 1, pins: { 4: 0 } }];
  t.deepEqual((await checkRule(source, [hand], { targets: ['rpi'] })).ran, ['rpi']);
});

test('regression: an unclosed block is one error, at the brace that is not closed (no "rule has no `on tick` block")', async (t) => {
  const source = `rule fan
uses sensor(0), gpio_out(17, 18)
on tick {
  if sensor(0) > 28_000 {
    gpio(17) = 1
  gpio(18) = 0
}`;
  const result = await compile(source, { target: 'rpi' });
  t.deepEqual(result.diagnostics.map((d) => [d.code, d.span!.line, d.span!.column, d.message]),
    [['E0201', 4, 25, 'this block is not closed']]);
  // Without a telling indentation, the outermost brace left open is the one reported.
  const flat = await compile('rule r\nuses gpio_out(1)\non tick {\ngpio(1) = 1\n', { target: 'rpi' });
  t.deepEqual(flat.diagnostics.map((d) => [d.code, d.span!.line, d.span!.column]), [['E0201', 3, 9]]);
});

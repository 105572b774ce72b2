#!/usr/bin/env node
// Starts the device host firmware on an emulated board, in the foreground, like `rules board` does for the virtual
// one: `node scripts/qemu-board.mjs stm32|nrf5340 --link PATH --trust KEY.pub [--state DIR] [--sensor CH=V]...
// [--input PIN=V]... [--json] [--seconds N]`. PATH becomes a symlink to the board's SMP pseudo-terminal; each GPIO
// change is printed. With --state, slot storage is kept in DIR/flash-<target>.bin across runs.
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(dirname(fileURLToPath(import.meta.url))), 'dist');
const usage = 'usage: node scripts/qemu-board.mjs stm32|nrf5340 --link PATH --trust KEY.pub [--state DIR] [--sensor CH=V]... ' +
  '[--input PIN=V]... [--json] [--seconds N]';

function fail(message, code = 2) {
  console.error(`qemu-board: ${message}`);
  process.exit(code);
}

function parse(argv) {
  const options = { board: argv[0], trust: [], sensors: [], inputs: [], json: false, seconds: 0, link: undefined, state: undefined };
  if (options.board !== 'stm32' && options.board !== 'nrf5340') fail(`the first argument is the target, stm32 or nrf5340\n${usage}`);
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a value\n${usage}`);
    const pair = (text) => {
      const m = /^(\d+)=(-?\d+)$/.exec(text);
      if (!m) fail(`${arg} takes N=V with integers, not "${text}"`);
      return [Number(m[1]), Number(m[2])];
    };
    if (arg === '--link') options.link = value();
    else if (arg === '--trust') options.trust.push(value());
    else if (arg === '--state') options.state = value();
    else if (arg === '--sensor') options.sensors.push(pair(value()));
    else if (arg === '--input') options.inputs.push(pair(value()));
    else if (arg === '--json') options.json = true;
    else if (arg === '--seconds') options.seconds = Number(value());
    else fail(`unknown option ${arg}\n${usage}`);
  }
  if (!options.link) fail(`--link PATH is required\n${usage}`);
  if (options.trust.length === 0) fail(`--trust KEY.pub is required: the board accepts bundles signed by these keys only\n${usage}`);
  return options;
}

const options = parse(process.argv.slice(2));
const { parsePublicKeyText, rawPublicKey } = await import(join(dist, 'contract', 'bundle.js'));
const { startQemuBoard } = await import(join(dist, 'devices', 'qemu-board.js'));
const keys = options.trust.map((file) => {
  try {
    return rawPublicKey(parsePublicKeyText(readFileSync(file, 'utf8')));
  } catch (e) {
    return fail(`${file}: ${e.message}`);
  }
});
let board;
try {
  board = await startQemuBoard(options.board === 'stm32' ? 'stm32f4' : 'm33', {
    trustedKeys: keys, flashFile: options.state ? resolve(options.state, `flash-${options.board}.bin`) : undefined, lifetimeMs: options.seconds > 0 ? options.seconds * 1000 + 5000 : 2 ** 31 - 1 });
} catch (e) {
  fail(e.message, 2);
}
for (const [channel, value] of options.sensors) await board.setSensor(channel, value);
for (const [pin, level] of options.inputs) await board.setInput(pin, level ? 1 : 0);
rmSync(options.link, { force: true });
symlinkSync(board.port, options.link);
const name = options.board === 'stm32' ? 'STM32F405 (QEMU netduinoplus2)' : 'Cortex-M33 (QEMU mps2-an505)';
console.log(options.json ? JSON.stringify({ event: 'ready', board: name, link: options.link, port: board.port })
  : `${name}: SMP on ${options.link} (${board.port}); GPIO changes follow, Ctrl-C stops`);
let shown = 0;
const timer = setInterval(() => {
  for (; shown < board.gpio.length; shown++) {
    const g = board.gpio[shown];
    console.log(options.json ? JSON.stringify({ event: 'gpio', pin: g.pin, level: g.level, ms: g.ms })
      : `gpio ${g.pin} ${g.level ? 'high' : 'low'} at ${g.ms} ms`);
  }
}, 20);
const stop = async () => {
  clearInterval(timer);
  rmSync(options.link, { force: true });
  await board.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (options.seconds > 0) setTimeout(stop, options.seconds * 1000);

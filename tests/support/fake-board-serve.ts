// Serves the board double (fake-board.ts) on stdin/stdout, so socat can put it behind a real
// pseudo-terminal: `socat pty,raw,echo=0,link=PATH EXEC:"node fake-board-serve.js --target stm32 --trust K.pub"`.
import { readFileSync } from 'node:fs';
import { parsePublicKeyText } from '../../contract/bundle.js';
import { Deframer, encodeFrames } from '../../devices/smp/framing.js';
import { FakeBoard } from './fake-board.js';

const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const board = new FakeBoard({
  target: arg('--target') ?? 'stm32',
  trusted: (arg('--trust') ?? '').split(',').filter(Boolean).map((p) => parsePublicKeyText(readFileSync(p, 'utf8'))),
});
const deframer = new Deframer();
process.stdout.write('fake board: ready\r\n');
process.stdin.on('data', (chunk: Buffer) => {
  for (const body of deframer.push(chunk)) {
    const answer = board.handle(body);
    if (answer) process.stdout.write(encodeFrames(answer));
  }
});
process.stdin.on('end', () => process.exit(0));

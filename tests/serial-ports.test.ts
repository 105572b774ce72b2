// Marking likely boards among serial ports by USB vendor id (devices/serial.ts).
import test from 'ava';
import { classify } from '../devices/serial.js';

test('ST, Nordic and SEGGER are boards; FTDI is an adapter; others unmarked', (t) => {
  t.is(classify('0483').likely, 'board');
  t.is(classify('1915').likely, 'board');
  t.is(classify('1366').likely, 'board');
  t.is(classify('1366').vendorName, 'SEGGER (J-Link, nRF DK)');
  t.is(classify('0403').likely, 'adapter');
  t.is(classify('abcd').likely, null);
  t.is(classify(null).likely, null);
  t.is(classify('483').likely, 'board');
});

// `rules ports [--json]`: the serial ports, likely boards first (marked by USB vendor id).
import type { CommandModule } from 'yargs';
import { listPorts } from '../../devices/serial.js';
import { guarded, withJson, type SetExit } from './shared.js';

export function portsCommand(setExit: SetExit): CommandModule<object, { json: boolean }> {
  return {
    command: 'ports',
    describe: 'list serial ports, marking likely boards by USB vendor id',
    builder: (y) => withJson(y) as any,
    handler: (args) => guarded(setExit, async () => {
      const ports = await listPorts();
      if (args.json) {
        process.stdout.write(JSON.stringify(ports, null, 2) + '\n');
        return 0;
      }
      if (ports.length === 0) {
        process.stdout.write('no serial ports found: plug the board in (a data cable, not a charge-only one)\n');
        return 0;
      }
      for (const p of ports) {
        const usb = p.vendorId ? `${p.vendorId}:${p.productId ?? '????'}` : '';
        const what = [p.manufacturer, p.product].filter(Boolean).join(' ');
        const mark = p.likely === 'board' ? `likely a board: ${p.vendorName}` : p.likely === 'adapter' ? p.vendorName : '';
        process.stdout.write(`${p.path.padEnd(16)} ${usb.padEnd(10)} ${what}${mark ? `  (${mark})` : ''}`.trimEnd() + '\n');
      }
      return 0;
    }),
  };
}

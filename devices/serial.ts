// Serial ports for SMP: opening one with errors a user can act on, listing them with likely boards
// marked by USB vendor id, and an SMP client over an open port.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SerialPort } from 'serialport';
import { SmpClient, streamTransport, type ClientOptions } from './smp/protocol.js';

export class PortError extends Error {
  constructor(readonly kind: 'missing' | 'busy' | 'permission' | 'other', readonly path: string, message: string) {
    super(message);
    this.name = 'PortError';
  }
}

/** USB vendor ids of development boards and debug probes that carry a board's serial port. */
export const BOARD_VENDORS: Record<string, string> = {
  '0483': 'STMicroelectronics (ST-LINK, STM32)',
  '1915': 'Nordic Semiconductor (nRF)',
  '1366': 'SEGGER (J-Link, nRF DK)',
  '0d28': 'Arm DAPLink / mbed',
  '2fe3': 'Zephyr USB device',
  '1fc9': 'NXP (LPC-Link, MCU-Link)',
  '2e8a': 'Raspberry Pi (Pico)',
  '303a': 'Espressif',
  '239a': 'Adafruit',
};

/** USB-to-serial adapters: a board may sit behind one, but so may anything else. */
export const ADAPTER_VENDORS: Record<string, string> = {
  '0403': 'FTDI adapter',
  '10c4': 'Silicon Labs CP210x adapter',
  '1a86': 'WCH CH340 adapter',
  '067b': 'Prolific PL2303 adapter',
};

export interface PortInfo {
  path: string;
  vendorId: string | null;
  productId: string | null;
  manufacturer: string | null;
  product: string | null;
  serialNumber: string | null;
  /** `board`: a vendor of boards and probes; `adapter`: a USB-serial adapter; null otherwise. */
  likely: 'board' | 'adapter' | null;
  vendorName: string | null;
}

export function classify(vendorId: string | null): Pick<PortInfo, 'likely' | 'vendorName'> {
  const id = vendorId?.toLowerCase().padStart(4, '0') ?? '';
  if (BOARD_VENDORS[id]) return { likely: 'board', vendorName: BOARD_VENDORS[id] };
  if (ADAPTER_VENDORS[id]) return { likely: 'adapter', vendorName: ADAPTER_VENDORS[id] };
  return { likely: null, vendorName: null };
}

/**
 * Lists serial ports. On Linux without udev (containers, minimal systems), node-serialport's lister
 * needs `udevadm`, so the ports are read from sysfs instead.
 */
export async function listPorts(): Promise<PortInfo[]> {
  const raw = process.platform === 'linux' && !onPath('udevadm') ? listFromSysfs() : await SerialPort.list();
  return raw.map((p) => {
    const vendorId = p.vendorId ? p.vendorId.toLowerCase() : null;
    return {
      path: p.path, vendorId, productId: p.productId?.toLowerCase() ?? null, manufacturer: p.manufacturer ?? null,
      product: (p as { product?: string }).product ?? null, serialNumber: p.serialNumber ?? null, ...classify(vendorId),
    };
  }).sort((a, b) => Number(b.likely === 'board') - Number(a.likely === 'board') || a.path.localeCompare(b.path));
}

interface RawPort { path: string; vendorId?: string; productId?: string; manufacturer?: string; product?: string; serialNumber?: string }

function listFromSysfs(root = '/sys/class/tty'): RawPort[] {
  if (!existsSync(root)) return [];
  const out: RawPort[] = [];
  for (const name of readdirSync(root)) {
    const device = join(root, name, 'device');
    if (!existsSync(device)) continue; // virtual terminals have no device
    let usb: string | null = null;
    try {
      // Walk up from the tty's device to the USB device that has the vendor id.
      let dir = realpathSync(device);
      for (let i = 0; i < 4 && dir !== '/'; i++) {
        if (existsSync(join(dir, 'idVendor'))) { usb = dir; break; }
        dir = join(dir, '..');
      }
    } catch { /* not a device we can read */ }
    const read = (file: string) => { try { return readFileSync(join(usb!, file), 'utf8').trim(); } catch { return undefined; } };
    const isSerial = usb !== null || /^(ttyS\d+|ttyAMA\d+)$/.test(name);
    if (!isSerial) continue;
    if (!usb && !existsSync(join(device, 'driver'))) continue; // an unused legacy ttyS
    out.push({ path: `/dev/${name}`, ...(usb ? { vendorId: read('idVendor'), productId: read('idProduct'), manufacturer: read('manufacturer'), product: read('product'), serialNumber: read('serial') } : {}) });
  }
  return out;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/** Opens a serial port, turning the usual failures into messages a user can act on. */
export function openPort(path: string, baudRate: number): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    if (!existsSync(path)) {
      reject(new PortError('missing', path, `no serial port ${path}: is the board plugged in? \`rules ports\` lists the ports`));
      return;
    }
    const port = new SerialPort({ path, baudRate, autoOpen: false, lock: true });
    port.open((error) => {
      if (!error) return resolve(port);
      const text = error.message;
      if (/lock|busy|EBUSY|EAGAIN|Resource temporarily unavailable/i.test(text)) {
        reject(new PortError('busy', path, `${path} is in use by another program (a serial monitor, another rules?): close it and try again`));
      } else if (/EACCES|permission denied/i.test(text)) {
        reject(new PortError('permission', path, `no permission to open ${path}: add yourself to its group (on Linux usually \`dialout\`), then log in again`));
      } else if (/ENOENT|No such file/i.test(text)) {
        reject(new PortError('missing', path, `no serial port ${path}: is the board plugged in? \`rules ports\` lists the ports`));
      } else {
        reject(new PortError('other', path, `cannot open ${path}: ${text}`));
      }
    });
  });
}

export interface Connection {
  client: SmpClient;
  port: SerialPort;
  /** Bytes written to and read from the port so far. */
  bytes: { out: number; in: number };
  close(): Promise<void>;
}

/** An SMP client on a serial port. */
export async function connect(path: string, options: ClientOptions & { baudRate?: number } = {}): Promise<Connection> {
  const port = await openPort(path, options.baudRate ?? 115200);
  const bytes = { out: 0, in: 0 };
  const transport = streamTransport(port, (direction, count) => { bytes[direction] += count; });
  const client = new SmpClient(transport, options);
  return {
    client, port, bytes,
    close: () => new Promise<void>((resolve) => {
      if (!port.isOpen) return resolve();
      // Let the last bytes leave before closing.
      port.drain(() => port.close(() => resolve()));
    }),
  };
}

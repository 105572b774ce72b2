// Serial ports for SMP: opening one with errors a user can act on, listing them with likely boards
// marked by USB vendor id, and an SMP client over an open port.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
// serialport's own SerialPort class (its stream on the platform's binding), without the index that also
// loads its ten parsers and mock: `rules flash` starts noticeably faster.
import { SerialPort } from 'serialport/dist/serialport.js';
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
    try {
      statSync(path);
    } catch (e) {
      reject((e as NodeJS.ErrnoException).code === 'EACCES'
        ? new PortError('permission', path, `no permission to open ${path}: a folder on the way to it is closed to you`)
        : new PortError('missing', path, `no serial port ${path}: is the board plugged in? \`rules ports\` lists the ports`));
      return;
    }
    const port = new SerialPort({ path, baudRate, autoOpen: false, lock: true });
    port.open((error) => {
      if (!error) return resolve(port);
      const text = error.message;
      if (/lock|busy|EBUSY|EAGAIN|Resource temporarily unavailable/i.test(text)) {
        const holder = lockHolder(path);
        reject(new PortError('busy', path, `${path} is in use by another program (${holder ?? 'a serial monitor, another rules?'}): close it and try again`));
      } else if (/EACCES|permission denied/i.test(text)) {
        reject(new PortError('permission', path, `no permission to open ${path}: ${accessHint(path)}`));
      } else if (/ENOENT|No such file/i.test(text)) {
        reject(new PortError('missing', path, `no serial port ${path}: is the board plugged in? \`rules ports\` lists the ports`));
      } else {
        reject(new PortError('other', path, `cannot open ${path}: ${text}`));
      }
    });
  });
}

/**
 * The program holding the lock on a port, as `picocom, pid 1234`: serial tools (node-serialport,
 * picocom, flock) take a flock(2) lock, which Linux lists in /proc/locks by device and inode. Null
 * elsewhere or when nobody is listed.
 */
export function lockHolder(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    // /proc/locks names the file system's device as major:minor in hex, then the inode.
    const major = Number(((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn));
    const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn));
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      const at = fields.indexOf('->') >= 0 ? 1 : 0; // a blocked waiter: "1: -> FLOCK ..."
      const [maj, min, ino] = (fields[5 + at] ?? '').split(':');
      if (ino === undefined || BigInt(ino) !== st.ino || parseInt(maj, 16) !== major || parseInt(min, 16) !== minor) continue;
      const pid = fields[4 + at];
      let name = '';
      try { name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* gone, or not ours to read */ }
      return name ? `${name}, pid ${pid}` : `pid ${pid}`;
    }
  } catch { /* no /proc/locks: not Linux */ }
  return null;
}

/** What to do about a port one may not open: join the group that may, when its group may. */
function accessHint(path: string): string {
  try {
    const st = statSync(path);
    const group = (st.mode & 0o060) === 0o060 && st.gid !== 0 ? accountName('/etc/group', st.gid) : null;
    if (group) return `it belongs to the group ${group}: add yourself to it (\`sudo usermod -aG ${group} $USER\`), then log in again`;
    return `it is mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owned by ${accountName('/etc/passwd', st.uid) ?? `uid ${st.uid}`}: ` +
      'ask for access (on Linux usually the `dialout` group or a udev rule)';
  } catch {
    return 'add yourself to its group (on Linux usually `dialout`), then log in again';
  }
}

/** The name of a user or group id in /etc/passwd or /etc/group, or null. */
function accountName(file: string, id: number): string | null {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(id))?.[0] ?? null;
  } catch {
    return null;
  }
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

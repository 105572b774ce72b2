// An in-memory packet link between the SMP client and a board double, which can lose packets on the way.
import type { PacketTransport } from '../../devices/smp/protocol.js';

export interface LinkFaults {
  /** Loses the n-th request (counting from 0) on its way to the board. */
  dropRequest?: (n: number) => boolean;
  /** Loses the n-th response on its way back. */
  dropResponse?: (n: number) => boolean;
}

export function packetLink(handle: (body: Uint8Array) => Uint8Array | null, faults: LinkFaults = {}): PacketTransport & { close(): void; sent: number } {
  const receivers = new Set<(body: Uint8Array) => void>();
  const closers = new Set<(e?: Error) => void>();
  let requests = 0;
  let responses = 0;
  const link = {
    sent: 0,
    send(body: Uint8Array) {
      link.sent++;
      if (faults.dropRequest?.(requests++)) return;
      const answer = handle(body);
      if (!answer || faults.dropResponse?.(responses++)) return;
      setImmediate(() => { for (const r of receivers) r(answer); });
    },
    onPacket(receive: (body: Uint8Array) => void) { receivers.add(receive); return () => receivers.delete(receive); },
    onClose(closed: (e?: Error) => void) { closers.add(closed); return () => closers.delete(closed); },
    close() { for (const c of closers) c(); },
  };
  return link;
}

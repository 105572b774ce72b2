// Builds MCUboot images for tests, per MCUboot's documented format (docs/design.md, "Image Format"): a 32-byte
// header, the body padded to the header size, and an unprotected TLV area holding the SHA-256 of header + body.
import { createHash } from 'node:crypto';

export interface ImageSpec {
  version?: [number, number, number, number?];
  /** Body bytes (the "firmware"); default 1 KiB of a pattern seeded by the version. */
  body?: Uint8Array;
  bodySize?: number;
  headerSize?: number;
}

export function mcubootImage(spec: ImageSpec = {}): Buffer {
  const [major, minor, revision, build = 0] = spec.version ?? [1, 0, 0];
  const headerSize = spec.headerSize ?? 0x200;
  const body = spec.body ?? Buffer.from(Array.from({ length: spec.bodySize ?? 1024 }, (_, i) => (i * 31 + major * 7 + minor * 3 + revision) & 0xff));
  const header = Buffer.alloc(headerSize);
  header.writeUInt32LE(0x96f3b83d, 0);
  header.writeUInt32LE(0, 4); // load address: unused (the image runs in place)
  header.writeUInt16LE(headerSize, 8);
  header.writeUInt16LE(0, 10); // no protected TLVs
  header.writeUInt32LE(body.length, 12);
  header.writeUInt32LE(0, 16); // flags
  header[20] = major;
  header[21] = minor;
  header.writeUInt16LE(revision, 22);
  header.writeUInt32LE(build, 24);
  const hash = createHash('sha256').update(header).update(body).digest();
  const tlv = Buffer.alloc(4 + 4 + 32);
  tlv.writeUInt16LE(0x6907, 0);
  tlv.writeUInt16LE(tlv.length, 2);
  tlv.writeUInt16LE(0x10, 4);
  tlv.writeUInt16LE(32, 6);
  hash.copy(tlv, 8);
  return Buffer.concat([header, body, tlv]);
}

/** The image's SHA-256 TLV, hex: what image state reports for it. */
export function imageHash(image: Buffer): string {
  const headerSize = image.readUInt16LE(8);
  return createHash('sha256').update(image.subarray(0, headerSize + image.readUInt32LE(12))).digest('hex');
}

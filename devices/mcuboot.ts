// MCUboot's image format, read (not written) on the host: the checks `rules device firmware` makes before it
// sends a byte. An image is a 32-byte header (magic 0x96f3b83d, little-endian), the body, then TLV areas; the
// SHA-256 TLV (type 0x10) hashes the header, body and protected TLVs (docs/smp.md §4).
import { createHash } from 'node:crypto';

export const IMAGE_MAGIC = 0x96f3b83d;
export const TLV_INFO_MAGIC = 0x6907;
export const TLV_PROT_INFO_MAGIC = 0x6908;
export const TLV_SHA256 = 0x10;
export const HEADER_BYTES = 32;

export interface McubootImage {
  /** major.minor.revision, and .build when it is not 0 (as mcumgr's img_mgmt prints it). */
  version: string;
  /** The SHA-256 TLV: the hash SMP image state reports and test/confirm name the image by. */
  hash: string;
  headerSize: number;
  imageSize: number;
  /** Header, body and both TLV areas: the bytes an upload sends. */
  totalSize: number;
}

export type ImageCheck = { ok: true; image: McubootImage } | { ok: false; why: string };

/** Reads an MCUboot image and checks its sizes and SHA-256 TLV; `why` says what is wrong in a user's words. */
export function readMcubootImage(bytes: Uint8Array): ImageCheck {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const no = (why: string): ImageCheck => ({ ok: false, why });
  if (b.length < HEADER_BYTES || b.readUInt32LE(0) !== IMAGE_MAGIC) return no('not an MCUboot image (no header magic 0x96f3b83d)');
  const headerSize = b.readUInt16LE(8);
  const protectedSize = b.readUInt16LE(10);
  const imageSize = b.readUInt32LE(12);
  if (headerSize < HEADER_BYTES) return no(`not an MCUboot image (header size ${headerSize} is under 32 bytes)`);
  const hashed = headerSize + imageSize + protectedSize;
  if (hashed + 4 > b.length) return no(`not a whole MCUboot image: its header says ${hashed + 4} bytes or more, the file has ${b.length}`);
  if (protectedSize > 0 && b.readUInt16LE(headerSize + imageSize) !== TLV_PROT_INFO_MAGIC) return no('its protected TLV area has no magic 0x6908');
  if (b.readUInt16LE(hashed) !== TLV_INFO_MAGIC) return no('it has no TLV area (magic 0x6907) after the body: is it signed with imgtool?');
  const tlvEnd = hashed + b.readUInt16LE(hashed + 2);
  if (tlvEnd > b.length) return no(`its TLV area ends at byte ${tlvEnd}, past the end of the file (${b.length} bytes)`);
  let hash: Buffer | null = null;
  for (let at = hashed + 4; at + 4 <= tlvEnd;) {
    const type = b.readUInt16LE(at);
    const len = b.readUInt16LE(at + 2);
    if (type === TLV_SHA256 && len === 32 && at + 36 <= tlvEnd) { hash = b.subarray(at + 4, at + 36); break; }
    at += 4 + len;
  }
  if (!hash) return no('its TLV area has no SHA-256 hash (TLV 0x10)');
  const actual = createHash('sha256').update(b.subarray(0, hashed)).digest();
  if (!actual.equals(hash)) return no('its SHA-256 TLV does not match its header and body: the file is damaged');
  const build = b.readUInt32LE(24);
  const version = `${b[20]}.${b[21]}.${b.readUInt16LE(22)}${build ? `.${build}` : ''}`;
  return { ok: true, image: { version, hash: hash.toString('hex'), headerSize, imageSize, totalSize: tlvEnd } };
}

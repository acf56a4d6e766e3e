// On-media layout of the dax tier's file:
//
//   [0, 4 KiB)                 superblock: magic, version, geometry, slot classes, uuid, CRC32C
//   [4 KiB, 4 KiB + pages)     page map: one byte per slab page, 0 = free, else slot class + 1
//   [dataStart, capacity)      slab pages of pageBytes (default 1 MiB), each cut into
//                              equal slots of one class; dataStart is page-aligned
//
// A slot holds one record: a 64-byte header (native/src/pmem_record.h) and the
// payload right after it. A blob is one or more records; its BlobRef lists each
// record's payload as an extent { offset: payload start, length, crc32c }.
// The slot class of a record is a pure function of its payload length (the
// smallest class that holds header + payload), so committed BlobRefs alone say
// which slots are in use and how every used page is cut: allocation state is
// rebuilt from them at start, like the nvme tier's. The page map is only a
// hint for finding records of interrupted writes in pages no committed blob
// uses; correctness never depends on it.
import { randomUUID } from 'node:crypto';
import { HEADER_BYTES } from './dax-region.js';
import { native } from './native.js';
import { openSuperblock, sealSuperblock } from './superblock-envelope.js';

/** The record header (native/src/pmem_record.h): one cache line. */
export { HEADER_BYTES };
export const SUPERBLOCK_BYTES = 4096;
export const PAGE_MAP_OFFSET_BYTES = SUPERBLOCK_BYTES;
export const DEFAULT_PAGE_BYTES = 1024 * 1024;
/** The largest slot; a page holds a whole number of them. */
export const SLOT_BYTES_MAX = 64 * 1024;
export const RECORD_PAYLOAD_BYTES_MAX = SLOT_BYTES_MAX - HEADER_BYTES;
export const PAGE_BYTES_MIN = SLOT_BYTES_MAX;
export const PAGE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Slot sizes: 128, 192, then four steps per doubling from 256 to 64 KiB, all
 * multiples of 64 so every header is cache-line aligned. Internal waste is at
 * most ~25 % of a slot (plus the 64-byte header); 35 classes in all.
 */
export const SLOT_CLASSES: readonly number[] = (() => {
  const classes = [128, 192];
  for (let base = 256; base < SLOT_BYTES_MAX; base *= 2) {
    for (let step = 0; step < 4; step++) classes.push(base + (step * base) / 4);
  }
  classes.push(SLOT_BYTES_MAX);
  return classes;
})();

/** The class (index into SLOT_CLASSES) of a record holding `payloadBytes`. */
export function classForPayload(payloadBytes: number): number {
  if (!Number.isSafeInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > RECORD_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`a record holds 0..${RECORD_PAYLOAD_BYTES_MAX} payload bytes, not ${payloadBytes}`);
  }
  const need = payloadBytes + HEADER_BYTES;
  let low = 0;
  let high = SLOT_CLASSES.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (SLOT_CLASSES[mid]! >= need) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Payload lengths of the records a blob of `sizeBytes` is cut into (all full but the last). */
export function recordLengths(sizeBytes: number): number[] {
  const lengths: number[] = [];
  for (let left = sizeBytes; left > 0; left -= RECORD_PAYLOAD_BYTES_MAX) lengths.push(Math.min(left, RECORD_PAYLOAD_BYTES_MAX));
  return lengths;
}

export interface DaxGeometry {
  capacityBytes: number;
  pageBytes: number;
  dataStartBytes: number;
  pageCount: number;
}

/** Where the data pages of a file of `capacityBytes` start, and how many fit. */
export function computeGeometry(capacityBytes: number, pageBytes: number): DaxGeometry {
  const pagesUpperBound = Math.floor(capacityBytes / pageBytes);
  const dataStartBytes = Math.ceil((PAGE_MAP_OFFSET_BYTES + pagesUpperBound) / pageBytes) * pageBytes;
  const pageCount = Math.max(0, Math.floor((capacityBytes - dataStartBytes) / pageBytes));
  return { capacityBytes, pageBytes, dataStartBytes, pageCount };
}

export interface DaxSuperblock extends DaxGeometry {
  version: number;
  /** CRC32C of the slot class table: a build with other classes must not reuse the file. */
  classesCrc32c: number;
  uuid: string;
}

const VERSION = 1;
const ENVELOPE = { magic: 'STRATADX', version: VERSION, tier: 'dax' };

export function classesCrc32c(): number {
  const table = Buffer.alloc(SLOT_CLASSES.length * 4);
  SLOT_CLASSES.forEach((bytes, i) => table.writeUInt32LE(bytes, i * 4));
  return native.crc32c(table, 0);
}

export function newSuperblock(geometry: DaxGeometry): DaxSuperblock {
  return { ...geometry, version: VERSION, classesCrc32c: classesCrc32c(), uuid: randomUUID() };
}

export function encodeSuperblock(sb: DaxSuperblock): Buffer {
  const bytes = Buffer.alloc(SUPERBLOCK_BYTES);
  bytes.writeUInt32LE(sb.pageBytes, 12);
  bytes.writeBigUInt64LE(BigInt(sb.capacityBytes), 16);
  bytes.writeBigUInt64LE(BigInt(sb.dataStartBytes), 24);
  bytes.writeUInt32LE(sb.pageCount, 32);
  bytes.writeUInt32LE(sb.classesCrc32c, 36);
  sealSuperblock(bytes, { ...ENVELOPE, version: sb.version }, sb.uuid);
  return bytes;
}

export type DecodedSuperblock = { kind: 'ok'; superblock: DaxSuperblock } | { kind: 'blank' } | { kind: 'foreign'; reason: string };

/** Ours, all zeroes (never formatted), or something else. */
export function decodeSuperblock(bytes: Buffer): DecodedSuperblock {
  if (bytes.length < SUPERBLOCK_BYTES) return { kind: 'foreign', reason: 'too short for a superblock' };
  const envelope = openSuperblock(bytes.subarray(0, SUPERBLOCK_BYTES), ENVELOPE);
  if (envelope.kind !== 'ok') return envelope;
  return {
    kind: 'ok',
    superblock: {
      version: VERSION,
      pageBytes: bytes.readUInt32LE(12),
      capacityBytes: Number(bytes.readBigUInt64LE(16)),
      dataStartBytes: Number(bytes.readBigUInt64LE(24)),
      pageCount: bytes.readUInt32LE(32),
      classesCrc32c: bytes.readUInt32LE(36),
      uuid: envelope.uuid,
    },
  };
}

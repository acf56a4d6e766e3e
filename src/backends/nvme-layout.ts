// On-media layout of the nvme tier (file or block device):
//
//   [0, 4 KiB)        superblock: magic, version, geometry, CRC32C
//   [64 KiB, 1 MiB)   intent table: two alternating copies (see nvme-intents.ts)
//   [1 MiB, capacity) data extents, 4 KiB-aligned
//
// The superblock exists so that the tier never formats or writes into a file
// or device that holds something else, and so that geometry cannot silently
// change between runs.
import { randomUUID } from 'node:crypto';
import { native } from './native.js';

export const BLOCK_BYTES = 4096;
export const SUPERBLOCK_BYTES = 4096;
export const INTENT_REGION_START_BYTES = 64 * 1024;
export const DATA_START_BYTES = 1024 * 1024;
export const INTENT_COPY_BYTES = (DATA_START_BYTES - INTENT_REGION_START_BYTES) / 2;

const MAGIC = 'STRATANV';
const VERSION = 1;
const CRC_OFFSET = SUPERBLOCK_BYTES - 4;

export interface Superblock {
  version: number;
  blockBytes: number;
  /** Bytes of the file/device the tier uses; the data region ends here. */
  capacityBytes: number;
  dataStartBytes: number;
  /** Largest extent; each extent is written from one pool slot, so slots must be at least this big. */
  extentBytesMax: number;
  uuid: string;
}

export function newSuperblock(capacityBytes: number, extentBytesMax: number): Superblock {
  return {
    version: VERSION,
    blockBytes: BLOCK_BYTES,
    capacityBytes,
    dataStartBytes: DATA_START_BYTES,
    extentBytesMax,
    uuid: randomUUID(),
  };
}

/** Writes the superblock into the first SUPERBLOCK_BYTES of `target`. */
export function encodeSuperblock(sb: Superblock, target: Uint8Array): void {
  const bytes = Buffer.from(target.buffer, target.byteOffset, SUPERBLOCK_BYTES);
  bytes.fill(0);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(sb.version, 8);
  bytes.writeUInt32LE(sb.blockBytes, 12);
  bytes.writeBigUInt64LE(BigInt(sb.capacityBytes), 16);
  bytes.writeBigUInt64LE(BigInt(sb.dataStartBytes), 24);
  bytes.writeUInt32LE(sb.extentBytesMax, 32);
  Buffer.from(sb.uuid.replaceAll('-', ''), 'hex').copy(bytes, 48);
  bytes.writeUInt32LE(native.crc32c(bytes.subarray(0, CRC_OFFSET), 0), CRC_OFFSET);
}

export type DecodedSuperblock =
  | { kind: 'ok'; superblock: Superblock }
  | { kind: 'blank' }
  | { kind: 'foreign'; reason: string };

/** Reads a superblock: ours, all zeroes (never formatted), or something else. */
export function decodeSuperblock(source: Uint8Array): DecodedSuperblock {
  const bytes = Buffer.from(source.buffer, source.byteOffset, SUPERBLOCK_BYTES);
  if (bytes.every((b) => b === 0)) return { kind: 'blank' };
  if (bytes.toString('latin1', 0, 8) !== MAGIC) return { kind: 'foreign', reason: 'no Strata nvme superblock' };
  if (bytes.readUInt32LE(CRC_OFFSET) !== native.crc32c(bytes.subarray(0, CRC_OFFSET), 0)) {
    return { kind: 'foreign', reason: 'superblock checksum mismatch' };
  }
  const version = bytes.readUInt32LE(8);
  if (version !== VERSION) return { kind: 'foreign', reason: `superblock version ${version}, expected ${VERSION}` };
  const hex = bytes.toString('hex', 48, 64);
  return {
    kind: 'ok',
    superblock: {
      version,
      blockBytes: bytes.readUInt32LE(12),
      capacityBytes: Number(bytes.readBigUInt64LE(16)),
      dataStartBytes: Number(bytes.readBigUInt64LE(24)),
      extentBytesMax: bytes.readUInt32LE(32),
      uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    },
  };
}

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
import { openSuperblock, sealSuperblock } from './superblock-envelope.js';

export const BLOCK_BYTES = 4096;
export const SUPERBLOCK_BYTES = 4096;
export const INTENT_REGION_START_BYTES = 64 * 1024;
export const DATA_START_BYTES = 1024 * 1024;
export const INTENT_COPY_BYTES = (DATA_START_BYTES - INTENT_REGION_START_BYTES) / 2;

const VERSION = 1;
const ENVELOPE = { magic: 'STRATANV', version: VERSION, tier: 'nvme' };

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
  bytes.writeUInt32LE(sb.blockBytes, 12);
  bytes.writeBigUInt64LE(BigInt(sb.capacityBytes), 16);
  bytes.writeBigUInt64LE(BigInt(sb.dataStartBytes), 24);
  bytes.writeUInt32LE(sb.extentBytesMax, 32);
  sealSuperblock(bytes, { ...ENVELOPE, version: sb.version }, sb.uuid);
}

export type DecodedSuperblock =
  | { kind: 'ok'; superblock: Superblock }
  | { kind: 'blank' }
  | { kind: 'foreign'; reason: string };

/** Reads a superblock: ours, all zeroes (never formatted), or something else. */
export function decodeSuperblock(source: Uint8Array): DecodedSuperblock {
  const bytes = Buffer.from(source.buffer, source.byteOffset, SUPERBLOCK_BYTES);
  const envelope = openSuperblock(bytes, ENVELOPE);
  if (envelope.kind !== 'ok') return envelope;
  return {
    kind: 'ok',
    superblock: {
      version: VERSION,
      blockBytes: bytes.readUInt32LE(12),
      capacityBytes: Number(bytes.readBigUInt64LE(16)),
      dataStartBytes: Number(bytes.readBigUInt64LE(24)),
      extentBytesMax: bytes.readUInt32LE(32),
      uuid: envelope.uuid,
    },
  };
}

// The envelope both tier superblocks share (dax and nvme/remote): an 8-byte
// magic at 0, a u32 version at 8, tier-specific geometry in [12, 48), a
// 16-byte uuid at 48, and a CRC32C of everything before it in the last four
// bytes. Reading one answers "ours", "never formatted" (all zeroes) or
// "something else" — so a tier never formats a file that holds other data.
import { native } from './native.js';

const VERSION_OFFSET = 8;
const UUID_OFFSET = 48;

export interface EnvelopeKind {
  /** 8 latin1 characters, e.g. 'STRATANV'. */
  magic: string;
  version: number;
  /** For messages: "nvme", "dax". */
  tier: string;
}

export type OpenedEnvelope = { kind: 'ok'; uuid: string } | { kind: 'blank' } | { kind: 'foreign'; reason: string };

/** Writes magic, version and uuid, then the checksum; geometry must already be in `bytes`. */
export function sealSuperblock(bytes: Buffer, kind: EnvelopeKind, uuid: string): void {
  bytes.write(kind.magic, 0, 'latin1');
  bytes.writeUInt32LE(kind.version, VERSION_OFFSET);
  Buffer.from(uuid.replaceAll('-', ''), 'hex').copy(bytes, UUID_OFFSET);
  const crcOffset = bytes.length - 4;
  bytes.writeUInt32LE(native.crc32c(bytes.subarray(0, crcOffset), 0), crcOffset);
}

export function openSuperblock(bytes: Buffer, kind: EnvelopeKind): OpenedEnvelope {
  if (bytes.every((b) => b === 0)) return { kind: 'blank' };
  if (bytes.toString('latin1', 0, 8) !== kind.magic) return { kind: 'foreign', reason: `no Strata ${kind.tier} superblock` };
  const crcOffset = bytes.length - 4;
  if (bytes.readUInt32LE(crcOffset) !== native.crc32c(bytes.subarray(0, crcOffset), 0)) {
    return { kind: 'foreign', reason: 'superblock checksum mismatch' };
  }
  const version = bytes.readUInt32LE(VERSION_OFFSET);
  if (version !== kind.version) return { kind: 'foreign', reason: `superblock version ${version}, expected ${kind.version}` };
  const hex = bytes.toString('hex', UUID_OFFSET, UUID_OFFSET + 16);
  return { kind: 'ok', uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` };
}

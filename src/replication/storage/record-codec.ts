// On-disk framing of WAL records: [u32 payload length][u32 CRC32C(payload)][payload].
// Integers that can grow without bound (indexes, terms) are 48-bit, which
// outlasts any cluster (2^48 entries). The CRC is checked before a record is
// trusted; a record that fails it ends the readable log (see wal.ts).
import { native } from '../../backends/native.js';
import type { EntryType } from '../raft/types.js';
import type { WalRecord } from './records.js';

const KIND_ENTRY = 1;
const KIND_HARD_STATE = 2;
const KIND_BASE = 3;
const KIND_MARK = 4;
export const FRAME_HEADER_BYTES = 8;
/** Larger lengths are taken as garbage rather than allocated. */
export const RECORD_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;

export function encodeRecord(r: WalRecord): Buffer {
  let payload: Buffer;
  switch (r.kind) {
    case 'entry': {
      payload = Buffer.allocUnsafe(14 + r.entry.data.length);
      payload.writeUInt8(KIND_ENTRY, 0);
      payload.writeUIntBE(r.entry.index, 1, 6);
      payload.writeUIntBE(r.entry.term, 7, 6);
      payload.writeUInt8(r.entry.type, 13);
      r.entry.data.copy(payload, 14);
      break;
    }
    case 'hardState':
      payload = Buffer.allocUnsafe(17);
      payload.writeUInt8(KIND_HARD_STATE, 0);
      payload.writeUIntBE(r.hardState.term, 1, 6);
      payload.writeUInt32BE(r.hardState.vote, 7);
      payload.writeUIntBE(r.hardState.commit, 11, 6);
      break;
    case 'base':
    case 'mark':
      payload = Buffer.allocUnsafe(13);
      payload.writeUInt8(r.kind === 'base' ? KIND_BASE : KIND_MARK, 0);
      payload.writeUIntBE(r.index, 1, 6);
      payload.writeUIntBE(r.term, 7, 6);
      break;
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(native.crc32c(payload, 0), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export type DecodeResult = { ok: true; record: WalRecord; next: number } | { ok: false; reason: string };

/** Decode the record framed at `offset` of `buf`; never throws on bad bytes. */
export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  if (offset + FRAME_HEADER_BYTES > buf.length) return { ok: false, reason: 'truncated header' };
  const length = buf.readUInt32BE(offset);
  const crc = buf.readUInt32BE(offset + 4);
  if (length === 0 || length > RECORD_PAYLOAD_BYTES_MAX) return { ok: false, reason: `implausible length ${length}` };
  const start = offset + FRAME_HEADER_BYTES;
  if (start + length > buf.length) return { ok: false, reason: 'truncated payload' };
  const payload = buf.subarray(start, start + length);
  if (native.crc32c(payload, 0) !== crc) return { ok: false, reason: 'checksum mismatch' };
  const next = start + length;
  const kind = payload.readUInt8(0);
  switch (kind) {
    case KIND_ENTRY:
      if (length < 14) return { ok: false, reason: 'short entry' };
      return {
        ok: true,
        next,
        record: {
          kind: 'entry',
          entry: {
            index: payload.readUIntBE(1, 6),
            term: payload.readUIntBE(7, 6),
            type: payload.readUInt8(13) as EntryType,
            // Copy: the read buffer is released after recovery.
            data: Buffer.from(payload.subarray(14)),
          },
        },
      };
    case KIND_HARD_STATE:
      if (length !== 17) return { ok: false, reason: 'bad hard state length' };
      return {
        ok: true,
        next,
        record: {
          kind: 'hardState',
          hardState: { term: payload.readUIntBE(1, 6), vote: payload.readUInt32BE(7), commit: payload.readUIntBE(11, 6) },
        },
      };
    case KIND_BASE:
    case KIND_MARK:
      if (length !== 13) return { ok: false, reason: 'bad base/mark length' };
      return {
        ok: true,
        next,
        record: { kind: kind === KIND_BASE ? 'base' : 'mark', index: payload.readUIntBE(1, 6), term: payload.readUIntBE(7, 6) },
      };
    default:
      return { ok: false, reason: `unknown record kind ${kind}` };
  }
}

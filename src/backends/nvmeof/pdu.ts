// NVMe/TCP PDU codec: frames PDUs for sending and reassembles and validates them
// from a byte stream. Knows the transport binding only (headers, alignment,
// CRC32C digests); SQE/CQE contents are sqe.ts's job.
//
// Invariants: a decoded PDU passed every header check the binding asks of a
// receiver (HLEN per type, PLEN bounds, digest flags equal to the negotiated
// ones, PDO inside the PDU and aligned, DATAL consistent); a header digest
// mismatch is fatal (PduError FES 3); a data digest mismatch is reported on the
// PDU (dataDigestOk false) because it fails only the one command.
import { native } from '../native.js';
import {
  COMMON_HEADER_BYTES,
  DATA_DIGEST_ALLOWED,
  DIGEST_BYTES,
  Fes,
  HEADER_DIGEST_ALLOWED,
  HEADER_LENGTH_BYTES,
  PduFlag,
  PduType,
  type PduTypeCode,
  SQE_BYTES,
  CQE_BYTES,
  TERM_REQ_MAX_DATA_BYTES,
} from './constants.js';
import { PduError } from './errors.js';

export function crc32c(data: Uint8Array, previous = 0): number {
  return native.crc32c(data, previous);
}

export interface IcReqPdu {
  type: typeof PduType.ICReq;
  pfv: number;
  /** Host PDU data alignment, 0's based dwords. */
  hpda: number;
  hdgst: boolean;
  ddgst: boolean;
  /** Max outstanding R2Ts per command, 0's based. */
  maxr2t: number;
}
export interface IcRespPdu {
  type: typeof PduType.ICResp;
  pfv: number;
  cpda: number;
  hdgst: boolean;
  ddgst: boolean;
  maxh2cdataBytes: number;
}
export interface TermReqPdu {
  type: typeof PduType.H2CTermReq | typeof PduType.C2HTermReq;
  fes: number;
  fei: number;
  /** The offending PDU header, as much as the sender included. */
  data: Buffer;
}
export interface CapsuleCmdPdu {
  type: typeof PduType.CapsuleCmd;
  sqe: Buffer;
  /** In-capsule data (empty when none). */
  data: Buffer;
  dataDigestOk: boolean;
}
export interface CapsuleRespPdu {
  type: typeof PduType.CapsuleResp;
  cqe: Buffer;
}
export interface DataPdu {
  type: typeof PduType.H2CData | typeof PduType.C2HData;
  cccid: number;
  /** Transfer tag (H2CData only; reserved in C2HData). */
  ttag: number;
  dataoBytes: number;
  last: boolean;
  success: boolean;
  data: Buffer;
  dataDigestOk: boolean;
}
export interface R2tPdu {
  type: typeof PduType.R2T;
  cccid: number;
  ttag: number;
  r2toBytes: number;
  r2tlBytes: number;
}
export type Pdu = IcReqPdu | IcRespPdu | TermReqPdu | CapsuleCmdPdu | CapsuleRespPdu | DataPdu | R2tPdu;

/** What one direction of a connection negotiated in the IC exchange. */
export interface PduFraming {
  hdgst: boolean;
  ddgst: boolean;
  /** Alignment of data in PDUs this side sends: (PDA + 1) * 4 bytes. 4 means no padding. */
  dataAlignmentBytes: number;
}
export const FRAMING_INITIAL: PduFraming = { hdgst: false, ddgst: false, dataAlignmentBytes: 4 };

export function pdaToAlignmentBytes(pda: number): number {
  return (pda + 1) * 4;
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * Frames one PDU: `header` is the type-specific header of HLEN bytes whose first
 * 8 bytes (the common header) this fills in. Returns the pieces to write in
 * order, so large data is sent without copying.
 */
function frame(type: PduTypeCode, flags: number, header: Buffer, data: Buffer | undefined, framing: PduFraming): Buffer[] {
  const hlen = HEADER_LENGTH_BYTES[type];
  const hdgst = framing.hdgst && HEADER_DIGEST_ALLOWED.has(type);
  const hasData = data !== undefined && data.length > 0;
  const ddgst = hasData && framing.ddgst && DATA_DIGEST_ALLOWED.has(type);
  const headerEnd = hlen + (hdgst ? DIGEST_BYTES : 0);
  let pdo = 0;
  let padBytes = 0;
  if (hasData) {
    const align = framing.dataAlignmentBytes;
    pdo = Math.ceil(headerEnd / align) * align;
    padBytes = pdo - headerEnd;
  }
  const plen = headerEnd + padBytes + (hasData ? data.length : 0) + (ddgst ? DIGEST_BYTES : 0);
  header[0] = type;
  header[1] = flags | (hdgst ? PduFlag.HDGST : 0) | (ddgst ? PduFlag.DDGST : 0);
  header[2] = hlen;
  header[3] = pdo;
  header.writeUInt32LE(plen, 4);
  const head = Buffer.alloc(headerEnd + padBytes);
  header.copy(head, 0, 0, hlen);
  if (hdgst) head.writeUInt32LE(crc32c(head.subarray(0, hlen)), hlen);
  if (!hasData) return [head];
  const pieces = [head, data];
  if (ddgst) {
    const digest = Buffer.alloc(DIGEST_BYTES);
    digest.writeUInt32LE(crc32c(data), 0);
    pieces.push(digest);
  }
  return pieces;
}

export function encodeIcReq(fields: Omit<IcReqPdu, 'type'>): Buffer {
  const header = Buffer.alloc(128);
  header.writeUInt16LE(fields.pfv, 8);
  header[10] = fields.hpda;
  header[11] = (fields.hdgst ? 1 : 0) | (fields.ddgst ? 2 : 0);
  header.writeUInt32LE(fields.maxr2t, 12);
  return frame(PduType.ICReq, 0, header, undefined, FRAMING_INITIAL)[0]!;
}

export function encodeIcResp(fields: Omit<IcRespPdu, 'type'>): Buffer {
  const header = Buffer.alloc(128);
  header.writeUInt16LE(fields.pfv, 8);
  header[10] = fields.cpda;
  header[11] = (fields.hdgst ? 1 : 0) | (fields.ddgst ? 2 : 0);
  header.writeUInt32LE(fields.maxh2cdataBytes, 12);
  return frame(PduType.ICResp, 0, header, undefined, FRAMING_INITIAL)[0]!;
}

/** TermReqs are never digested and carry the offending header (≤ 128 bytes) right after their own. */
export function encodeTermReq(
  type: typeof PduType.H2CTermReq | typeof PduType.C2HTermReq,
  fields: { fes: number; fei: number; offendingHeader?: Buffer },
): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt16LE(fields.fes, 8);
  header.writeUInt32LE(fields.fei >>> 0, 10);
  const data = (fields.offendingHeader ?? Buffer.alloc(0)).subarray(0, TERM_REQ_MAX_DATA_BYTES);
  header[0] = type;
  header[1] = 0;
  header[2] = 24;
  header[3] = 0;
  header.writeUInt32LE(24 + data.length, 4);
  return Buffer.concat([header, data]);
}

export function encodeCapsuleCmd(sqe: Buffer, data: Buffer | undefined, framing: PduFraming): Buffer[] {
  if (sqe.length !== SQE_BYTES) throw new RangeError(`an SQE is ${SQE_BYTES} bytes, got ${sqe.length}`);
  const header = Buffer.alloc(72);
  sqe.copy(header, 8);
  return frame(PduType.CapsuleCmd, 0, header, data, framing);
}

export function encodeCapsuleResp(cqe: Buffer, framing: PduFraming): Buffer {
  if (cqe.length !== CQE_BYTES) throw new RangeError(`a CQE is ${CQE_BYTES} bytes, got ${cqe.length}`);
  const header = Buffer.alloc(24);
  cqe.copy(header, 8);
  return frame(PduType.CapsuleResp, 0, header, undefined, framing)[0]!;
}

export function encodeDataPdu(
  type: typeof PduType.H2CData | typeof PduType.C2HData,
  fields: { cccid: number; ttag?: number; dataoBytes: number; last: boolean; success?: boolean },
  data: Buffer,
  framing: PduFraming,
): Buffer[] {
  const header = Buffer.alloc(24);
  header.writeUInt16LE(fields.cccid, 8);
  header.writeUInt16LE(type === PduType.H2CData ? (fields.ttag ?? 0) : 0, 10);
  header.writeUInt32LE(fields.dataoBytes, 12);
  header.writeUInt32LE(data.length, 16);
  const flags = (fields.last ? PduFlag.LAST_PDU : 0) | (fields.success ? PduFlag.SUCCESS : 0);
  return frame(type, flags, header, data, framing);
}

export function encodeR2t(fields: Omit<R2tPdu, 'type'>, framing: PduFraming): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt16LE(fields.cccid, 8);
  header.writeUInt16LE(fields.ttag, 10);
  header.writeUInt32LE(fields.r2toBytes, 12);
  header.writeUInt32LE(fields.r2tlBytes, 16);
  return frame(PduType.R2T, 0, header, undefined, framing)[0]!;
}

// ---------------------------------------------------------------------------
// Decoding

export interface DecoderLimits {
  /** PDUs longer than this are refused before they are buffered (FES 5). */
  maxPduBytes: number;
}

const KNOWN_TYPES = new Set<number>(Object.values(PduType));

/**
 * Checks what the first 8 bytes allow: type, HLEN, PLEN bounds, digest flags.
 * Run as soon as the common header arrives, so a bogus PLEN is refused at once.
 */
function checkCommonHeader(head: Buffer, framing: PduFraming, limits: DecoderLimits): void {
  const type = head[0]!;
  const flags = head[1]!;
  const hlen = head[2]!;
  const plen = head.readUInt32LE(4);
  if (!KNOWN_TYPES.has(type)) throw new PduError(Fes.InvalidHeaderField, 0, `unknown PDU type 0x${type.toString(16)}`);
  const code = type as PduTypeCode;
  if (hlen !== HEADER_LENGTH_BYTES[code]) {
    throw new PduError(Fes.InvalidHeaderField, 2, `HLEN ${hlen} for PDU type 0x${type.toString(16)}`);
  }
  if (plen > limits.maxPduBytes) throw new PduError(Fes.DataLimitExceeded, 4, `PLEN ${plen} exceeds ${limits.maxPduBytes}`);
  const isIc = code === PduType.ICReq || code === PduType.ICResp;
  const isTerm = code === PduType.H2CTermReq || code === PduType.C2HTermReq;
  if (isIc || isTerm) {
    if ((flags & (PduFlag.HDGST | PduFlag.DDGST)) !== 0) throw new PduError(Fes.InvalidHeaderField, 1, 'digest flag on an undigested PDU type');
    if (isIc && plen !== 128) throw new PduError(Fes.InvalidHeaderField, 4, `IC PDU PLEN ${plen}`);
    if (isTerm && (plen < 24 || plen > 24 + TERM_REQ_MAX_DATA_BYTES)) throw new PduError(Fes.InvalidHeaderField, 4, `TermReq PLEN ${plen}`);
    return;
  }
  const wantHdgst = framing.hdgst && HEADER_DIGEST_ALLOWED.has(code);
  if (((flags & PduFlag.HDGST) !== 0) !== wantHdgst) {
    throw new PduError(Fes.InvalidHeaderField, 1, `HDGST flag does not match the negotiated header digest`);
  }
  if ((flags & PduFlag.DDGST) !== 0 && !(framing.ddgst && DATA_DIGEST_ALLOWED.has(code))) {
    throw new PduError(Fes.InvalidHeaderField, 1, 'DDGST flag set but data digest not negotiated');
  }
  const minimum = hlen + (wantHdgst ? DIGEST_BYTES : 0);
  if (plen < minimum) throw new PduError(Fes.InvalidHeaderField, 4, `PLEN ${plen} shorter than header ${minimum}`);
}

/** Decodes one whole PDU (exactly PLEN bytes) whose common header passed checkCommonHeader. */
function decodeWhole(pdu: Buffer, framing: PduFraming): Pdu {
  const code = pdu[0]! as PduTypeCode;
  const flags = pdu[1]!;
  const hlen = pdu[2]!;
  const pdo = pdu[3]!;
  const plen = pdu.length;
  switch (code) {
    case PduType.ICReq:
      return {
        type: code,
        pfv: pdu.readUInt16LE(8),
        hpda: pdu[10]!,
        hdgst: (pdu[11]! & 1) !== 0,
        ddgst: (pdu[11]! & 2) !== 0,
        maxr2t: pdu.readUInt32LE(12),
      };
    case PduType.ICResp:
      return {
        type: code,
        pfv: pdu.readUInt16LE(8),
        cpda: pdu[10]!,
        hdgst: (pdu[11]! & 1) !== 0,
        ddgst: (pdu[11]! & 2) !== 0,
        maxh2cdataBytes: pdu.readUInt32LE(12),
      };
    case PduType.H2CTermReq:
    case PduType.C2HTermReq:
      return { type: code, fes: pdu.readUInt16LE(8), fei: pdu.readUInt32LE(10), data: pdu.subarray(24) };
    default:
      break;
  }
  const hdgst = (flags & PduFlag.HDGST) !== 0;
  const headerEnd = hlen + (hdgst ? DIGEST_BYTES : 0);
  if (hdgst) {
    const received = pdu.readUInt32LE(hlen);
    if (crc32c(pdu.subarray(0, hlen)) !== received) {
      throw new PduError(Fes.HeaderDigestError, received, `header digest mismatch on PDU type 0x${code.toString(16)}`);
    }
  }
  const carriesData = code === PduType.CapsuleCmd || code === PduType.H2CData || code === PduType.C2HData;
  if (!carriesData) {
    if (plen !== headerEnd) throw new PduError(Fes.InvalidHeaderField, 4, `PLEN ${plen} on a PDU without data`);
    if (pdo !== 0) throw new PduError(Fes.InvalidHeaderField, 3, `PDO ${pdo} on a PDU without data`);
    if (code === PduType.CapsuleResp) return { type: code, cqe: pdu.subarray(8, 24) };
    return {
      type: PduType.R2T,
      cccid: pdu.readUInt16LE(8),
      ttag: pdu.readUInt16LE(10),
      r2toBytes: pdu.readUInt32LE(12),
      r2tlBytes: pdu.readUInt32LE(16),
    };
  }
  let data: Buffer = Buffer.alloc(0);
  let dataDigestOk = true;
  const ddgst = (flags & PduFlag.DDGST) !== 0;
  if (plen > headerEnd) {
    if (pdo < headerEnd || pdo % framing.dataAlignmentBytes !== 0) {
      throw new PduError(Fes.InvalidHeaderField, 3, `PDO ${pdo} (header ends at ${headerEnd}, alignment ${framing.dataAlignmentBytes})`);
    }
    const dataEnd = plen - (ddgst ? DIGEST_BYTES : 0);
    if (dataEnd <= pdo) throw new PduError(Fes.InvalidHeaderField, 4, `PLEN ${plen} leaves no data after PDO ${pdo}`);
    data = pdu.subarray(pdo, dataEnd);
    if (ddgst) dataDigestOk = crc32c(data) === pdu.readUInt32LE(dataEnd);
  } else if (ddgst || pdo !== 0) {
    throw new PduError(Fes.InvalidHeaderField, ddgst ? 1 : 3, 'data digest flag or PDO without data');
  }
  if (framing.ddgst && data.length > 0 && !ddgst) {
    throw new PduError(Fes.InvalidHeaderField, 1, 'data digest negotiated but DDGST flag clear');
  }
  if (code === PduType.CapsuleCmd) return { type: code, sqe: pdu.subarray(8, 72), data, dataDigestOk };
  const datal = pdu.readUInt32LE(16);
  if (datal !== data.length || datal === 0) {
    throw new PduError(Fes.InvalidHeaderField, 16, `DATAL ${datal} but the PDU carries ${data.length} bytes`);
  }
  const last = (flags & PduFlag.LAST_PDU) !== 0;
  const success = (flags & PduFlag.SUCCESS) !== 0;
  if (success && (code !== PduType.C2HData || !last)) {
    throw new PduError(Fes.InvalidHeaderField, 1, 'SUCCESS flag without LAST_PDU or on H2CData');
  }
  return {
    type: code,
    cccid: pdu.readUInt16LE(8),
    ttag: pdu.readUInt16LE(10),
    dataoBytes: pdu.readUInt32LE(12),
    last,
    success,
    data,
    dataDigestOk,
  };
}

/** Decodes a single complete PDU buffer (tests, captures). */
export function decodePdu(pdu: Buffer, framing: PduFraming, limits: DecoderLimits = { maxPduBytes: 0xffffffff }): Pdu {
  if (pdu.length < COMMON_HEADER_BYTES) throw new PduError(Fes.InvalidHeaderField, 4, 'short PDU');
  checkCommonHeader(pdu, framing, limits);
  if (pdu.readUInt32LE(4) !== pdu.length) throw new PduError(Fes.InvalidHeaderField, 4, 'PLEN does not match the buffer');
  return decodeWhole(pdu, framing);
}

/**
 * Reassembles PDUs from TCP segments. Pull-based: the caller pushes bytes,
 * then calls next() until it returns undefined, and may change `framing`
 * between PDUs (the IC exchange switches digests on for what follows).
 */
export class PduDecoder {
  framing: PduFraming = { ...FRAMING_INITIAL };
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** The offending header of the last PduError, for the TermReq. */
  lastHeader: Buffer = Buffer.alloc(0);

  /** Mutable: a receiver raises the limit once the IC exchange is done. */
  constructor(public limits: DecoderLimits) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** The next complete PDU, or undefined if more bytes are needed. Throws PduError on a broken PDU. */
  next(): Pdu | undefined {
    if (this.bufferedBytes < COMMON_HEADER_BYTES) return undefined;
    const head = this.peek(COMMON_HEADER_BYTES);
    this.lastHeader = head;
    checkCommonHeader(head, this.framing, this.limits);
    const plen = head.readUInt32LE(4);
    if (this.bufferedBytes < plen) return undefined;
    const whole = this.take(plen);
    this.lastHeader = whole.subarray(0, Math.min(whole.length, whole[2]!));
    return decodeWhole(whole, this.framing);
  }

  private peek(length: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= length) return first.subarray(0, length);
    return Buffer.concat(this.chunks, Math.min(this.bufferedBytes, Math.max(length, 0))).subarray(0, length);
  }

  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= length) {
      out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      out = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const chunk = this.chunks[0]!;
        const want = length - filled;
        if (chunk.length <= want) {
          chunk.copy(out, filled);
          filled += chunk.length;
          this.chunks.shift();
        } else {
          chunk.copy(out, filled, 0, want);
          filled += want;
          this.chunks[0] = chunk.subarray(want);
        }
      }
    }
    this.bufferedBytes -= length;
    return out;
  }
}

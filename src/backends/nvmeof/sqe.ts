// Submission and completion queue entries (64-byte SQE, 16-byte CQE) and the
// one SGL descriptor NVMe/TCP uses in DPTR. Pure byte layout, no transport.
import { CQE_BYTES, SQE_BYTES, SQE_FLAGS_SGL, SglId } from './constants.js';

export interface Sgl {
  /** SGL identifier byte: SglId.InCapsule or SglId.TransportDataBlock (others are rejected by the target). */
  id: number;
  /** Offset into in-capsule data (0 for TCP) or 0. */
  address: bigint;
  lengthBytes: number;
}

export interface Sqe {
  opcode: number;
  /** SQE byte 1: FUSE bits 1:0, PSDT bits 7:6. */
  flags: number;
  cid: number;
  /** NSID; for Fabrics commands byte 4 is FCTYPE (see fctype). */
  nsid: number;
  sgl: Sgl;
  /** CDW10..CDW15. */
  cdw: [number, number, number, number, number, number];
}

export function fctypeOf(sqe: Buffer): number {
  return sqe[4]!;
}

export function encodeSqe(fields: {
  opcode: number;
  cid: number;
  nsid?: number;
  sgl?: Sgl;
  cdw?: number[];
}): Buffer {
  const sqe = Buffer.alloc(SQE_BYTES);
  sqe[0] = fields.opcode;
  sqe[1] = SQE_FLAGS_SGL;
  sqe.writeUInt16LE(fields.cid, 2);
  sqe.writeUInt32LE((fields.nsid ?? 0) >>> 0, 4);
  const sgl = fields.sgl ?? { id: SglId.TransportDataBlock, address: 0n, lengthBytes: 0 };
  sqe.writeBigUInt64LE(sgl.address, 24);
  sqe.writeUInt32LE(sgl.lengthBytes, 32);
  sqe[39] = sgl.id;
  (fields.cdw ?? []).forEach((value, index) => sqe.writeUInt32LE(value >>> 0, 40 + index * 4));
  return sqe;
}

export function decodeSqe(sqe: Buffer): Sqe {
  return {
    opcode: sqe[0]!,
    flags: sqe[1]!,
    cid: sqe.readUInt16LE(2),
    nsid: sqe.readUInt32LE(4),
    sgl: { id: sqe[39]!, address: sqe.readBigUInt64LE(24), lengthBytes: sqe.readUInt32LE(32) },
    cdw: [
      sqe.readUInt32LE(40),
      sqe.readUInt32LE(44),
      sqe.readUInt32LE(48),
      sqe.readUInt32LE(52),
      sqe.readUInt32LE(56),
      sqe.readUInt32LE(60),
    ],
  };
}

/** Fabrics SQEs: byte 4 is FCTYPE and bytes 5..39 are reserved except the SGL. */
export function encodeFabricsSqe(fields: { cid: number; fctype: number; sgl?: Sgl; specific?: Buffer }): Buffer {
  const sqe = encodeSqe({ opcode: 0x7f, cid: fields.cid, ...(fields.sgl ? { sgl: fields.sgl } : {}) });
  sqe[4] = fields.fctype;
  if (fields.specific) fields.specific.copy(sqe, 40, 0, Math.min(24, fields.specific.length));
  return sqe;
}

export interface Cqe {
  dw0: number;
  dw1: number;
  sqhd: number;
  sqid: number;
  cid: number;
  /** The 16-bit STATUS field (phase tag in bit 0). */
  status: number;
}

export function encodeCqe(cqe: Cqe): Buffer {
  const out = Buffer.alloc(CQE_BYTES);
  out.writeUInt32LE(cqe.dw0 >>> 0, 0);
  out.writeUInt32LE(cqe.dw1 >>> 0, 4);
  out.writeUInt16LE(cqe.sqhd, 8);
  out.writeUInt16LE(cqe.sqid, 10);
  out.writeUInt16LE(cqe.cid, 12);
  out.writeUInt16LE(cqe.status, 14);
  return out;
}

export function decodeCqe(cqe: Buffer): Cqe {
  return {
    dw0: cqe.readUInt32LE(0),
    dw1: cqe.readUInt32LE(4),
    sqhd: cqe.readUInt16LE(8),
    sqid: cqe.readUInt16LE(10),
    cid: cqe.readUInt16LE(12),
    status: cqe.readUInt16LE(14),
  };
}

/** SLBA (CDW10/11) and 0's based NLB (CDW12 15:0) of a Read/Write. */
export function lbaRange(sqe: Sqe): { slba: bigint; blocks: number; fua: boolean } {
  return {
    slba: (BigInt(sqe.cdw[1]) << 32n) | BigInt(sqe.cdw[0]),
    blocks: (sqe.cdw[2] & 0xffff) + 1,
    fua: (sqe.cdw[2] & (1 << 30)) !== 0,
  };
}

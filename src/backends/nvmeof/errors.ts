// Typed errors of the NVMe/TCP stack. Callers branch on the class (and on sct/sc
// for a command status): a status error means the controller answered; a
// transport error means the connection, not the command, failed.
import { FabricsStatus, GenericStatus, Sct } from './constants.js';

const GENERIC_NAMES = new Map<number, string>(Object.entries(GenericStatus).map(([name, code]) => [code, name]));
const FABRICS_NAMES = new Map<number, string>(Object.entries(FabricsStatus).map(([name, code]) => [code, name]));

/** The 15 status bits of a CQE (bit 0, the phase tag, already removed). */
export interface NvmeStatus {
  sct: number;
  sc: number;
  crd: number;
  more: boolean;
  dnr: boolean;
}

/** CQE STATUS field (16 bits, phase tag included) → parts. */
export function decodeStatus(statusField: number): NvmeStatus {
  return {
    sc: (statusField >> 1) & 0xff,
    sct: (statusField >> 9) & 0x7,
    crd: (statusField >> 12) & 0x3,
    more: (statusField & 0x4000) !== 0,
    dnr: (statusField & 0x8000) !== 0,
  };
}

/** Parts → CQE STATUS field with phase tag 0 (fabrics never uses it). */
export function encodeStatus(sct: number, sc: number, dnr = false): number {
  return ((sc & 0xff) << 1) | ((sct & 0x7) << 9) | (dnr ? 0x8000 : 0);
}

export function statusName(sct: number, sc: number): string {
  if (sct === Sct.Generic) return GENERIC_NAMES.get(sc) ?? `Generic(0x${sc.toString(16)})`;
  if (sct === Sct.CommandSpecific) return FABRICS_NAMES.get(sc) ?? `CommandSpecific(0x${sc.toString(16)})`;
  if (sct === Sct.MediaError) return `MediaError(0x${sc.toString(16)})`;
  if (sct === Sct.Path) return `Path(0x${sc.toString(16)})`;
  return `Sct${sct}(0x${sc.toString(16)})`;
}

/** The controller completed the command with a non-success status. */
export class NvmeStatusError extends Error {
  readonly sct: number;
  readonly sc: number;
  readonly dnr: boolean;
  readonly more: boolean;
  readonly crd: number;
  /** Command-specific DW0 (e.g. Connect's IPO/IATTR). */
  readonly dw0: number;
  readonly statusName: string;
  constructor(status: NvmeStatus, what: string, dw0 = 0) {
    const name = statusName(status.sct, status.sc);
    super(`${what} failed: ${name} (SCT ${status.sct} SC 0x${status.sc.toString(16)}${status.dnr ? ', DNR' : ''})`);
    this.name = 'NvmeStatusError';
    this.sct = status.sct;
    this.sc = status.sc;
    this.dnr = status.dnr;
    this.more = status.more;
    this.crd = status.crd;
    this.dw0 = dw0;
    this.statusName = name;
  }
}

/**
 * A PDU broke the transport's rules. fes/fei are what a TermReq reports: the
 * fatal error status and, for an invalid header field, the byte offset of the field.
 */
export class PduError extends Error {
  readonly fes: number;
  readonly fei: number;
  constructor(fes: number, fei: number, message: string) {
    super(message);
    this.name = 'PduError';
    this.fes = fes;
    this.fei = fei;
  }
}

/** The connection carrying a command failed or was closed; the command's outcome is unknown. */
export class NvmeTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NvmeTransportError';
  }
}

/** A command got no completion within its deadline; its connection is torn down. */
export class NvmeTimeoutError extends NvmeTransportError {
  constructor(message: string) {
    super(message);
    this.name = 'NvmeTimeoutError';
  }
}

/** Received data failed its CRC32C data digest. */
export class DataDigestError extends NvmeTransportError {
  constructor(message: string) {
    super(message);
    this.name = 'DataDigestError';
  }
}

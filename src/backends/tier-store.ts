// The contract every storage tier implements (fs, nvme, dax, remote). Placement
// (src/placement) chooses a tier per blob and talks to it only through this
// interface; the object layer stores the returned BlobRef in its metadata.
//
// Invariants every tier keeps:
// - A BlobWriter's finish() resolves only after the bytes are durable on the
//   tier's medium (fdatasync / device flush / pmem flush / target flush).
// - A blob whose BlobRef was never committed into metadata is garbage: the tier
//   reclaims it in recover() (at start, before any request) or when the writer
//   is aborted. Allocation therefore "takes effect" with the metadata command.
// - delete() is called only after the metadata command that dropped the last
//   reference committed. Reads already under way must still see the old bytes
//   or fail cleanly; they must never see another blob's bytes.
// - Reads verify what the tier stored (CRC per extent where the medium has no
//   checksum of its own) and fail rather than return wrong bytes.
import type { Readable } from 'node:stream';

export type TierName = 'dax' | 'nvme' | 'remote' | 'fs';

/** How a tier is running, as reported in /.strata/health. */
export type TierMode = 'dax' | 'emulated' | 'io_uring' | 'threadpool' | 'nvme-tcp' | 'kernel' | 'file';

/** One contiguous run on an extent-addressed medium. crc32c covers the `length` bytes of payload. */
export interface Extent {
  offset: number;
  length: number;
  crc32c: number;
}

/** Where a blob's bytes live. Plain JSON: it travels inside metadata commands (and the Raft log). */
export type BlobRef =
  | { tier: 'fs'; size: number; id: string }
  | { tier: 'nvme' | 'remote' | 'dax'; size: number; extents: Extent[] };

export interface TierStats {
  name: TierName;
  mode: TierMode;
  capacityBytes: number;
  usedBytes: number;
  objects: number;
}

export interface BlobWriter {
  /** Appends bytes; resolves when the tier can take more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** Persists everything written and returns the blob's ref. Durable when resolved. */
  finish(): Promise<BlobRef>;
  /** Drops the blob and frees its space; safe to call at any point, idempotent. */
  abort(): Promise<void>;
}

export interface ReadRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
}

export interface TierStore {
  readonly name: TierName;
  readonly mode: TierMode;
  /**
   * Called once at start, before any request, with every BlobRef of this tier
   * that committed metadata references. The tier rebuilds its allocation state
   * from it and reclaims everything else (interrupted writes, crashed deletes).
   */
  recover(committed: Iterable<BlobRef>): Promise<{ reclaimedBlobs: number; reclaimedBytes: number }>;
  /**
   * Starts a new blob. sizeHint is the expected size when known (Content-Length);
   * throws TierFullError when the tier cannot hold it, so placement can fall back.
   */
  createWriter(options: { sizeHint?: number }): Promise<BlobWriter>;
  /** Streams bytes [start, end) of a blob; errors (I/O, CRC mismatch) surface as stream errors. */
  createReadStream(ref: BlobRef, range: ReadRange): Readable;
  /** Frees a blob whose last reference has been committed away. Idempotent. */
  delete(ref: BlobRef): Promise<void>;
  stats(): TierStats;
  /** False while the medium is unreachable (remote tiers); absent means always available. */
  available?(): boolean;
  /** Extra, tier-specific fields for /.strata/health (engine, flush counts, ...). */
  details?(): object;
  close(): Promise<void>;
}

/** The tier has no room for this blob; placement tries the next tier. */
export class TierFullError extends Error {
  constructor(
    readonly tier: TierName,
    readonly requestedBytes: number,
  ) {
    super(`tier ${tier} has no room for ${requestedBytes} bytes`);
    this.name = 'TierFullError';
  }
}

/** The tier's medium is unreachable right now (a remote target went away). */
export class TierUnavailableError extends Error {
  constructor(
    readonly tier: TierName,
    detail: string,
  ) {
    super(`tier ${tier} is unavailable: ${detail}`);
    this.name = 'TierUnavailableError';
  }
}

/** Stored bytes failed their integrity check; never serve them. */
export class BlobCorruptError extends Error {
  constructor(
    readonly tier: TierName,
    detail: string,
  ) {
    super(`corrupt blob on tier ${tier}: ${detail}`);
    this.name = 'BlobCorruptError';
  }
}

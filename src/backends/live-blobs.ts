// Bookkeeping shared by the extent tiers (nvme, remote, dax): which blobs are
// live (keyed by the offset of their first extent, unique while allocated),
// how many read streams each has open, and deletes deferred until the last of
// those streams closes — so a deleted blob's space is never reused under a
// reader. Also the range planning their read streams share.
import type { Extent, ReadRange } from './tier-store.js';

export function sameExtents(a: readonly Extent[], b: readonly Extent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.offset !== y.offset || x.length !== y.length || x.crc32c !== y.crc32c) return false;
  }
  return true;
}

/** A part of one extent's payload that a range read returns. */
export interface ExtentPiece {
  extent: Extent;
  fromBytes: number;
  toBytes: number;
}

/** The extents (and the parts of them) that hold bytes [start, end) of a blob. */
export function planRange(extents: readonly Extent[], range: ReadRange): ExtentPiece[] {
  const pieces: ExtentPiece[] = [];
  let extentStart = 0;
  for (const extent of extents) {
    const extentEnd = extentStart + extent.length;
    if (extentEnd > range.start && extentStart < range.end) {
      pieces.push({
        extent,
        fromBytes: Math.max(range.start, extentStart) - extentStart,
        toBytes: Math.min(range.end, extentEnd) - extentStart,
      });
    }
    if (extentEnd >= range.end) break;
    extentStart = extentEnd;
  }
  return pieces;
}

/**
 * Groups committed refs by first-extent offset for recover(), refusing two
 * different blobs that claim the same start (metadata corruption).
 */
export function groupCommitted(refs: Iterable<{ extents: readonly Extent[] }>, tierName: string): Map<number, readonly Extent[]> {
  const blobs = new Map<number, readonly Extent[]>();
  for (const ref of refs) {
    if (ref.extents.length === 0) continue;
    const key = ref.extents[0]!.offset;
    const known = blobs.get(key);
    if (known !== undefined && !sameExtents(known, ref.extents)) {
      throw new Error(`${tierName} tier: two committed blobs start at offset ${key} with different extents`);
    }
    blobs.set(key, ref.extents);
  }
  return blobs;
}

export class LiveBlobs {
  private readonly live = new Map<number, readonly Extent[]>();
  private readonly readers = new Map<number, number>();
  private readonly deferred = new Map<number, readonly Extent[]>();

  /** `free` returns a dropped blob's space; called once no reader holds it. */
  constructor(private readonly free: (extents: readonly Extent[]) => void) {}

  get size(): number {
    return this.live.size;
  }

  get openReaders(): number {
    let total = 0;
    for (const count of this.readers.values()) total += count;
    return total;
  }

  get deferredFrees(): number {
    return this.deferred.size;
  }

  add(extents: readonly Extent[]): void {
    if (extents.length > 0) this.live.set(extents[0]!.offset, extents);
  }

  /**
   * Registers a reader of a live blob; returns the function that ends it.
   * Throws when the blob is not live (deleted, or never committed).
   */
  openReader(extents: readonly Extent[], describe: (offset: number) => string): () => void {
    const key = extents[0]?.offset;
    if (key === undefined) return () => undefined;
    const known = this.live.get(key);
    if (known === undefined || !sameExtents(known, extents)) throw new Error(describe(key));
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.readerClosed(key);
    };
  }

  /** Drops a blob: freed now, or when its last reader closes. Idempotent. */
  drop(extents: readonly Extent[]): void {
    if (extents.length === 0) return;
    const key = extents[0]!.offset;
    const known = this.live.get(key);
    if (known === undefined || !sameExtents(known, extents)) return;
    this.live.delete(key);
    if ((this.readers.get(key) ?? 0) > 0) this.deferred.set(key, known);
    else this.free(known);
  }

  private readerClosed(key: number): void {
    const count = (this.readers.get(key) ?? 1) - 1;
    if (count > 0) {
      this.readers.set(key, count);
      return;
    }
    this.readers.delete(key);
    const extents = this.deferred.get(key);
    if (extents !== undefined) {
      this.deferred.delete(key);
      this.free(extents);
    }
  }
}

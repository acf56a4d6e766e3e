// The dax tier: small blobs as CRC32C-checked records in slab slots of a file
// mapped into the process (MAP_SYNC on a DAX filesystem, else MAP_SHARED +
// msync, reported as mode 'emulated').
//
// Invariants (see tier-store.ts for the contract):
// - The slab allocator's durable state is the committed BlobRefs: recover()
//   rebuilds it from them, so slots of writes that never committed are free
//   after a restart. No request is served before recover().
// - finish() resolves only after the record's payload and header were
//   persisted, and then its commit marker (two group-committed flushes).
// - Reads check the header (committed, and the record the ref names) and the
//   payload CRC32C of the copy they return; a failure is BlobCorruptError.
// - A deleted blob's slots are reused only once no read stream of it is open;
//   its headers are cleared (best effort: the next flush carries it) so a scan
//   after a crash does not take it for an interrupted write.
import { randomInt } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HEADER_BYTES, PAGE_MAP_OFFSET_BYTES, RECORD_PAYLOAD_BYTES_MAX, SLOT_CLASSES, classForPayload, type DaxSuperblock } from './dax-layout.js';
import { PersistPipeline } from './dax-persist.js';
import { createDaxReadStream } from './dax-read-stream.js';
import { recoverDax, type DaxRecoveryReport } from './dax-recover.js';
import type { DaxRegion, PersistenceMechanism } from './dax-region.js';
import { SlabAllocator, type Slot } from './dax-slab.js';
import { DaxBlobWriter, type DaxBlobRef, type DaxWriterHost } from './dax-writer.js';
import type { BlobRef, BlobWriter, Extent, ReadRange, TierMode, TierStats, TierStore } from './tier-store.js';
import { groupCommitted, LiveBlobs } from './live-blobs.js';

/** stats() plus what operators and tests want to see. */
export interface DaxTierDetails extends TierStats {
  path: string;
  uuid: string;
  /** How stores are made durable: a cache-line flush instruction (DAX) or msync (emulated). */
  persistence: PersistenceMechanism;
  mapSync: 'granted' | 'refused' | 'not-tried';
  /** Why MAP_SYNC was refused (EOPNOTSUPP: the filesystem is not DAX). */
  mapSyncError: string | undefined;
  nonTemporalStores: boolean;
  nonTemporalMinBytes: number;
  /** Test mode: cache lines flushed on a mapping that is not DAX (never durable against power loss). */
  cacheFlushWithoutDax: boolean;
  pageBytes: number;
  pagesUsed: number;
  pagesFree: number;
  freeBytes: number;
  recordPayloadBytesMax: number;
  openReadStreams: number;
  deferredFrees: number;
  corruptReads: number;
  recovery: DaxRecoveryReport | undefined;
  /** finish() calls that reached the group commit. */
  commitRequests: number;
  /** Group commits (each: payload flush, markers, marker flush). */
  commitBatches: number;
  recordsCommitted: number;
  /** msync calls (emulated mode: two per batch, plus recovery and close). */
  msyncs: number;
  commitFailures: number;
  classes: { slotBytes: number; slots: number; pages: number }[];
}

export interface DaxTierParts {
  region: DaxRegion;
  superblock: DaxSuperblock;
}

export class DaxTier implements TierStore, DaxWriterHost {
  readonly name = 'dax' as const;
  readonly mode: TierMode;
  readonly region: DaxRegion;
  readonly slab: SlabAllocator;
  readonly pipeline: PersistPipeline;
  readonly superblock: DaxSuperblock;
  /** Live blobs by the offset of their first record's payload (unique while allocated). */
  private readonly blobs = new LiveBlobs((extents) => this.free(extents));
  private sequenceHigh = randomInt(0, 2 ** 32);
  private sequenceLow = 0;
  private recovered = false;
  private closed = false;
  private corruptReads = 0;
  private recoveryReport: DaxRecoveryReport | undefined;

  /** Use openDaxTier(). */
  constructor(parts: DaxTierParts) {
    this.region = parts.region;
    this.superblock = parts.superblock;
    this.mode = parts.region.mode;
    this.pipeline = new PersistPipeline(parts.region);
    this.slab = new SlabAllocator({
      dataStartBytes: parts.superblock.dataStartBytes,
      pageBytes: parts.superblock.pageBytes,
      pageCount: parts.superblock.pageCount,
      onPageChange: (pageIndex, classIndex) => this.writePageMap(pageIndex, classIndex),
    });
  }

  async recover(committed: Iterable<BlobRef>): Promise<{ reclaimedBlobs: number; reclaimedBytes: number }> {
    if (this.recovered) throw new Error('dax tier: recover() runs once, at start');
    const ours: DaxBlobRef[] = [];
    for (const ref of committed) {
      if (ref.tier !== 'dax') continue;
      this.checkRef(ref);
      ours.push(ref);
    }
    const blobs = groupCommitted(ours, 'dax');
    this.recoveryReport = await recoverDax(this, blobs.values());
    for (const extents of blobs.values()) this.blobs.add(extents);
    this.recovered = true;
    return { reclaimedBlobs: this.recoveryReport.reclaimedRecords, reclaimedBytes: this.recoveryReport.reclaimedBytes };
  }

  async createWriter(options: { sizeHint?: number }): Promise<BlobWriter> {
    this.checkServing();
    const sizeHint = options.sizeHint;
    if (sizeHint !== undefined && (!Number.isSafeInteger(sizeHint) || sizeHint < 0)) {
      throw new RangeError(`sizeHint must be a non-negative integer, not ${sizeHint}`);
    }
    return new DaxBlobWriter(this, { sizeHint });
  }

  createReadStream(ref: BlobRef, range: ReadRange): Readable {
    this.checkServing();
    this.checkRef(ref);
    const { start, end } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > ref.size) {
      throw new RangeError(`range [${range.start}, ${range.end}) outside a blob of ${ref.size} bytes`);
    }
    const closeReader = this.blobs.openReader(
      ref.extents,
      (offset) => `dax tier: no blob with these records at offset ${offset} (deleted, or never committed)`,
    );
    return createDaxReadStream(this, ref.extents, range, closeReader);
  }

  async delete(ref: BlobRef): Promise<void> {
    this.checkServing();
    this.checkRef(ref);
    this.blobs.drop(ref.extents);
  }

  stats(): TierStats {
    return {
      name: 'dax',
      mode: this.mode,
      capacityBytes: this.slab.capacityBytes,
      usedBytes: this.slab.usedBytes,
      objects: this.blobs.size,
    };
  }

  details(): DaxTierDetails {
    const persist = this.pipeline.stats();
    const info = this.region.info;
    return {
      ...this.stats(),
      path: this.region.path,
      uuid: this.superblock.uuid,
      persistence: this.region.persistence,
      mapSync: info.mapSync,
      mapSyncError: info.mapSyncError,
      nonTemporalStores: info.nonTemporalStores,
      nonTemporalMinBytes: info.nonTemporalMinBytes,
      cacheFlushWithoutDax: info.cacheFlushWithoutDax,
      pageBytes: this.slab.pageBytes,
      pagesUsed: this.slab.pageCount - this.slab.freePages,
      pagesFree: this.slab.freePages,
      freeBytes: this.slab.freePages * this.slab.pageBytes,
      recordPayloadBytesMax: RECORD_PAYLOAD_BYTES_MAX,
      openReadStreams: this.blobs.openReaders,
      deferredFrees: this.blobs.deferredFrees,
      corruptReads: this.corruptReads,
      recovery: this.recoveryReport,
      commitRequests: persist.requests,
      commitBatches: persist.batches,
      recordsCommitted: persist.commits,
      msyncs: this.region.msyncCount,
      commitFailures: persist.failures,
      classes: this.slab.classUsage(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Cleared headers and page-map updates ride on flushes; make them durable now.
    await this.pipeline.flushAll();
    this.region.close();
  }

  // DaxWriterHost / DaxReaderHost ------------------------------------------

  nextSequence(): [number, number] {
    if (this.sequenceLow === 0xffffffff) {
      this.sequenceHigh = (this.sequenceHigh + 1) >>> 0;
      this.sequenceLow = 0;
    }
    return [this.sequenceHigh, this.sequenceLow++];
  }

  blobFinished(ref: DaxBlobRef): void {
    this.blobs.add(ref.extents);
  }

  blobDropped(ref: DaxBlobRef): void {
    this.blobs.drop(ref.extents);
  }

  freeSlot(slot: Slot): void {
    this.region.clearHeader(slot.offset);
    this.pipeline.noteDirty(slot.offset, slot.offset + HEADER_BYTES);
    this.slab.release(slot.offset);
  }

  noteCorruptRead(): void {
    this.corruptReads++;
  }

  // ------------------------------------------------------------------------

  private free(extents: readonly Extent[]): void {
    if (this.closed) return; // the slots are free at the next start anyway
    for (const extent of extents) {
      const offset = extent.offset - HEADER_BYTES;
      this.freeSlot({ offset, classIndex: classForPayload(extent.length), slotBytes: SLOT_CLASSES[classForPayload(extent.length)]! });
    }
  }

  private writePageMap(pageIndex: number, classIndex: number): void {
    const offset = PAGE_MAP_OFFSET_BYTES + pageIndex;
    this.region.write(offset, Uint8Array.of(classIndex + 1));
    this.pipeline.noteDirty(offset, offset + 1);
  }

  private checkServing(): void {
    if (this.closed) throw new Error('dax tier is closed');
    if (!this.recovered) throw new Error('dax tier: call recover() before serving requests');
  }

  /** A ref must name records on slot boundaries inside the data region, or we refuse to touch it. */
  private checkRef(ref: BlobRef): asserts ref is DaxBlobRef {
    const bad = (why: string): never => {
      throw new TypeError(`not a valid dax BlobRef: ${why}`);
    };
    if (ref.tier !== 'dax') bad(`tier is ${ref.tier}`);
    const dax = ref as DaxBlobRef;
    if (!Number.isSafeInteger(dax.size) || dax.size < 0) bad(`size ${dax.size}`);
    if (!Array.isArray(dax.extents)) bad('no extents');
    let total = 0;
    for (const e of dax.extents) {
      if (!Number.isSafeInteger(e.length) || e.length <= 0 || e.length > RECORD_PAYLOAD_BYTES_MAX) bad(`record length ${e.length}`);
      const slotBytes = SLOT_CLASSES[classForPayload(e.length)]!;
      const slotOffset = e.offset - HEADER_BYTES;
      const pageIndex = this.slab.pageOf(slotOffset);
      if (!Number.isSafeInteger(e.offset) || slotOffset < this.slab.dataStartBytes || pageIndex >= this.slab.pageCount) {
        bad(`record at ${e.offset} outside the data region`);
      }
      const inPage = slotOffset - this.slab.pageStart(pageIndex);
      if (inPage % slotBytes !== 0 || inPage + slotBytes > this.slab.pageBytes) bad(`record at ${e.offset} is not on a ${slotBytes}-byte slot boundary`);
      if (!Number.isInteger(e.crc32c) || e.crc32c < 0 || e.crc32c > 0xffffffff) bad(`crc32c ${e.crc32c}`);
      total += e.length;
    }
    if (total !== dax.size) bad(`records hold ${total} bytes, size says ${dax.size}`);
  }
}

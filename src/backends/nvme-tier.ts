// The nvme tier: blobs as CRC32C-checked, 4 KiB-aligned extents in one
// preallocated file or block device opened O_DIRECT, driven by the native I/O
// engine (io_uring, or the thread-pool fallback).
//
// Invariants (see tier-store.ts for the contract):
// - The allocator's durable state is the committed BlobRefs: recover() rebuilds
//   it from them, so space of writes that never committed is free after a
//   restart. No request is served before recover().
// - finish() resolves only after the blob's writes completed and a flush
//   (fdatasync; group-committed across writers) succeeded.
// - A deleted blob's blocks are reused only once no read stream of it is open.
// - Every extent read is checked against its CRC32C before any byte of it is
//   returned.
import type { Readable } from 'node:stream';
import { GroupFlush } from './group-flush.js';
import { ExtentAllocator, type Run } from './extent-allocator.js';
import type { IoEngine, IoEngineKind } from './io-engine.js';
import type { BlockFile } from './block-file.js';
import { IntentTable, type IntentSnapshot } from './nvme-intents.js';
import type { Superblock } from './nvme-layout.js';
import { createNvmeReadStream } from './nvme-read-stream.js';
import { groupCommitted, LiveBlobs } from './live-blobs.js';
import { NvmeBlobWriter, type WriterHost } from './nvme-writer.js';
import {
  TierUnavailableError,
  type BlobRef,
  type BlobWriter,
  type Extent,
  type ReadRange,
  type TierMode,
  type TierStats,
  type TierStore,
} from './tier-store.js';

/** The extent tiers: local nvme, and remote (NVMe-oF or a kernel-attached namespace). */
export type ExtentTierName = 'nvme' | 'remote';
export type NvmeBlobRef = BlobRef & { tier: ExtentTierName };

/** stats() plus what operators and tests want to see. */
export interface NvmeTierDetails extends TierStats {
  path: string;
  device: 'file' | 'block' | 'nvme-tcp';
  available: boolean;
  uuid: string;
  freeBytes: number;
  freeRuns: number;
  extentBytesMax: number;
  openReadStreams: number;
  deferredFrees: number;
  corruptReads: number;
  flushRequests: number;
  flushes: number;
  flushFailures: number;
  intentWrites: number;
  intentWriteFailures: number;
  engine: {
    kind: IoEngineKind;
    fixedBuffers: boolean;
    queueDepth: number;
    fallbackReason: string | undefined;
  };
}

export interface NvmeTierParts {
  engine: IoEngine;
  ownsEngine: boolean;
  file: BlockFile;
  superblock: Superblock;
  device: 'file' | 'block' | 'nvme-tcp';
  intents: IntentSnapshot;
  /** Default 'nvme'; 'remote' for the large-object tier on a remote namespace. */
  tierName?: ExtentTierName;
  /** Default: the engine's kind. The remote tier reports 'nvme-tcp' or 'kernel'. */
  mode?: TierMode;
  /** False while the medium is unreachable: writes go elsewhere, reads answer 503. */
  isAvailable?: () => boolean;
}

export class NvmeTier implements TierStore, WriterHost {
  readonly name: ExtentTierName;
  readonly mode: TierMode;
  readonly file: BlockFile;
  readonly allocator: ExtentAllocator;
  readonly extentBytesMax: number;
  private readonly engine: IoEngine;
  private readonly ownsEngine: boolean;
  private readonly superblock: Superblock;
  private readonly device: 'file' | 'block' | 'nvme-tcp';
  private readonly isAvailable: () => boolean;
  private readonly flusher: GroupFlush;
  private readonly intents: IntentTable;
  private previousIntents: IntentSnapshot | undefined;
  private readonly blobs = new LiveBlobs((extents) => this.free(extents));
  private nextWriterId = 1;
  private recovered = false;
  private closed = false;
  private corruptReads = 0;

  /** Use openNvmeTier(). */
  constructor(parts: NvmeTierParts) {
    this.engine = parts.engine;
    this.ownsEngine = parts.ownsEngine;
    this.file = parts.file;
    this.superblock = parts.superblock;
    this.device = parts.device;
    this.name = parts.tierName ?? 'nvme';
    this.mode = parts.mode ?? parts.engine.kind;
    this.isAvailable = parts.isAvailable ?? (() => true);
    this.extentBytesMax = parts.superblock.extentBytesMax;
    this.allocator = new ExtentAllocator({
      startBytes: parts.superblock.dataStartBytes,
      endBytes: parts.superblock.capacityBytes,
    });
    this.flusher = new GroupFlush(() => this.file.datasync());
    this.previousIntents = parts.intents;
    this.intents = new IntentTable(this, { nextSequence: parts.intents.sequence + 1 });
  }

  get pool(): IoEngine['pool'] {
    return this.engine.pool;
  }

  async recover(committed: Iterable<BlobRef>): Promise<{ reclaimedBlobs: number; reclaimedBytes: number }> {
    if (this.recovered) throw new Error(`${this.name} tier: recover() runs once, at start`);
    const ours: NvmeBlobRef[] = [];
    for (const ref of committed) {
      if (ref.tier !== this.name) continue;
      this.checkRef(ref);
      ours.push(ref);
    }
    const blobs = groupCommitted(ours, this.name);
    const used: Run[] = [];
    for (const extents of blobs.values()) for (const e of extents) used.push(this.runOf(e));
    this.allocator.rebuild(used);
    for (const extents of blobs.values()) this.blobs.add(extents);

    // Writers open at the last stop whose blocks no committed blob uses were
    // interrupted; the rebuild above already freed their space.
    let reclaimedBlobs = 0;
    let reclaimedBytes = 0;
    for (const runs of this.previousIntents?.writers.values() ?? []) {
      if (runs.every((run) => this.allocator.isFree(run))) {
        reclaimedBlobs++;
        reclaimedBytes += runs.reduce((sum, run) => sum + run.lengthBytes, 0);
      }
    }
    this.previousIntents = undefined;
    await this.intents.persist(); // forget them, so the next start does not count them again
    this.recovered = true;
    return { reclaimedBlobs, reclaimedBytes };
  }

  /** Whether the medium is reachable now (always true for a local one). */
  available(): boolean {
    return this.isAvailable();
  }

  async createWriter(options: { sizeHint?: number }): Promise<BlobWriter> {
    this.checkServing();
    if (!this.isAvailable()) throw new TierUnavailableError(this.name, `${this.file.path} is unreachable`);
    const sizeHint = options.sizeHint;
    if (sizeHint !== undefined && (!Number.isSafeInteger(sizeHint) || sizeHint < 0)) {
      throw new RangeError(`sizeHint must be a non-negative integer, not ${sizeHint}`);
    }
    return new NvmeBlobWriter(this, this.nextWriterId++ >>> 0, { sizeHint });
  }

  createReadStream(ref: BlobRef, range: ReadRange): Readable {
    this.checkServing();
    this.checkRef(ref);
    if (!this.isAvailable()) throw new TierUnavailableError(this.name, `${this.file.path} is unreachable`);
    const nvmeRef = ref as NvmeBlobRef;
    const { start, end } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > ref.size) {
      throw new RangeError(`range [${range.start}, ${range.end}) outside a blob of ${ref.size} bytes`);
    }
    const closeReader = this.blobs.openReader(
      nvmeRef.extents,
      (offset) => `${this.name} tier: no blob with these extents at offset ${offset} (deleted, or never committed)`,
    );
    return createNvmeReadStream(this, nvmeRef.extents, range, closeReader);
  }

  async delete(ref: BlobRef): Promise<void> {
    this.checkServing();
    this.checkRef(ref);
    this.blobs.drop((ref as NvmeBlobRef).extents);
  }

  stats(): TierStats {
    return {
      name: this.name,
      mode: this.mode,
      capacityBytes: this.allocator.capacityBytes,
      usedBytes: this.allocator.capacityBytes - this.allocator.freeBytes,
      objects: this.blobs.size,
    };
  }

  details(): NvmeTierDetails {
    const flush = this.flusher.stats();
    return {
      ...this.stats(),
      path: this.file.path,
      device: this.device,
      available: this.isAvailable(),
      uuid: this.superblock.uuid,
      freeBytes: this.allocator.freeBytes,
      freeRuns: this.allocator.freeRuns,
      extentBytesMax: this.extentBytesMax,
      openReadStreams: this.blobs.openReaders,
      deferredFrees: this.blobs.deferredFrees,
      corruptReads: this.corruptReads,
      flushRequests: flush.requests,
      flushes: flush.flushes,
      flushFailures: flush.failures,
      intentWrites: this.intents.writes,
      intentWriteFailures: this.intents.failures,
      engine: {
        kind: this.engine.kind,
        fixedBuffers: this.engine.fixedBuffers,
        queueDepth: this.engine.queueDepth,
        fallbackReason: this.engine.fallbackReason,
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.intents.settled();
    await this.file.close();
    if (this.ownsEngine) await this.engine.close();
  }

  // WriterHost / ReaderHost ------------------------------------------------

  flush(): Promise<void> {
    return this.flusher.flush();
  }

  noteReservation(writerId: number, runs: readonly Run[]): void {
    this.intents.note(writerId, runs);
  }

  blobFinished(ref: NvmeBlobRef): void {
    this.blobs.add(ref.extents);
  }

  async blobDropped(ref: NvmeBlobRef): Promise<void> {
    this.blobs.drop(ref.extents);
  }

  roundUp(bytes: number): number {
    return this.allocator.roundUp(bytes);
  }

  noteCorruptRead(): void {
    this.corruptReads++;
  }

  // ------------------------------------------------------------------------

  private free(extents: readonly Extent[]): void {
    for (const extent of extents) this.allocator.release(this.runOf(extent));
  }

  private runOf(extent: Extent): Run {
    return { offset: extent.offset, lengthBytes: this.allocator.roundUp(extent.length) };
  }

  private checkServing(): void {
    if (this.closed) throw new Error(`${this.name} tier is closed`);
    if (!this.recovered) throw new Error(`${this.name} tier: call recover() before serving requests`);
  }

  /** A ref must describe extents inside our data region, or we refuse to touch it. */
  private checkRef(ref: BlobRef): asserts ref is NvmeBlobRef {
    const bad = (why: string): never => {
      throw new TypeError(`not a valid ${this.name} BlobRef: ${why}`);
    };
    if (ref.tier !== this.name) bad(`tier is ${ref.tier}`);
    const nvme = ref as NvmeBlobRef;
    if (!Number.isSafeInteger(nvme.size) || nvme.size < 0) bad(`size ${nvme.size}`);
    if (!Array.isArray(nvme.extents)) bad('no extents');
    let total = 0;
    for (const e of nvme.extents) {
      if (!Number.isSafeInteger(e.offset) || e.offset % this.allocator.blockBytes !== 0) bad(`extent offset ${e.offset}`);
      if (!Number.isSafeInteger(e.length) || e.length <= 0 || e.length > this.extentBytesMax) bad(`extent length ${e.length}`);
      if (e.offset < this.allocator.startBytes || e.offset + this.roundUp(e.length) > this.allocator.endBytes) {
        bad(`extent ${e.offset}+${e.length} outside the data region`);
      }
      if (!Number.isInteger(e.crc32c) || e.crc32c < 0 || e.crc32c > 0xffffffff) bad(`crc32c ${e.crc32c}`);
      total += e.length;
    }
    if (total !== nvme.size) bad(`extents hold ${total} bytes, size says ${nvme.size}`);
  }
}

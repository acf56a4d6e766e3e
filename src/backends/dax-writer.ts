// BlobWriter of the dax tier. A blob is cut into records of at most
// RECORD_PAYLOAD_BYTES_MAX payload bytes, each in a slot of the class its
// length needs.
//
// With a size hint (the usual case: placement knows Content-Length) every
// record's slot is taken up front, so a full tier says TierFullError before
// any byte is accepted, and each chunk is copied straight from the caller's
// Buffer into the mapping (non-temporal stores for large enough pieces), the
// CRC32C computed in the same native call. Bytes beyond the hint (or without
// one) are staged in memory until a record's length is known, then copied in.
// A record filled short of its hint that belongs in a smaller class is moved
// there at finish() (a copy inside the mapping, before anything is durable),
// so a record's class is always the one its length implies — what recovery
// assumes.
//
// Every slot gets a header as soon as it is taken (length planned, CRC 0,
// no commit marker): after a crash, recovery finds interrupted writes by it.
// finish() rewrites the headers with the real lengths and CRCs and hands the
// records to the group commit (dax-persist.ts); the ref it returns is durable.
// abort() at any point frees every slot once no persistence step of the
// writer is in flight.
import { Buffer } from 'node:buffer';
import { HEADER_BYTES, RECORD_PAYLOAD_BYTES_MAX, SLOT_CLASSES, classForPayload, recordLengths } from './dax-layout.js';
import type { DaxRegion } from './dax-region.js';
import type { PersistPipeline } from './dax-persist.js';
import type { Slot, SlabAllocator } from './dax-slab.js';
import { TierFullError, type BlobRef, type BlobWriter, type Extent } from './tier-store.js';

export type DaxBlobRef = BlobRef & { tier: 'dax' };

/** What a writer needs from its tier. */
export interface DaxWriterHost {
  readonly region: DaxRegion;
  readonly slab: SlabAllocator;
  readonly pipeline: PersistPipeline;
  /** A fresh record sequence number as [high, low] uint32 halves. */
  nextSequence(): [number, number];
  /** A finished blob now occupies its records. */
  blobFinished(ref: DaxBlobRef): void;
  /** A finished blob was aborted: free it like a delete. */
  blobDropped(ref: DaxBlobRef): void;
  /** Clears the header of an unpublished record and frees its slot. */
  freeSlot(slot: Slot): void;
}

interface Record {
  slot: Slot;
  /** Payload bytes this record was sized for (its slot's class fits exactly this). */
  plannedBytes: number;
  filledBytes: number;
  crc32c: number;
}

type State = 'open' | 'finishing' | 'finished' | 'failed' | 'aborted';

export class DaxBlobWriter implements BlobWriter {
  private state: State = 'open';
  private failure: unknown;
  private readonly records: Record[] = [];
  /** Index of the first record that is not full. */
  private current = 0;
  private staging: Buffer | undefined;
  private stagedBytes = 0;
  private sizeBytes = 0;
  private finishing: Promise<BlobRef> | undefined;
  private aborting: Promise<void> | undefined;
  private ref: DaxBlobRef | undefined;

  constructor(
    private readonly host: DaxWriterHost,
    options: { sizeHint?: number },
  ) {
    const hint = options.sizeHint ?? 0;
    // Cheap refusal before cutting an absurd hint into records.
    if (hint > host.slab.capacityBytes) throw new TierFullError('dax', hint);
    try {
      for (const length of recordLengths(hint)) this.records.push(this.takeSlot(length));
    } catch (error) {
      this.releaseRecords();
      throw error;
    }
  }

  write(chunk: Buffer): Promise<void> {
    try {
      this.checkOpen();
      this.append(chunk);
      return Promise.resolve();
    } catch (error) {
      if (error instanceof TierFullError) {
        // Out of space mid-blob: the writer cannot continue; abort() frees what it holds.
        this.state = 'failed';
        this.failure = error;
      }
      return Promise.reject(error);
    }
  }

  finish(): Promise<BlobRef> {
    if (this.finishing !== undefined) return Promise.reject(new Error('blob writer: finish() called twice'));
    try {
      this.checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    this.state = 'finishing';
    this.finishing = this.complete();
    return this.finishing;
  }

  abort(): Promise<void> {
    // Idempotent: every call waits for the one cleanup.
    this.aborting ??= this.cleanUp();
    return this.aborting;
  }

  private async cleanUp(): Promise<void> {
    const previous = this.state;
    this.state = 'aborted';
    if (previous === 'finishing') {
      // complete() sees the abort when its commit step returns and frees everything.
      await this.finishing!.catch(() => undefined);
      return;
    }
    if (previous === 'finished' && this.ref !== undefined) {
      this.host.blobDropped(this.ref);
      return;
    }
    this.releaseRecords();
  }

  private checkOpen(): void {
    if (this.state === 'open') return;
    if (this.state === 'failed') throw this.failure;
    throw new Error(`blob writer is ${this.state}`);
  }

  private append(chunk: Buffer): void {
    let position = 0;
    while (position < chunk.length) {
      const record = this.records[this.current];
      if (record !== undefined && this.staging === undefined) {
        const n = Math.min(chunk.length - position, record.plannedBytes - record.filledBytes);
        const at = record.slot.offset + HEADER_BYTES + record.filledBytes;
        record.crc32c = this.host.region.write(at, chunk.subarray(position, position + n), record.crc32c);
        record.filledBytes += n;
        position += n;
        if (record.filledBytes === record.plannedBytes) this.current++;
        this.sizeBytes += n;
        continue;
      }
      // Past the hint: stage until a full record's worth (or finish) fixes the length.
      this.staging ??= Buffer.allocUnsafe(RECORD_PAYLOAD_BYTES_MAX);
      const n = Math.min(chunk.length - position, RECORD_PAYLOAD_BYTES_MAX - this.stagedBytes);
      chunk.copy(this.staging, this.stagedBytes, position, position + n);
      this.stagedBytes += n;
      position += n;
      this.sizeBytes += n;
      if (this.stagedBytes === RECORD_PAYLOAD_BYTES_MAX) this.flushStaging();
    }
  }

  /** Moves the staged bytes into a record of their exact length. */
  private flushStaging(): void {
    if (this.staging === undefined || this.stagedBytes === 0) return;
    const record = this.takeSlot(this.stagedBytes);
    record.crc32c = this.host.region.write(record.slot.offset + HEADER_BYTES, this.staging.subarray(0, this.stagedBytes), 0);
    record.filledBytes = this.stagedBytes;
    this.records.push(record);
    this.current = this.records.length;
    this.stagedBytes = 0;
  }

  private takeSlot(plannedBytes: number): Record {
    const slot = this.host.slab.allocate(classForPayload(plannedBytes));
    if (slot === undefined) throw new TierFullError('dax', this.sizeBytes + plannedBytes);
    // An intent header: a crash from here on leaves a record recovery can find.
    this.host.region.writeHeader(slot.offset, { payloadBytes: plannedBytes, payloadCrc: 0, slotBytes: slot.slotBytes, sequence: this.host.nextSequence() });
    return { slot, plannedBytes, filledBytes: 0, crc32c: 0 };
  }

  private async complete(): Promise<BlobRef> {
    try {
      this.flushStaging();
      this.staging = undefined;
      this.trimRecords();
    } catch (error) {
      this.state = 'failed';
      this.failure = error;
      this.releaseRecords();
      throw error;
    }
    const region = this.host.region;
    let startBytes = Infinity;
    let endBytes = 0;
    for (const record of this.records) {
      region.writeHeader(record.slot.offset, {
        payloadBytes: record.filledBytes,
        payloadCrc: record.crc32c,
        slotBytes: record.slot.slotBytes,
        sequence: this.host.nextSequence(),
      });
      startBytes = Math.min(startBytes, record.slot.offset);
      endBytes = Math.max(endBytes, record.slot.offset + HEADER_BYTES + record.filledBytes);
    }
    if (this.records.length > 0) {
      try {
        await this.host.pipeline.commit({ headers: this.records.map((r) => r.slot.offset), startBytes, endBytes });
      } catch (error) {
        if (this.state === 'finishing') {
          this.state = 'failed';
          this.failure = error;
        }
        this.releaseRecords();
        throw error;
      }
    }
    if (this.state !== 'finishing') {
      // Aborted while its commit was in flight: durable, but never acknowledged.
      this.releaseRecords();
      throw new Error(`blob writer is ${this.state}`);
    }
    this.state = 'finished';
    const extents: Extent[] = this.records.map((r) => ({ offset: r.slot.offset + HEADER_BYTES, length: r.filledBytes, crc32c: r.crc32c }));
    this.ref = { tier: 'dax', size: this.sizeBytes, extents };
    this.records.length = 0;
    this.host.blobFinished(this.ref);
    return this.ref;
  }

  /**
   * Frees slots the blob did not use and moves a short last record into the
   * class its length implies.
   */
  private trimRecords(): void {
    while (this.records.length > 0 && this.records[this.records.length - 1]!.filledBytes === 0) {
      this.host.freeSlot(this.records.pop()!.slot);
    }
    const last = this.records[this.records.length - 1];
    if (last === undefined || last.filledBytes === last.plannedBytes) return;
    const classIndex = classForPayload(last.filledBytes);
    if (SLOT_CLASSES[classIndex] === last.slot.slotBytes) {
      last.plannedBytes = last.filledBytes;
      return;
    }
    const moved = this.takeSlot(last.filledBytes);
    this.host.region.copyWithin(moved.slot.offset + HEADER_BYTES, last.slot.offset + HEADER_BYTES, last.filledBytes);
    this.host.freeSlot(last.slot);
    moved.filledBytes = last.filledBytes;
    moved.crc32c = last.crc32c;
    this.records[this.records.length - 1] = moved;
  }

  private releaseRecords(): void {
    for (const record of this.records.splice(0)) this.host.freeSlot(record.slot);
    this.staging = undefined;
    this.stagedBytes = 0;
  }
}

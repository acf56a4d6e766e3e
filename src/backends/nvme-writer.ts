// BlobWriter of the nvme tier. Bytes are copied once, from the caller's chunk
// into an aligned pool slot (CRC32C computed in native code as they arrive);
// a full slot becomes one extent and one O_DIRECT write, issued while the next
// slot fills. finish() writes the unaligned tail (zero-padded to 4 KiB), waits
// for every write, then joins a group flush: the ref it returns is durable.
//
// Space: the writer reserves its blob's blocks up front when the size is known
// (sizeHint), else one extent at a time, and gives back whatever it did not
// use. On abort or failure everything it holds goes back to the allocator, but
// only after its writes in flight have completed.
import assert from 'node:assert/strict';
import type { BufferPool, PoolSlot } from './buffer-pool.js';
import type { ExtentAllocator, Run } from './extent-allocator.js';
import type { BlockFile } from './block-file.js';
import { native } from './native.js';
import { TierFullError, type BlobRef, type BlobWriter, type Extent } from './tier-store.js';

/** What a writer needs from its tier. */
export interface WriterHost {
  readonly name: 'nvme' | 'remote';
  readonly file: BlockFile;
  readonly pool: BufferPool;
  readonly allocator: ExtentAllocator;
  readonly extentBytesMax: number;
  /** Group-committed device flush. */
  flush(): Promise<void>;
  /** The writer's reserved space changed (for the intent table); empty = writer gone. */
  noteReservation(writerId: number, runs: readonly Run[]): void;
  /** A finished blob now occupies its extents. */
  blobFinished(ref: BlobRef & { tier: 'nvme' | 'remote' }): void;
  /** A finished blob was aborted: free it like a delete. */
  blobDropped(ref: BlobRef & { tier: 'nvme' | 'remote' }): Promise<void>;
}

/** Slots one writer may hold at once (one filling, the rest being written). */
const WRITER_SLOTS_MAX = 3;

type State = 'open' | 'finished' | 'failed' | 'aborted';

interface Filling {
  slot: PoolSlot;
  /** Where this slot's bytes go: a contiguous, block-aligned piece of reserved space. */
  target: Run;
  filledBytes: number;
  crc32c: number;
}

export class NvmeBlobWriter implements BlobWriter {
  private state: State = 'open';
  private failure: unknown;
  /** Reserved space not yet assigned to a slot, in write order. */
  private reserved: Run[] = [];
  private filling: Filling | undefined;
  private readonly extents: Extent[] = [];
  private sizeBytes = 0;
  private writesInFlight = 0;
  private writeSettled: (() => void)[] = [];
  /** Serialises write/finish/abort, so calls that are not awaited still run in order. */
  private chain: Promise<unknown> = Promise.resolve();
  private ref: (BlobRef & { tier: 'nvme' | 'remote' }) | undefined;

  constructor(
    private readonly host: WriterHost,
    private readonly writerId: number,
    options: { sizeHint?: number },
  ) {
    const hint = options.sizeHint ?? 0;
    if (hint > 0) {
      const runs = host.allocator.allocate(hint);
      if (runs === undefined) throw new TierFullError(host.name, hint);
      this.reserved = runs;
      this.noteReservation();
    }
  }

  write(chunk: Buffer): Promise<void> {
    return this.serialise(() => this.append(chunk));
  }

  finish(): Promise<BlobRef> {
    return this.serialise(() => this.complete());
  }

  abort(): Promise<void> {
    // Not serialised behind a write that waits for a slot: mark first, so the
    // chain stops taking space, then clean up once it has drained.
    if (this.state === 'aborted') return this.chain.then(() => undefined);
    const wasFinished = this.state === 'finished';
    this.state = 'aborted';
    return this.serialise(async () => {
      if (wasFinished && this.ref !== undefined) {
        await this.host.blobDropped(this.ref);
      } else {
        await this.releaseEverything();
      }
    });
  }

  private serialise<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(step, step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.state === 'open') return;
    if (this.state === 'failed') throw this.failure;
    throw new Error(`blob writer is ${this.state}`);
  }

  private async append(chunk: Buffer): Promise<void> {
    this.checkOpen();
    let position = 0;
    while (position < chunk.length) {
      if (this.filling === undefined) await this.startFilling();
      const f = this.filling!;
      const n = Math.min(chunk.length - position, f.target.lengthBytes - f.filledBytes);
      const into = f.slot.bytes.subarray(f.filledBytes, f.filledBytes + n);
      into.set(chunk.subarray(position, position + n));
      f.crc32c = native.crc32c(into, f.crc32c);
      f.filledBytes += n;
      position += n;
      this.sizeBytes += n;
      if (f.filledBytes === f.target.lengthBytes) this.sealFilling();
    }
  }

  // Takes a slot and the next piece of reserved space (reserving more if needed).
  private async startFilling(): Promise<void> {
    while (this.writesInFlight >= WRITER_SLOTS_MAX - 1) await new Promise<void>((r) => this.writeSettled.push(r));
    this.checkOpen();
    const slot = await this.host.pool.acquire('write');
    if (this.state !== 'open') {
      this.host.pool.release(slot);
      this.checkOpen();
    }
    let target: Run;
    try {
      target = this.takeTarget();
    } catch (error) {
      // Out of space mid-blob: the writer cannot continue; abort() frees what it holds.
      this.host.pool.release(slot);
      this.state = 'failed';
      this.failure = error;
      throw error;
    }
    this.filling = { slot, target, filledBytes: 0, crc32c: 0 };
  }

  private takeTarget(): Run {
    if (this.reserved.length === 0) {
      const more = this.host.allocator.allocate(this.host.extentBytesMax);
      if (more === undefined) throw new TierFullError(this.host.name, this.sizeBytes + this.host.extentBytesMax);
      this.reserved = more;
    }
    const run = this.reserved[0]!;
    const lengthBytes = Math.min(run.lengthBytes, this.host.extentBytesMax, this.host.pool.slotBytes);
    const target = { offset: run.offset, lengthBytes };
    if (lengthBytes === run.lengthBytes) this.reserved.shift();
    else this.reserved[0] = { offset: run.offset + lengthBytes, lengthBytes: run.lengthBytes - lengthBytes };
    this.noteReservation(target);
    return target;
  }

  // Turns the filling slot into an extent and starts its write. A partly
  // filled slot (the tail) is zero-padded to the block size, and the unused
  // rest of its target goes back to the allocator.
  private sealFilling(): void {
    const f = this.filling!;
    this.filling = undefined;
    const writeBytes = this.host.allocator.roundUp(f.filledBytes);
    f.slot.bytes.fill(0, f.filledBytes, writeBytes);
    this.extents.push({ offset: f.target.offset, length: f.filledBytes, crc32c: f.crc32c });
    if (writeBytes < f.target.lengthBytes) {
      this.host.allocator.release({ offset: f.target.offset + writeBytes, lengthBytes: f.target.lengthBytes - writeBytes });
    }
    this.writesInFlight++;
    this.host.file
      .writeExact({ slot: f.slot, lengthBytes: writeBytes }, f.target.offset)
      .catch((error: unknown) => {
        if (this.failure === undefined) this.failure = error;
        if (this.state === 'open') this.state = 'failed';
      })
      .finally(() => {
        this.host.pool.release(f.slot);
        this.writesInFlight--;
        for (const wake of this.writeSettled.splice(0)) wake();
      });
  }

  private async writesDone(): Promise<void> {
    while (this.writesInFlight > 0) await new Promise<void>((r) => this.writeSettled.push(r));
  }

  private async complete(): Promise<BlobRef> {
    this.checkOpen();
    if (this.filling !== undefined) {
      if (this.filling.filledBytes > 0) {
        this.sealFilling();
      } else {
        this.host.pool.release(this.filling.slot);
        this.host.allocator.release(this.filling.target);
        this.filling = undefined;
      }
    }
    for (const run of this.reserved.splice(0)) this.host.allocator.release(run);
    await this.writesDone();
    if (this.state !== 'open') {
      // A write failed (or abort arrived): never acknowledge; free the space now.
      const error = this.failure ?? new Error(`blob writer is ${this.state}`);
      await this.releaseEverything();
      throw error;
    }
    if (this.extents.length > 0) {
      try {
        await this.host.flush();
      } catch (error) {
        this.state = 'failed';
        this.failure = error;
        await this.releaseEverything();
        throw error;
      }
    }
    if (this.state !== 'open') {
      await this.releaseEverything();
      throw new Error(`blob writer is ${this.state}`);
    }
    this.state = 'finished';
    this.ref = { tier: this.host.name, size: this.sizeBytes, extents: this.extents.slice() };
    this.host.noteReservation(this.writerId, []);
    this.host.blobFinished(this.ref);
    return this.ref;
  }

  // Returns every block this writer holds, once no write of its is in flight.
  private async releaseEverything(): Promise<void> {
    await this.writesDone();
    const allocator = this.host.allocator;
    if (this.filling !== undefined) {
      this.host.pool.release(this.filling.slot);
      allocator.release(this.filling.target);
      this.filling = undefined;
    }
    for (const run of this.reserved.splice(0)) allocator.release(run);
    for (const extent of this.extents.splice(0)) {
      allocator.release({ offset: extent.offset, lengthBytes: allocator.roundUp(extent.length) });
    }
    this.host.noteReservation(this.writerId, []);
  }

  private noteReservation(latest?: Run): void {
    // The intent table lists every block this writer may have written or may
    // still write: extents so far, the target being filled, and the rest.
    const runs: Run[] = this.extents.map((e) => ({ offset: e.offset, lengthBytes: this.host.allocator.roundUp(e.length) }));
    if (this.filling !== undefined) runs.push(this.filling.target);
    if (latest !== undefined) runs.push(latest);
    runs.push(...this.reserved);
    assert(runs.length > 0);
    this.host.noteReservation(this.writerId, runs);
  }
}

// Slot accounting for the engine's aligned buffer pool. The memory is allocated
// once, at a fixed size, by the native engine; this module only hands out
// fixed-size slots of it. When none is free, callers wait in FIFO order — the
// pool never grows (TigerBeetle-style static allocation).
//
// Invariants:
// - A slot is held by exactly one caller between acquire and release; the
//   caller must not release it while the kernel may still touch it (i.e. only
//   after every request on it completed).
// - Writers may hold at most `writeSlotsMax` slots at once, so slow uploads,
//   which hold a slot while the client trickles bytes in, cannot starve reads.
import assert from 'node:assert/strict';

export type SlotPurpose = 'read' | 'write';

/** One fixed-size, page-aligned piece of the pool. */
export class PoolSlot {
  /** Set while a caller holds the slot; guards against double release. */
  held = false;
  purpose: SlotPurpose = 'read';

  constructor(
    readonly index: number,
    /** Offset of the slot inside the engine's pool, which native requests use. */
    readonly poolOffset: number,
    /** The slot's memory; writes into it are what the next write request sends. */
    readonly bytes: Uint8Array,
  ) {}
}

interface Waiter {
  purpose: SlotPurpose;
  resolve: (slot: PoolSlot) => void;
}

export interface BufferPoolStats {
  slots: number;
  slotBytes: number;
  freeSlots: number;
  heldForWrite: number;
  waiting: number;
}

export class BufferPool {
  readonly slotBytes: number;
  readonly slotCount: number;
  readonly writeSlotsMax: number;
  private readonly slots: PoolSlot[] = [];
  private readonly free: PoolSlot[] = [];
  private readonly waiters: Waiter[] = [];
  private heldForWrite = 0;

  constructor(pool: ArrayBuffer, options: { slotBytes: number }) {
    const { slotBytes } = options;
    assert(slotBytes > 0 && slotBytes % 4096 === 0, 'slotBytes must be a positive multiple of 4096');
    this.slotBytes = slotBytes;
    this.slotCount = Math.floor(pool.byteLength / slotBytes);
    assert(this.slotCount >= 1, 'the pool holds no slot');
    // Keep a quarter of the slots (at least one) for reads, unless the pool is a single slot.
    this.writeSlotsMax = this.slotCount === 1 ? 1 : this.slotCount - Math.max(1, Math.floor(this.slotCount / 4));
    for (let index = 0; index < this.slotCount; index++) {
      const slot = new PoolSlot(index, index * slotBytes, new Uint8Array(pool, index * slotBytes, slotBytes));
      this.slots.push(slot);
    }
    // Hand out low slots first (pop from the end), which keeps tests predictable.
    for (let index = this.slotCount - 1; index >= 0; index--) this.free.push(this.slots[index]!);
  }

  /**
   * A free slot now, or undefined; never waits. Fair to waiters: serveWaiters()
   * runs after every release, so whenever a slot is free, every waiter left is
   * a writer over its quota, which this caller may overtake only as a reader.
   */
  tryAcquire(purpose: SlotPurpose = 'read'): PoolSlot | undefined {
    if (!this.canTake(purpose)) return undefined;
    return this.take(purpose);
  }

  /** Resolves with a slot once one is free (FIFO among waiters). */
  acquire(purpose: SlotPurpose = 'read'): Promise<PoolSlot> {
    const slot = this.tryAcquire(purpose);
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiters.push({ purpose, resolve }));
  }

  release(slot: PoolSlot): void {
    assert(this.slots[slot.index] === slot, 'slot from another pool');
    assert(slot.held, `slot ${slot.index} released twice`);
    slot.held = false;
    if (slot.purpose === 'write') this.heldForWrite--;
    this.free.push(slot);
    this.serveWaiters();
  }

  stats(): BufferPoolStats {
    return {
      slots: this.slotCount,
      slotBytes: this.slotBytes,
      freeSlots: this.free.length,
      heldForWrite: this.heldForWrite,
      waiting: this.waiters.length,
    };
  }

  private canTake(purpose: SlotPurpose): boolean {
    return this.free.length > 0 && (purpose === 'read' || this.heldForWrite < this.writeSlotsMax);
  }

  private take(purpose: SlotPurpose): PoolSlot {
    const slot = this.free.pop()!;
    slot.held = true;
    slot.purpose = purpose;
    if (purpose === 'write') this.heldForWrite++;
    return slot;
  }

  // Serve waiters in order, except that a writer blocked by its quota lets a
  // reader behind it go first (the reason for the quota).
  private serveWaiters(): void {
    let index = 0;
    while (index < this.waiters.length && this.free.length > 0) {
      const waiter = this.waiters[index]!;
      if (this.canTake(waiter.purpose)) {
        this.waiters.splice(index, 1);
        waiter.resolve(this.take(waiter.purpose));
      } else {
        index++;
      }
    }
  }
}

// Free-space map of the nvme tier's data region, in bytes, block-aligned.
//
// The allocator is memory-only by design: its durable state is the set of
// committed BlobRefs held in the object metadata, from which rebuild()
// recreates it at start. Space handed to a writer that never committed is
// therefore free again after a restart — allocation "takes effect" with the
// metadata command.
//
// Free runs are kept sorted by offset and coalesced; allocation is next-fit
// from a cursor (sequential writes stay sequential on the device, freed space
// is reused after the cursor wraps) and splits a request over several runs
// only when no single run is large enough.
import assert from 'node:assert/strict';

export interface Run {
  offset: number;
  lengthBytes: number;
}

export class ExtentAllocator {
  readonly blockBytes: number;
  readonly startBytes: number;
  readonly endBytes: number;
  private offsets: number[] = [];
  private lengths: number[] = [];
  private freeTotal = 0;
  private cursor: number;

  constructor(options: { startBytes: number; endBytes: number; blockBytes?: number }) {
    this.blockBytes = options.blockBytes ?? 4096;
    this.startBytes = options.startBytes;
    this.endBytes = options.endBytes;
    assert(this.startBytes % this.blockBytes === 0 && this.endBytes % this.blockBytes === 0, 'unaligned region');
    assert(this.endBytes >= this.startBytes, 'empty region');
    this.cursor = this.startBytes;
    this.rebuild([]);
  }

  get capacityBytes(): number {
    return this.endBytes - this.startBytes;
  }

  get freeBytes(): number {
    return this.freeTotal;
  }

  get freeRuns(): number {
    return this.offsets.length;
  }

  roundUp(bytes: number): number {
    return Math.ceil(bytes / this.blockBytes) * this.blockBytes;
  }

  /**
   * Reserves `bytes` (rounded up to blocks). One run when a free run is large
   * enough, else several; undefined (nothing taken) when free space is short.
   */
  allocate(bytes: number): Run[] | undefined {
    const need = this.roundUp(bytes);
    if (need === 0) return [];
    if (need > this.freeTotal) return undefined;
    const count = this.offsets.length;
    const first = this.indexAtOrAfter(this.cursor);
    for (let k = 0; k < count; k++) {
      const i = (first + k) % count;
      if (this.lengths[i]! >= need) return [this.carve(i, need)];
    }
    // Fragmented: take runs in cursor order until the request is covered.
    const runs: Run[] = [];
    let missing = need;
    while (missing > 0) {
      const i = this.indexAtOrAfter(this.cursor) % this.offsets.length;
      const take = Math.min(missing, this.lengths[i]!);
      runs.push(this.carve(i, take));
      missing -= take;
    }
    return runs;
  }

  /** Returns a run to the free map. Overlap with free space means a double free: a bug, so it throws. */
  release(run: Run): void {
    const { offset, lengthBytes } = run;
    if (lengthBytes === 0) return;
    assert(offset % this.blockBytes === 0 && lengthBytes % this.blockBytes === 0, `unaligned release ${offset}+${lengthBytes}`);
    assert(offset >= this.startBytes && offset + lengthBytes <= this.endBytes, `release outside the region`);
    const i = this.indexAtOrAfter(offset);
    const prev = i - 1;
    if (prev >= 0) {
      assert(this.offsets[prev]! + this.lengths[prev]! <= offset, `double free at ${offset}`);
    }
    if (i < this.offsets.length) {
      assert(offset + lengthBytes <= this.offsets[i]!, `double free at ${offset}`);
    }
    const joinsPrev = prev >= 0 && this.offsets[prev]! + this.lengths[prev]! === offset;
    const joinsNext = i < this.offsets.length && offset + lengthBytes === this.offsets[i]!;
    if (joinsPrev && joinsNext) {
      this.lengths[prev]! += lengthBytes + this.lengths[i]!;
      this.offsets.splice(i, 1);
      this.lengths.splice(i, 1);
    } else if (joinsPrev) {
      this.lengths[prev]! += lengthBytes;
    } else if (joinsNext) {
      this.offsets[i] = offset;
      this.lengths[i]! += lengthBytes;
    } else {
      this.offsets.splice(i, 0, offset);
      this.lengths.splice(i, 0, lengthBytes);
    }
    this.freeTotal += lengthBytes;
  }

  /**
   * Resets the map so that exactly `used` is allocated. Throws if two used runs
   * overlap or one leaves the region (the metadata disagrees with itself).
   */
  rebuild(used: readonly Run[]): void {
    const sorted = used.filter((r) => r.lengthBytes > 0).sort((a, b) => a.offset - b.offset);
    const offsets: number[] = [];
    const lengths: number[] = [];
    let position = this.startBytes;
    for (const run of sorted) {
      if (run.offset < position) {
        throw new Error(`allocated runs overlap or leave the region at offset ${run.offset}`);
      }
      if (run.offset + run.lengthBytes > this.endBytes) {
        throw new Error(`allocated run ${run.offset}+${run.lengthBytes} ends past the region (${this.endBytes})`);
      }
      if (run.offset > position) {
        offsets.push(position);
        lengths.push(run.offset - position);
      }
      position = run.offset + run.lengthBytes;
    }
    if (position < this.endBytes) {
      offsets.push(position);
      lengths.push(this.endBytes - position);
    }
    this.offsets = offsets;
    this.lengths = lengths;
    this.freeTotal = lengths.reduce((sum, length) => sum + length, 0);
    this.cursor = position < this.endBytes ? position : this.startBytes;
  }

  /** Whether every block of `run` is free. */
  isFree(run: Run): boolean {
    if (run.lengthBytes === 0) return true;
    const i = this.indexAtOrAfter(run.offset + 1) - 1; // last free run starting at or before run.offset
    if (i < 0) return false;
    return this.offsets[i]! <= run.offset && run.offset + run.lengthBytes <= this.offsets[i]! + this.lengths[i]!;
  }

  /** Free runs, in offset order (for tests and diagnostics). */
  runs(): Run[] {
    return this.offsets.map((offset, i) => ({ offset, lengthBytes: this.lengths[i]! }));
  }

  // First free run whose offset is >= `offset` (may equal the run count).
  private indexAtOrAfter(offset: number): number {
    let low = 0;
    let high = this.offsets.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.offsets[mid]! < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private carve(i: number, bytes: number): Run {
    const offset = this.offsets[i]!;
    if (this.lengths[i] === bytes) {
      this.offsets.splice(i, 1);
      this.lengths.splice(i, 1);
    } else {
      this.offsets[i] = offset + bytes;
      this.lengths[i]! -= bytes;
    }
    this.freeTotal -= bytes;
    this.cursor = offset + bytes >= this.endBytes ? this.startBytes : offset + bytes;
    return { offset, lengthBytes: bytes };
  }
}

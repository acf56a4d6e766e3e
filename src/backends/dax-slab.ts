// Slot allocator of the dax tier: slab pages cut into equal slots of one size
// class (dax-layout.ts). Memory-only: like the nvme tier's extent allocator,
// its durable state is the committed BlobRefs, from which rebuild() recreates
// it at start.
//
// Why slabs: records never move. A BlobRef in the metadata names a record's
// offset, so moving records to compact would need a metadata update for each
// one; with size classes, a freed slot is reused as-is by the next record of
// its class, and a page whose last slot is freed returns to the page pool for
// any class. Fragmentation is reclaimed by allocation order instead of
// copying: each class fills its lowest-addressed partial page first, so live
// records concentrate in few pages and sparsely used pages drain and are
// freed. The price is that a page stays with its class while one slot in it
// lives (see docs/backends.md, "DAX tier").
//
// Free pages come from an ExtentAllocator with one block per page (coalesced,
// next-fit), the same structure the nvme tier uses for its extents.
import assert from 'node:assert/strict';
import { ExtentAllocator } from './extent-allocator.js';
import { SLOT_CLASSES } from './dax-layout.js';

export interface Slot {
  /** Offset of the slot (= its record header) in the file. */
  offset: number;
  classIndex: number;
  slotBytes: number;
}

interface PageState {
  classIndex: number;
  slotBytes: number;
  slotCount: number;
  usedCount: number;
  used: Uint8Array;
  /** Free slot indices; the next one to hand out is at the top (lowest index first for a fresh page). */
  freeStack: Int32Array;
  freeTop: number;
}

export interface SlabOptions {
  dataStartBytes: number;
  pageBytes: number;
  pageCount: number;
  /** Told when a page is given a class (classIndex) or freed (-1): the tier keeps its page map. */
  onPageChange?: (pageIndex: number, classIndex: number) => void;
}

export class SlabAllocator {
  readonly dataStartBytes: number;
  readonly pageBytes: number;
  readonly pageCount: number;
  private readonly pages: ExtentAllocator;
  private readonly state: (PageState | undefined)[];
  /** Per class: pages with at least one free slot, ascending. */
  private readonly partial: number[][];
  private usedSlotBytes = 0;
  private usedSlots = 0;
  private readonly onPageChange: (pageIndex: number, classIndex: number) => void;

  constructor(options: SlabOptions) {
    this.dataStartBytes = options.dataStartBytes;
    this.pageBytes = options.pageBytes;
    this.pageCount = options.pageCount;
    this.pages = new ExtentAllocator({
      startBytes: options.dataStartBytes,
      endBytes: options.dataStartBytes + options.pageCount * options.pageBytes,
      blockBytes: options.pageBytes,
    });
    this.state = new Array<PageState | undefined>(options.pageCount).fill(undefined);
    this.partial = SLOT_CLASSES.map(() => []);
    this.onPageChange = options.onPageChange ?? (() => undefined);
  }

  get capacityBytes(): number {
    return this.pageCount * this.pageBytes;
  }

  /** Bytes of slots in use (header, payload and the class's rounding). */
  get usedBytes(): number {
    return this.usedSlotBytes;
  }

  get slotsInUse(): number {
    return this.usedSlots;
  }

  get freePages(): number {
    return this.pages.freeBytes / this.pageBytes;
  }

  /** A free slot of `classIndex`, or undefined when no partial page has one and no page is free. */
  allocate(classIndex: number): Slot | undefined {
    const slotBytes = SLOT_CLASSES[classIndex];
    assert(slotBytes !== undefined, `no slot class ${classIndex}`);
    const partial = this.partial[classIndex]!;
    let pageIndex = partial[0];
    if (pageIndex === undefined) {
      const runs = this.pages.allocate(this.pageBytes);
      if (runs === undefined) return undefined;
      pageIndex = (runs[0]!.offset - this.dataStartBytes) / this.pageBytes;
      this.state[pageIndex] = newPage(classIndex, slotBytes, this.pageBytes);
      insertSorted(partial, pageIndex);
      this.onPageChange(pageIndex, classIndex);
    }
    const page = this.state[pageIndex]!;
    const slotIndex = page.freeStack[--page.freeTop]!;
    this.markUsed(page, slotIndex);
    if (page.freeTop === 0) partial.shift();
    return { offset: this.slotOffset(pageIndex, slotIndex, slotBytes), classIndex, slotBytes };
  }

  /** Frees the slot at `offset`. Freeing a free slot is a bug, so it throws. */
  release(offset: number): void {
    const { pageIndex, page, slotIndex } = this.locate(offset);
    assert(page.used[slotIndex] === 1, `double free of the slot at ${offset}`);
    page.used[slotIndex] = 0;
    page.usedCount--;
    this.usedSlots--;
    this.usedSlotBytes -= page.slotBytes;
    page.freeStack[page.freeTop++] = slotIndex;
    const partial = this.partial[page.classIndex]!;
    if (page.usedCount === 0) {
      removeSorted(partial, pageIndex);
      this.state[pageIndex] = undefined;
      this.pages.release({ offset: this.dataStartBytes + pageIndex * this.pageBytes, lengthBytes: this.pageBytes });
      this.onPageChange(pageIndex, -1);
    } else if (page.freeTop === 1) {
      insertSorted(partial, pageIndex); // was full
    }
  }

  /** The class of page `pageIndex`, or -1 when it is free. */
  pageClass(pageIndex: number): number {
    return this.state[pageIndex]?.classIndex ?? -1;
  }

  /** The page holding `offset` (for callers that group work by page). */
  pageOf(offset: number): number {
    return Math.floor((offset - this.dataStartBytes) / this.pageBytes);
  }

  pageStart(pageIndex: number): number {
    return this.dataStartBytes + pageIndex * this.pageBytes;
  }

  /** Whether the slot at `offset` is allocated. */
  isUsed(offset: number): boolean {
    const pageIndex = this.pageOf(offset);
    const page = this.state[pageIndex];
    if (page === undefined) return false;
    const slotIndex = (offset - this.pageStart(pageIndex)) / page.slotBytes;
    return Number.isInteger(slotIndex) && page.used[slotIndex] === 1;
  }

  /**
   * Resets the allocator so that exactly `slots` are in use. Throws when two
   * slots of different classes share a page, a slot is not on its class's
   * boundary, or leaves the data region: the metadata disagrees with itself.
   * A slot listed twice counts once.
   */
  rebuild(slots: Iterable<{ offset: number; classIndex: number }>): void {
    for (const list of this.partial) list.length = 0;
    this.state.fill(undefined);
    this.usedSlots = 0;
    this.usedSlotBytes = 0;
    for (const { offset, classIndex } of slots) {
      const slotBytes = SLOT_CLASSES[classIndex];
      if (slotBytes === undefined) throw new Error(`slot class ${classIndex} does not exist`);
      const pageIndex = this.pageOf(offset);
      if (offset < this.dataStartBytes || pageIndex >= this.pageCount) throw new Error(`slot at ${offset} is outside the data region`);
      let page = this.state[pageIndex];
      if (page === undefined) {
        page = newPage(classIndex, slotBytes, this.pageBytes);
        page.freeTop = 0;
        this.state[pageIndex] = page;
      } else if (page.classIndex !== classIndex) {
        throw new Error(`page ${pageIndex} holds slots of ${page.slotBytes} and ${slotBytes} bytes`);
      }
      const slotIndex = (offset - this.pageStart(pageIndex)) / slotBytes;
      if (!Number.isInteger(slotIndex) || slotIndex >= page.slotCount) {
        throw new Error(`slot at ${offset} is not on a ${slotBytes}-byte boundary of its page`);
      }
      if (page.used[slotIndex] === 0) this.markUsed(page, slotIndex);
    }
    const usedPages: { offset: number; lengthBytes: number }[] = [];
    this.state.forEach((page, pageIndex) => {
      if (page === undefined) return;
      usedPages.push({ offset: this.pageStart(pageIndex), lengthBytes: this.pageBytes });
      // Free slots in descending order, so the lowest is handed out first.
      for (let slotIndex = page.slotCount - 1; slotIndex >= 0; slotIndex--) {
        if (page.used[slotIndex] === 0) page.freeStack[page.freeTop++] = slotIndex;
      }
      if (page.freeTop > 0) this.partial[page.classIndex]!.push(pageIndex); // ascending: forEach order
    });
    this.pages.rebuild(usedPages);
  }

  /** Pages in use and their classes (for recovery's scan and the page map). */
  usedPages(): { pageIndex: number; classIndex: number }[] {
    const pages: { pageIndex: number; classIndex: number }[] = [];
    this.state.forEach((page, pageIndex) => {
      if (page !== undefined) pages.push({ pageIndex, classIndex: page.classIndex });
    });
    return pages;
  }

  /** Per class: slots in use and pages held (for details()). */
  classUsage(): { slotBytes: number; slots: number; pages: number }[] {
    const usage = SLOT_CLASSES.map((slotBytes) => ({ slotBytes, slots: 0, pages: 0 }));
    for (const page of this.state) {
      if (page === undefined) continue;
      usage[page.classIndex]!.pages++;
      usage[page.classIndex]!.slots += page.usedCount;
    }
    return usage.filter((u) => u.pages > 0);
  }

  private markUsed(page: PageState, slotIndex: number): void {
    page.used[slotIndex] = 1;
    page.usedCount++;
    this.usedSlots++;
    this.usedSlotBytes += page.slotBytes;
  }

  private slotOffset(pageIndex: number, slotIndex: number, slotBytes: number): number {
    return this.pageStart(pageIndex) + slotIndex * slotBytes;
  }

  private locate(offset: number): { pageIndex: number; page: PageState; slotIndex: number } {
    const pageIndex = this.pageOf(offset);
    const page = this.state[pageIndex];
    assert(page !== undefined, `slot at ${offset} is in a free page`);
    const slotIndex = (offset - this.pageStart(pageIndex)) / page.slotBytes;
    assert(Number.isInteger(slotIndex) && slotIndex < page.slotCount, `${offset} is not a slot boundary`);
    return { pageIndex, page, slotIndex };
  }
}

function newPage(classIndex: number, slotBytes: number, pageBytes: number): PageState {
  const slotCount = Math.floor(pageBytes / slotBytes);
  const freeStack = new Int32Array(slotCount);
  for (let i = 0; i < slotCount; i++) freeStack[i] = slotCount - 1 - i;
  return { classIndex, slotBytes, slotCount, usedCount: 0, used: new Uint8Array(slotCount), freeStack, freeTop: slotCount };
}

function insertSorted(list: number[], value: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  if (list[low] !== value) list.splice(low, 0, value);
}

function removeSorted(list: number[], value: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  if (list[low] === value) list.splice(low, 1);
}

// The dax tier's mapped file (native/src/pmem_region.h), typed and guarded:
// arguments are checked here so that a bug surfaces as a JavaScript error with
// a stack, and negative errnos become IoErrors. Only integers and Uint8Arrays
// cross into C++; JavaScript never holds a pointer into the mapping.
import assert from 'node:assert/strict';
import { IoError } from './io-errors.js';
import { native, type NativeAddon } from './native.js';

export type PersistenceMechanism = 'clwb' | 'clflushopt' | 'clflush' | 'msync';

/** readRecord outcomes (native ReadStatus). */
export const ReadStatus = {
  ok: 0,
  noHeader: 1,
  uncommitted: 2,
  mismatch: 3,
  badPayload: 4,
} as const;
export type ReadStatusCode = (typeof ReadStatus)[keyof typeof ReadStatus];

/** inspect() statuses (native RecordStatus). */
export const RecordStatus = {
  empty: 0,
  garbage: 1,
  uncommitted: 2,
  committed: 3,
} as const;

interface NativePmemRegion {
  readonly mode: 'dax' | 'emulated';
  readonly persistence: 'clwb' | 'clflushopt' | 'clflush' | 'msync';
  readonly cacheFlushWithoutDax: boolean;
  readonly nonTemporalStores: boolean;
  readonly nonTemporalMinBytes: number;
  readonly lengthBytes: number;
  readonly mapSync: 'granted' | 'refused' | 'not-tried';
  readonly mapSyncErrno: number;
  write(offset: number, bytes: Uint8Array, crcPrevious: number): number;
  read(offset: number, target: Uint8Array): number;
  copyWithin(targetOffset: number, sourceOffset: number, lengthBytes: number): number;
  writeHeader(offset: number, payloadBytes: number, payloadCrc: number, slotBytes: number, sequenceHigh: number, sequenceLow: number): number;
  commit(offset: number): number;
  clearHeader(offset: number): number;
  inspect(offset: number, strideBytes: number, count: number, out: Uint32Array): number;
  readRecord(offset: number, payloadBytes: number, payloadCrc: number, slotBytes: number, target: Uint8Array): number;
  fence(): number;
  msync(ranges: Float64Array): Promise<number>;
  publish(ranges: Float64Array, headers: Float64Array): Promise<number>;
  close(): number;
}

/** The addon's pmem exports; typed here, next to their only user, so native.ts stays the I/O engine's. */
export interface PmemAddon {
  openPmemRegion(fd: number, lengthBytes: number, flags: number): NativePmemRegion | number;
  pmemFlushSelfTest(kind: 1 | 2 | 3): { nonTemporalBytes: number; checkedBytes: number } | number;
  pmemBaseline(
    fd: number,
    lengthBytes: number,
    recordBytes: number,
    writers: number,
    durationMs: number,
  ): { records: number; seconds: number } | number;
}

export const pmemAddon: NativeAddon & PmemAddon = native as NativeAddon & PmemAddon;

const FLAG_NO_MAP_SYNC = 1;
const FLAG_NO_NON_TEMPORAL = 2;
const FLAG_FLUSH_WITHOUT_DAX = 4;
const PAGE_BYTES = 4096;
/** Bytes of a record header (kRecordHeaderBytes in native/src/pmem_record.h). */
export const HEADER_BYTES = 64;

export interface MapOptions {
  /** Try MAP_SYNC (default true). False forces the emulated mode. */
  mapSync?: boolean;
  /** Copy with non-temporal stores where the CPU has them (default true). */
  nonTemporalStores?: boolean;
  /**
   * Tests only: flush cache lines and fence, as in DAX mode, although the
   * mapping is not DAX. Exercises the DAX code path here; durable only against
   * a process crash (the page cache survives it), not a power loss. The mode
   * stays 'emulated'.
   */
  unsafeCacheFlushWithoutDax?: boolean;
}

const EOPNOTSUPP = -95;

/** Why the kernel refused MAP_SYNC, by errno name. Linux's 95 is both ENOTSUP and EOPNOTSUPP; mmap documents the latter. */
function mapSyncErrorName(errno: number): string | undefined {
  if (errno >= 0) return undefined;
  return errno === EOPNOTSUPP ? 'EOPNOTSUPP' : new IoError(errno, { syscall: 'mmap(MAP_SYNC)' }).code;
}

export class DaxRegion {
  readonly mode: 'dax' | 'emulated';
  readonly persistence: PersistenceMechanism;
  readonly lengthBytes: number;
  private closed = false;
  private msyncs = 0;

  private constructor(
    private readonly handle: NativePmemRegion,
    readonly path: string,
  ) {
    this.mode = handle.mode;
    this.persistence = handle.persistence;
    this.lengthBytes = handle.lengthBytes;
  }

  /** Maps `lengthBytes` of the open file `fd`; the fd may be closed afterwards. */
  static map(fd: number, lengthBytes: number, path: string, options: MapOptions = {}): DaxRegion {
    let flags = 0;
    if (options.mapSync === false) flags |= FLAG_NO_MAP_SYNC;
    if (options.nonTemporalStores === false) flags |= FLAG_NO_NON_TEMPORAL;
    if (options.unsafeCacheFlushWithoutDax === true) flags |= FLAG_FLUSH_WITHOUT_DAX;
    const handle = pmemAddon.openPmemRegion(fd, lengthBytes, flags);
    if (typeof handle === 'number') throw new IoError(handle, { syscall: 'mmap', path });
    return new DaxRegion(handle, path);
  }

  /** Whether stores are flushed line by line (DAX, or the test mode): persisting is then a fence. */
  get flushesCacheLines(): boolean {
    return this.persistence !== 'msync';
  }

  get info(): {
    mapSync: 'granted' | 'refused' | 'not-tried';
    mapSyncError: string | undefined;
    nonTemporalStores: boolean;
    nonTemporalMinBytes: number;
    cacheFlushWithoutDax: boolean;
  } {
    const h = this.handle;
    return {
      mapSync: h.mapSync,
      mapSyncError: mapSyncErrorName(h.mapSyncErrno),
      nonTemporalStores: h.nonTemporalStores,
      nonTemporalMinBytes: h.nonTemporalMinBytes,
      cacheFlushWithoutDax: h.cacheFlushWithoutDax,
    };
  }

  /** Copies `bytes` to `offset`; returns crc32c(previous ‖ bytes). */
  write(offset: number, bytes: Uint8Array, crcPrevious = 0): number {
    this.checkRange(offset, bytes.length);
    return this.check(this.handle.write(offset, bytes, crcPrevious), 'write');
  }

  /** Copies bytes out into `target`; returns their crc32c. */
  read(offset: number, target: Uint8Array): number {
    this.checkRange(offset, target.length);
    return this.check(this.handle.read(offset, target), 'read');
  }

  copyWithin(targetOffset: number, sourceOffset: number, lengthBytes: number): void {
    this.checkRange(targetOffset, lengthBytes);
    this.checkRange(sourceOffset, lengthBytes);
    this.check(this.handle.copyWithin(targetOffset, sourceOffset, lengthBytes), 'copyWithin');
  }

  /** A header without commit marker; sequence is two uint32 halves. */
  writeHeader(offset: number, record: { payloadBytes: number; payloadCrc: number; slotBytes: number; sequence: readonly [number, number] }): void {
    this.checkHeader(offset);
    this.checkRange(offset, record.slotBytes);
    const rc = this.handle.writeHeader(offset, record.payloadBytes, record.payloadCrc, record.slotBytes, record.sequence[0], record.sequence[1]);
    this.check(rc, 'writeHeader');
  }

  /** Stores the commit marker; a header that is not valid is our bug, so it throws. */
  commit(offset: number): void {
    this.checkHeader(offset);
    this.check(this.handle.commit(offset), 'commit');
  }

  clearHeader(offset: number): void {
    this.checkHeader(offset);
    this.check(this.handle.clearHeader(offset), 'clearHeader');
  }

  /**
   * Headers of `count` slots, `strideBytes` apart, from `offset`: four uint32
   * per slot — RecordStatus, payloadBytes, payloadCrc, slotBytes. (A flat
   * array: recovery inspects every slot of every used page.)
   */
  inspect(offset: number, strideBytes: number, count: number): Uint32Array {
    this.checkHeader(offset);
    assert(Number.isSafeInteger(count) && count >= 0 && strideBytes % HEADER_BYTES === 0 && strideBytes > 0, 'bad inspect');
    if (count > 0) this.checkRange(offset, (count - 1) * strideBytes + HEADER_BYTES);
    const out = new Uint32Array(count * 4);
    this.check(this.handle.inspect(offset, strideBytes, count, out), 'inspect');
    return out;
  }

  /**
   * Checks the record at `headerOffset` is the committed one described, copies
   * its payload into `target` (exactly payloadBytes long) and verifies the copy.
   */
  readRecord(headerOffset: number, expected: { payloadBytes: number; payloadCrc: number; slotBytes: number }, target: Uint8Array): ReadStatusCode {
    this.checkHeader(headerOffset);
    assert(target.length === expected.payloadBytes, 'target must hold the payload');
    this.checkRange(headerOffset, HEADER_BYTES + expected.payloadBytes);
    const rc = this.handle.readRecord(headerOffset, expected.payloadBytes, expected.payloadCrc, expected.slotBytes, target);
    return this.check(rc, 'readRecord') as ReadStatusCode;
  }

  /** SFENCE: every store so far, its cache line already flushed, is durable (DAX) once this returns. */
  fence(): void {
    this.checkOpen();
    assert(this.flushesCacheLines, 'fence() is the DAX path; the msync path uses persist() or publish()');
    this.handle.fence();
  }

  /**
   * Makes every store so far in [startBytes, endBytes) durable: an SFENCE when
   * lines were flushed as they were written (DAX), else one msync of the
   * covering pages on the thread pool.
   */
  async persist(startBytes: number, endBytes: number): Promise<void> {
    this.checkOpen();
    if (this.flushesCacheLines) {
      this.handle.fence();
      return;
    }
    if (endBytes <= startBytes) return;
    const first = Math.floor(startBytes / PAGE_BYTES) * PAGE_BYTES;
    const end = Math.min(this.lengthBytes, Math.ceil(endBytes / PAGE_BYTES) * PAGE_BYTES);
    this.checkRange(first, end - first);
    this.msyncs++;
    const rc = await this.handle.msync(new Float64Array([first, end - first]));
    if (rc < 0) throw new IoError(rc, { syscall: 'msync', path: this.path });
  }

  /**
   * Emulated mode's whole publication in one thread-pool hop: msync the pages
   * of [startBytes, endBytes) (payloads and headers), then store the commit
   * markers of `headers`, then msync the pages holding those. Resolves when
   * both msyncs succeeded.
   */
  async publish(startBytes: number, endBytes: number, headers: readonly number[]): Promise<void> {
    this.checkOpen();
    assert(!this.flushesCacheLines, 'publish() is the msync path; DAX commits inline');
    for (const header of headers) this.checkHeader(header);
    const first = Math.floor(startBytes / PAGE_BYTES) * PAGE_BYTES;
    const end = Math.min(this.lengthBytes, Math.ceil(endBytes / PAGE_BYTES) * PAGE_BYTES);
    this.checkRange(first, end - first);
    this.msyncs += headers.length > 0 ? 2 : 1;
    const rc = await this.handle.publish(new Float64Array(end > first ? [first, end - first] : []), Float64Array.from(headers));
    if (rc < 0) throw new IoError(rc, { syscall: 'msync', path: this.path });
  }

  get msyncCount(): number {
    return this.msyncs;
  }

  /** Unmaps. Callers wait for their persist() calls first; the native side refuses (-EBUSY) otherwise. */
  close(): void {
    if (this.closed) return;
    this.check(this.handle.close(), 'munmap');
    this.closed = true;
  }

  private check(rc: number, syscall: string): number {
    if (rc < 0) throw new IoError(rc, { syscall: `pmem ${syscall}`, path: this.path });
    return rc;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.path}: dax region is closed`);
  }

  private checkRange(offset: number, lengthBytes: number): void {
    this.checkOpen();
    assert(
      Number.isSafeInteger(offset) && Number.isSafeInteger(lengthBytes) && offset >= 0 && lengthBytes >= 0 && offset + lengthBytes <= this.lengthBytes,
      `range ${offset}+${lengthBytes} outside the ${this.lengthBytes}-byte mapping`,
    );
  }

  private checkHeader(offset: number): void {
    assert(Number.isSafeInteger(offset) && offset % HEADER_BYTES === 0, `header offset ${offset} is not 64-byte aligned`);
    this.checkRange(offset, HEADER_BYTES);
  }
}

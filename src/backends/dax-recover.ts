// Start-up recovery of the dax tier, given the committed BlobRefs.
//
// 1. The slab allocator is rebuilt from the committed records alone (their
//    lengths imply their slot classes), so every other slot is free.
// 2. Every page that is in use, or that the page map says was in use, is
//    scanned header by header (one native call per page):
//    - a slot a committed ref names must hold that committed record (header
//      checksum, commit marker, length, CRC and class as the ref says). If not
//      — a torn or damaged record — it stays allocated (the metadata still
//      points at it, and its slot must not be handed to another blob), it is
//      counted, and every read of it fails with BlobCorruptError;
//    - any other slot with a header is a record of an interrupted write (intent
//      header or no marker), or a finished one whose metadata never committed,
//      or a delete whose header clear was lost in the crash: its header is
//      cleared and it is counted as reclaimed. Its space is already free (1).
// 3. The page map is rewritten to match, and everything is flushed before the
//    first request.
import { HEADER_BYTES, PAGE_MAP_OFFSET_BYTES, SLOT_CLASSES, classForPayload } from './dax-layout.js';
import type { PersistPipeline } from './dax-persist.js';
import { RecordStatus, type DaxRegion } from './dax-region.js';
import type { SlabAllocator } from './dax-slab.js';
import type { Extent } from './tier-store.js';

export interface DaxRecoveryReport {
  committedRecords: number;
  /** Committed records that did not validate: kept allocated, reads fail. */
  tornCommittedRecords: number;
  /** Header offsets of those (for the operator's log). */
  tornCommittedOffsets: number[];
  /** Records found on the medium that no committed ref names; headers cleared, space free. */
  reclaimedRecords: number;
  reclaimedBytes: number;
  /** Of the reclaimed: never committed (interrupted before or during publication). */
  interruptedRecords: number;
  pagesScanned: number;
  durationMs: number;
}

export interface RecoveryHost {
  readonly region: DaxRegion;
  readonly slab: SlabAllocator;
  readonly pipeline: PersistPipeline;
}

const TORN_OFFSETS_LISTED_MAX = 100;

export async function recoverDax(host: RecoveryHost, blobs: Iterable<readonly Extent[]>): Promise<DaxRecoveryReport> {
  const began = performance.now();
  const { region, slab } = host;
  const expected = new Map<number, Extent>();
  for (const extents of blobs) for (const extent of extents) expected.set(extent.offset - HEADER_BYTES, extent);
  slab.rebuild([...expected.keys()].map((offset) => ({ offset, classIndex: classForPayload(expected.get(offset)!.length) })));

  const pageMap = new Uint8Array(slab.pageCount);
  if (slab.pageCount > 0) region.read(PAGE_MAP_OFFSET_BYTES, pageMap);
  const report: DaxRecoveryReport = {
    committedRecords: expected.size,
    tornCommittedRecords: 0,
    tornCommittedOffsets: [],
    reclaimedRecords: 0,
    reclaimedBytes: 0,
    interruptedRecords: 0,
    pagesScanned: 0,
    durationMs: 0,
  };
  for (let pageIndex = 0; pageIndex < slab.pageCount; pageIndex++) {
    const usedClass = slab.pageClass(pageIndex);
    const classIndex = usedClass >= 0 ? usedClass : pageMap[pageIndex]! - 1;
    const slotBytes = SLOT_CLASSES[classIndex];
    if (slotBytes === undefined) continue; // free (0) or a byte we do not understand: nothing to find
    report.pagesScanned++;
    const pageStart = slab.pageStart(pageIndex);
    const slotCount = Math.floor(slab.pageBytes / slotBytes);
    const headers = region.inspect(pageStart, slotBytes, slotCount);
    for (let slotIndex = 0; slotIndex < slotCount; slotIndex++) {
      const [status, payloadBytes, payloadCrc, headerSlotBytes] = headers.subarray(4 * slotIndex, 4 * slotIndex + 4);
      const offset = pageStart + slotIndex * slotBytes;
      const extent = expected.get(offset);
      if (extent !== undefined) {
        const valid =
          status === RecordStatus.committed && payloadBytes === extent.length && payloadCrc === extent.crc32c && headerSlotBytes === slotBytes;
        if (!valid) {
          report.tornCommittedRecords++;
          if (report.tornCommittedOffsets.length < TORN_OFFSETS_LISTED_MAX) report.tornCommittedOffsets.push(offset);
        }
        continue;
      }
      if (status === RecordStatus.empty) continue;
      region.clearHeader(offset);
      report.reclaimedRecords++;
      report.reclaimedBytes += slotBytes;
      if (status !== RecordStatus.committed) report.interruptedRecords++;
    }
  }

  const rewritten = new Uint8Array(slab.pageCount);
  for (const { pageIndex, classIndex } of slab.usedPages()) rewritten[pageIndex] = classIndex + 1;
  if (slab.pageCount > 0) region.write(PAGE_MAP_OFFSET_BYTES, rewritten);
  await host.pipeline.flushAll();
  report.durationMs = performance.now() - began;
  return report;
}

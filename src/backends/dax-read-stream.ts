// Range reads of the dax tier, served from the mapping. For each record the
// range touches, one native call checks the header is the committed record the
// BlobRef names, copies the whole payload into a new Buffer (the one copy on
// the read path) and verifies the copy's CRC32C; then only the requested part
// of that Buffer (a view, not a second copy) is pushed. Any failure destroys
// the stream with BlobCorruptError: bytes that did not verify are never pushed.
import { Readable } from 'node:stream';
import { HEADER_BYTES, SLOT_CLASSES, classForPayload } from './dax-layout.js';
import { ReadStatus, type DaxRegion, type ReadStatusCode } from './dax-region.js';
import { BlobCorruptError, type Extent, type ReadRange } from './tier-store.js';
import { planRange } from './live-blobs.js';

export interface DaxReaderHost {
  readonly region: DaxRegion;
  /** Counts a failed verification (health/metrics). */
  noteCorruptRead(): void;
}

const WHY: Record<Exclude<ReadStatusCode, 0>, string> = {
  [ReadStatus.noHeader]: 'record header missing or damaged',
  [ReadStatus.uncommitted]: 'record never committed (torn)',
  [ReadStatus.mismatch]: 'record header does not match the BlobRef',
  [ReadStatus.badPayload]: 'payload crc32c mismatch',
};

/** Reads one record whole and verified; throws BlobCorruptError otherwise. */
export function readDaxExtent(host: DaxReaderHost, extent: Extent): Buffer {
  const payload = Buffer.allocUnsafe(extent.length);
  const headerOffset = extent.offset - HEADER_BYTES;
  const slotBytes = SLOT_CLASSES[classForPayload(extent.length)]!;
  const status = host.region.readRecord(headerOffset, { payloadBytes: extent.length, payloadCrc: extent.crc32c, slotBytes }, payload);
  if (status !== ReadStatus.ok) {
    host.noteCorruptRead();
    throw new BlobCorruptError('dax', `record at offset ${headerOffset} (${extent.length} bytes): ${WHY[status]}`);
  }
  return payload;
}

/**
 * A stream of bytes [start, end) of the blob made of `extents`, one record per
 * read. `onClosed` runs once when the stream is closed (ended, failed or
 * destroyed): the tier may then reuse a deleted blob's slots.
 */
export function createDaxReadStream(host: DaxReaderHost, extents: readonly Extent[], range: ReadRange, onClosed: () => void): Readable {
  const pieces = planRange(extents, range);
  let next = 0;
  const stream = new Readable({
    read() {
      const piece = pieces[next++];
      if (piece === undefined) {
        this.push(null);
        return;
      }
      let payload: Buffer;
      try {
        payload = readDaxExtent(host, piece.extent);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      this.push(payload.subarray(piece.fromBytes, piece.toBytes));
    },
  });
  stream.once('close', onClosed);
  return stream;
}

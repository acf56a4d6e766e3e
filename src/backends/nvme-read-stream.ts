// Range reads of the nvme tier. A range maps onto the extents it overlaps;
// each extent is read whole (O_DIRECT, block-aligned) into a pool slot, its
// CRC32C checked over the full payload, and only then is the requested part
// copied out — the one copy between the aligned buffer and the HTTP stream.
// A mismatch fails the stream with BlobCorruptError: wrong bytes are never
// pushed. Up to READ_AHEAD extents are in flight while the consumer reads.
import { Readable } from 'node:stream';
import type { BufferPool } from './buffer-pool.js';
import type { BlockFile } from './block-file.js';
import { native } from './native.js';
import { BlobCorruptError, type Extent, type ReadRange } from './tier-store.js';
import { planRange, type ExtentPiece as Piece } from './live-blobs.js';

const READ_AHEAD = 2;

export interface ReaderHost {
  readonly name: 'nvme' | 'remote';
  readonly file: BlockFile;
  readonly pool: BufferPool;
  roundUp(bytes: number): number;
  /** Counts a CRC mismatch (health/metrics). */
  noteCorruptRead(): void;
}

/**
 * A stream of bytes [start, end) of the blob made of `extents`. `onClosed`
 * runs once the stream is closed (ended, failed or destroyed) and no read of
 * it is in flight any more: the tier may then reuse a deleted blob's space.
 */
export function createNvmeReadStream(
  host: ReaderHost,
  extents: readonly Extent[],
  range: ReadRange,
  onClosed: () => void,
): Readable {
  const pieces = planRange(extents, range);
  async function* generate(): AsyncGenerator<Buffer> {
    const queue: Promise<Buffer>[] = [];
    let next = 0;
    try {
      while (next < pieces.length || queue.length > 0) {
        while (queue.length < READ_AHEAD && next < pieces.length) {
          const read = readPiece(host, pieces[next++]!);
          read.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
          queue.push(read);
        }
        yield await queue.shift()!;
      }
    } finally {
      // Slots are released by each read itself; wait so that onClosed really
      // means "nothing of this stream touches the device any more".
      await Promise.allSettled(queue);
    }
  }
  const stream = Readable.from(generate(), { objectMode: false });
  stream.once('close', onClosed);
  return stream;
}

async function readPiece(host: ReaderHost, piece: Piece): Promise<Buffer> {
  const { extent } = piece;
  const slot = await host.pool.acquire('read');
  try {
    await host.file.readExact({ slot, lengthBytes: host.roundUp(extent.length) }, extent.offset);
    const payload = slot.bytes.subarray(0, extent.length);
    const crc32c = native.crc32c(payload, 0);
    if (crc32c !== extent.crc32c) {
      host.noteCorruptRead();
      throw new BlobCorruptError(
        host.name,
        `extent at offset ${extent.offset} (${extent.length} bytes): crc32c ${hex(crc32c)}, expected ${hex(extent.crc32c)}`,
      );
    }
    return Buffer.from(payload.subarray(piece.fromBytes, piece.toBytes));
  } finally {
    host.pool.release(slot);
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

// The target's default backing store: the native I/O engine (io_uring, or its
// thread-pool fallback) on an O_DIRECT descriptor, with aligned buffers from the
// engine's pool — one copy between the PDU buffers and the pool each way. Flush
// and FUA map to fdatasync; concurrent flushes share one (GroupFlush), and a
// flush still covers every write that completed before it was requested.
import { GroupFlush } from '../../group-flush.js';
import { openIoEngine, type IoEngine, type IoEngineKind } from '../../io-engine.js';
import { IoFile } from '../../io-file.js';
import { FileBackingStore, type BackingStore } from './backing-store.js';

const SLOT_BYTES = 1024 * 1024;

export class EngineBackingStore implements BackingStore {
  readonly mode: string;
  private readonly flusher: GroupFlush;
  private closed = false;

  private constructor(
    private readonly engine: IoEngine,
    private readonly file: IoFile,
    readonly sizeBytes: number,
    readonly blockSizeBytes: number,
  ) {
    this.mode = engine.kind;
    this.flusher = new GroupFlush(() => this.file.datasync());
  }

  /**
   * Sizes (and if asked, creates or extends) PATH exactly as FileBackingStore
   * does, then reopens it O_DIRECT on the native engine.
   */
  static async open(
    path: string,
    options: { blockSizeBytes: number; createSizeBytes?: number; engine?: IoEngineKind | 'auto' },
  ): Promise<EngineBackingStore> {
    const sized = await FileBackingStore.open(path, options);
    const { sizeBytes, blockSizeBytes } = sized;
    await sized.close();
    const engine = openIoEngine({ kind: options.engine === 'auto' ? undefined : options.engine, slotBytes: SLOT_BYTES, slots: 64, queueDepth: 128 });
    try {
      const file = await IoFile.open(engine, path, { direct: true });
      return new EngineBackingStore(engine, file, sizeBytes, blockSizeBytes);
    } catch (error) {
      await engine.close();
      throw error;
    }
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(lengthBytes);
    const pieces: Promise<void>[] = [];
    for (let done = 0; done < lengthBytes; done += SLOT_BYTES) {
      const pieceBytes = Math.min(SLOT_BYTES, lengthBytes - done);
      const at = done;
      pieces.push(
        (async () => {
          const slot = await this.engine.pool.acquire('read');
          try {
            await this.file.readExact({ slot, lengthBytes: pieceBytes }, offsetBytes + at);
            out.set(slot.bytes.subarray(0, pieceBytes), at);
          } finally {
            this.engine.pool.release(slot);
          }
        })(),
      );
    }
    await Promise.all(pieces);
    return out;
  }

  async write(offsetBytes: number, data: Buffer, options: { fua?: boolean } = {}): Promise<void> {
    const pieces: Promise<void>[] = [];
    for (let done = 0; done < data.length; done += SLOT_BYTES) {
      const pieceBytes = Math.min(SLOT_BYTES, data.length - done);
      const at = done;
      pieces.push(
        (async () => {
          const slot = await this.engine.pool.acquire('write');
          try {
            slot.bytes.set(data.subarray(at, at + pieceBytes), 0);
            await this.file.writeExact({ slot, lengthBytes: pieceBytes }, offsetBytes + at);
          } finally {
            this.engine.pool.release(slot);
          }
        })(),
      );
    }
    await Promise.all(pieces);
    if (options.fua) await this.flusher.flush();
  }

  flush(): Promise<void> {
    return this.flusher.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
    await this.engine.close();
  }
}

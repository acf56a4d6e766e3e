// What a namespace's bytes sit on. The target talks to its medium only through
// BackingStore, so the native io_uring + O_DIRECT engine (being built on the
// native branch) can replace FileBackingStore without touching the protocol code.
//
// Contract (every implementation keeps it):
// - Offsets and lengths are multiples of blockSizeBytes and lie inside sizeBytes
//   (the I/O command handler checks the LBA range before calling).
// - write(..., { fua: true }) resolves only after the bytes are durable.
// - flush() resolves only after every write that resolved before flush() was
//   called is durable (fdatasync semantics). The target acknowledges a Flush or
//   a FUA write only after these promises resolve.
// - read() returns exactly lengthBytes bytes.
//
// Where the native engine plugs in: implement BackingStore with the native
// ring (read/write → io_uring READ/WRITE on an O_DIRECT fd with buffers from the
// aligned pool, fua → RWF_DSYNC, flush → IORING_OP_FSYNC with DATASYNC) and
// return it from openBackingStore() when the addon reports io_uring support.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';

export interface BackingStore {
  readonly sizeBytes: number;
  readonly blockSizeBytes: number;
  /** Reported in logs and health output: "file" now, "io_uring" with the native engine. */
  readonly mode: string;
  read(offsetBytes: number, lengthBytes: number): Promise<Buffer>;
  write(offsetBytes: number, data: Buffer, options?: { fua?: boolean }): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Portable implementation: positional I/O through the page cache on libuv's
 * thread pool, fdatasync for Flush and FUA. Because writes can sit in the page
 * cache, the target advertises a volatile write cache (VWC) so hosts send Flush.
 */
export class FileBackingStore implements BackingStore {
  readonly mode = 'file';
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly sizeBytes: number,
    readonly blockSizeBytes: number,
  ) {}

  /**
   * Opens PATH read-write. A regular file smaller than `createSizeBytes` is
   * extended to it (sparse); a block device is used at its own size. The usable
   * size is rounded down to whole blocks.
   */
  static async open(path: string, options: { blockSizeBytes: number; createSizeBytes?: number }): Promise<FileBackingStore> {
    const { blockSizeBytes } = options;
    if (![512, 1024, 2048, 4096].includes(blockSizeBytes)) throw new RangeError(`block size ${blockSizeBytes} is not 512..4096`);
    const existing = await stat(path).catch(() => undefined);
    const flags = existing ? fsConstants.O_RDWR : fsConstants.O_RDWR | fsConstants.O_CREAT;
    const handle = await open(path, flags, 0o600);
    try {
      let sizeBytes: number;
      const info = await handle.stat();
      if (info.isBlockDevice()) {
        // A block device's stat size is 0: find its end by seeking (positional read at the end returns 0 bytes).
        sizeBytes = await blockDeviceSize(handle);
      } else {
        sizeBytes = info.size;
        if (options.createSizeBytes !== undefined && sizeBytes < options.createSizeBytes) {
          await handle.truncate(options.createSizeBytes);
          sizeBytes = options.createSizeBytes;
        }
      }
      sizeBytes -= sizeBytes % blockSizeBytes;
      if (sizeBytes === 0) throw new RangeError(`backing ${path} is empty: give --size to create it`);
      return new FileBackingStore(handle, sizeBytes, blockSizeBytes);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(lengthBytes);
    let filled = 0;
    while (filled < lengthBytes) {
      const { bytesRead } = await this.handle.read(buffer, filled, lengthBytes - filled, offsetBytes + filled);
      if (bytesRead === 0) {
        // Past the end of a sparse file that was never extended: zeros.
        buffer.fill(0, filled);
        break;
      }
      filled += bytesRead;
    }
    return buffer;
  }

  async write(offsetBytes: number, data: Buffer, options: { fua?: boolean } = {}): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, offsetBytes + written);
      written += bytesWritten;
    }
    if (options.fua) await this.handle.datasync();
  }

  async flush(): Promise<void> {
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

async function blockDeviceSize(handle: FileHandle): Promise<number> {
  // Binary search for the first offset where a 1-byte read returns nothing.
  const probe = Buffer.alloc(1);
  let low = 0;
  let high = 2 ** 52;
  while (low < high) {
    const middle = Math.floor((low + high + 1) / 2);
    const { bytesRead } = await handle.read(probe, 0, 1, middle - 1);
    if (bytesRead === 1) low = middle;
    else high = middle - 1;
  }
  return low;
}

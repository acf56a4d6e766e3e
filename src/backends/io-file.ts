// A file (or block device) driven through an IoEngine, with typed errors:
// every negative errno becomes an IoError carrying syscall, path and errno
// name, thrown from the async method the caller awaited (so the stack shows
// the caller). The exact variants finish short transfers by issuing the rest,
// and turn an unexpected end of file into an EIO error.
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { PoolSlot } from './buffer-pool.js';
import { Errno, IoError } from './io-errors.js';
import type { IoEngine, IoRequest } from './io-engine.js';

/** A byte range inside a pool slot. */
export interface SlotRange {
  slot: PoolSlot;
  /** Offset inside the slot. Default 0. */
  offsetBytes?: number;
  lengthBytes: number;
}

export interface OpenIoFileOptions {
  /** Open with O_DIRECT (bypass the page cache; buffers, offsets and lengths must be aligned). Default true. */
  direct?: boolean;
  /** Create the file if missing. Default false. */
  create?: boolean;
  /** Open read-only. Default false. */
  readOnly?: boolean;
}

export class IoFile {
  // Requests still in flight on this fd: close() waits for them, because a
  // closed fd number can be reused by another open() while a thread-pool
  // pwrite on it is still queued.
  private inflight = 0;
  private idle: (() => void) | undefined;
  private closed = false;

  private constructor(
    readonly engine: IoEngine,
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async open(engine: IoEngine, path: string, options: OpenIoFileOptions = {}): Promise<IoFile> {
    let flags = options.readOnly === true ? constants.O_RDONLY : constants.O_RDWR;
    if (options.direct !== false) flags |= constants.O_DIRECT;
    if (options.create === true) flags |= constants.O_CREAT;
    const handle = await fsp.open(path, flags, 0o600);
    return new IoFile(engine, handle, path);
  }

  get fd(): number {
    return this.handle.fd;
  }

  /** One read into the slot range; resolves with the bytes read (fewer at end of file). */
  async read(range: SlotRange, fileOffset: number): Promise<number> {
    const result = await this.issue({ op: 'read', fd: this.fd, ...poolRange(range), fileOffset });
    if (result < 0) throw new IoError(result, { syscall: 'read', path: this.path });
    return result;
  }

  /** One write from the slot range; resolves with the bytes written. */
  async write(range: SlotRange, fileOffset: number): Promise<number> {
    const result = await this.issue({ op: 'write', fd: this.fd, ...poolRange(range), fileOffset });
    if (result < 0) throw new IoError(result, { syscall: 'write', path: this.path });
    return result;
  }

  /** Reads exactly range.lengthBytes, re-issuing the rest after a short read; EIO at end of file. */
  async readExact(range: SlotRange, fileOffset: number): Promise<void> {
    await this.transferExact('read', range, fileOffset);
  }

  /** Writes exactly range.lengthBytes, re-issuing the rest after a short write. */
  async writeExact(range: SlotRange, fileOffset: number): Promise<void> {
    await this.transferExact('write', range, fileOffset);
  }

  async datasync(): Promise<void> {
    const result = await this.issue({ op: 'fdatasync', fd: this.fd });
    if (result < 0) throw new IoError(result, { syscall: 'fdatasync', path: this.path });
  }

  async fsync(): Promise<void> {
    const result = await this.issue({ op: 'fsync', fd: this.fd });
    if (result < 0) throw new IoError(result, { syscall: 'fsync', path: this.path });
  }

  /** fallocate(2); mode 0 reserves blocks (and extends the file size). */
  async fallocate(offset: number, lengthBytes: number, options: { mode?: number } = {}): Promise<void> {
    const mode = options.mode ?? 0;
    const result = await this.issue({ op: 'fallocate', fd: this.fd, mode, offset, lengthBytes });
    if (result < 0) throw new IoError(result, { syscall: 'fallocate', path: this.path });
  }

  /** Waits for this file's requests in flight, then closes the fd. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.handle.close();
  }

  private async issue(request: IoRequest): Promise<number> {
    if (this.closed) throw new IoError(Errno.EBADF, { syscall: request.op, path: this.path, detail: 'file closed' });
    this.inflight++;
    try {
      return await this.engine.request(request);
    } finally {
      if (--this.inflight === 0 && this.idle !== undefined) this.idle();
    }
  }

  private async transferExact(op: 'read' | 'write', range: SlotRange, fileOffset: number): Promise<void> {
    const { poolOffset, lengthBytes } = poolRange(range);
    let doneBytes = 0;
    while (doneBytes < lengthBytes) {
      const result = await this.issue({
        op,
        fd: this.fd,
        poolOffset: poolOffset + doneBytes,
        lengthBytes: lengthBytes - doneBytes,
        fileOffset: fileOffset + doneBytes,
      });
      if (result < 0) throw new IoError(result, { syscall: op, path: this.path });
      if (result === 0) {
        throw new IoError(Errno.EIO, {
          syscall: op,
          path: this.path,
          detail: `short ${op}: ${doneBytes} of ${lengthBytes} bytes at offset ${fileOffset}`,
        });
      }
      doneBytes += result;
    }
  }
}

function poolRange(range: SlotRange): { poolOffset: number; lengthBytes: number } {
  if (!range.slot.held) throw new RangeError(`slot ${range.slot.index} is not held: acquire it before I/O`);
  const offsetBytes = range.offsetBytes ?? 0;
  if (offsetBytes < 0 || range.lengthBytes < 0 || offsetBytes + range.lengthBytes > range.slot.bytes.byteLength) {
    throw new RangeError(`range [${offsetBytes}, +${range.lengthBytes}) outside a ${range.slot.bytes.byteLength}-byte slot`);
  }
  return { poolOffset: range.slot.poolOffset + offsetBytes, lengthBytes: range.lengthBytes };
}

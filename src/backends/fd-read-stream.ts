// A Readable over [start, end) of an already-open descriptor: positional reads
// of up to chunkBytes each, no open/close of its own. Small ranges are a
// single read and a single push.
import { read } from 'node:fs';
import { Readable } from 'node:stream';

export class FdRangeReadStream extends Readable {
  private position: number;

  constructor(
    private readonly acquireFd: () => Promise<number>,
    start: number,
    private readonly end: number,
    private readonly chunkBytes: number,
    private readonly onDone: () => void,
  ) {
    super({ highWaterMark: chunkBytes });
    this.position = start;
  }

  private fd: number | undefined;
  private done = false;

  override _read(): void {
    if (this.position >= this.end) {
      this.push(null);
      return;
    }
    const go = (fd: number) => {
      const length = Math.min(this.chunkBytes, this.end - this.position);
      const buffer = Buffer.allocUnsafe(length);
      read(fd, buffer, 0, length, this.position, (error, bytesRead) => {
        if (error) return this.destroy(error);
        if (bytesRead === 0) return this.destroy(new Error(`blob ended early at byte ${this.position}`));
        this.position += bytesRead;
        this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
        if (this.position >= this.end) this.push(null);
      });
    };
    if (this.fd !== undefined) return go(this.fd);
    this.acquireFd().then(
      (fd) => {
        this.fd = fd;
        if (this.destroyed) return this.finishOnce();
        go(fd);
      },
      (error: Error) => this.destroy(error),
    );
  }

  private finishOnce(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd !== undefined) this.onDone();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.finishOnce();
    callback(error);
  }
}

// Coalesces the PDUs written to a socket in one event-loop turn into one
// writev (cork now, uncork on the next tick): many small responses and headers
// then cost one syscall instead of one each.
import type { Socket } from 'node:net';

export class BatchedWriter {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  /** Queues pieces in order; onFlushed runs once the last one is handed to the kernel (or the socket failed). */
  write(pieces: Buffer[], onFlushed?: () => void): void {
    if (this.socket.destroyed) {
      onFlushed?.();
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    pieces.forEach((piece, index) => {
      if (index === pieces.length - 1 && onFlushed) this.socket.write(piece, () => onFlushed());
      else this.socket.write(piece);
    });
  }

  /** Bytes queued in the socket beyond what the kernel took: the caller's backpressure signal. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }
}

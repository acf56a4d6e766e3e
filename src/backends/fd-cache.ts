// Keeps blob files open between reads. A GET of a small object then costs one
// pread on the thread pool instead of open + read + close, which profiling
// showed as most of the main thread's time for 4 KiB GETs. Handles are
// reference-counted: a descriptor leaves the cache on eviction or deletion but
// is closed only when the last read using it lets go. Unlinking a file with an
// open descriptor is safe on POSIX: readers still see the old bytes.
import { close, open, constants } from 'node:fs';

export interface FdHandle {
  readonly fd: number;
  users: number;
  /** Out of the cache; close when users drops to zero. */
  detached: boolean;
}

export class FdCache {
  private readonly entries = new Map<string, FdHandle>();
  private readonly opening = new Map<string, Promise<FdHandle>>();

  constructor(private readonly capacity: number) {}

  /** An open read-only descriptor for `path`; give it back with release(). */
  async acquire(key: string, path: string): Promise<FdHandle> {
    let handle = this.entries.get(key);
    if (handle) {
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, handle);
    } else {
      let pending = this.opening.get(key);
      if (!pending) {
        pending = new Promise<FdHandle>((resolve, reject) => {
          open(path, constants.O_RDONLY, (error, fd) => {
            this.opening.delete(key);
            if (error) return reject(error);
            const opened: FdHandle = { fd, users: 0, detached: false };
            this.entries.set(key, opened);
            this.evictOverflow();
            resolve(opened);
          });
        });
        this.opening.set(key, pending);
      }
      handle = await pending;
    }
    handle.users++;
    return handle;
  }

  release(handle: FdHandle): void {
    handle.users--;
    if (handle.detached && handle.users === 0) close(handle.fd, () => {});
  }

  /** The blob is gone: drop its descriptor (closed once unused). */
  forget(key: string): void {
    const handle = this.entries.get(key);
    if (handle) this.detach(key, handle);
  }

  private detach(key: string, handle: FdHandle): void {
    this.entries.delete(key);
    handle.detached = true;
    if (handle.users === 0) close(handle.fd, () => {});
  }

  private evictOverflow(): void {
    for (const [key, handle] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.detach(key, handle);
    }
  }

  closeAll(): void {
    for (const [key, handle] of [...this.entries]) this.detach(key, handle);
  }
}

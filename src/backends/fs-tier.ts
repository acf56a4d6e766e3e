// The portable `fs` tier: one file per blob under <dir>/<xx>/<id>. A blob is
// written to <dir>/tmp/<id>, fdatasync'd, renamed into place and the directory
// fsync'd before finish() resolves, so an acknowledged blob survives a crash.
// Files nobody committed (crash between rename and the metadata commit, or an
// interrupted write) are deleted by recover() at start.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  TierFullError,
  type BlobRef,
  type BlobWriter,
  type ReadRange,
  type TierStats,
  type TierStore,
} from './tier-store.js';
import { DirectorySyncer } from './directory-syncer.js';
import { FdCache, type FdHandle } from './fd-cache.js';
import { FdRangeReadStream } from './fd-read-stream.js';

const FANOUT_DIRS = 256;
/** Writes are gathered into chunks of this size before each write(2): fewer syscalls for big bodies. */
const WRITE_GATHER_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;
/** Open descriptors kept for reads (the process limit here is far higher). */
const FD_CACHE_ENTRIES = 4096;

type FsBlobRef = Extract<BlobRef, { tier: 'fs' }>;

export interface FsTierOptions {
  directory: string;
  /** Refuse new blobs once the filesystem has less than this many bytes free. */
  reserveBytes?: number;
}

export class FsTier implements TierStore {
  readonly name = 'fs' as const;
  readonly mode = 'file' as const;
  private readonly tmpDirectory: string;
  private readonly syncer = new DirectorySyncer();
  private readonly fds = new FdCache(FD_CACHE_ENTRIES);
  private usedBytes = 0;
  private objectCount = 0;
  private capacityBytes = 0;
  private freeBytes = Number.MAX_SAFE_INTEGER;
  private readonly reserveBytes: number;

  private constructor(private readonly directory: string, reserveBytes: number) {
    this.tmpDirectory = join(directory, 'tmp');
    this.reserveBytes = reserveBytes;
  }

  static async open(options: FsTierOptions): Promise<FsTier> {
    const tier = new FsTier(options.directory, options.reserveBytes ?? 64 * 1024 * 1024);
    await fsp.mkdir(tier.tmpDirectory, { recursive: true });
    await Promise.all(
      Array.from({ length: FANOUT_DIRS }, (_, i) => fsp.mkdir(tier.fanoutDirectory(i), { recursive: true })),
    );
    await tier.refreshCapacity();
    return tier;
  }

  private fanoutDirectory(index: number): string {
    return join(this.directory, index.toString(16).padStart(2, '0'));
  }

  private blobPath(id: string): string {
    return join(this.directory, id.slice(0, 2), id);
  }

  private async refreshCapacity(): Promise<void> {
    const stats = await fsp.statfs(this.directory);
    this.capacityBytes = stats.blocks * stats.bsize;
    this.freeBytes = stats.bavail * stats.bsize;
  }

  async recover(committed: Iterable<BlobRef>): Promise<{ reclaimedBlobs: number; reclaimedBytes: number }> {
    const live = new Set<string>();
    this.usedBytes = 0;
    for (const ref of committed) {
      if (ref.tier !== 'fs') continue;
      live.add(ref.id);
      this.usedBytes += ref.size;
    }
    this.objectCount = live.size;
    let reclaimedBlobs = 0;
    let reclaimedBytes = 0;
    const reclaim = async (path: string) => {
      const stat = await fsp.stat(path).catch(() => undefined);
      await fsp.rm(path, { force: true });
      reclaimedBlobs++;
      reclaimedBytes += stat?.size ?? 0;
    };
    for (const name of await fsp.readdir(this.tmpDirectory)) await reclaim(join(this.tmpDirectory, name));
    for (let i = 0; i < FANOUT_DIRS; i++) {
      const directory = this.fanoutDirectory(i);
      for (const name of await fsp.readdir(directory)) {
        if (!live.has(name)) await reclaim(join(directory, name));
      }
    }
    await this.refreshCapacity();
    return { reclaimedBlobs, reclaimedBytes };
  }

  async createWriter(options: { sizeHint?: number }): Promise<BlobWriter> {
    const needed = options.sizeHint ?? 0;
    if (this.freeBytes - needed < this.reserveBytes) {
      await this.refreshCapacity();
      if (this.freeBytes - needed < this.reserveBytes) throw new TierFullError('fs', needed);
    }
    const id = randomBytes(16).toString('hex');
    const tmpPath = join(this.tmpDirectory, id);
    const handle = await fsp.open(tmpPath, 'wx', 0o600);
    this.freeBytes -= needed;
    return new FsBlobWriter(this, handle, id, tmpPath, this.blobPath(id));
  }

  /** Called by a writer once its blob is durable in place. */
  async publish(tmpPath: string, finalPath: string): Promise<void> {
    await fsp.rename(tmpPath, finalPath);
    await this.syncer.sync(join(finalPath, '..'));
  }

  accountWritten(sizeBytes: number): void {
    this.usedBytes += sizeBytes;
    this.objectCount++;
  }

  createReadStream(ref: BlobRef, range: ReadRange): Readable {
    const fsRef = ref as FsBlobRef;
    let handle: FdHandle | undefined;
    return new FdRangeReadStream(
      async () => {
        handle = await this.fds.acquire(fsRef.id, this.blobPath(fsRef.id));
        return handle.fd;
      },
      range.start,
      range.end,
      Math.min(READ_CHUNK_BYTES, Math.max(range.end - range.start, 1)),
      () => {
        if (handle) this.fds.release(handle);
      },
    );
  }

  async delete(ref: BlobRef): Promise<void> {
    const fsRef = ref as FsBlobRef;
    this.fds.forget(fsRef.id);
    try {
      await fsp.unlink(this.blobPath(fsRef.id));
      this.usedBytes -= fsRef.size;
      this.objectCount--;
      this.freeBytes += fsRef.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  stats(): TierStats {
    return {
      name: 'fs',
      mode: 'file',
      capacityBytes: this.capacityBytes,
      usedBytes: this.usedBytes,
      objects: this.objectCount,
    };
  }

  async close(): Promise<void> {
    this.fds.closeAll();
  }
}

class FsBlobWriter implements BlobWriter {
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private position = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(
    private readonly tier: FsTier,
    private readonly handle: fsp.FileHandle,
    private readonly id: string,
    private readonly tmpPath: string,
    private readonly finalPath: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') throw new Error(`write on a ${this.state} blob writer`);
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
    if (this.gatheredBytes >= WRITE_GATHER_BYTES) await this.flushGathered();
  }

  private async flushGathered(): Promise<void> {
    if (this.gatheredBytes === 0) return;
    const buffers = this.gathered;
    const length = this.gatheredBytes;
    this.gathered = [];
    this.gatheredBytes = 0;
    let written = 0;
    while (written < length) {
      const { bytesWritten } = await this.handle.writev(
        written === 0 ? buffers : [Buffer.concat(buffers).subarray(written)],
        this.position + written,
      );
      written += bytesWritten;
    }
    this.position += length;
  }

  async finish(): Promise<BlobRef> {
    if (this.state !== 'open') throw new Error(`finish on a ${this.state} blob writer`);
    try {
      await this.flushGathered();
      await this.handle.datasync();
      await this.handle.close();
      await this.tier.publish(this.tmpPath, this.finalPath);
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.state = 'finished';
    this.tier.accountWritten(this.position);
    return { tier: 'fs', size: this.position, id: this.id };
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasFinished = this.state === 'finished';
    this.state = 'aborted';
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.tmpPath, { force: true });
    if (wasFinished) await this.tier.delete({ tier: 'fs', size: this.position, id: this.id });
  }
}

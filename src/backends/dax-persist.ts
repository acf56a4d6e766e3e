// Group commit for the dax tier's two-step record publication.
//
// A record is published in two persistence steps: (1) its header (without
// marker) and payload, then (2) its commit marker. Writers hand finished
// records to commit(); everything handed over in one event-loop turn forms
// one batch that shares both steps.
//
// - DAX (stores already flushed their cache lines as they were written): a
//   batch is SFENCE → store every marker (each line flushed) → SFENCE, done
//   synchronously on the JS thread; a few microseconds.
// - Emulated: a batch is one native publish() on the libuv thread pool:
//   msync of the pages covering the batch's payloads and headers, then the
//   markers, then msync of the pages holding the headers. Two msyncs but one
//   hop between threads, and the event loop never waits. Up to
//   PUBLISHES_IN_FLIGHT batches run at once (the kernel merges their device
//   flushes); writers finishing meanwhile gather into the next batch.
//
// A failed step fails every record of its batch: nothing is acknowledged that
// may not be durable, and the writers free their slots. Stores that need no
// acknowledgement (page map updates, cleared headers of deleted records) ride
// along with the next batch (noteDirty).
import type { DaxRegion } from './dax-region.js';

export interface CommitJob {
  /** Header offsets of the job's records. */
  headers: readonly number[];
  /** Byte span covering all of the job's headers and payloads. */
  startBytes: number;
  endBytes: number;
}

interface Pending extends CommitJob {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface PersistStats {
  /** commit() calls (one per finished blob with records). */
  requests: number;
  /** Group commits: each persists its records in two steps. */
  batches: number;
  failures: number;
  /** Records whose commit marker was stored. */
  commits: number;
}

/** Emulated mode: publish() calls running at once. */
const PUBLISHES_IN_FLIGHT = 2;

export class PersistPipeline {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private dirtyStart = Infinity;
  private dirtyEnd = 0;
  private readonly counters: PersistStats = { requests: 0, batches: 0, failures: 0, commits: 0 };

  constructor(private readonly region: DaxRegion) {}

  /** Resolves once the job's records are committed and their markers durable. */
  commit(job: CommitJob): Promise<void> {
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      this.schedule();
    });
  }

  /** Stores in [start, end) that should reach the medium with the next batch, without anyone waiting. */
  noteDirty(startBytes: number, endBytes: number): void {
    this.dirtyStart = Math.min(this.dirtyStart, startBytes);
    this.dirtyEnd = Math.max(this.dirtyEnd, endBytes);
  }

  /** Makes everything stored so far durable (recovery, close). */
  async flushAll(): Promise<void> {
    await this.idle();
    await this.region.persist(0, this.region.lengthBytes);
    this.dirtyStart = Infinity;
    this.dirtyEnd = 0;
  }

  /** Resolves when no job is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): PersistStats {
    return { ...this.counters };
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    if (!this.region.flushesCacheLines && this.inFlight >= PUBLISHES_IN_FLIGHT) return; // the next settle reschedules
    this.scheduled = true;
    // Everyone who finishes in this turn joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.startBatch();
    });
  }

  private startBatch(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return this.settled();
    this.counters.batches++;
    if (this.region.flushesCacheLines) this.commitInline(batch);
    else void this.publish(batch);
  }

  /** DAX: fence, markers, fence — all on this thread, now. */
  private commitInline(batch: Pending[]): void {
    const done: Pending[] = [];
    try {
      this.region.fence(); // payloads and headers (lines flushed as written) are durable
      for (const job of batch) {
        for (const header of job.headers) this.region.commit(header);
        this.counters.commits += job.headers.length;
        done.push(job);
      }
      this.region.fence(); // markers durable
    } catch (error) {
      this.counters.failures++;
      for (const job of batch) job.reject(error);
      return this.settled();
    }
    for (const job of done) job.resolve();
    this.settled();
  }

  /** Emulated: one native publish() for the whole batch. */
  private async publish(batch: Pending[]): Promise<void> {
    let start = this.dirtyStart;
    let end = this.dirtyEnd;
    this.dirtyStart = Infinity;
    this.dirtyEnd = 0;
    const headers: number[] = [];
    for (const job of batch) {
      start = Math.min(start, job.startBytes);
      end = Math.max(end, job.endBytes);
      headers.push(...job.headers);
    }
    this.inFlight++;
    try {
      await this.region.publish(start, end, headers);
      this.counters.commits += headers.length;
      for (const job of batch) job.resolve();
    } catch (error) {
      this.counters.failures++;
      for (const job of batch) job.reject(error);
    } finally {
      this.inFlight--;
      this.settled();
    }
  }

  private settled(): void {
    this.schedule();
    if (this.queue.length === 0 && this.inFlight === 0 && !this.scheduled) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}

// Group commit for the dax tier's two-step record publication.
//
// A record is published in two persistence steps: (1) its header (without
// marker) and payload, then (2) its commit marker. Writers hand finished
// records to commit(); everything handed over in one event-loop turn shares
// one flush per step. The steps of consecutive batches overlap: one flush
// persists the markers of batch N (whose payloads an earlier flush made
// durable) together with the payloads of batch N+1. In steady state a busy
// tier therefore issues one flush per turn, and each record is acknowledged
// after two flushes that both started after its bytes were stored:
//
//   flush k:   payloads of batch N
//   flush k+1: markers of batch N + payloads of batch N+1   → batch N acknowledged
//   flush k+2: markers of batch N+1 + payloads of batch N+2 → batch N+1 acknowledged
//
// A flush is region.persist(): an SFENCE on DAX (every store already flushed
// its cache lines), or one msync of the covering pages, off the JS thread, in
// emulated mode. A failed flush fails every record that needed it: nothing is
// acknowledged that may not be durable, and the writers free their slots.
import { HEADER_BYTES, type DaxRegion } from './dax-region.js';

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
  /** Flushes issued: SFENCEs on DAX, msync calls in emulated mode. */
  flushes: number;
  failures: number;
  /** Records whose commit marker was stored. */
  commits: number;
}

export class PersistPipeline {
  /** Waiting for their payload flush. */
  private payloadQueue: Pending[] = [];
  /** Payload durable; waiting for the marker store and its flush. */
  private markerQueue: Pending[] = [];
  /** Best-effort stores (page map, cleared headers) to ride along with the next flush. */
  private dirtyStart = Infinity;
  private dirtyEnd = 0;
  private running: Promise<void> | undefined;
  private readonly counters: PersistStats = { requests: 0, flushes: 0, failures: 0, commits: 0 };

  constructor(private readonly region: DaxRegion) {}

  /** Resolves once the job's records are committed and their markers durable. */
  commit(job: CommitJob): Promise<void> {
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      this.payloadQueue.push({ ...job, resolve, reject });
      this.start();
    });
  }

  /** Stores in [start, end) that should reach the medium with the next flush, without anyone waiting. */
  noteDirty(startBytes: number, endBytes: number): void {
    this.dirtyStart = Math.min(this.dirtyStart, startBytes);
    this.dirtyEnd = Math.max(this.dirtyEnd, endBytes);
  }

  /** Makes everything stored so far durable (recovery, close). */
  async flushAll(): Promise<void> {
    await this.idle();
    this.counters.flushes++;
    await this.region.persist(0, this.region.lengthBytes);
    this.dirtyStart = Infinity;
    this.dirtyEnd = 0;
  }

  /** Resolves when no job is queued or in flight. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  stats(): PersistStats {
    return { ...this.counters };
  }

  private start(): void {
    if (this.running !== undefined) return;
    // Everyone who finishes in this turn joins the first batch.
    this.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.run())
      .finally(() => {
        this.running = undefined;
      });
  }

  private async run(): Promise<void> {
    while (this.payloadQueue.length > 0 || this.markerQueue.length > 0) {
      const marking = this.markerQueue;
      const persisting = this.payloadQueue;
      this.markerQueue = [];
      this.payloadQueue = [];
      let start = this.dirtyStart;
      let end = this.dirtyEnd;
      this.dirtyStart = Infinity;
      this.dirtyEnd = 0;
      const marked: Pending[] = [];
      for (const job of marking) {
        try {
          for (const header of job.headers) this.region.commit(header);
        } catch (error) {
          job.reject(error); // a header that is not valid any more: our bug, surfaced to its writer
          continue;
        }
        this.counters.commits += job.headers.length;
        marked.push(job);
        for (const header of job.headers) {
          start = Math.min(start, header);
          end = Math.max(end, header + HEADER_BYTES);
        }
      }
      for (const job of persisting) {
        start = Math.min(start, job.startBytes);
        end = Math.max(end, job.endBytes);
      }
      this.counters.flushes++;
      try {
        await this.region.persist(start, end);
      } catch (error) {
        this.counters.failures++;
        for (const job of [...marked, ...persisting]) job.reject(error);
        continue;
      }
      for (const job of marked) job.resolve();
      this.markerQueue.push(...persisting);
    }
  }
}

// DataStore: the object layer's single entry to blob storage. It places each new
// blob on a tier by size (policy.ts), falls back down the chain when a tier is
// full, and routes reads and deletes by the tier recorded in the BlobRef.
import type { Readable } from 'node:stream';
import {
  TierFullError,
  TierUnavailableError,
  type BlobRef,
  type BlobWriter,
  type ReadRange,
  type TierName,
  type TierStats,
  type TierStore,
} from '../backends/tier-store.js';
import { DEFAULT_THRESHOLDS, tierChain, type PlacementThresholds } from './policy.js';

export interface DataStore {
  /**
   * A writer for a new blob. With sizeHint the tier is chosen now; without it
   * the writer buffers up to the small-object threshold before choosing.
   */
  createWriter(options: { sizeHint?: number }): Promise<BlobWriter>;
  createReadStream(ref: BlobRef, range: ReadRange): Readable;
  /** Throws TierUnavailableError when a tier holding any of these blobs cannot serve reads now. */
  assertReadable(refs: readonly BlobRef[]): void;
  /** Frees blobs whose last reference was committed away; failures are logged, not thrown. */
  release(refs: readonly BlobRef[]): Promise<void>;
  recover(committed: () => Iterable<BlobRef>): Promise<Record<string, { reclaimedBlobs: number; reclaimedBytes: number }>>;
  stats(): TierStats[];
  /** stats() plus each tier's own details, for the health endpoint. */
  health(): object[];
  close(): Promise<void>;
}

export class TieredDataStore implements DataStore {
  private readonly tiers = new Map<TierName, TierStore>();

  constructor(
    tiers: TierStore[],
    private readonly thresholds: PlacementThresholds = DEFAULT_THRESHOLDS,
    private readonly log: (message: string) => void = (message) => console.error(message),
  ) {
    for (const tier of tiers) this.tiers.set(tier.name, tier);
    if (!this.tiers.has('fs')) throw new Error('the fs tier is required as the last fallback');
  }

  private tier(name: TierName): TierStore {
    const tier = this.tiers.get(name);
    if (!tier) throw new Error(`blob stored on tier ${name}, which is not configured on this node`);
    return tier;
  }

  async createWriter(options: { sizeHint?: number }): Promise<BlobWriter> {
    if (options.sizeHint === undefined) return new DeferredPlacementWriter(this, this.thresholds.smallMaxBytes);
    return this.placeWriter(options.sizeHint);
  }

  async placeWriter(sizeBytes: number): Promise<BlobWriter> {
    const chain = tierChain(sizeBytes, this.thresholds, new Set(this.tiers.keys()));
    let lastError: unknown;
    for (const name of chain) {
      try {
        return await this.tier(name).createWriter({ sizeHint: sizeBytes });
      } catch (error) {
        // A full tier, or one whose medium is unreachable: the next tier in the chain takes the blob.
        if (!(error instanceof TierFullError) && !(error instanceof TierUnavailableError)) throw error;
        lastError = error;
      }
    }
    throw lastError ?? new TierFullError('fs', sizeBytes);
  }

  createReadStream(ref: BlobRef, range: ReadRange): Readable {
    return this.tier(ref.tier).createReadStream(ref, range);
  }

  assertReadable(refs: readonly BlobRef[]): void {
    for (const ref of refs) {
      const tier = this.tiers.get(ref.tier);
      if (!tier) throw new TierUnavailableError(ref.tier, 'the tier is not configured on this node');
      if (tier.available?.() === false) throw new TierUnavailableError(ref.tier, 'its medium is unreachable');
    }
  }

  async release(refs: readonly BlobRef[]): Promise<void> {
    await Promise.all(
      refs.map(async (ref) => {
        try {
          await this.tier(ref.tier).delete(ref);
        } catch (error) {
          // The blob stays as an orphan; recover() reclaims it at the next start.
          this.log(`strata: could not free a blob on tier ${ref.tier}: ${(error as Error).message}`);
        }
      }),
    );
  }

  async recover(committed: () => Iterable<BlobRef>) {
    const report: Record<string, { reclaimedBlobs: number; reclaimedBytes: number }> = {};
    for (const [name, tier] of this.tiers) {
      report[name] = await tier.recover(filterTier(committed(), name));
    }
    return report;
  }

  stats(): TierStats[] {
    return [...this.tiers.values()].map((tier) => tier.stats());
  }

  health(): object[] {
    return [...this.tiers.values()].map((tier) => ({ ...(tier.details?.() ?? {}), ...tier.stats() }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.tiers.values()].map((tier) => tier.close()));
  }
}

function* filterTier(refs: Iterable<BlobRef>, tier: TierName): Generator<BlobRef> {
  for (const ref of refs) if (ref.tier === tier) yield ref;
}

/**
 * For bodies of unknown length: hold bytes until they exceed the small-object
 * threshold (or the body ends), then place by what is known and replay them.
 */
class DeferredPlacementWriter implements BlobWriter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private inner: BlobWriter | undefined;
  private aborted = false;

  constructor(
    private readonly store: TieredDataStore,
    private readonly holdLimitBytes: number,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.inner) return this.inner.write(chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= this.holdLimitBytes) await this.place(this.heldBytes);
  }

  private async place(sizeBytes: number): Promise<BlobWriter> {
    const inner = await this.store.placeWriter(sizeBytes);
    this.inner = inner;
    const held = this.held;
    this.held = [];
    for (const chunk of held) await inner.write(chunk);
    return inner;
  }

  async finish(): Promise<BlobRef> {
    const inner = this.inner ?? (await this.place(this.heldBytes));
    return inner.finish();
  }

  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    this.held = [];
    await this.inner?.abort();
  }
}


// Helpers for nvme tier tests: open a small tier in a temp dir, write a blob
// from a buffer in odd-sized chunks, read a range back.
import { join } from 'node:path';
import type { BlobRef } from '../../src/backends/tier-store.js';
import { openNvmeTier, type NvmeTier, type NvmeTierOptions } from '../../src/backends/nvme.js';
import type { IoEngineKind } from '../../src/backends/io-engine.js';
import { makeTempDir } from './helpers.js';
import { readRange, writeChunks } from '../helpers/tier-io.js';

export { readRange, writeChunks };

export const EXTENT_BYTES = 64 * 1024;

export interface TierFixture {
  tier: NvmeTier;
  path: string;
  dir: string;
  reopen(options?: Partial<NvmeTierOptions>): Promise<NvmeTier>;
  cleanup(): Promise<void>;
}

/** A recovered, empty tier of `sizeBytes` on a real filesystem, with 64 KiB extents. */
export async function openTestTier(
  engine: IoEngineKind,
  options: Partial<NvmeTierOptions> & { recover?: boolean } = {},
): Promise<TierFixture> {
  const { dir, cleanup } = await makeTempDir('nvme');
  const path = join(dir, 'nvme.img');
  const base: NvmeTierOptions = { path, sizeBytes: 16 * 1024 * 1024, engine, extentBytesMax: EXTENT_BYTES, slots: 16, queueDepth: 32 };
  const tier = await openNvmeTier({ ...base, ...options });
  if (options.recover !== false) await tier.recover([]);
  const fixture: TierFixture = {
    tier,
    path,
    dir,
    reopen: async (more = {}) => (fixture.tier = await openNvmeTier({ ...base, ...options, ...more })),
    cleanup: async () => {
      await fixture.tier.close();
      await cleanup();
    },
  };
  return fixture;
}


export async function writeBlob(
  tier: NvmeTier,
  data: Buffer,
  options: { sizeHint?: number; chunkBytes?: number } = {},
): Promise<BlobRef> {
  const writer = await tier.createWriter({ sizeHint: options.sizeHint });
  await writeChunks(writer, data, options.chunkBytes);
  return writer.finish();
}


export function allocatedBytes(ref: BlobRef): number {
  if (ref.tier === 'fs') throw new Error('not an extent ref');
  return ref.extents.reduce((sum, e) => sum + Math.ceil(e.length / 4096) * 4096, 0);
}

/**
 * Free pool slots once background work (the intent table's copy) settles: a
 * slot that stays held for a second has leaked.
 */
export async function settledFreeSlots(tier: NvmeTier): Promise<{ free: number; total: number }> {
  const deadline = Date.now() + 1000;
  for (;;) {
    const { freeSlots, slots } = tier.pool.stats();
    if (freeSlots === slots || Date.now() > deadline) return { free: freeSlots, total: slots };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// Helpers for dax tier tests: open a small tier in a temp dir (in either
// persistence path), write a blob in odd-sized chunks, read a range back, and
// the slot bytes a ref occupies.
import { join } from 'node:path';
import { openDaxTier, type DaxTier, type DaxTierOptions } from '../../src/backends/dax.js';
import { HEADER_BYTES, SLOT_CLASSES, classForPayload } from '../../src/backends/dax-layout.js';
import type { BlobRef } from '../../src/backends/tier-store.js';
import { makeTempDir } from './helpers.js';
import { readRange, writeChunks } from '../helpers/tier-io.js';

export { readRange, writeChunks };

/**
 * The two persistence paths the tests run: msync (what this machine's ext4
 * gives: mode 'emulated'), and the DAX path's cache-line flushes + SFENCE
 * forced onto the same file (exercises that code; durable only against a
 * process crash here).
 */
export const DAX_PATHS = [
  { name: 'msync', options: {} },
  { name: 'cacheflush', options: { unsafeCacheFlushWithoutDax: true } },
] as const satisfies readonly { name: string; options: Partial<DaxTierOptions> }[];

export const TEST_PAGE_BYTES = 256 * 1024;

export interface DaxFixture {
  tier: DaxTier;
  path: string;
  dir: string;
  reopen(options?: Partial<DaxTierOptions>): Promise<DaxTier>;
  cleanup(): Promise<void>;
}

/** A recovered, empty tier of `sizeBytes` (default 8 MiB, 256 KiB pages). */
export async function openTestDaxTier(options: Partial<DaxTierOptions> & { recover?: boolean } = {}): Promise<DaxFixture> {
  const { dir, cleanup } = await makeTempDir('dax');
  const path = join(dir, 'dax.img');
  const base: DaxTierOptions = { path, sizeBytes: 8 * 1024 * 1024, pageBytes: TEST_PAGE_BYTES };
  const { recover, ...tierOptions } = options;
  const tier = await openDaxTier({ ...base, ...tierOptions });
  if (recover !== false) await tier.recover([]);
  const fixture: DaxFixture = {
    tier,
    path,
    dir,
    reopen: async (more = {}) => (fixture.tier = await openDaxTier({ ...base, ...tierOptions, ...more })),
    cleanup: async () => {
      await fixture.tier.close();
      await cleanup();
    },
  };
  return fixture;
}


export async function writeBlob(tier: DaxTier, data: Buffer, options: { sizeHint?: number; chunkBytes?: number } = {}): Promise<BlobRef> {
  const writer = await tier.createWriter({ sizeHint: 'sizeHint' in options ? options.sizeHint : data.length });
  await writeChunks(writer, data, options.chunkBytes);
  return writer.finish();
}


/** Reads everything it can; returns the bytes and the error that ended the stream, if any. */
export async function collect(stream: NodeJS.ReadableStream): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** Bytes of slots a blob occupies (what usedBytes counts). */
export function slotBytesOf(ref: BlobRef): number {
  if (ref.tier === 'fs') throw new Error('not a record ref');
  return ref.extents.reduce((sum, e) => sum + SLOT_CLASSES[classForPayload(e.length)]!, 0);
}

/** File offset of a record's header. */
export function headerOffsetOf(extent: { offset: number }): number {
  return extent.offset - HEADER_BYTES;
}

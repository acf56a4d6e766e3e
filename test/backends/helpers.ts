// Shared test helpers for the native engine and the nvme tier: temp dirs on a
// real filesystem, deterministic bytes, and the list of engines to run.
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IoEngineKind } from '../../src/backends/io-engine.js';

/** Both engines run every engine and tier test. */
export const ENGINE_KINDS: readonly IoEngineKind[] = ['io_uring', 'threadpool'];

const TMPFS_MAGIC = 0x01021994;

/**
 * A fresh directory on a real filesystem, removed by the returned cleanup.
 * O_DIRECT tests must not run on tmpfs: it accepts misaligned buffers and
 * would hide alignment bugs. /tmp is ext4 here; $STRATA_TEST_DIR overrides.
 */
export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = process.env.STRATA_TEST_DIR ?? tmpdir();
  const dir = await mkdtemp(join(base, `strata-${prefix}-`));
  const fsInfo = await statfs(dir);
  if (fsInfo.type === TMPFS_MAGIC) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${base} is tmpfs; set STRATA_TEST_DIR to a directory on a disk filesystem`);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes for (seed, length): the same call gives the same bytes. */
export function patternBytes(seed: string, length: number): Buffer {
  // FNV-1a of the seed, then xorshift32 — fast enough for tens of MiB per test.
  let state = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  if (state === 0) state = 1;
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    words[i] = state;
  }
  return Buffer.from(words.buffer, 0, length);
}

// Goal: the DataStore with real tiers (dax, nvme, fs in a temp dir) places by
// size — including bodies of unknown length, which it holds up to the small
// threshold before choosing — falls back when a tier is full, and routes reads
// and deletes by the tier recorded in each ref.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDaxTier } from '../../src/backends/dax.js';
import { FsTier } from '../../src/backends/fs-tier.js';
import { openNvmeTier } from '../../src/backends/nvme.js';
import type { BlobRef, BlobWriter } from '../../src/backends/tier-store.js';
import { TieredDataStore } from '../../src/placement/data-store.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function writeAll(writer: BlobWriter, body: Buffer, chunkBytes = 7 * KiB): Promise<BlobRef> {
  for (let at = 0; at < body.length; at += chunkBytes) await writer.write(body.subarray(at, at + chunkBytes));
  return writer.finish();
}

async function readAll(store: TieredDataStore, ref: BlobRef): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of store.createReadStream(ref, { start: 0, end: ref.size })) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

t.test('placement with real tiers', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'strata-placement-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const dax = await openDaxTier({ path: join(directory, 'dax.img'), sizeBytes: 4 * MiB });
  const nvme = await openNvmeTier({ path: join(directory, 'nvme.img'), sizeBytes: 8 * MiB });
  const fs = await FsTier.open({ directory: join(directory, 'fs') });
  const store = new TieredDataStore([dax, nvme, fs], undefined, () => undefined);
  t.teardown(() => store.close());
  await store.recover(() => []);

  const cases: [string, number, { sizeHint?: number }, string][] = [
    ['known small', 10 * KiB, { sizeHint: 10 * KiB }, 'dax'],
    ['unknown length, small', 10 * KiB, {}, 'dax'],
    ['unknown length, just under the threshold', 64 * KiB - 1, {}, 'dax'],
    ['unknown length, at the threshold', 64 * KiB, {}, 'nvme'],
    ['unknown length, large', 3 * MiB, {}, 'nvme'],
    ['known mid-size', 1 * MiB, { sizeHint: MiB }, 'nvme'],
  ];
  const refs: BlobRef[] = [];
  for (const [what, size, options, tier] of cases) {
    const body = randomBytes(size);
    const ref = await writeAll(await store.createWriter(options), body);
    t.equal(ref.tier, tier, `${what} → ${tier}`);
    t.ok((await readAll(store, ref)).equals(body), `${what}: reads back`);
    refs.push(ref);
  }

  // The 8 MiB nvme tier is nearly full now: a 5 MiB blob goes to fs.
  const big = randomBytes(5 * MiB);
  const bigRef = await writeAll(await store.createWriter({ sizeHint: big.length }), big, 256 * KiB);
  t.equal(bigRef.tier, 'fs', 'full nvme → fs');
  t.ok((await readAll(store, bigRef)).equals(big));

  await store.release([...refs, bigRef]);
  for (const stats of store.stats()) t.same([stats.usedBytes, stats.objects], [0, 0], `${stats.name} empty after release`);
});

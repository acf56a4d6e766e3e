// Goal: the nvme tier keeps the TierStore contract on both engines — bytes
// round-trip for aligned and unaligned sizes and ranges, extents are aligned
// and checksummed, finishes share flushes, space is accounted and returned
// (delete, abort, failure), a full tier says TierFullError, recover() rebuilds
// the allocator from committed refs and finds interrupted writes, a deleted
// blob's blocks are not reused under an open reader, and the superblock
// guards against foreign files.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../src/backends/native.js';
import { openNvmeTier } from '../../src/backends/nvme.js';
import { TierFullError, type BlobRef } from '../../src/backends/tier-store.js';
import { ENGINE_KINDS, makeTempDir, patternBytes } from './helpers.js';
import { EXTENT_BYTES, allocatedBytes, openTestTier, readRange, settledFreeSlots, writeBlob, writeChunks } from './nvme-helpers.js';

// Bound the whole file in time; each child process and temp dir is cleaned up by its test.
t.setTimeout(120000);

const SIZES = [0, 1, 4095, 4096, 4097, EXTENT_BYTES - 1, EXTENT_BYTES, EXTENT_BYTES + 1, 3 * EXTENT_BYTES + 12345];

for (const engine of ENGINE_KINDS) {
  t.test(`${engine}: nvme tier`, async (t) => {
    t.test('round trip of aligned and unaligned sizes; extents aligned and checksummed', async (t) => {
      const f = await openTestTier(engine);
      t.teardown(f.cleanup);
      t.equal(f.tier.mode, engine, 'health shows the engine in use');
      for (const size of SIZES) {
        for (const sizeHint of [undefined, size]) {
          const data = patternBytes(`rt-${size}-${sizeHint}`, size);
          const ref = await writeBlob(f.tier, data, { sizeHint });
          t.equal(ref.size, size);
          if (ref.tier !== 'nvme') throw new Error('wrong tier');
          for (const e of ref.extents) {
            t.equal(e.offset % 4096, 0, 'extent starts on a 4 KiB boundary');
            t.ok(e.length > 0 && e.length <= EXTENT_BYTES, 'extent fits one slot');
          }
          let at = 0;
          for (const e of ref.extents) {
            t.equal(e.crc32c, native.crc32c(data.subarray(at, at + e.length), 0), 'CRC32C of the payload');
            at += e.length;
          }
          t.ok((await readRange(f.tier, ref)).equals(data), `${size} bytes (hint ${sizeHint}) read back`);
        }
      }
      t.same(await settledFreeSlots(f.tier), { free: 16, total: 16 }, 'no slot leaked');
    });

    t.test('unaligned range reads, across extent boundaries', async (t) => {
      const f = await openTestTier(engine);
      t.teardown(f.cleanup);
      const size = 4 * EXTENT_BYTES + 999;
      const data = patternBytes('ranges', size);
      const ref = await writeBlob(f.tier, data, { chunkBytes: 65536 });
      const ranges: [number, number][] = [
        [0, 0],
        [size, size],
        [0, 1],
        [size - 1, size],
        [EXTENT_BYTES - 1, EXTENT_BYTES + 1],
        [4095, 4097],
        [12345, 3 * EXTENT_BYTES + 7],
        [2 * EXTENT_BYTES, 2 * EXTENT_BYTES + 1],
      ];
      let seed = 7;
      const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % (size + 1);
      for (let i = 0; i < 20; i++) {
        const a = next();
        const b = next();
        ranges.push([Math.min(a, b), Math.max(a, b)]);
      }
      for (const [start, end] of ranges) {
        const got = await readRange(f.tier, ref, start, end);
        if (!got.equals(data.subarray(start, end))) t.fail(`range [${start}, ${end})`);
      }
      t.pass(`${ranges.length} ranges matched`);
      t.throws(() => f.tier.createReadStream(ref, { start: 5, end: size + 1 }), RangeError);
      t.throws(() => f.tier.createReadStream(ref, { start: 5, end: 4 }), RangeError);
    });

    t.test('concurrent finishes share flushes (group commit)', async (t) => {
      const f = await openTestTier(engine);
      t.teardown(f.cleanup);
      const before = f.tier.details();
      const blobs = Array.from({ length: 16 }, (_, i) => patternBytes(`gc-${i}`, 20000 + i * 1000));
      const refs = await Promise.all(blobs.map((data) => writeBlob(f.tier, data)));
      const after = f.tier.details();
      t.equal(after.flushRequests - before.flushRequests, 16, 'every finish asked for a flush');
      t.ok(after.flushes - before.flushes < 16, `16 finishes, ${after.flushes - before.flushes} fdatasync`);
      for (let i = 0; i < refs.length; i++) t.ok((await readRange(f.tier, refs[i]!)).equals(blobs[i]!));
    });

    t.test('space accounting: writes, deletes and overwrites', async (t) => {
      const f = await openTestTier(engine);
      t.teardown(f.cleanup);
      t.same(f.tier.stats(), { name: 'nvme', mode: engine, capacityBytes: 15 * 1024 * 1024, usedBytes: 0, objects: 0 });
      const a = await writeBlob(f.tier, patternBytes('a', 100000));
      const b = await writeBlob(f.tier, patternBytes('b', 5000), { sizeHint: 200000 });
      t.equal(f.tier.stats().usedBytes, allocatedBytes(a) + allocatedBytes(b), 'unused reservation went back');
      t.equal(allocatedBytes(b), 8192);
      t.equal(f.tier.stats().objects, 2);
      // Overwrite = new blob, then delete of the old one (after the metadata commit).
      const a2 = await writeBlob(f.tier, patternBytes('a2', 100000));
      await f.tier.delete(a);
      t.equal(f.tier.stats().usedBytes, allocatedBytes(a2) + allocatedBytes(b));
      await f.tier.delete(a);
      t.equal(f.tier.stats().usedBytes, allocatedBytes(a2) + allocatedBytes(b), 'delete is idempotent');
      await f.tier.delete(b);
      await f.tier.delete(a2);
      t.same(f.tier.stats().usedBytes, 0);
      t.same(f.tier.stats().objects, 0);
      t.equal(f.tier.details().freeRuns, 1, 'free space coalesced back into one run');
      const empty = await writeBlob(f.tier, Buffer.alloc(0));
      t.same(empty, { tier: 'nvme', size: 0, extents: [] });
      await f.tier.delete(empty);
    });

    t.test('a full tier: TierFullError up front with a size hint, or mid-stream; abort frees', async (t) => {
      const f = await openTestTier(engine, { sizeBytes: 2 * 1024 * 1024 }); // 1 MiB of data space
      t.teardown(f.cleanup);
      const keep = await writeBlob(f.tier, patternBytes('keep', 300000));
      await t.rejects(f.tier.createWriter({ sizeHint: 900000 }), TierFullError);
      t.equal(f.tier.stats().usedBytes, allocatedBytes(keep), 'a refused writer takes nothing');
      const writer = await f.tier.createWriter({});
      const error = await writeChunks(writer, patternBytes('big', 900000), 65536).catch((e: unknown) => e);
      t.type(error, TierFullError);
      await writer.abort();
      await writer.abort();
      t.equal(f.tier.stats().usedBytes, allocatedBytes(keep), 'abort returned everything');
      t.same(await settledFreeSlots(f.tier), { free: 16, total: 16 }, 'no slot leaked');
      t.ok((await readRange(f.tier, keep)).equals(patternBytes('keep', 300000)));
    });

    t.test('abort at any point returns space; writes after abort or finish fail', async (t) => {
      const f = await openTestTier(engine);
      t.teardown(f.cleanup);
      const w1 = await f.tier.createWriter({ sizeHint: 500000 });
      await writeChunks(w1, patternBytes('w1', 300000), 65536); // writes in flight
      await w1.abort();
      await t.rejects(w1.write(Buffer.alloc(1)), /aborted/);
      const w2 = await f.tier.createWriter({});
      await writeChunks(w2, patternBytes('w2', 200000));
      const ref = await w2.finish();
      await t.rejects(w2.write(Buffer.alloc(1)), /finished/);
      t.ok(f.tier.stats().usedBytes > 0);
      await w2.abort(); // abort after finish: the blob was never committed, so it is garbage
      t.equal(f.tier.stats().usedBytes, 0);
      t.throws(() => f.tier.createReadStream(ref, { start: 0, end: 1 }), /no blob/);
      const w3 = await f.tier.createWriter({});
      const unawaited = [w3.write(patternBytes('x', 100000)), w3.abort()];
      await Promise.allSettled(unawaited);
      t.equal(f.tier.stats().usedBytes, 0);
      t.same(await settledFreeSlots(f.tier), { free: 16, total: 16 }, 'no slot leaked');
    });

    t.test('recover rebuilds from committed refs, reclaims the rest, and finds interrupted writers', async (t) => {
      const f = await openTestTier(engine);
      t.teardown(f.cleanup);
      const data = ['a', 'b', 'c'].map((k) => patternBytes(k, 150000 + k.charCodeAt(0)));
      const [a, , c] = await Promise.all(data.map((d) => writeBlob(f.tier, d)));
      const open = await f.tier.createWriter({ sizeHint: 300000 });
      await writeChunks(open, patternBytes('open', 200000), 65536);
      await f.tier.close(); // a stop with one writer open and b never committed
      const tier = await f.reopen();
      t.throws(() => tier.createReadStream(a!, { start: 0, end: 1 }), /recover/);
      await t.rejects(tier.createWriter({}), /recover/);
      const result = await tier.recover([a!, c!, a!]);
      t.same(result, { reclaimedBlobs: 1, reclaimedBytes: 303104 }, 'the open writer was found and reclaimed');
      t.equal(tier.stats().usedBytes, allocatedBytes(a!) + allocatedBytes(c!), 'b and the open writer are free again');
      t.equal(tier.stats().objects, 2);
      await t.rejects(tier.recover([]), /once/);
      // Fill the tier: new blobs must never land on a or c.
      const fillers: BlobRef[] = [];
      for (;;) {
        const writer = await tier.createWriter({ sizeHint: 1024 * 1024 }).catch((error: unknown) => {
          if (error instanceof TierFullError) return undefined;
          throw error;
        });
        if (writer === undefined) break;
        await writeChunks(writer, patternBytes(`fill-${fillers.length}`, 1024 * 1024), 262144);
        fillers.push(await writer.finish());
      }
      t.ok(fillers.length >= 13, `${fillers.length} MiB of filler`);
      t.ok((await readRange(tier, a!)).equals(data[0]!), 'a intact');
      t.ok((await readRange(tier, c!)).equals(data[2]!), 'c intact');
      await tier.close();
      const again = await f.reopen();
      t.same(await again.recover([a!, c!, ...fillers]), { reclaimedBlobs: 0, reclaimedBytes: 0 }, 'nothing counted twice');
      await t.rejects(again.recover([]), /once/);
    });

    t.test('recover refuses refs that overlap or leave the data region', async (t) => {
      const f = await openTestTier(engine, { recover: false });
      t.teardown(f.cleanup);
      const e = { offset: 1024 * 1024, length: 5000, crc32c: 1 };
      await t.rejects(
        f.tier.recover([
          { tier: 'nvme', size: 5000, extents: [e] },
          { tier: 'nvme', size: 6000, extents: [{ ...e, offset: 1024 * 1024 + 4096, length: 6000 }] },
        ]),
        /overlap/,
      );
    });

    t.test('a deleted blob is not reused while a read stream of it is open', async (t) => {
      const f = await openTestTier(engine, { sizeBytes: 2 * 1024 * 1024 });
      t.teardown(f.cleanup);
      const data = patternBytes('victim', 5 * EXTENT_BYTES);
      const victim = await writeBlob(f.tier, data);
      const stream = f.tier.createReadStream(victim, { start: 0, end: data.length });
      const iterator = stream[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as Buffer;
      await f.tier.delete(victim); // metadata committed the delete while the GET streams
      t.equal(f.tier.details().deferredFrees, 1);
      t.equal(f.tier.stats().usedBytes, allocatedBytes(victim), 'space held for the reader');
      // Another writer now fills every free block; none may be the victim's.
      const other = await f.tier.createWriter({});
      const fill = await writeChunks(other, patternBytes('other', 1024 * 1024), 65536).catch((e: unknown) => e);
      t.type(fill, TierFullError, 'the victim blocks are not available');
      await other.abort();
      const rest: Buffer[] = [first];
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value as Buffer);
      t.ok(Buffer.concat(rest).equals(data), 'the reader saw the old bytes');
      await new Promise((resolve) => setImmediate(resolve));
      t.equal(f.tier.stats().usedBytes, 0, 'freed once the reader closed');
      t.equal(f.tier.details().deferredFrees, 0);
    });
  });
}

t.test('superblock: foreign files are refused, blank ones formatted, files grow', async (t) => {
  const { dir, cleanup } = await makeTempDir('nvme-sb');
  t.teardown(cleanup);
  const foreign = join(dir, 'foreign.img');
  writeFileSync(foreign, patternBytes('not ours', 4 * 1024 * 1024));
  await t.rejects(openNvmeTier({ path: foreign, engine: 'threadpool', extentBytesMax: EXTENT_BYTES, slots: 4 }), /no Strata nvme superblock; refusing/);
  const blank = join(dir, 'blank.img');
  writeFileSync(blank, Buffer.alloc(0));
  const tier = await openNvmeTier({ path: blank, sizeBytes: 4 * 1024 * 1024, engine: 'threadpool', extentBytesMax: EXTENT_BYTES, slots: 4 });
  const uuid = tier.details().uuid;
  t.equal(tier.stats().capacityBytes, 3 * 1024 * 1024);
  await tier.close();
  const grown = await openNvmeTier({ path: blank, sizeBytes: 8 * 1024 * 1024, engine: 'threadpool', extentBytesMax: EXTENT_BYTES, slots: 4 });
  t.equal(grown.details().uuid, uuid, 'same tier');
  t.equal(grown.stats().capacityBytes, 7 * 1024 * 1024, 'grown');
  await grown.close();
  const kept = await openNvmeTier({ path: blank, sizeBytes: 4 * 1024 * 1024, engine: 'threadpool', extentBytesMax: EXTENT_BYTES, slots: 4 });
  t.equal(kept.stats().capacityBytes, 7 * 1024 * 1024, 'never shrinks');
  await kept.close();
  await t.rejects(openNvmeTier({ path: blank, engine: 'threadpool', extentBytesMax: 8192, slots: 4 }), /slots cannot hold/);
  await t.rejects(openNvmeTier({ path: dir, engine: 'threadpool' }), /neither a regular file nor a block device/);
});

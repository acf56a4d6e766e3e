// Goal: the dax tier keeps the TierStore contract on both persistence paths
// (msync, and the DAX path's cache-line flushes). Bytes round-trip for every
// size and hint (exact, none, too large, too small), records sit on slot
// boundaries of the class their length implies and carry the payload's
// CRC32C; ranges read right; nothing is acknowledged before a payload flush
// and a marker flush that both started after finish(); finishes in one turn
// share flushes; space is accounted and returned (delete, abort at any point,
// failure); a full tier says TierFullError; deleted slots are reused, but not
// under an open reader; recover() rebuilds from committed refs and reclaims
// the rest; the superblock guards against foreign files and resizing.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDaxTier } from '../../src/backends/dax.js';
import { HEADER_BYTES, RECORD_PAYLOAD_BYTES_MAX, SLOT_CLASSES, classForPayload } from '../../src/backends/dax-layout.js';
import { RecordStatus } from '../../src/backends/dax-region.js';
import { native } from '../../src/backends/native.js';
import { TierFullError, type BlobRef } from '../../src/backends/tier-store.js';
import { makeTempDir, patternBytes } from './helpers.js';
import { DAX_PATHS, TEST_PAGE_BYTES, openTestDaxTier, readRange, slotBytesOf, writeBlob, writeChunks } from './dax-helpers.js';

t.setTimeout(120000);

const R = RECORD_PAYLOAD_BYTES_MAX;
const SIZES = [0, 1, 63, 64, 1000, 4096, 4097, R - 1, R, R + 1, 3 * R + 12345];

function extentsOf(ref: BlobRef): { offset: number; length: number; crc32c: number }[] {
  if (ref.tier !== 'dax') throw new Error(`wrong tier ${ref.tier}`);
  return ref.extents;
}

for (const { name, options } of DAX_PATHS) {
  t.test(`${name}: dax tier`, async (t) => {
    t.test('round trip of every size and hint; records canonical and checksummed', async (t) => {
      const f = await openTestDaxTier(options);
      t.teardown(f.cleanup);
      t.equal(f.tier.mode, 'emulated', 'this filesystem is not DAX');
      t.equal(f.tier.details().persistence === 'msync', name === 'msync', 'persistence path as chosen');
      const dataStart = f.tier.superblock.dataStartBytes;
      let blobs = 0;
      for (const size of SIZES) {
        for (const sizeHint of [size, undefined, size + 5000, Math.floor(size / 2)]) {
          const data = patternBytes(`rt-${size}-${sizeHint}`, size);
          const ref = await writeBlob(f.tier, data, { sizeHint });
          t.equal(ref.size, size);
          let at = 0;
          for (const e of extentsOf(ref)) {
            const slotBytes = SLOT_CLASSES[classForPayload(e.length)]!;
            const inPage = (e.offset - HEADER_BYTES - dataStart) % TEST_PAGE_BYTES;
            if (inPage % slotBytes !== 0 || e.length > R || e.length <= 0) t.fail(`record ${JSON.stringify(e)} not canonical`);
            if (e.crc32c !== native.crc32c(data.subarray(at, at + e.length), 0)) t.fail('record CRC32C');
            at += e.length;
          }
          if (!(await readRange(f.tier, ref)).equals(data)) t.fail(`${size} bytes (hint ${sizeHint}) did not read back`);
          await f.tier.delete(ref);
          blobs++;
        }
      }
      t.equal(blobs, SIZES.length * 4);
      t.same(f.tier.stats(), { name: 'dax', mode: 'emulated', capacityBytes: f.tier.stats().capacityBytes, usedBytes: 0, objects: 0 }, 'all space back');
    });

    t.test('range reads across records', async (t) => {
      const f = await openTestDaxTier(options);
      t.teardown(f.cleanup);
      const size = 3 * R + 999;
      const data = patternBytes('ranges', size);
      const ref = await writeBlob(f.tier, data, { chunkBytes: 65536 });
      const ranges: [number, number][] = [[0, 0], [size, size], [0, 1], [size - 1, size], [R - 1, R + 1], [R, 2 * R], [12345, 2 * R + 7]];
      let seed = 7;
      const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % (size + 1);
      for (let i = 0; i < 30; i++) {
        const a = next();
        const b = next();
        ranges.push([Math.min(a, b), Math.max(a, b)]);
      }
      for (const [start, end] of ranges) {
        if (!(await readRange(f.tier, ref, start, end)).equals(data.subarray(start, end))) t.fail(`range [${start}, ${end})`);
      }
      t.pass(`${ranges.length} ranges matched`);
      t.throws(() => f.tier.createReadStream(ref, { start: 5, end: size + 1 }), RangeError);
      t.throws(() => f.tier.createReadStream(ref, { start: 5, end: 4 }), RangeError);
    });

    t.test('acknowledged only after its payload was persisted, then its marker stored and persisted', async (t) => {
      const f = await openTestDaxTier(options);
      t.teardown(f.cleanup);
      // Log, in order, every persistence step the tier takes (the real calls, observed).
      const region = f.tier.region;
      const events: { kind: 'fence' | 'commit' | 'publish-start' | 'publish-end'; headers: readonly number[] }[] = [];
      const fence = region.fence.bind(region);
      const commit = region.commit.bind(region);
      const publish = region.publish.bind(region);
      region.fence = (): void => {
        fence();
        events.push({ kind: 'fence', headers: [] });
      };
      region.commit = (offset: number): void => {
        commit(offset);
        events.push({ kind: 'commit', headers: [offset] });
      };
      region.publish = async (start: number, end: number, headers: readonly number[]): Promise<void> => {
        events.push({ kind: 'publish-start', headers });
        await publish(start, end, headers);
        events.push({ kind: 'publish-end', headers });
      };
      const results = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const data = patternBytes(`ack-${i}`, 100 + i * 900);
          const writer = await f.tier.createWriter({ sizeHint: data.length });
          await writeChunks(writer, data, 4000);
          if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
          const from = events.length;
          const ref = await writer.finish();
          const log = events.slice(from);
          const headers = extentsOf(ref).map((e) => e.offset - HEADER_BYTES);
          const onMedia = headers.map((h) => region.inspect(h, 64, 1)[0]);
          return { log, headers, onMedia };
        }),
      );
      for (const { log, headers, onMedia } of results) {
        for (const header of headers) {
          if (name === 'msync') {
            // One publish (msync, markers, msync — in that order on its worker) that started after finish() and ended before the ack.
            const start = log.findIndex((e) => e.kind === 'publish-start' && e.headers.includes(header));
            const end = log.findIndex((e) => e.kind === 'publish-end' && e.headers.includes(header));
            if (start < 0 || end < start) t.fail(`record ${header} acknowledged without a completed publish`);
          } else {
            const commitAt = log.findIndex((e) => e.kind === 'commit' && e.headers[0] === header);
            const fenceBefore = log.slice(0, commitAt).some((e) => e.kind === 'fence');
            const fenceAfter = log.slice(commitAt + 1).some((e) => e.kind === 'fence');
            if (commitAt < 0 || !fenceBefore || !fenceAfter) t.fail(`record ${header}: not fence → marker → fence before the ack`);
          }
        }
        if (!onMedia.every((s) => s === RecordStatus.committed)) t.fail('acknowledged before its commit marker was stored');
      }
      const details = f.tier.details();
      t.equal(details.commitRequests, 40);
      t.equal(details.recordsCommitted, results.reduce((n, r) => n + r.headers.length, 0));
      t.ok(details.commitBatches < 20, `40 finishes shared ${details.commitBatches} batches (group commit)`);
      t.equal(details.msyncs > 0, name === 'msync', 'msync only on the msync path');
      t.ok(events.length > 0);
    });

    t.test('accounting, delete, reuse, and no reuse under an open reader', async (t) => {
      const f = await openTestDaxTier(options);
      t.teardown(f.cleanup);
      const refs: BlobRef[] = [];
      let expected = 0;
      for (const size of [10, 1000, 1001, 5000, 70000, 20000]) {
        const ref = await writeBlob(f.tier, patternBytes(`acct-${size}`, size));
        refs.push(ref);
        expected += slotBytesOf(ref);
        t.equal(f.tier.stats().usedBytes, expected);
      }
      t.equal(f.tier.stats().objects, 6);
      const victim = refs[1]!;
      await f.tier.delete(victim);
      await f.tier.delete(victim); // idempotent
      t.equal(f.tier.stats().usedBytes, expected - slotBytesOf(victim));
      t.equal(f.tier.stats().objects, 5);
      t.throws(() => f.tier.createReadStream(victim, { start: 0, end: 10 }), /deleted, or never committed/);
      const reuse = await writeBlob(f.tier, patternBytes('reuse', 1000));
      t.equal(extentsOf(reuse)[0]!.offset, extentsOf(victim)[0]!.offset, 'the freed slot is reused by the next record of its class (its page still holds another)');

      // A reader keeps a deleted blob's slot until its stream closes.
      const data = patternBytes('held', 3000);
      const held = await writeBlob(f.tier, data);
      const stream = f.tier.createReadStream(held, { start: 0, end: 3000 });
      await f.tier.delete(held);
      t.equal(f.tier.details().deferredFrees, 1);
      const other = await writeBlob(f.tier, patternBytes('other', 3000));
      t.not(extentsOf(other)[0]!.offset, extentsOf(held)[0]!.offset, 'not reused while a reader is open');
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      t.ok(Buffer.concat(chunks).equals(data), 'the open reader still gets the old bytes');
      t.equal(f.tier.details().deferredFrees, 0);
      t.equal(f.tier.details().openReadStreams, 0);
      const after = await writeBlob(f.tier, patternBytes('after', 3000));
      t.equal(extentsOf(after)[0]!.offset, extentsOf(held)[0]!.offset, 'reused once the reader closed');
    });

    t.test('full tier: TierFullError up front with a hint, mid-blob without; abort frees', async (t) => {
      const f = await openTestDaxTier({ ...options, sizeBytes: 2 * 1024 * 1024 });
      t.teardown(f.cleanup);
      const capacity = f.tier.stats().capacityBytes;
      await t.rejects(f.tier.createWriter({ sizeHint: capacity + 1 }), TierFullError);
      await t.rejects(f.tier.createWriter({ sizeHint: 2 ** 50 }), TierFullError, 'an absurd hint is refused at once');
      t.equal(f.tier.stats().usedBytes, 0, 'a refused hint takes nothing');
      const refs: BlobRef[] = [];
      for (;;) {
        try {
          refs.push(await writeBlob(f.tier, patternBytes(`fill-${refs.length}`, 30000)));
        } catch (error) {
          t.type(error, TierFullError);
          break;
        }
      }
      const used = f.tier.stats().usedBytes;
      t.ok(refs.length > 10, `${refs.length} blobs filled the tier`);
      const writer = await f.tier.createWriter({});
      let failure: unknown;
      try {
        for (let i = 0; i < 100; i++) await writer.write(patternBytes(`grow-${i}`, 65536));
      } catch (error) {
        failure = error;
      }
      t.type(failure, TierFullError, 'an unhinted writer fails mid-blob');
      await t.rejects(writer.finish(), TierFullError, 'and cannot finish');
      await writer.abort();
      t.equal(f.tier.stats().usedBytes, used, 'abort gave its records back');
      for (const ref of refs.splice(0, 3)) await f.tier.delete(ref);
      refs.push(await writeBlob(f.tier, patternBytes('after-delete', 30000)));
      for (const ref of refs) await f.tier.delete(ref);
      t.equal(f.tier.stats().usedBytes, 0);
    });

    t.test('abort at any point leaves nothing behind', async (t) => {
      const f = await openTestDaxTier(options);
      t.teardown(f.cleanup);
      const data = patternBytes('abort', 3 * R);
      const points = ['created', 'mid-write', 'past-hint', 'during-finish', 'after-finish', 'twice'] as const;
      for (const point of points) {
        const writer = await f.tier.createWriter({ sizeHint: point === 'past-hint' ? 1000 : data.length });
        if (point === 'created') {
          await writer.abort();
        } else if (point === 'mid-write' || point === 'past-hint') {
          await writeChunks(writer, data.subarray(0, R + 500));
          await writer.abort();
          await t.rejects(writer.write(Buffer.from('x')), /aborted/);
        } else if (point === 'during-finish') {
          await writeChunks(writer, data);
          const finishing = writer.finish();
          const aborting = writer.abort();
          await t.rejects(finishing, /aborted/, 'a finish overtaken by abort is not acknowledged');
          await aborting;
        } else if (point === 'after-finish') {
          await writeChunks(writer, data);
          const ref = await writer.finish();
          t.equal(f.tier.stats().objects, 1);
          await writer.abort();
          t.throws(() => f.tier.createReadStream(ref, { start: 0, end: 1 }), /deleted, or never committed/);
        } else {
          await writeChunks(writer, data.subarray(0, 100));
          await Promise.all([writer.abort(), writer.abort()]);
          await writer.abort();
        }
        t.same({ used: f.tier.stats().usedBytes, objects: f.tier.stats().objects }, { used: 0, objects: 0 }, `abort ${point}: nothing held`);
      }
      // Aborted records leave no headers: a restart finds nothing to reclaim.
      await f.tier.close();
      const tier = await f.reopen();
      const recovered = await tier.recover([]);
      t.same(recovered, { reclaimedBlobs: 0, reclaimedBytes: 0 }, 'aborted records were cleared');
    });

    t.test('recover: rebuild from committed refs, reclaim the rest, find interrupted writes', async (t) => {
      const f = await openTestDaxTier(options);
      t.teardown(f.cleanup);
      const kept: BlobRef[] = [];
      const keptIds: string[] = [];
      const dropped: BlobRef[] = [];
      for (let i = 0; i < 20; i++) {
        const ref = await writeBlob(f.tier, patternBytes(`rec-${i}`, 200 + i * 3000));
        if (i % 3 === 0) {
          dropped.push(ref);
        } else {
          kept.push(ref);
          keptIds.push(`rec-${i}`);
        }
      }
      // An interrupted write: slots taken and partly filled, never finished.
      const interrupted = await f.tier.createWriter({ sizeHint: 2 * R });
      await interrupted.write(patternBytes('cut', R + 10));
      await f.tier.close();

      const tier = await f.reopen();
      t.throws(() => tier.createReadStream(kept[0]!, { start: 0, end: 1 }), /recover\(\)/, 'nothing is served before recover()');
      const result = await tier.recover([...kept, kept[0]!, { tier: 'nvme', size: 1, extents: [{ offset: 0, length: 1, crc32c: 0 }] }]);
      const report = tier.details().recovery!;
      t.equal(result.reclaimedBlobs, dropped.reduce((n, r) => n + extentsOf(r).length, 0) + 2, 'uncommitted records and the interrupted writer’s two slots');
      t.equal(report.interruptedRecords, 2);
      t.equal(report.tornCommittedRecords, 0);
      t.equal(tier.stats().usedBytes, kept.reduce((n, r) => n + slotBytesOf(r), 0), 'used = committed');
      t.equal(tier.stats().objects, kept.length);
      for (const [i, ref] of kept.entries()) {
        if (!(await readRange(tier, ref)).equals(patternBytes(keptIds[i]!, ref.size))) t.fail(`kept blob ${keptIds[i]} did not survive`);
      }
      await t.rejects(tier.recover([]), /runs once/);
      await tier.close();
      const again = await f.reopen();
      t.same(await again.recover(kept), { reclaimedBlobs: 0, reclaimedBytes: 0 }, 'reclaimed records are not found twice');
      const conflicting = { ...kept[0]!, extents: extentsOf(kept[0]!).map((e) => ({ ...e, crc32c: (e.crc32c + 1) >>> 0 })) } as BlobRef;
      await again.close();
      const third = await f.reopen();
      await t.rejects(third.recover([kept[0]!, conflicting]), /different extents/, 'metadata that disagrees with itself stops the start');
      await t.rejects(
        (await f.reopen()).recover([{ tier: 'dax', size: 10, extents: [{ offset: 12345, length: 10, crc32c: 0 }] }]),
        TypeError,
        'a record off its slot boundary is refused',
      );
    });

    t.test('superblock: foreign files, resizing, blank files, non-files', async (t) => {
      const { dir, cleanup } = await makeTempDir('dax-sb');
      t.teardown(cleanup);
      const foreign = join(dir, 'foreign.img');
      writeFileSync(foreign, Buffer.concat([Buffer.from('not a strata file'), Buffer.alloc(1024 * 1024)]));
      await t.rejects(openDaxTier({ path: foreign, ...options }), /refusing to use it as the dax tier/);
      const blank = join(dir, 'blank.img');
      writeFileSync(blank, Buffer.alloc(0));
      const tier = await openDaxTier({ path: blank, sizeBytes: 4 * 1024 * 1024, pageBytes: TEST_PAGE_BYTES, ...options });
      await tier.recover([]);
      const data = patternBytes('persisted', 5000);
      const ref = await writeBlob(tier, data);
      await tier.close();
      await t.rejects(openDaxTier({ path: blank, sizeBytes: 8 * 1024 * 1024, ...options }), /resizing it .* is not supported/);
      const reopened = await openDaxTier({ path: blank, ...options });
      t.equal(reopened.superblock.pageBytes, TEST_PAGE_BYTES, 'geometry comes from the superblock');
      await reopened.recover([ref]);
      t.ok((await readRange(reopened, ref)).equals(data), 'bytes survive a clean restart');
      await reopened.close();
      mkdirSync(join(dir, 'adir'));
      await t.rejects(openDaxTier({ path: join(dir, 'adir'), ...options }), /not a regular file/);
      await t.rejects(openDaxTier({ path: join(dir, 'tiny.img'), sizeBytes: 100 * 1024, ...options }), /too small/);
      await t.rejects(openDaxTier({ path: join(dir, 'x.img'), pageBytes: 3000, ...options }), RangeError);
    });
  });
}

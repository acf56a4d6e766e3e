// Goal: a damaged or torn record is never served. We change bytes of the
// tier's file behind its back (the page cache the mapping shares) — a payload
// byte, a header byte, the commit marker, a new header next to an old marker —
// and check that reads of it fail with BlobCorruptError and are counted, both
// while running and after a restart; that recovery reports committed records
// that do not validate and keeps their slots out of reuse; that torn records
// no committed ref names are discarded; and that the rest of a blob (ranges
// not touching the bad record) still reads right.
import t from 'tap';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { HEADER_BYTES, RECORD_PAYLOAD_BYTES_MAX } from '../../src/backends/dax-layout.js';
import { BlobCorruptError, type BlobRef, type Extent } from '../../src/backends/tier-store.js';
import { patternBytes } from './helpers.js';
import { DAX_PATHS, collect, openTestDaxTier, readRange, slotBytesOf, writeBlob } from './dax-helpers.js';

t.setTimeout(60000);

const COMMIT_MARKER_OFFSET = 56;

function patchFile(path: string, position: number, change: (bytes: Buffer) => void, length = 1): void {
  const fd = openSync(path, 'r+');
  try {
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, position);
    change(bytes);
    writeSync(fd, bytes, 0, length, position);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readFile(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, position);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function extents(ref: BlobRef): Extent[] {
  if (ref.tier !== 'dax') throw new Error('wrong tier');
  return ref.extents;
}

const flip = (bytes: Buffer): void => {
  bytes[0] = bytes[0]! ^ 0x5a;
};

for (const { name, options } of DAX_PATHS) {
  t.test(`${name}: damaged records fail their reads, live and after restart`, async (t) => {
    const f = await openTestDaxTier(options);
    t.teardown(f.cleanup);
    const blobs = new Map<string, { ref: BlobRef; data: Buffer }>();
    for (const id of ['payload', 'header', 'marker', 'intact']) {
      const data = patternBytes(`torn-${id}`, 5000);
      blobs.set(id, { ref: await writeBlob(f.tier, data), data });
    }
    const at = (id: string): number => extents(blobs.get(id)!.ref)[0]!.offset;
    patchFile(f.path, at('payload') + 4999, flip); // the last payload byte
    patchFile(f.path, at('header') - HEADER_BYTES + 8, flip); // payloadBytes field
    patchFile(f.path, at('marker') - HEADER_BYTES + COMMIT_MARKER_OFFSET, (b) => b.fill(0), 8);

    const expectations: [string, RegExp][] = [
      ['payload', /payload crc32c mismatch/],
      ['header', /header missing or damaged/],
      ['marker', /never committed/],
    ];
    for (const [id, why] of expectations) {
      const { error, bytes } = await collect(f.tier.createReadStream(blobs.get(id)!.ref, { start: 0, end: 5000 }));
      t.type(error, BlobCorruptError, `${id}: the read fails`);
      t.match(String(error), why);
      t.equal(bytes.length, 0, `${id}: nothing served`);
      const tail = await collect(f.tier.createReadStream(blobs.get(id)!.ref, { start: 10, end: 11 }));
      t.type(tail.error, BlobCorruptError, `${id}: a 1-byte range of it fails too`);
    }
    t.ok((await readRange(f.tier, blobs.get('intact')!.ref)).equals(blobs.get('intact')!.data), 'the intact neighbour reads');
    t.equal(f.tier.details().corruptReads, 6, 'each failed read counted');

    // Restart with every ref committed: recovery finds the header and marker damage.
    await f.tier.close();
    const tier = await f.reopen();
    const refs = [...blobs.values()].map((b) => b.ref);
    await tier.recover(refs);
    const report = tier.details().recovery!;
    t.equal(report.tornCommittedRecords, 2, 'header and marker damage found at start (payload damage is found by reads)');
    t.same(report.tornCommittedOffsets.sort((a, b) => a - b), [at('header') - HEADER_BYTES, at('marker') - HEADER_BYTES].sort((a, b) => a - b));
    t.equal(tier.stats().usedBytes, refs.reduce((n, r) => n + slotBytesOf(r), 0), 'torn committed records keep their slots');
    for (const [id, why] of expectations) {
      const { error } = await collect(tier.createReadStream(blobs.get(id)!.ref, { start: 0, end: 5000 }));
      t.match(String(error), why, `${id}: still refused after restart`);
    }
    // Their slots are not handed to anyone else until the metadata lets go.
    const fresh = await writeBlob(tier, patternBytes('fresh', 5000));
    t.notOk(
      extents(fresh).some((e) => ['payload', 'header', 'marker'].some((id) => e.offset === at(id))),
      'new records avoid slots of torn committed ones',
    );
    await tier.delete(blobs.get('header')!.ref);
    t.equal(tier.stats().objects, 4, 'a torn blob can still be deleted');
  });

  t.test(`${name}: a bad record in the middle of a blob; other ranges still read`, async (t) => {
    const f = await openTestDaxTier(options);
    t.teardown(f.cleanup);
    const R = RECORD_PAYLOAD_BYTES_MAX;
    const size = 3 * R + 100;
    const data = patternBytes('middle', size);
    const ref = await writeBlob(f.tier, data, { chunkBytes: 65536 });
    t.equal(extents(ref).length, 4);
    patchFile(f.path, extents(ref)[1]!.offset + 12345, flip);
    const whole = await collect(f.tier.createReadStream(ref, { start: 0, end: size }));
    t.type(whole.error, BlobCorruptError);
    t.equal(whole.bytes.length, R, 'only the record before the bad one was served');
    t.ok(whole.bytes.equals(data.subarray(0, R)), 'and it was right');
    t.ok((await readRange(f.tier, ref, 2 * R, size)).equals(data.subarray(2 * R)), 'ranges past the bad record read');
    t.ok((await readRange(f.tier, ref, 0, R)).equals(data.subarray(0, R)), 'ranges before it read');
  });

  t.test(`${name}: torn records nobody committed are discarded at start`, async (t) => {
    const f = await openTestDaxTier(options);
    t.teardown(f.cleanup);
    const committed = await writeBlob(f.tier, patternBytes('committed', 2000));
    const torn = await writeBlob(f.tier, patternBytes('torn', 2000));
    // As if the crash came before the marker reached the medium.
    patchFile(f.path, extents(torn)[0]!.offset - HEADER_BYTES + COMMIT_MARKER_OFFSET, (b) => b.fill(0), 8);
    // A newer record torn over an older committed one, the old marker surviving:
    // delete `old`, reuse its slot, then put the old marker back next to the new header.
    const old = await writeBlob(f.tier, patternBytes('old', 2000));
    const oldHeader = extents(old)[0]!.offset - HEADER_BYTES;
    const oldMarker = readFile(f.path, oldHeader + COMMIT_MARKER_OFFSET, 8);
    await f.tier.delete(old);
    const newer = await writeBlob(f.tier, patternBytes('newer', 2000));
    t.equal(extents(newer)[0]!.offset - HEADER_BYTES, oldHeader, 'same slot');
    patchFile(f.path, oldHeader + COMMIT_MARKER_OFFSET, (b) => oldMarker.copy(b), 8);
    const stale = await collect(f.tier.createReadStream(newer, { start: 0, end: 2000 }));
    t.match(String(stale.error), /never committed/, 'an old marker does not vouch for the new header');
    await f.tier.close();

    const tier = await f.reopen();
    const result = await tier.recover([committed]);
    const report = tier.details().recovery!;
    t.equal(result.reclaimedBlobs, 2, 'both torn records found');
    t.equal(report.interruptedRecords, 2, 'neither counts as committed');
    t.equal(tier.stats().usedBytes, slotBytesOf(committed));
    t.ok((await readRange(tier, committed)).equals(patternBytes('committed', 2000)));
    t.throws(() => tier.createReadStream(torn, { start: 0, end: 1 }), /never committed/, 'a torn record is not a blob');
    await tier.close();
    const again = await f.reopen();
    t.same(await again.recover([committed]), { reclaimedBlobs: 0, reclaimedBytes: 0 }, 'their headers were cleared');
  });
}

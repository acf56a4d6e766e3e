// Goal: the native pmem region does what the dax tier relies on. Every flush
// instruction the CPU has runs the streaming copy and the header protocol
// correctly; on this (non-DAX) filesystem MAP_SYNC is refused and the region
// says 'emulated' + msync; copies land exactly where asked at every alignment,
// with and without non-temporal stores, and return the CRC32C; headers go
// uncommitted → committed → cleared; a stale marker never vouches for a new
// header; readRecord refuses every kind of mismatch; msync runs off-thread and
// close waits for it; bad offsets are refused, never touched.
import t, { type Test } from 'tap';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaxRegion, HEADER_BYTES, ReadStatus, RecordStatus, pmemAddon } from '../../src/backends/dax-region.js';
import { IoError } from '../../src/backends/io-errors.js';
import { native } from '../../src/backends/native.js';
import { makeTempDir, patternBytes } from './helpers.js';

t.setTimeout(60000);

const REGION_BYTES = 1024 * 1024;

async function openRegion(t: Test, options: Parameters<typeof DaxRegion.map>[3] = {}): Promise<DaxRegion> {
  const { dir, cleanup } = await makeTempDir('pmem');
  const path = join(dir, 'region.img');
  writeFileSync(path, Buffer.alloc(REGION_BYTES));
  const fd = openSync(path, 'r+');
  let region: DaxRegion;
  try {
    region = DaxRegion.map(fd, REGION_BYTES, path, options);
  } finally {
    closeSync(fd); // the mapping keeps the file
  }
  t.teardown(async () => {
    region.close();
    await cleanup();
  });
  return region;
}

t.test('every flush instruction the CPU reports runs the copy and header protocol', async (t) => {
  const names = { 1: 'clflush', 2: 'clflushopt', 3: 'clwb' } as const;
  let ran = 0;
  for (const kind of [1, 2, 3] as const) {
    const result = pmemAddon.pmemFlushSelfTest(kind);
    if (typeof result === 'number') {
      t.equal(result, -95, `${names[kind]}: not on this CPU (ENOTSUP)`);
      continue;
    }
    ran++;
    t.ok(result.checkedBytes > 1_000_000 && result.nonTemporalBytes > 0, `${names[kind]}: ${result.checkedBytes} bytes copied and checked`);
  }
  if (process.arch === 'x64') t.ok(ran >= 1, 'CLFLUSH at least exists on every x86-64');
});

t.test('MAP_SYNC: granted only on DAX; otherwise emulated with msync, and never both', async (t) => {
  const region = await openRegion(t);
  const info = region.info;
  if (info.mapSync === 'granted') {
    t.equal(region.mode, 'dax');
    t.not(region.persistence, 'msync');
  } else {
    t.equal(info.mapSync, 'refused');
    t.equal(info.mapSyncError, 'EOPNOTSUPP', 'ext4 without -o dax refuses MAP_SYNC');
    t.equal(region.mode, 'emulated');
    t.equal(region.persistence, 'msync', 'no claim of cache-flush durability');
  }
  const forced = await openRegion(t, { mapSync: false });
  t.equal(forced.mode, 'emulated');
  t.equal(forced.info.mapSync, 'not-tried');
  const test = await openRegion(t, { unsafeCacheFlushWithoutDax: true });
  t.equal(test.mode, 'emulated', 'the test mode flushes lines but still says emulated');
  t.match(test.persistence, /^(clwb|clflushopt|clflush)$/);
  t.equal(test.info.cacheFlushWithoutDax, info.mapSync !== 'granted');
});

for (const options of [{}, { nonTemporalStores: false }, { unsafeCacheFlushWithoutDax: true }]) {
  t.test(`copies are exact at every alignment ${JSON.stringify(options)}`, async (t) => {
    const region = await openRegion(t, options);
    const sizes = [1, 63, 64, 65, 255, 256, 257, 1000, 4095, 4096, 4097, 65472];
    let checked = 0;
    for (const head of [0, 1, 7, 31, 63]) {
      for (const size of sizes) {
        const at = 64 * 1024 + head;
        const data = patternBytes(`copy-${head}-${size}`, size);
        const sentinel = Buffer.alloc(size + 128, 0xa5);
        region.write(at - 64, sentinel);
        const crc = region.write(at, data);
        t.equal(crc, native.crc32c(data, 0), 'write returns the CRC32C of the bytes');
        const back = Buffer.alloc(size + 128);
        const readCrc = region.read(at - 64, back);
        t.equal(readCrc, native.crc32c(back, 0));
        if (!back.subarray(64, 64 + size).equals(data)) t.fail(`bytes at +${head}, ${size}`);
        if (back.subarray(0, 64).some((b) => b !== 0xa5) || back.subarray(64 + size).some((b) => b !== 0xa5)) {
          t.fail(`neighbours of +${head}, ${size} were touched`);
        }
        checked++;
      }
    }
    t.equal(checked, 60);
    t.equal(region.write(0, Buffer.from('abc'), native.crc32c(Buffer.from('xy'), 0)), native.crc32c(Buffer.from('xyabc'), 0), 'CRC continues');
    const source = patternBytes('within', 5000);
    region.write(200 * 1024, source);
    region.copyWithin(300 * 1024 + 64, 200 * 1024, 5000);
    const moved = Buffer.alloc(5000);
    region.read(300 * 1024 + 64, moved);
    t.ok(moved.equals(source), 'copyWithin');
    t.throws(() => region.copyWithin(200 * 1024 + 100, 200 * 1024, 5000), IoError, 'overlapping copyWithin refused');
  });
}

for (const options of [{}, { unsafeCacheFlushWithoutDax: true }]) {
  t.test(`record headers: write, commit, clear, inspect, readRecord ${JSON.stringify(options)}`, async (t) => {
    const region = await openRegion(t, options);
    const slot = 128 * 1024;
    const slotBytes = 1280;
    const payload = patternBytes('record', 1000);
    const crc = region.write(slot + HEADER_BYTES, payload);
    const status = (): number => region.inspect(slot, slotBytes, 1)[0]!;
    t.equal(status(), RecordStatus.empty);
    region.writeHeader(slot, { payloadBytes: 1000, payloadCrc: crc, slotBytes, sequence: [7, 1] });
    t.same([...region.inspect(slot, slotBytes, 1)], [RecordStatus.uncommitted, 1000, crc, slotBytes]);
    const target = Buffer.alloc(1000);
    const expect = { payloadBytes: 1000, payloadCrc: crc, slotBytes };
    t.equal(region.readRecord(slot, expect, target), ReadStatus.uncommitted, 'an uncommitted record is not served');
    region.commit(slot);
    t.equal(status(), RecordStatus.committed);
    t.equal(region.readRecord(slot, expect, target), ReadStatus.ok);
    t.ok(target.equals(payload));
    t.equal(region.readRecord(slot, { ...expect, payloadCrc: crc ^ 1 }, target), ReadStatus.mismatch, 'another record than the ref names');
    t.equal(region.readRecord(slot, { ...expect, slotBytes: 1536 }, target), ReadStatus.mismatch);
    t.equal(region.readRecord(slot, { ...expect, payloadBytes: 999 }, Buffer.alloc(999)), ReadStatus.mismatch);

    // A payload byte flipped after commit.
    const byte = Buffer.alloc(1);
    region.read(slot + HEADER_BYTES + 500, byte);
    region.write(slot + HEADER_BYTES + 500, Uint8Array.of(byte[0]! ^ 0xff));
    t.equal(region.readRecord(slot, expect, target), ReadStatus.badPayload);
    region.write(slot + HEADER_BYTES + 500, byte);
    t.equal(region.readRecord(slot, expect, target), ReadStatus.ok);

    // A header byte flipped: garbage, not served.
    region.read(slot + 9, byte);
    region.write(slot + 9, Uint8Array.of(byte[0]! ^ 0x01));
    t.equal(status(), RecordStatus.garbage);
    t.equal(region.readRecord(slot, expect, target), ReadStatus.noHeader);
    t.throws(() => region.commit(slot), { code: 'EINVAL' }, 'a damaged header cannot be committed');
    region.write(slot + 9, byte);
    t.equal(status(), RecordStatus.committed);

    // A new record in the same slot, torn so that the old marker survived:
    // the old marker names the old header's checksum, so it does not count.
    const oldMarker = Buffer.alloc(8);
    region.read(slot + 56, oldMarker);
    region.writeHeader(slot, { payloadBytes: 1000, payloadCrc: crc, slotBytes, sequence: [7, 2] });
    t.equal(status(), RecordStatus.uncommitted, 'writing a header clears the marker');
    region.write(slot + 56, oldMarker);
    t.equal(status(), RecordStatus.uncommitted, 'a stale marker does not commit a new header');
    t.equal(region.readRecord(slot, expect, target), ReadStatus.uncommitted);

    region.clearHeader(slot);
    t.equal(status(), RecordStatus.empty);
    t.equal(region.readRecord(slot, expect, target), ReadStatus.noHeader);
  });
}

t.test('msync runs off the JS thread; close waits for it; bad ranges are refused', async (t) => {
  const region = await openRegion(t);
  region.write(4096, patternBytes('sync', 10000));
  await Promise.all(Array.from({ length: 20 }, () => region.persist(0, REGION_BYTES)));
  t.equal(region.msyncCount, 20);
  // Deterministic proof that the call returns before the msync ran: the
  // promise cannot settle within this turn, and the mapping is still busy.
  region.write(4096, patternBytes('sync-2', 300000));
  let settled = false;
  const pending = region.persist(4096, 4096 + 300000).then(() => (settled = true));
  await Promise.resolve();
  t.equal(settled, false, 'persist() returned with the msync still running');
  t.throws(() => region.close(), { code: 'EBUSY' }, 'no unmap under a running msync');
  await pending;
  t.equal(settled, true);

  // publish(): the emulated mode's two steps in one hop; markers stored only
  // after the first msync, so an invalid header fails it without a marker.
  const headers = [128 * 1024, 128 * 1024 + 1280, 200 * 1024];
  for (const [i, header] of headers.entries()) {
    const crc = region.write(header + HEADER_BYTES, patternBytes(`pub-${i}`, 1000));
    region.writeHeader(header, { payloadBytes: 1000, payloadCrc: crc, slotBytes: 1280, sequence: [9, i] });
  }
  await region.publish(128 * 1024, 200 * 1024 + 1280, headers);
  t.same(headers.map((h) => region.inspect(h, 1280, 1)[0]), [3, 3, 3], 'every marker stored');
  region.clearHeader(256 * 1024);
  await t.rejects(region.publish(0, 4096, [256 * 1024]), { code: 'EINVAL' }, 'no marker for a record without a valid header');
  t.equal(region.inspect(256 * 1024, 1280, 1)[0], RecordStatus.empty);
  const raw = pmemAddon.openPmemRegion(-1, 4096, 0);
  t.equal(raw, -9, 'a bad fd is EBADF');
  t.throws(() => region.write(REGION_BYTES - 2, Buffer.alloc(4)), /outside the/);
  t.throws(() => region.writeHeader(100, { payloadBytes: 1, payloadCrc: 0, slotBytes: 128, sequence: [0, 0] }), /not 64-byte aligned/);
});

t.test('native side refuses offsets outside the mapping even without the TypeScript checks', async (t) => {
  const { dir, cleanup } = await makeTempDir('pmem');
  t.teardown(cleanup);
  const path = join(dir, 'raw.img');
  writeFileSync(path, Buffer.alloc(65536));
  const fd = openSync(path, 'r+');
  const raw = pmemAddon.openPmemRegion(fd, 65536, 0);
  closeSync(fd);
  if (typeof raw === 'number') throw new Error(`openPmemRegion: ${raw}`);
  const EFAULT = -14;
  t.equal(raw.write(65535, Buffer.alloc(2), 0), EFAULT);
  t.equal(raw.write(-1, Buffer.alloc(1), 0), EFAULT);
  t.equal(raw.read(65536, Buffer.alloc(1)), EFAULT);
  t.equal(raw.commit(65536), EFAULT);
  t.equal(raw.commit(65), EFAULT, 'unaligned header');
  t.equal(raw.inspect(0, 64, 1025, new Uint32Array(4100)), EFAULT);
  t.equal(raw.readRecord(65536 - 64, 10, 0, 128, Buffer.alloc(10)), EFAULT);
  t.equal(raw.writeHeader(0, 100, 0, 128, 0, 0), -22, 'payload larger than its slot');
  t.equal(await raw.msync(new Float64Array([100, 4096])), -22, 'unaligned msync');
  t.equal(await raw.msync(new Float64Array([0, 65537])), EFAULT);
  t.equal(raw.close(), 0);
  t.equal(raw.write(0, Buffer.alloc(1), 0), -125, 'closed: ECANCELED');
});

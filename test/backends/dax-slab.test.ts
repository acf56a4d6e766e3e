// Goal: the dax tier's layout arithmetic and slab allocator are right. Slot
// classes are 64-byte multiples and a record goes to the smallest that holds
// it; blobs split into full records plus a tail; the slab never hands out
// overlapping or out-of-page slots, accounts exactly, frees a page when its
// last slot goes, prefers the lowest partial page (so sparse pages drain), and
// rebuild() from the slots in use reproduces the same state or rejects
// metadata that disagrees with itself. Also the `--dax` spec parser.
import t, { type Test } from 'tap';
import {
  HEADER_BYTES,
  RECORD_PAYLOAD_BYTES_MAX,
  SLOT_BYTES_MAX,
  SLOT_CLASSES,
  classForPayload,
  computeGeometry,
  recordLengths,
} from '../../src/backends/dax-layout.js';
import { SlabAllocator, type Slot } from '../../src/backends/dax-slab.js';
import { parseDaxSpec } from '../../src/backends/dax-spec.js';

t.setTimeout(60000);

t.test('slot classes and record lengths', async (t) => {
  t.equal(SLOT_CLASSES.length, 35);
  t.equal(SLOT_CLASSES[SLOT_CLASSES.length - 1], SLOT_BYTES_MAX);
  for (let i = 0; i < SLOT_CLASSES.length; i++) {
    t.equal(SLOT_CLASSES[i]! % 64, 0, 'cache-line multiple');
    if (i > 0) t.ok(SLOT_CLASSES[i]! > SLOT_CLASSES[i - 1]!, 'ascending');
    if (i > 2) t.ok(SLOT_CLASSES[i]! <= SLOT_CLASSES[i - 1]! * 1.25 + 1e-9, 'at most 25 % above the previous class');
  }
  for (let payload = 0; payload <= RECORD_PAYLOAD_BYTES_MAX; payload += payload < 2000 ? 1 : 997) {
    const c = classForPayload(payload);
    const fits = SLOT_CLASSES[c]! >= payload + HEADER_BYTES;
    const smallest = c === 0 || SLOT_CLASSES[c - 1]! < payload + HEADER_BYTES;
    if (!fits || !smallest) t.fail(`payload ${payload} → class ${SLOT_CLASSES[c]}`);
  }
  t.equal(SLOT_CLASSES[classForPayload(RECORD_PAYLOAD_BYTES_MAX)], SLOT_BYTES_MAX);
  t.throws(() => classForPayload(RECORD_PAYLOAD_BYTES_MAX + 1), RangeError);
  t.same(recordLengths(0), []);
  t.same(recordLengths(1), [1]);
  t.same(recordLengths(RECORD_PAYLOAD_BYTES_MAX), [RECORD_PAYLOAD_BYTES_MAX]);
  t.same(recordLengths(2 * RECORD_PAYLOAD_BYTES_MAX + 5), [RECORD_PAYLOAD_BYTES_MAX, RECORD_PAYLOAD_BYTES_MAX, 5]);
});

t.test('geometry leaves room for superblock and page map', async (t) => {
  for (const [capacity, page] of [
    [1024 ** 3, 1024 ** 2],
    [8 * 1024 ** 2, 256 * 1024],
    [1024 ** 4, 1024 ** 2],
  ] as const) {
    const g = computeGeometry(capacity, page);
    t.equal(g.dataStartBytes % page, 0);
    t.ok(g.dataStartBytes >= 4096 + g.pageCount, 'page map fits before the data');
    t.ok(g.dataStartBytes + g.pageCount * page <= capacity);
    t.ok(g.dataStartBytes + (g.pageCount + 1) * page > capacity, 'no whole page left unused');
  }
});

// A random sequence of allocations and frees, checked against a plain model.
t.test('slab allocator vs a model', async (t) => {
  const pageBytes = 256 * 1024;
  const pageCount = 24;
  const dataStartBytes = 256 * 1024;
  const pageEvents: [number, number][] = [];
  const slab = new SlabAllocator({ dataStartBytes, pageBytes, pageCount, onPageChange: (p, c) => pageEvents.push([p, c]) });
  const live = new Map<number, Slot>();
  let seed = 12345;
  const random = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed % n;
  };
  let fullRefusals = 0;
  for (let step = 0; step < 20000; step++) {
    if (live.size > 0 && random(100) < 45) {
      const keys = [...live.keys()];
      const offset = keys[random(keys.length)]!;
      slab.release(offset);
      live.delete(offset);
    } else {
      // Skewed towards a few classes, like real object sizes.
      const classIndex = random(3) === 0 ? random(SLOT_CLASSES.length) : [3, 10, 20][random(3)]!;
      const slot = slab.allocate(classIndex);
      if (slot === undefined) {
        fullRefusals++;
        // Full means: no page free and no partial page of this class.
        t.equal(slab.freePages, 0);
        continue;
      }
      t.equal(slot.slotBytes, SLOT_CLASSES[classIndex]);
      const page = Math.floor((slot.offset - dataStartBytes) / pageBytes);
      if (slot.offset < dataStartBytes || page >= pageCount) t.fail(`slot ${slot.offset} outside the data`);
      const inPage = slot.offset - dataStartBytes - page * pageBytes;
      if (inPage % slot.slotBytes !== 0 || inPage + slot.slotBytes > pageBytes) t.fail(`slot ${slot.offset} crosses its page`);
      if (live.has(slot.offset)) t.fail(`slot ${slot.offset} handed out twice`);
      live.set(slot.offset, slot);
    }
    if (step % 1000 === 0) checkAgainstModel(t, slab, live, dataStartBytes, pageBytes);
  }
  checkAgainstModel(t, slab, live, dataStartBytes, pageBytes);
  t.ok(fullRefusals > 0, `the slab filled up ${fullRefusals} times`);
  t.ok(pageEvents.some(([, c]) => c === -1), 'pages were freed and reported');

  // Rebuilding from the live slots gives the same accounting and allocations.
  const rebuilt = new SlabAllocator({ dataStartBytes, pageBytes, pageCount });
  rebuilt.rebuild([...live.values()].map((s) => ({ offset: s.offset, classIndex: s.classIndex })));
  t.equal(rebuilt.usedBytes, slab.usedBytes);
  t.equal(rebuilt.freePages, slab.freePages);
  t.same(rebuilt.classUsage(), slab.classUsage());
  for (const s of live.values()) slab.release(s.offset);
  t.equal(slab.usedBytes, 0);
  t.equal(slab.freePages, pageCount, 'every page back once every slot is free');
  t.throws(() => slab.release([...live.values()][0]!.offset), /free page|double free/);
});

function checkAgainstModel(t: Test, slab: SlabAllocator, live: Map<number, Slot>, dataStartBytes: number, pageBytes: number): void {
  let bytes = 0;
  const pages = new Map<number, number>();
  const sorted = [...live.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i]!;
    bytes += s.slotBytes;
    const page = Math.floor((s.offset - dataStartBytes) / pageBytes);
    const known = pages.get(page);
    if (known !== undefined && known !== s.classIndex) t.fail(`page ${page} mixes classes`);
    pages.set(page, s.classIndex);
    if (i > 0 && sorted[i - 1]!.offset + sorted[i - 1]!.slotBytes > s.offset) t.fail(`slots overlap at ${s.offset}`);
    if (!slab.isUsed(s.offset)) t.fail(`slot ${s.offset} not marked used`);
  }
  t.equal(slab.usedBytes, bytes, 'usedBytes = sum of live slot sizes');
  t.equal(slab.slotsInUse, live.size);
  t.equal(slab.pageCount - slab.freePages, pages.size, 'a page is held exactly while a slot in it lives');
}

t.test('lowest partial page first: sparse pages drain and return to the pool', async (t) => {
  const pageBytes = 64 * 1024;
  const slab = new SlabAllocator({ dataStartBytes: pageBytes, pageBytes, pageCount: 8 });
  const classIndex = classForPayload(4000); // 4096-byte slots: 16 per page
  const slots = Array.from({ length: 64 }, () => slab.allocate(classIndex)!);
  t.equal(slab.freePages, 4);
  // Free 3 of every 4 slots: four sparse pages.
  slots.forEach((s, i) => i % 4 !== 0 && slab.release(s.offset));
  // New allocations fill page 0 first, then 1, ...; nothing new is opened.
  const again = Array.from({ length: 12 }, () => slab.allocate(classIndex)!);
  t.ok(again.every((s) => slab.pageOf(s.offset) === slab.pageOf(slots[0]!.offset)), 'the lowest partial page is filled first');
  t.equal(slab.freePages, 4);
  // Deleting the survivors of the higher pages frees them for any class.
  slots.forEach((s, i) => i % 4 === 0 && i >= 16 && slab.release(s.offset));
  t.equal(slab.freePages, 7);
  t.ok(slab.allocate(classForPayload(60000)) !== undefined, 'a freed page serves another class');
});

t.test('rebuild rejects metadata that disagrees with itself', async (t) => {
  const pageBytes = 64 * 1024;
  const make = (): SlabAllocator => new SlabAllocator({ dataStartBytes: pageBytes, pageBytes, pageCount: 4 });
  const c128 = 0;
  const c192 = 1;
  t.throws(() => make().rebuild([{ offset: pageBytes, classIndex: c128 }, { offset: pageBytes + 192, classIndex: c192 }]), /holds slots of/);
  t.throws(() => make().rebuild([{ offset: pageBytes + 64, classIndex: c128 }]), /boundary/);
  t.throws(() => make().rebuild([{ offset: 0, classIndex: c128 }]), /outside/);
  t.throws(() => make().rebuild([{ offset: 5 * pageBytes, classIndex: c128 }]), /outside/);
  const slab = make();
  slab.rebuild([{ offset: pageBytes, classIndex: c128 }, { offset: pageBytes, classIndex: c128 }]);
  t.equal(slab.usedBytes, 128, 'a slot listed twice (two refs to one blob) counts once');
  const next = slab.allocate(c128)!;
  t.equal(next.offset, pageBytes + 128, 'allocation continues after the rebuilt slot');
});

t.test('--dax PATH[:SIZE]', async (t) => {
  t.same(parseDaxSpec('/mnt/pmem/strata.dax'), { path: '/mnt/pmem/strata.dax' });
  t.same(parseDaxSpec('/mnt/pmem/strata.dax:4G'), { path: '/mnt/pmem/strata.dax', sizeBytes: 4 * 1024 ** 3 });
  t.same(parseDaxSpec('data/dax.img:512MiB'), { path: 'data/dax.img', sizeBytes: 512 * 1024 ** 2 });
  t.same(parseDaxSpec('c:weird:name'), { path: 'c:weird:name' });
  t.throws(() => parseDaxSpec(''), /PATH/);
  t.throws(() => parseDaxSpec('x:0'), /positive/);
});

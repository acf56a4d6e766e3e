// Goal: the nvme allocator never hands out a block twice, frees and coalesces
// exactly, rebuilds from committed runs, and agrees with a naive block-bitmap
// model on long random sequences; group commit shares flushes and never
// acknowledges a failed one; --nvme specs parse.
import t from 'tap';
import { ExtentAllocator, type Run } from '../../src/backends/extent-allocator.js';
import { GroupFlush } from '../../src/backends/group-flush.js';
import { parseNvmeSpec, parseSizeBytes } from '../../src/backends/nvme-spec.js';

// Bound the whole file in time; each child process and temp dir is cleaned up by its test.
t.setTimeout(60000);

const B = 4096;

t.test('allocate carves from the front, release coalesces both sides', async (t) => {
  const a = new ExtentAllocator({ startBytes: B, endBytes: 11 * B });
  t.equal(a.capacityBytes, 10 * B);
  const x = a.allocate(1)!;
  const y = a.allocate(2 * B)!;
  const z = a.allocate(B + 1)!;
  t.same(x, [{ offset: B, lengthBytes: B }], 'rounded up to a block');
  t.same(y, [{ offset: 2 * B, lengthBytes: 2 * B }]);
  t.same(z, [{ offset: 4 * B, lengthBytes: 2 * B }]);
  t.equal(a.freeBytes, 5 * B);
  a.release(y[0]!);
  t.equal(a.freeRuns, 2);
  a.release(x[0]!);
  a.release(z[0]!);
  t.same(a.runs(), [{ offset: B, lengthBytes: 10 * B }], 'everything merged back into one run');
  t.equal(a.allocate(0)!.length, 0);
});

t.test('fragmented space: one request spans several runs; too big returns undefined', async (t) => {
  const a = new ExtentAllocator({ startBytes: 0, endBytes: 8 * B });
  const blocks = Array.from({ length: 8 }, () => a.allocate(B)![0]!);
  for (const i of [1, 3, 6]) a.release(blocks[i]!);
  t.equal(a.allocate(4 * B), undefined, 'only 3 blocks free');
  t.equal(a.freeBytes, 3 * B, 'a failed allocation takes nothing');
  const runs = a.allocate(3 * B)!;
  t.same(
    runs.map((r) => r.offset).sort((p, q) => p - q),
    [1 * B, 3 * B, 6 * B],
  );
  t.equal(a.freeBytes, 0);
});

t.test('double free and foreign runs are refused', async (t) => {
  const a = new ExtentAllocator({ startBytes: 0, endBytes: 8 * B });
  const run = a.allocate(2 * B)![0]!;
  a.release(run);
  t.throws(() => a.release(run), /double free/);
  t.throws(() => a.release({ offset: 100, lengthBytes: B }), /unaligned/);
  t.throws(() => a.release({ offset: 8 * B, lengthBytes: B }), /outside/);
});

t.test('rebuild frees everything but the committed runs; overlaps are an error', async (t) => {
  const a = new ExtentAllocator({ startBytes: 2 * B, endBytes: 12 * B });
  a.rebuild([
    { offset: 5 * B, lengthBytes: B },
    { offset: 2 * B, lengthBytes: 2 * B },
  ]);
  t.same(a.runs(), [
    { offset: 4 * B, lengthBytes: B },
    { offset: 6 * B, lengthBytes: 6 * B },
  ]);
  t.ok(a.isFree({ offset: 7 * B, lengthBytes: 2 * B }));
  t.notOk(a.isFree({ offset: 4 * B, lengthBytes: 2 * B }), 'second block is committed');
  t.throws(() => a.rebuild([{ offset: 2 * B, lengthBytes: 2 * B }, { offset: 3 * B, lengthBytes: B }]), /overlap/);
  t.throws(() => a.rebuild([{ offset: 11 * B, lengthBytes: 2 * B }]), /past the region/);
});

t.test('random allocate/release sequences agree with a block bitmap', async (t) => {
  let seed = 12345;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const blocks = 512;
  const a = new ExtentAllocator({ startBytes: 0, endBytes: blocks * B });
  const used = new Uint8Array(blocks);
  const held: Run[][] = [];
  for (let step = 0; step < 5000; step++) {
    if (held.length > 0 && random(3) === 0) {
      const runs = held.splice(random(held.length), 1)[0]!;
      for (const run of runs) {
        a.release(run);
        for (let b = run.offset / B; b < (run.offset + run.lengthBytes) / B; b++) used[b] = 0;
      }
    } else {
      const bytes = 1 + random(16 * B);
      const freeBefore = a.freeBytes;
      const runs = a.allocate(bytes);
      if (runs === undefined) {
        t.ok(Math.ceil(bytes / B) * B > freeBefore, 'refused only when short of space');
        continue;
      }
      let total = 0;
      for (const run of runs) {
        for (let b = run.offset / B; b < (run.offset + run.lengthBytes) / B; b++) {
          if (used[b] === 1) t.fail(`block ${b} handed out twice`);
          used[b] = 1;
        }
        total += run.lengthBytes;
      }
      if (total !== Math.ceil(bytes / B) * B) t.fail(`allocated ${total} for ${bytes}`);
      held.push(runs);
    }
    const modelFree = used.reduce((n, u) => n + (u === 0 ? B : 0), 0);
    if (modelFree !== a.freeBytes) t.fail(`step ${step}: free ${a.freeBytes}, model ${modelFree}`);
  }
  // The free runs are exactly the model's free blocks, fully coalesced.
  const runs = a.runs();
  for (let i = 1; i < runs.length; i++) t.ok(runs[i - 1]!.offset + runs[i - 1]!.lengthBytes < runs[i]!.offset, 'coalesced');
  for (const run of runs) for (let b = run.offset / B; b < (run.offset + run.lengthBytes) / B; b++) t.equal(used[b], 0);
});

t.test('group flush: one flush per turn, later callers wait for the next, failures reject the batch', async (t) => {
  const started: number[] = [];
  let release: (() => void) | undefined;
  let failNext = false;
  const flusher = new GroupFlush(async () => {
    started.push(Date.now());
    await new Promise<void>((resolve) => (release = resolve));
    if (failNext) throw new Error('EIO from the device');
  });
  const first = [flusher.flush(), flusher.flush(), flusher.flush()];
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(started.length, 1, 'three callers in one turn share one flush');
  const second = [flusher.flush(), flusher.flush()];
  release!();
  await Promise.all(first);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(started.length, 2, 'callers that came during the flush get a new one');
  failNext = true;
  release!();
  for (const p of second) await t.rejects(p, /EIO/);
  t.same(flusher.stats(), { requests: 5, flushes: 2, failures: 1 });
});

t.test('--nvme PATH[:SIZE]', async (t) => {
  t.same(parseNvmeSpec('data/nvme.img'), { path: 'data/nvme.img' });
  t.same(parseNvmeSpec('/dev/nvme0n1:64G'), { path: '/dev/nvme0n1', sizeBytes: 64 * 1024 ** 3 });
  t.same(parseNvmeSpec('x.img:512MiB'), { path: 'x.img', sizeBytes: 512 * 1024 ** 2 });
  t.same(parseNvmeSpec('odd:name'), { path: 'odd:name' }, 'a non-size suffix stays in the path');
  t.equal(parseSizeBytes('4096'), 4096);
  t.equal(parseSizeBytes('2k'), 2048);
  t.equal(parseSizeBytes('1.5G'), undefined);
  t.throws(() => parseNvmeSpec('x:0'), /positive/);
  t.throws(() => parseNvmeSpec(''), /PATH/);
});

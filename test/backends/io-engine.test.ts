// Goal: the native I/O engine moves the right bytes with O_DIRECT on a real
// filesystem, reports kernel errors as typed JS errors with errno names (no
// crash, no leaked slot), batches submissions, applies backpressure, and both
// engines — io_uring and the thread-pool fallback — pass the same tests.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { constants, openSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIoEngine, resolveEngineKind, type IoEngine } from '../../src/backends/io-engine.js';
import { IoFile } from '../../src/backends/io-file.js';
import { EngineClosedError, IoError } from '../../src/backends/io-errors.js';
import { native } from '../../src/backends/native.js';
import { ENGINE_KINDS, makeTempDir, patternBytes } from './helpers.js';

// Bound the whole file in time; each child process and temp dir is cleaned up by its test.
t.setTimeout(120000);

const SLOT_BYTES = 64 * 1024;

async function withEngine(
  kind: (typeof ENGINE_KINDS)[number],
  body: (engine: IoEngine, dir: string) => Promise<void>,
  options: { queueDepth?: number; slots?: number; fixedBuffers?: boolean; deferTaskrun?: boolean } = {},
): Promise<void> {
  const { dir, cleanup } = await makeTempDir('io');
  const engine = openIoEngine({
    kind,
    slotBytes: SLOT_BYTES,
    slots: options.slots ?? 8,
    queueDepth: options.queueDepth ?? 16,
    fixedBuffers: options.fixedBuffers ?? true,
    deferTaskrun: options.deferTaskrun ?? true,
  });
  try {
    await body(engine, dir);
  } finally {
    await engine.close();
    await cleanup();
  }
}

/** Slots not back in the pool plus requests in flight: 0 once an operation is over. */
function leaked(engine: IoEngine): number {
  const pool = engine.pool.stats();
  return pool.slots - pool.freeSlots + engine.stats().inflight;
}

for (const kind of ENGINE_KINDS) {
  t.test(`${kind}: engine`, async (t) => {
    t.test('reports the engine it runs', async (t) => {
      await withEngine(kind, async (engine) => {
        t.equal(engine.kind, kind);
        t.equal(engine.fallbackReason, undefined);
        t.equal(engine.pool.slotCount, 8);
        if (kind === 'io_uring') {
          t.equal(engine.fixedBuffers, true, 'root may pin the pool');
          t.equal(engine.deferTaskrun, true, 'kernel 6.2+ signals the eventfd for deferred work');
        }
      });
    });

    const modes = kind === 'io_uring' ? [{ fixedBuffers: true, deferTaskrun: true }, { fixedBuffers: false, deferTaskrun: false }] : [{ fixedBuffers: false, deferTaskrun: false }];
    for (const mode of modes) {
      t.test(`O_DIRECT round trip at aligned offsets (${JSON.stringify(mode)})`, async (t) => {
        await withEngine(
          kind,
          async (engine, dir) => {
            const file = await IoFile.open(engine, join(dir, 'data'), { create: true });
            await file.fallocate(0, 1 << 20);
            const source = await engine.pool.acquire('write');
            const target = await engine.pool.acquire('read');
            const data = patternBytes(`roundtrip-${kind}`, SLOT_BYTES);
            source.bytes.set(data);
            // Several writes of different aligned sizes, all in one turn (one batch).
            await Promise.all([
              file.writeExact({ slot: source, lengthBytes: 4096 }, 0),
              file.writeExact({ slot: source, offsetBytes: 4096, lengthBytes: 8192 }, 4096 * 5),
              file.writeExact({ slot: source, offsetBytes: 12288, lengthBytes: SLOT_BYTES - 12288 }, 65536),
            ]);
            await file.datasync();
            await file.readExact({ slot: target, lengthBytes: 4096 }, 0);
            t.same(Buffer.from(target.bytes.subarray(0, 4096)), data.subarray(0, 4096));
            await file.readExact({ slot: target, lengthBytes: 8192 }, 4096 * 5);
            t.same(Buffer.from(target.bytes.subarray(0, 8192)), data.subarray(4096, 12288));
            await file.readExact({ slot: target, lengthBytes: SLOT_BYTES - 12288 }, 65536);
            t.same(Buffer.from(target.bytes.subarray(0, SLOT_BYTES - 12288)), data.subarray(12288));
            engine.pool.release(source);
            engine.pool.release(target);
            await file.close();
            t.equal(leaked(engine), 0, 'no slot or request leaked');
            t.equal(engine.fixedBuffers, mode.fixedBuffers && kind === 'io_uring');
            t.equal(engine.deferTaskrun, mode.deferTaskrun && kind === 'io_uring');
          },
          mode,
        );
      });
    }

    t.test('misaligned buffer, offset or length: EINVAL from the kernel, as a typed error', async (t) => {
      await withEngine(kind, async (engine, dir) => {
        const path = join(dir, 'data');
        const file = await IoFile.open(engine, path, { create: true });
        const slot = await engine.pool.acquire('write');
        slot.bytes.fill(1);
        // Written blocks: reads of unwritten (fallocated) blocks skip the device
        // and would not check alignment at all.
        await file.writeExact({ slot, lengthBytes: SLOT_BYTES }, 0);
        const cases = [
          { slot, offsetBytes: 1, lengthBytes: 4096, fileOffset: 0, what: 'buffer off by one byte' },
          { slot, offsetBytes: 0, lengthBytes: 4096, fileOffset: 1, what: 'file offset off by one byte' },
          { slot, offsetBytes: 0, lengthBytes: 100, fileOffset: 0, what: 'length not a block multiple' },
        ];
        for (const c of cases) {
          for (const op of ['read', 'write'] as const) {
            const error = await (op === 'read' ? file.read(c, c.fileOffset) : file.write(c, c.fileOffset)).then(
              () => undefined,
              (e: unknown) => e,
            );
            t.type(error, IoError, `${op}: ${c.what}`);
            const ioError = error as IoError;
            t.equal(ioError.code, 'EINVAL');
            t.equal(ioError.errno, -22, "errno is -EINVAL");
            t.equal(ioError.syscall, op);
            t.equal(ioError.path, path);
            t.match(ioError.message, /^EINVAL: invalid argument, (read|write) '/);
          }
        }
        engine.pool.release(slot);
        await file.close();
        t.equal(leaked(engine), 0, 'no slot or request leaked');
      });
    });

    t.test('typed errors carry a JavaScript stack from the caller', async (t) => {
      await withEngine(kind, async (engine, dir) => {
        const file = await IoFile.open(engine, join(dir, 'data'), { create: true });
        const slot = await engine.pool.acquire();
        async function callerWithAName(): Promise<void> {
          await file.read({ slot, offsetBytes: 1, lengthBytes: 4096 }, 0);
        }
        await file.writeExact({ slot, lengthBytes: 4096 }, 0);
        const error = (await callerWithAName().catch((e: unknown) => e)) as Error;
        t.match(error.stack, /callerWithAName/);
        engine.pool.release(slot);
        await file.close();
      });
    });

    t.test('short read at end of file: read() returns it, readExact() fails with EIO', async (t) => {
      await withEngine(kind, async (engine, dir) => {
        const path = join(dir, 'data');
        writeFileSync(path, Buffer.alloc(3 * 4096, 7));
        const file = await IoFile.open(engine, path);
        const slot = await engine.pool.acquire();
        t.equal(await file.read({ slot, lengthBytes: 4 * 4096 }, 2 * 4096), 4096, 'one block left');
        t.equal(slot.bytes[4095], 7);
        t.equal(await file.read({ slot, lengthBytes: 4096 }, 3 * 4096), 0, 'nothing at EOF');
        const error = (await file.readExact({ slot, lengthBytes: 2 * 4096 }, 2 * 4096).catch((e: unknown) => e)) as IoError;
        t.type(error, IoError);
        t.equal(error.code, 'EIO');
        t.match(error.message, /short read: 4096 of 8192 bytes/);
        engine.pool.release(slot);
        await file.close();
        t.equal(leaked(engine), 0, 'no slot or request leaked');
      });
    });

    t.test('kernel errors: EBADF on a closed fd and on a read-only fd; the engine stays usable', async (t) => {
      await withEngine(kind, async (engine, dir) => {
        const path = join(dir, 'data');
        writeFileSync(path, Buffer.alloc(4096, 3));
        const slot = await engine.pool.acquire();
        const fd = openSync(path, constants.O_RDONLY);
        closeSync(fd);
        t.equal(await engine.request({ op: 'read', fd, poolOffset: 0, lengthBytes: 4096, fileOffset: 0 }), -9, 'EBADF');
        t.equal(await engine.request({ op: 'fdatasync', fd }), -9, 'EBADF');
        const readOnly = await IoFile.open(engine, path, { readOnly: true });
        const writeError = (await readOnly.write({ slot, lengthBytes: 4096 }, 0).catch((e: unknown) => e)) as IoError;
        t.equal(writeError.code, 'EBADF');
        const fallocateError = (await readOnly.fallocate(0, 8192).catch((e: unknown) => e)) as IoError;
        t.equal(fallocateError.code, 'EBADF');
        t.equal(fallocateError.syscall, 'fallocate');
        t.equal(await readOnly.read({ slot, lengthBytes: 4096 }, 0), 4096, 'still works after errors');
        t.equal(slot.bytes[0], 3);
        await readOnly.close();
        engine.pool.release(slot);
        t.equal(leaked(engine), 0, 'no slot or request leaked');
      });
    });

    t.test('fallocate reserves space; KEEP_SIZE does not change the size', async (t) => {
      await withEngine(kind, async (engine, dir) => {
        const path = join(dir, 'data');
        const file = await IoFile.open(engine, path, { create: true });
        await file.fallocate(0, 1 << 20);
        t.equal(statSync(path).size, 1 << 20);
        await file.fallocate(1 << 20, 1 << 20, { mode: 1 /* FALLOC_FL_KEEP_SIZE */ });
        t.equal(statSync(path).size, 1 << 20);
        t.ok(statSync(path).blocks * 512 >= 2 << 20, 'blocks reserved beyond the size');
        await file.fsync();
        await file.close();
      });
    });

    t.test('more requests than the queue depth wait their turn and all complete', async (t) => {
      await withEngine(
        kind,
        async (engine, dir) => {
          const path = join(dir, 'data');
          writeFileSync(path, patternBytes('queue', 64 * 4096));
          const file = await IoFile.open(engine, path);
          const slot = await engine.pool.acquire();
          let inflightMax = 0;
          const reads: Promise<number>[] = [];
          for (let i = 0; i < 200; i++) {
            reads.push(file.read({ slot, offsetBytes: (i % 16) * 4096, lengthBytes: 4096 }, (i % 64) * 4096));
            inflightMax = Math.max(inflightMax, engine.stats().inflight);
          }
          t.equal(engine.stats().queued, 200 - 4, 'the rest wait in the queue');
          const poll = setInterval(() => (inflightMax = Math.max(inflightMax, engine.stats().inflight)), 0);
          const results = await Promise.all(reads);
          clearInterval(poll);
          t.ok(results.every((n) => n === 4096));
          t.equal(inflightMax, 4, 'never more than queueDepth in flight');
          engine.pool.release(slot);
          await file.close();
          t.equal(leaked(engine), 0, 'no slot or request leaked');
        },
        { queueDepth: 4 },
      );
    });

    if (kind === 'io_uring') {
      t.test('requests issued in one turn share one io_uring_enter', async (t) => {
        await withEngine(
          kind,
          async (engine, dir) => {
            const path = join(dir, 'data');
            writeFileSync(path, Buffer.alloc(64 * 4096, 1));
            const file = await IoFile.open(engine, path);
            const slot = await engine.pool.acquire();
            const before = engine.stats();
            await Promise.all(Array.from({ length: 64 }, (_, i) => file.read({ slot, lengthBytes: 4096 }, i * 4096)));
            const after = engine.stats();
            t.equal(after.requests - before.requests, 64);
            t.equal(after.submits - before.submits, 1, 'one submit for 64 requests');
            engine.pool.release(slot);
            await file.close();
          },
          { queueDepth: 64 },
        );
      });
    }

    t.test('close waits for requests in flight (finishing inside a completion callback), then refuses new ones; idempotent', async (t) => {
      const { dir, cleanup } = await makeTempDir('io');
      t.teardown(cleanup);
      const engine = openIoEngine({ kind, slotBytes: SLOT_BYTES, slots: 2, queueDepth: 8 });
      const path = join(dir, 'data');
      writeFileSync(path, Buffer.alloc(32 * 4096, 5));
      const file = await IoFile.open(engine, path);
      const slot = await engine.pool.acquire();
      const reads = Array.from({ length: 32 }, (_, i) => file.read({ slot, lengthBytes: 4096 }, i * 4096));
      const closed = engine.close();
      t.same(await Promise.all(reads), new Array(32).fill(4096), 'in-flight and queued requests finished');
      await closed;
      await t.rejects(file.read({ slot, lengthBytes: 4096 }, 0), EngineClosedError);
      await engine.close();
      engine.pool.release(slot);
      await file.close();
    });
  });
}

t.test('buffer pool: callers wait when it is empty; writers leave slots for readers', async (t) => {
  const engine = openIoEngine({ kind: 'threadpool', slotBytes: 4096, slots: 4, queueDepth: 4 });
  const pool = engine.pool;
  t.equal(pool.writeSlotsMax, 3);
  const writes = [await pool.acquire('write'), await pool.acquire('write'), await pool.acquire('write')];
  t.equal(pool.tryAcquire('write'), undefined, 'write quota reached');
  let fourthWriter = false;
  const waitingWriter = pool.acquire('write').then((slot) => ((fourthWriter = true), slot));
  const read = await pool.acquire('read');
  t.ok(read, 'a reader still gets the reserved slot');
  let readerServed = false;
  const waitingReader = pool.acquire('read').then((slot) => ((readerServed = true), slot));
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(readerServed, 'pool empty: the reader waits');
  pool.release(read);
  await waitingReader;
  t.ok(readerServed);
  t.notOk(fourthWriter, 'the writer still waits for its quota');
  pool.release(writes[0]!);
  const fourth = await waitingWriter;
  t.equal(fourth, writes[0], 'the freed slot went to the waiting writer');
  const servedReader = await waitingReader;
  pool.release(servedReader);
  t.throws(() => pool.release(servedReader), /released twice/);
  for (const slot of [writes[1]!, writes[2]!, fourth]) pool.release(slot);
  t.equal(pool.stats().freeSlots, 4);
  await engine.close();
});

t.test('invalid requests never reach the kernel; native refuses out-of-pool memory', async (t) => {
  const engine = openIoEngine({ kind: 'io_uring', slotBytes: 4096, slots: 2, queueDepth: 4 });
  await t.rejects(engine.request({ op: 'read', fd: 0, poolOffset: 4096, lengthBytes: 8192, fileOffset: 0 }), RangeError);
  await t.rejects(engine.request({ op: 'read', fd: -1, poolOffset: 0, lengthBytes: 4096, fileOffset: 0 }), RangeError);
  await t.rejects(engine.request({ op: 'write', fd: 0, poolOffset: 0, lengthBytes: 4096, fileOffset: -1 }), RangeError);
  // Bypassing TypeScript: the addon still refuses memory outside the pool, and wrong types throw.
  const completions = new Int32Array(8);
  const raw = native.openIoEngine(0, 4, 8192, 1, 1, completions, () => undefined);
  if (typeof raw === 'number') throw new Error(`io_uring failed to start: ${raw}`);
  t.equal(raw.read(0, 0, 8192, 4096, 0), -14, 'EFAULT past the pool');
  t.equal(raw.read(0, 0, -4096, 4096, 0), -14, 'EFAULT before the pool');
  t.equal(raw.read(9, 0, 0, 4096, 0), -22, 'EINVAL for a tag beyond the queue depth');
  t.throws(() => (raw.read as unknown as (...a: unknown[]) => number)('x', 0, 0, 4096, 0), TypeError);
  t.equal(raw.close(), 0);
  t.equal(native.openIoEngine(0, 0, 8192, 1, 1, completions, () => undefined), -22, 'queue depth 0: EINVAL');
  await engine.close();
});

t.test('engine choice: option, then STRATA_IO_ENGINE, then auto', async (t) => {
  t.equal(resolveEngineKind('threadpool', { STRATA_IO_ENGINE: 'io_uring' }), 'threadpool');
  t.equal(resolveEngineKind(undefined, { STRATA_IO_ENGINE: 'threadpool' }), 'threadpool');
  t.equal(resolveEngineKind(undefined, {}), 'auto');
  t.throws(() => resolveEngineKind(undefined, { STRATA_IO_ENGINE: 'aio' }), /STRATA_IO_ENGINE/);
  const engine = openIoEngine({ kind: 'auto', slotBytes: 4096, slots: 1, queueDepth: 1 });
  t.equal(engine.kind, 'io_uring', 'auto picks io_uring where the kernel allows it');
  await engine.close();
});

t.test('auto falls back to the thread pool when io_uring_setup fails, and says why', async (t) => {
  // A child with no free file descriptor: io_uring_setup fails with EMFILE (a
  // real kernel refusal), while the thread pool needs no new fd.
  const engineModule = fileURLToPath(new URL('../../src/backends/io-engine.js', import.meta.url));
  const script = `
    const { openSync, closeSync } = await import('node:fs');
    const { openIoEngine } = await import(${JSON.stringify(engineModule)});
    const fds = [];
    try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch {}
    let result;
    try {
      const engine = openIoEngine({ kind: 'auto', slotBytes: 4096, slots: 1, queueDepth: 1 });
      result = { kind: engine.kind, reason: engine.fallbackReason };
      for (const fd of fds) closeSync(fd);
      await engine.close();
    } catch (error) {
      for (const fd of fds) closeSync(fd);
      result = { error: String(error) };
    }
    console.log(JSON.stringify(result));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, STRATA_IO_ENGINE: '' },
  });
  t.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as { kind?: string; reason?: string };
  t.equal(result.kind, 'threadpool');
  t.match(result.reason, /EMFILE.*io_uring_setup/);
});

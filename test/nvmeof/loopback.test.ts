// Goal: our initiator and our target agree over loopback TCP on everything the
// remote tier will rely on: bring-up and identity, reads and writes of odd
// sizes and offsets (in-capsule, R2T, split at MDTS), flush and FUA, digests on
// and off, several queues and deep queues under concurrency, discovery, and
// errors reported as typed NVMe statuses.
import t from 'tap';
import { randomInt } from 'node:crypto';
import { connect, discover, NvmeStatusError } from '../../src/backends/nvmeof/index.js';
import { IoOpcode, PduType } from '../../src/backends/nvmeof/constants.js';
import { PduDecoder } from '../../src/backends/nvmeof/pdu.js';
import { startProxy } from './helpers/proxy.js';
import { join } from 'node:path';
import { FileBackingStore, NvmeTcpTarget, type BackingStore } from '../../src/backends/nvmeof/index.js';
import { encodeSqe } from '../../src/backends/nvmeof/sqe.js';
import { pattern, startTarget, tempDirectory, TEST_NQN } from './helpers/target.js';

t.test('bring-up: namespace size and block size, discovery on a second port', async (t) => {
  const { url, port, target } = await startTarget(t, { sizeBytes: 32 * 1024 * 1024, blockSizeBytes: 4096, discoveryPort: true });
  const ns = await connect(url(), { ioQueues: 3 });
  t.teardown(() => ns.close());
  t.equal(ns.sizeBytes, 32 * 1024 * 1024);
  t.equal(ns.blockSizeBytes, 4096);
  t.equal(ns.nsid, 1);
  t.equal(ns.subsystemNqn, TEST_NQN);
  t.ok(ns.connected);
  t.equal(target.connectionCount, 4, 'one admin + three I/O connections');
  const discoveryPort = target.discoveryAddressInfo!.port;
  const entries = await discover({ host: '127.0.0.1', port: discoveryPort });
  t.same(
    entries.map((e) => [e.subtype, e.subnqn, e.trsvcid, e.traddr]),
    [
      [3, 'nqn.2014-08.org.nvmexpress.discovery', String(discoveryPort), '127.0.0.1'],
      [2, TEST_NQN, String(port), '127.0.0.1'],
    ],
  );
});

for (const digests of [false, true]) {
  t.test(`odd sizes and offsets round-trip (digests ${digests ? 'on' : 'off'})`, async (t) => {
    // MAXH2CDATA 64 KiB: R2Ts above it make the initiator send several H2CData PDUs.
    const { url, backing } = await startTarget(t, { sizeBytes: 16 * 1024 * 1024, maxH2CDataBytes: 64 * 1024 });
    const ns = await connect(url(digests ? 'hdgst=1&ddgst=1' : ''), { ioQueues: 2 });
    t.teardown(() => ns.close());
    // 512 B (in-capsule), 16 KiB (largest in-capsule), 16.5 KiB (R2T), 1 MiB + 3 blocks (split at MDTS), odd LBAs.
    const cases = [
      [0, 512],
      [512 * 7, 512 * 3],
      [512 * 1001, 16384],
      [512 * 77, 16384 + 512],
      [512 * 3333, 1024 * 1024 + 1536],
      [16 * 1024 * 1024 - 4096, 4096],
    ] as const;
    for (const [index, [offset, length]] of cases.entries()) {
      const data = pattern(length, index + (digests ? 100 : 0));
      await ns.write(offset, data);
      t.same(await ns.read(offset, length), data, `[${offset}, +${length}) reads back`);
      t.same(await backing.read(offset, length), data, `[${offset}, +${length}) is on the backing file`);
    }
    // Byte-granular reads inside blocks.
    const [offset, length] = cases[4];
    const whole = pattern(length, 4 + (digests ? 100 : 0));
    t.same(await ns.read(offset + 3, 1000), whole.subarray(3, 1003), 'unaligned read');
    t.same(await ns.read(offset + 511, 2), whole.subarray(511, 513), 'read across a block boundary');
    await ns.write(4096, pattern(4096, 9), { fua: true });
    await ns.flush();
    t.same(await backing.read(4096, 4096), pattern(4096, 9), 'FUA write durable and readable');
    await t.rejects(ns.write(100, Buffer.alloc(512)), RangeError, 'unaligned write refused before it reaches the wire');
    await t.rejects(ns.read(16 * 1024 * 1024 - 10, 20), RangeError, 'read past the end refused');
  });
}

t.test('many queues, deep queues: 600 concurrent random writes then reads match a model', async (t) => {
  const blockSizeBytes = 512;
  const sizeBytes = 8 * 1024 * 1024;
  const { url } = await startTarget(t, { sizeBytes });
  const ns = await connect(url('hdgst=1'), { ioQueues: 4, queueEntries: 32 });
  t.teardown(() => ns.close());
  // Disjoint slots so concurrent writes have one right answer each.
  const slotBytes = 8192;
  const model = new Map<number, Buffer>();
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 600; i++) {
    const slot = i; // 600 × 8 KiB < 8 MiB
    const lengthBytes = blockSizeBytes * randomInt(1, slotBytes / blockSizeBytes + 1);
    const data = pattern(lengthBytes, i + 1);
    model.set(slot, data);
    writes.push(ns.write(slot * slotBytes, data));
  }
  await Promise.all(writes);
  const reads = [...model.entries()].map(async ([slot, data]) => (await ns.read(slot * slotBytes, data.length)).equals(data));
  const results = await Promise.all(reads);
  t.equal(results.filter(Boolean).length, 600, 'every slot reads back what was written');
});

t.test('errors come back as typed NVMe statuses', async (t) => {
  const { url } = await startTarget(t, { sizeBytes: 1024 * 1024 });
  const ns = await connect(url(), { ioQueues: 1 });
  t.teardown(() => ns.close());
  // Reach below the namespace API to send what it would refuse: LBA out of range, bad NSID, bad opcode.
  const controller = (ns as unknown as { controller: { ioQueues: Array<{ submit: (sqe: Buffer, o: object) => Promise<unknown> }> } }).controller;
  const qp = controller.ioQueues[0]!;
  const blocks = 1024 * 1024 / 512;
  const read = (nsid: number, slba: number) =>
    qp.submit(encodeSqe({ opcode: IoOpcode.Read, cid: 0, nsid, cdw: [slba, 0, 0] }), { dataInBytes: 512, timeoutMs: 5000, what: 'raw read' });
  await t.rejects(read(1, blocks), { name: 'NvmeStatusError', sct: 0, sc: 0x80, statusName: 'LbaOutOfRange' });
  await t.rejects(read(7, 0), { name: 'NvmeStatusError', sc: 0x0b, dnr: true });
  await t.rejects(qp.submit(encodeSqe({ opcode: 0x7e, cid: 0, nsid: 1 }), { timeoutMs: 5000, what: 'bogus' }), NvmeStatusError);
  t.same(await ns.read(0, 512), Buffer.alloc(512), 'the queue still works after the errors');
});

t.test('connect errors: unknown subsystem, host not allowed', async (t) => {
  const { port } = await startTarget(t);
  await t.rejects(connect(`nvme-tcp://127.0.0.1:${port}/nqn.2026-01.io.strata.test:nope`), {
    name: 'NvmeStatusError',
    sct: 1,
    sc: 0x82,
    dw0: 256 | (1 << 16),
  });
});

t.test('the target bounds buffered write data: R2Ts wait while 32 MiB are granted', async (t) => {
  const { port, backing } = await startTarget(t, { sizeBytes: 128 * 1024 * 1024 });
  const proxy = await startProxy({ targetPort: port });
  t.teardown(() => proxy.close());
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}`, { ioQueues: 1, queueEntries: 128 });
  t.teardown(() => ns.close());
  const writes = Array.from({ length: 96 }, (_, i) => ns.write(i * 1024 * 1024, pattern(1024 * 1024, i)));
  await Promise.all(writes);
  t.same(await backing.read(95 * 1024 * 1024, 1024 * 1024), pattern(1024 * 1024, 95), 'the last write landed');
  // Replay the I/O connection's PDUs in the order they crossed the proxy: bytes granted by R2T, released by the response.
  const io = proxy.connections[1]!;
  const toHost = new PduDecoder({ maxPduBytes: 1 << 22 });
  const toTarget = new PduDecoder({ maxPduBytes: 1 << 22 });
  const granted = new Map<number, number>();
  let grantedBytes = 0;
  let grantedBytesMax = 0;
  for (const chunk of io.chunks) {
    const decoder = chunk.fromClient ? toTarget : toHost;
    decoder.push(chunk.bytes);
    for (let pdu = decoder.next(); pdu; pdu = decoder.next()) {
      if (pdu.type === PduType.R2T) {
        granted.set(pdu.cccid, pdu.r2tlBytes);
        grantedBytes += pdu.r2tlBytes;
        grantedBytesMax = Math.max(grantedBytesMax, grantedBytes);
      } else if (pdu.type === PduType.CapsuleResp) {
        grantedBytes -= granted.get(pdu.cqe.readUInt16LE(12)) ?? 0;
        granted.delete(pdu.cqe.readUInt16LE(12));
      }
    }
  }
  t.ok(grantedBytesMax <= 32 * 1024 * 1024 && grantedBytesMax >= 16 * 1024 * 1024, `at most ${grantedBytesMax / 1048576} MiB granted at once for 96 MiB of writes in flight`);
});

t.test('a host that stops reading pins a bounded amount of read data on the target', async (t) => {
  const directory = tempDirectory(t);
  const file = await FileBackingStore.open(join(directory, 'ns.img'), { blockSizeBytes: 512, createSizeBytes: 128 * 1024 * 1024 });
  let readsStarted = 0;
  // The real file store, counting the reads the target starts.
  const backing: BackingStore = {
    sizeBytes: file.sizeBytes,
    blockSizeBytes: file.blockSizeBytes,
    mode: file.mode,
    read: (offsetBytes, lengthBytes) => {
      readsStarted += 1;
      return file.read(offsetBytes, lengthBytes);
    },
    write: (offsetBytes, data, options) => file.write(offsetBytes, data, options),
    flush: () => file.flush(),
    close: () => file.close(),
  };
  await file.write(99 * 1024 * 1024, pattern(1024 * 1024, 99));
  const target = await NvmeTcpTarget.start({ listen: { host: '127.0.0.1', port: 0 }, subsystemNqn: TEST_NQN, backing });
  t.teardown(async () => {
    await target.close();
    await file.close();
  });
  const proxy = await startProxy({ targetPort: target.address.port });
  t.teardown(() => proxy.close());
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}`, { ioQueues: 1, queueEntries: 128 });
  t.teardown(() => ns.close());
  const before = readsStarted;
  proxy.setToHostPaused(true);
  const reads = Array.from({ length: 100 }, (_, i) => ns.read(i * 1024 * 1024, 1024 * 1024));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const startedWhilePaused = readsStarted - before;
  t.ok(startedWhilePaused >= 16 && startedWhilePaused < 64, `${startedWhilePaused} of 100 × 1 MiB reads started while the host read nothing (16 MiB budget + socket buffers)`);
  proxy.setToHostPaused(false);
  const results = await Promise.all(reads);
  t.equal(readsStarted - before, 100, 'the rest ran once the host read again');
  t.same(results[99], pattern(1024 * 1024, 99), 'data intact');
});

t.test('Flush and FUA are acknowledged only after the backing store made the data durable', async (t) => {
  const directory = tempDirectory(t);
  const file = await FileBackingStore.open(join(directory, 'ns.img'), { blockSizeBytes: 512, createSizeBytes: 4 * 1024 * 1024 });
  const events: string[] = [];
  const slowly = <T>(what: string, work: () => Promise<T>) =>
    new Promise((resolve) => setTimeout(resolve, 200)).then(async () => {
      const result = await work();
      events.push(what);
      return result;
    });
  // The real file store; durability calls are slowed down and logged.
  const backing: BackingStore = {
    sizeBytes: file.sizeBytes,
    blockSizeBytes: file.blockSizeBytes,
    mode: file.mode,
    read: (offsetBytes, lengthBytes) => file.read(offsetBytes, lengthBytes),
    write: (offsetBytes, data, options) =>
      options?.fua ? slowly(`durable write @${offsetBytes}`, () => file.write(offsetBytes, data, options)) : file.write(offsetBytes, data, options),
    flush: () => slowly('flush', () => file.flush()),
    close: () => file.close(),
  };
  const target = await NvmeTcpTarget.start({ listen: { host: '127.0.0.1', port: 0 }, subsystemNqn: TEST_NQN, backing });
  t.teardown(async () => {
    await target.close();
    await file.close();
  });
  const ns = await connect(`nvme-tcp://127.0.0.1:${target.address.port}/${TEST_NQN}`, { ioQueues: 1 });
  t.teardown(() => ns.close());
  await ns.write(0, pattern(4096, 1));
  t.same(events, [], 'a plain write does not wait for durability (VWC is advertised)');
  await ns.flush();
  t.same(events, ['flush'], 'Flush completed after the backing flush');
  await ns.write(8192, pattern(65536, 2), { fua: true });
  t.same(events, ['flush', 'durable write @8192'], 'FUA write (R2T path) completed after the durable write');
  // Volatile write cache off (Set Features 0x06, WCE = 0): every write becomes durable before completion.
  const controller = (ns as unknown as { controller: { adminCommand: (op: number, f: object, w: string) => Promise<unknown> } }).controller;
  await controller.adminCommand(0x09, { cdw: [0x06, 0] }, 'Set Features (Volatile Write Cache off)');
  await ns.write(1024, pattern(512, 3));
  t.same(events.at(-1), 'durable write @1024', 'with WCE = 0 a plain write is durable before it completes');
});

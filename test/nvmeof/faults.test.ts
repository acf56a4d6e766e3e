// Goal: failures end cleanly and never hang. The target process killed in the
// middle of writes fails those writes with a transport error, the initiator
// reconnects with backoff when a target comes back, and acknowledged + flushed
// data survives; requests while no target exists fail within the wait bound;
// corrupted digests are detected (header digest → connection reset; data digest
// → the command fails), and a host that stops sending Keep Alive is dropped.
import t from 'tap';
import { once } from 'node:events';
import { join } from 'node:path';
import { connect as tcpConnect } from 'node:net';
import { connect, NvmeTransportError } from '../../src/backends/nvmeof/index.js';
import { FabricsType, PduType } from '../../src/backends/nvmeof/constants.js';
import { encodeCapsuleCmd, encodeIcReq, FRAMING_INITIAL, PduDecoder } from '../../src/backends/nvmeof/pdu.js';
import { encodeFabricsSqe } from '../../src/backends/nvmeof/sqe.js';
import { pduCorrupter, startProxy } from './helpers/proxy.js';
import { pattern, spawnNvmet, startTarget, tempDirectory, TEST_NQN } from './helpers/target.js';

const settleWithin = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref())]);

t.test('target killed mid-write: writes fail cleanly, reconnect after restart, flushed data intact', async (t) => {
  const directory = tempDirectory(t);
  const backingPath = join(directory, 'ns.img');
  const first = await spawnNvmet(t, { backingPath, port: 0 });
  const ns = await connect(`nvme-tcp://127.0.0.1:${first.port}/${TEST_NQN}`, {
    ioQueues: 2,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400, waitMs: 8000 },
    commandTimeoutMs: 5000,
  });
  t.teardown(() => ns.close());
  const durable = pattern(64 * 1024, 1);
  await ns.write(0, durable);
  await ns.flush();

  const disconnected = once(ns, 'disconnect');
  const big = pattern(1024 * 1024, 2);
  const writes = Array.from({ length: 48 }, (_, i) => ns.write(1024 * 1024 + i * big.length, big));
  setTimeout(() => void first.kill(), 30);
  const outcomes = await settleWithin(Promise.allSettled(writes), 15_000);
  const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  t.ok(failed.length > 0, `${failed.length} of ${writes.length} writes failed when the target died`);
  t.ok(failed.every((o) => o.reason instanceof NvmeTransportError), 'each failure is a transport error');
  await settleWithin(disconnected, 5000);
  t.notOk(ns.connected, 'handle reports disconnected');

  const reconnected = once(ns, 'reconnect');
  const second = await spawnNvmet(t, { backingPath, port: first.port });
  const [info] = (await settleWithin(reconnected, 10_000)) as [{ attempts: number }];
  t.ok(info.attempts >= 1, `reconnected after ${info.attempts} attempt(s)`);
  t.same(await ns.read(0, durable.length), durable, 'flushed data survived the kill');
  await ns.write(0, pattern(4096, 3), { fua: true });
  t.same(await ns.read(0, 4096), pattern(4096, 3), 'I/O works on the new association');
  await ns.close();
  await second.stop();
});

t.test('no target: requests fail within the wait bound instead of hanging', async (t) => {
  const directory = tempDirectory(t);
  const nvmet = await spawnNvmet(t, { backingPath: join(directory, 'ns.img'), port: 0 });
  const ns = await connect(`nvme-tcp://127.0.0.1:${nvmet.port}/${TEST_NQN}`, { reconnect: { initialDelayMs: 50, maxDelayMs: 200, waitMs: 1500 } });
  t.teardown(() => ns.close());
  const disconnected = once(ns, 'disconnect');
  await nvmet.kill();
  await settleWithin(disconnected, 5000);
  const started = Date.now();
  await t.rejects(settleWithin(ns.read(0, 4096), 5000), NvmeTransportError);
  const waitedMs = Date.now() - started;
  t.ok(waitedMs >= 1000 && waitedMs < 6000, `failed after ${waitedMs} ms (wait bound 1500 ms)`);
  await ns.close();
  await t.rejects(ns.read(0, 512), NvmeTransportError, 'a closed handle refuses requests');
});

t.test('corrupted header digest from the target: detected, command failed, connection reset, then reconnect', async (t) => {
  const { port } = await startTarget(t);
  const corrupter = pduCorrupter('toHost');
  const proxy = await startProxy({ targetPort: port, transform: corrupter.transform });
  t.teardown(() => proxy.close());
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}?hdgst=1&ddgst=1`, {
    ioQueues: 1,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200, waitMs: 5000 },
  });
  t.teardown(() => ns.close());
  const disconnected = once(ns, 'disconnect');
  const reconnected = once(ns, 'reconnect');
  corrupter.arm((type) => (type === PduType.R2T ? 12 : undefined)); // a byte of the R2T's R2TO field
  await t.rejects(settleWithin(ns.write(0, pattern(64 * 1024, 5)), 5000), NvmeTransportError, 'the write fails');
  t.equal(corrupter.corrupted, 1);
  const [error] = (await settleWithin(disconnected, 5000)) as [Error];
  t.match(error.message, /digest|protocol|closed/, `connection reset: ${error.message}`);
  await settleWithin(reconnected, 5000);
  await ns.write(0, pattern(64 * 1024, 6));
  t.same(await ns.read(0, 64 * 1024), pattern(64 * 1024, 6), 'works after the reset');
});

t.test('corrupted data digest to the target: that write fails with a transient transport error', async (t) => {
  const { port } = await startTarget(t);
  const corrupter = pduCorrupter('toTarget');
  const proxy = await startProxy({ targetPort: port, transform: corrupter.transform });
  t.teardown(() => proxy.close());
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}?hdgst=1&ddgst=1`, { ioQueues: 1 });
  t.teardown(() => ns.close());
  corrupter.arm((type, plen) => (type === PduType.H2CData && plen > 1000 ? 500 : undefined)); // a data byte
  await t.rejects(ns.write(0, pattern(64 * 1024, 7)), { name: 'NvmeStatusError', sct: 0, sc: 0x22, dnr: false });
  t.ok(ns.connected, 'a data digest error does not reset the connection');
  await ns.write(0, pattern(64 * 1024, 8));
  t.same(await ns.read(0, 64 * 1024), pattern(64 * 1024, 8), 'retry succeeds');
});

t.test('corrupted data digest from the target: detected, connection reset, the read retried on the new one', async (t) => {
  const { port, backing } = await startTarget(t);
  await backing.write(0, pattern(32 * 1024, 9));
  const corrupter = pduCorrupter('toHost');
  const proxy = await startProxy({ targetPort: port, transform: corrupter.transform });
  t.teardown(() => proxy.close());
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}?ddgst=1`, {
    ioQueues: 1,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200, waitMs: 5000 },
  });
  t.teardown(() => ns.close());
  const disconnected = once(ns, 'disconnect');
  corrupter.arm((type) => (type === PduType.C2HData ? 100 : undefined));
  t.same(await settleWithin(ns.read(0, 32 * 1024), 8000), pattern(32 * 1024, 9), 'the read returns the right bytes after the retry');
  const [error] = (await disconnected) as [Error];
  t.match(error.message, /digest/, 'the reset was caused by the digest error');
});

t.test('corrupted header digest to the target: C2HTermReq FES 3 and close', async (t) => {
  const { port } = await startTarget(t);
  const corrupter = pduCorrupter('toTarget');
  const proxy = await startProxy({ targetPort: port, transform: corrupter.transform });
  t.teardown(() => proxy.close());
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}?hdgst=1`, { ioQueues: 1, reconnect: { initialDelayMs: 20, waitMs: 5000 } });
  t.teardown(() => ns.close());
  corrupter.arm((type) => (type === PduType.CapsuleCmd ? 50 : undefined)); // inside the SQE
  const write = ns.write(0, pattern(4096, 10));
  await t.rejects(settleWithin(write, 5000), NvmeTransportError);
  const termReqs = proxy.connections.flatMap((c) => c.chunks.filter((chunk) => !chunk.fromClient && chunk.bytes[0] === PduType.C2HTermReq));
  t.ok(termReqs.some((chunk) => chunk.bytes.readUInt16LE(8) === 3), 'the target sent a C2HTermReq with FES 3 (header digest error)');
});

t.test('a host that stops sending Keep Alive is dropped after KATO', async (t) => {
  const { port, target } = await startTarget(t);
  const socket = tcpConnect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  await once(socket, 'connect');
  const decoder = new PduDecoder({ maxPduBytes: 1 << 20 });
  const closed = once(socket, 'close');
  let connected = false;
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (let pdu = decoder.next(); pdu; pdu = decoder.next()) if (pdu.type === PduType.CapsuleResp) connected = pdu.cqe.readUInt16LE(14) === 0;
  });
  socket.write(encodeIcReq({ pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0 }));
  const specific = Buffer.alloc(24);
  specific.writeUInt16LE(31, 4); // SQSIZE 32 entries
  specific.writeUInt32LE(500, 8); // KATO 500 ms
  const data = Buffer.alloc(1024);
  data.writeUInt16LE(0xffff, 16);
  data.write(TEST_NQN, 256);
  data.write('nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555', 512);
  const sqe = encodeFabricsSqe({ cid: 1, fctype: FabricsType.Connect, sgl: { id: 0x01, address: 0n, lengthBytes: 1024 }, specific });
  socket.write(Buffer.concat(encodeCapsuleCmd(sqe, data, FRAMING_INITIAL)));
  const started = Date.now();
  await settleWithin(closed, 10_000);
  const elapsedMs = Date.now() - started;
  t.ok(connected, 'Connect succeeded');
  t.ok(elapsedMs >= 400 && elapsedMs < 10_000, `dropped after ${elapsedMs} ms (KATO 500 ms + 1 s slack)`);
  t.equal(target.registry.size, 0, 'controller released');
});

t.test('a command waiting for a queue slot when the connection drops fails over instead of hanging', async (t) => {
  const { port, backing } = await startTarget(t);
  await backing.write(0, pattern(8192, 11));
  const corrupter = pduCorrupter('toHost');
  const proxy = await startProxy({ targetPort: port, transform: corrupter.transform });
  t.teardown(() => proxy.close());
  // One command in flight per queue: the second read waits for the first's slot.
  const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/${TEST_NQN}?ddgst=1`, {
    ioQueues: 1,
    queueEntries: 2,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200, waitMs: 5000 },
  });
  t.teardown(() => ns.close());
  corrupter.arm((type) => (type === PduType.C2HData ? 100 : undefined));
  const [first, second] = await settleWithin(Promise.all([ns.read(0, 4096), ns.read(4096, 4096)]), 8000);
  t.same(first, pattern(8192, 11).subarray(0, 4096));
  t.same(second, pattern(8192, 11).subarray(4096), 'the waiting read was retried on the new association');
});

t.test('reads in flight when the target dies are retried on the next association and return the right bytes', async (t) => {
  const directory = tempDirectory(t);
  const backingPath = join(directory, 'ns.img');
  const first = await spawnNvmet(t, { backingPath, port: 0 });
  const ns = await connect(`nvme-tcp://127.0.0.1:${first.port}/${TEST_NQN}`, {
    ioQueues: 2,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, waitMs: 10_000 },
  });
  t.teardown(() => ns.close());
  const data = pattern(8 * 1024 * 1024, 12);
  await ns.write(0, data);
  await ns.flush();
  const disconnected = once(ns, 'disconnect');
  let reconnectedAtMs = Infinity;
  ns.once('reconnect', () => (reconnectedAtMs = Date.now()));
  const settledAtMs: number[] = [];
  const reads = Array.from({ length: 64 }, (_, i) =>
    ns.read((i % 64) * 128 * 1024, 128 * 1024).finally(() => settledAtMs.push(Date.now())),
  );
  await first.kill();
  await settleWithin(disconnected, 5000);
  const second = await spawnNvmet(t, { backingPath, port: first.port });
  const results = await settleWithin(Promise.allSettled(reads), 15_000);
  const wrong = results.filter((r, i) => r.status !== 'fulfilled' || !r.value.equals(data.subarray((i % 64) * 128 * 1024, ((i % 64) + 1) * 128 * 1024)));
  t.equal(wrong.length, 0, 'all 64 reads returned the right bytes');
  const retried = settledAtMs.filter((at) => at >= reconnectedAtMs).length;
  t.ok(retried > 0, `${retried} of them completed only after the reconnection (retried)`);
  await ns.close();
  await second.stop();
});

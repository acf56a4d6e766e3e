// Goal: conformance against real peers without running one. The SPDK captures
// (SPDK initiator ↔ SPDK nvmf_tgt, loopback, copied from shared/reference) are
// test data:
// 1. every PDU in them, both directions, decodes under our codec's strict checks
//    (digests verified where negotiated) and re-encodes to the identical bytes;
// 2. the SPDK host's requests, replayed at our target, get well-formed answers
//    that are what the spec asks for (status, data, CNTLID, SQHD, R2T flow);
// 3. the SPDK target's answers, served back to our initiator by a replay server,
//    bring our host up (Connect, properties, Identify, discovery log).
import t from 'tap';
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminOpcode, DISCOVERY_NQN, PduType } from '../../src/backends/nvmeof/constants.js';
import { decodeStatus } from '../../src/backends/nvmeof/errors.js';
import { decodeDiscoveryEntries, decodeDiscoveryHeader } from '../../src/backends/nvmeof/discovery-log.js';
import { decodeActiveNamespaceList, decodeIdentifyController, decodeIdentifyNamespace, getNqn } from '../../src/backends/nvmeof/identify.js';
import {
  decodePdu,
  encodeCapsuleCmd,
  encodeCapsuleResp,
  encodeDataPdu,
  encodeIcReq,
  encodeIcResp,
  encodeR2t,
  FRAMING_INITIAL,
  type CapsuleCmdPdu,
  type CapsuleRespPdu,
  type DataPdu,
  type Pdu,
  PduDecoder,
  type R2tPdu,
  type PduFraming,
} from '../../src/backends/nvmeof/pdu.js';
import { decodeCqe, decodeSqe } from '../../src/backends/nvmeof/sqe.js';
import { discover } from '../../src/backends/nvmeof/discovery.js';
import { HostController } from '../../src/backends/nvmeof/host-controller.js';
import { connect } from '../../src/backends/nvmeof/initiator.js';
import { readTcpStreams, type TcpStream } from './helpers/pcap.js';
import { commandKey, loadSession, reframeAnswer, type RecordedSession } from './helpers/replay.js';
import { startTarget } from './helpers/target.js';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), '../../../test/nvmeof/fixtures');
const capture = (name: string): TcpStream[] => readTcpStreams(join(fixtures, name));

function reencode(pdu: Pdu, original: Buffer, framing: PduFraming): Buffer {
  switch (pdu.type) {
    case PduType.ICReq:
      return encodeIcReq(pdu);
    case PduType.ICResp:
      return encodeIcResp(pdu);
    case PduType.CapsuleCmd:
      return Buffer.concat(encodeCapsuleCmd(pdu.sqe, pdu.data.length ? pdu.data : undefined, framing));
    case PduType.CapsuleResp:
      return encodeCapsuleResp(pdu.cqe, framing);
    case PduType.H2CData:
    case PduType.C2HData:
      return Buffer.concat(encodeDataPdu(pdu.type, { cccid: pdu.cccid, ttag: pdu.ttag, dataoBytes: pdu.dataoBytes, last: pdu.last, success: pdu.success }, pdu.data, framing));
    case PduType.R2T:
      return encodeR2t(pdu, framing);
    default:
      return original;
  }
}

t.test('every PDU of the SPDK captures decodes strictly and re-encodes byte for byte', async (t) => {
  let checked = 0;
  let digested = 0;
  for (const name of ['spdk_identify.pcapng', 'spdk_discovery.pcapng', 'spdk_perf_digest_head.pcapng']) {
    for (const stream of capture(name)) {
      const session = loadSession(stream);
      for (const [index, raw] of [...session.hostPdus, ...session.controllerPdus].entries()) {
        const isIc = index === 0 || index === session.hostPdus.length;
        const framing = isIc ? FRAMING_INITIAL : session.framing;
        const pdu = decodePdu(raw, framing);
        if ('dataDigestOk' in pdu) t.ok(pdu.dataDigestOk, `${name}: data digest of PDU ${index} good`);
        if (framing.hdgst && !isIc) digested += 1;
        t.same(reencode(pdu, raw, framing), raw, `${name}: PDU ${index} (type ${pdu.type}) re-encodes identically`);
        checked += 1;
      }
    }
  }
  t.ok(checked > 200, `${checked} PDUs checked`);
  t.ok(digested > 40, `${digested} PDUs carried header digests that verified`);
});

interface Answer {
  key: string;
  pdus: Pdu[];
}

/**
 * Replays a recorded host stream at a target: commands are sent as recorded
 * (pipelined); H2CData waits for our target's R2T and takes its TTAG. Returns
 * our target's answers per command, in command order.
 */
async function replayHost(
  port: number,
  session: RecordedSession,
  options: { cntlid?: number; stopAfter?: number; queue?: 'admin' | 'io' } = {},
): Promise<{ answers: Answer[]; cntlid: number; socket: Socket }> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const decoder = new PduDecoder({ maxPduBytes: 1 << 24 });
  const byCid = new Map<number, Answer>();
  const order: Answer[] = [];
  const r2tByCid = new Map<number, number>();
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    try {
      for (let pdu = decoder.next(); pdu; pdu = decoder.next()) {
        if (pdu.type === PduType.ICResp) {
          decoder.framing = { hdgst: pdu.hdgst, ddgst: pdu.ddgst, dataAlignmentBytes: 4 };
          continue;
        }
        const cid = pdu.type === PduType.CapsuleResp ? pdu.cqe.readUInt16LE(12) : 'cccid' in pdu ? pdu.cccid : -1;
        if (pdu.type === PduType.R2T) r2tByCid.set(cid, pdu.ttag);
        byCid.get(cid)?.pdus.push(pdu);
      }
    } catch (error) {
      failure = error as Error;
    }
    wake?.();
  });
  const until = async (condition: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!condition()) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  const framing = session.framing;
  socket.write(session.hostPdus[0]!);
  await until(() => decoder.framing.hdgst === framing.hdgst && decoder.pendingBytes === 0, 'ICResp');
  let cntlid = options.cntlid ?? 0;
  const pdus = session.hostPdus.slice(1, options.stopAfter);
  for (const raw of pdus) {
    const pdu = decodePdu(raw, framing);
    if (pdu.type === PduType.CapsuleCmd) {
      const sqe = Buffer.from(pdu.sqe);
      const command = decodeSqe(sqe);
      // SPDK reuses a CID once its command completed: keep that order.
      const previous = byCid.get(command.cid);
      if (previous && previous.key !== `opcode:${AdminOpcode.AsyncEventRequest}`) await until(() => previous.pdus.some((p) => p.type === PduType.CapsuleResp), `completion of CID ${command.cid}`);
      const answer: Answer = { key: commandKey(sqe, options.queue), pdus: [] };
      byCid.set(command.cid, answer);
      order.push(answer);
      const data = pdu.data.length ? Buffer.from(pdu.data) : undefined;
      if (answer.key === 'fabrics:1' && data && sqe.readUInt16LE(42) > 0) data.writeUInt16LE(cntlid, 16); // I/O Connect joins our controller
      socket.write(Buffer.concat(encodeCapsuleCmd(sqe, data, framing)));
      if (answer.key === 'fabrics:1' && sqe.readUInt16LE(42) === 0) {
        await until(() => answer.pdus.length > 0, 'Connect response');
        const cqe = (answer.pdus[0] as CapsuleRespPdu).cqe;
        cntlid = cqe.readUInt16LE(0);
      }
    } else if (pdu.type === PduType.H2CData) {
      await until(() => r2tByCid.has(pdu.cccid), `R2T for CID ${pdu.cccid}`);
      const ttag = r2tByCid.get(pdu.cccid)!;
      if (pdu.last) r2tByCid.delete(pdu.cccid);
      socket.write(Buffer.concat(encodeDataPdu(PduType.H2CData, { cccid: pdu.cccid, ttag, dataoBytes: pdu.dataoBytes, last: pdu.last }, pdu.data, framing)));
    }
  }
  // Wait for every command that can complete: AERs stay outstanding, and writes whose data the truncated capture lacks.
  const complete = (answer: Answer) => answer.pdus.some((p) => p.type === PduType.CapsuleResp);
  const expectCompletion = (answer: Answer) =>
    answer.key !== `opcode:${AdminOpcode.AsyncEventRequest}` && !(answer.pdus.length === 1 && answer.pdus[0]!.type === PduType.R2T);
  await until(() => order.filter(expectCompletion).every(complete), 'all completions');
  return { answers: order, cntlid, socket };
}

function statusOf(answer: Answer): { sct: number; sc: number; dnr: boolean; cqe: ReturnType<typeof decodeCqe> } {
  const resp = answer.pdus.find((p): p is CapsuleRespPdu => p.type === PduType.CapsuleResp);
  if (!resp) throw new Error(`no response for ${answer.key}`);
  const cqe = decodeCqe(resp.cqe);
  return { ...decodeStatus(cqe.status), cqe };
}

function dataOf(answer: Answer): Buffer {
  return Buffer.concat(answer.pdus.filter((p): p is DataPdu => p.type === PduType.C2HData).map((p) => p.data));
}

t.test("SPDK host's identify session, replayed at our target", async (t) => {
  const session = loadSession(capture('spdk_identify.pcapng')[0]!);
  // The subsystem NQN SPDK connected to (Connect data, offset 256): our target serves the same one.
  const connect = decodePdu(session.hostPdus[1]!, session.framing) as CapsuleCmdPdu;
  const subsystemNqn = getNqn(connect.data, 256);
  const { port } = await startTarget(t, { nqn: subsystemNqn });
  const { answers, cntlid, socket } = await replayHost(port, session);
  t.teardown(() => socket.destroy());
  t.ok(cntlid > 0 && cntlid < 0xfff0, `Connect gave CNTLID ${cntlid}`);
  let sqhdPrevious = 0;
  for (const answer of answers) {
    if (answer.key === `opcode:${AdminOpcode.AsyncEventRequest}`) {
      t.equal(answer.pdus.length, 0, 'AER stays outstanding (no event)');
      continue;
    }
    const { cqe } = statusOf(answer);
    t.equal(cqe.sqid, 0, `${answer.key}: SQID 0`);
    t.ok(cqe.sqhd < 32, `${answer.key}: SQHD ${cqe.sqhd} within the 32-entry admin queue`);
    t.ok((cqe.sqhd - sqhdPrevious + 32) % 32 >= 1, `${answer.key}: SQHD advances (mod 32)`);
    sqhdPrevious = cqe.sqhd;
    const data = dataOf(answer);
    const c2h = answer.pdus.filter((p) => p.type === PduType.C2HData);
    if (c2h.length > 0) t.ok((c2h.at(-1) as DataPdu).last && !(c2h.at(-1) as DataPdu).success, `${answer.key}: LAST_PDU on the last C2HData, no SUCCESS`);
    const status = statusOf(answer);
    switch (answer.key) {
      case 'fabrics:4:8':
        t.equal(status.cqe.dw0, 0x00010400, 'VS = 1.4');
        break;
      case 'fabrics:4:0': {
        const cap = BigInt(status.cqe.dw0) | (BigInt(status.cqe.dw1) << 32n);
        t.equal(Number(cap & 0xffffn), 127, 'CAP.MQES');
        t.equal(Number((cap >> 37n) & 0xffn), 1, 'CAP.CSS = NVM only');
        t.equal(Number((cap >> 48n) & 0xfn), 0, 'CAP.MPSMIN = 4 KiB');
        break;
      }
      case 'identify:1:0': {
        t.equal(data.length, 4096);
        const id = decodeIdentifyController(data);
        t.equal(id.cntlid, cntlid, 'Identify CNTLID = Connect CNTLID');
        t.match(id, { sqes: 0x66, cqes: 0x44, icdoff: 0, cntrltype: 1, subnqn: subsystemNqn });
        t.ok(id.kas > 0 && id.maxcmd > 0 && id.ioccsz >= 4 && id.iorcsz >= 1 && (id.sgls & 3) !== 0, 'Linux host checks pass');
        break;
      }
      case 'identify:6:0':
        t.same(data, Buffer.alloc(4096), 'CNS 6 (NVM command set controller data): a zero page, no limits');
        break;
      case 'identify:2:0':
        t.same(decodeActiveNamespaceList(data), [1], 'active namespace list');
        break;
      case 'identify:0:1': {
        const ns = decodeIdentifyNamespace(data);
        t.equal(ns.blockSizeBytes, 512);
        t.equal(ns.nsze, BigInt((64 * 1024 * 1024) / 512));
        break;
      }
      case 'identify:0:2':
      case 'identify:3:2':
        t.match(status, { sct: 0, sc: 0x0b, dnr: true }, `${answer.key}: NSID 2 above NN → Invalid Namespace or Format`);
        break;
      case 'identify:3:1':
        t.equal(data[0], 2, 'descriptor list starts with the NGUID');
        break;
      case 'features:9:7':
        t.equal(status.sc, 0, 'Set Features Number of Queues');
        break;
      case 'features:10:15':
        t.equal(status.cqe.dw0, 10000, 'Get Features KATO echoes the Connect KATO');
        break;
      default:
        if (answer.key.startsWith('log:')) t.equal(data.length, Number(answer.key.split(':')[2]), `${answer.key}: exactly the bytes asked for`);
    }
    if (!['identify:0:2', 'identify:3:2'].includes(answer.key)) t.equal(status.sc, 0, `${answer.key}: success`);
  }
  const lastCsts = answers.filter((a) => a.key === 'fabrics:4:28').at(-1)!;
  t.ok([1, 2].includes((statusOf(lastCsts).cqe.dw0 >> 2) & 3), 'CSTS.SHST after CC.SHN is in progress or complete');
});

t.test("SPDK host's discovery session, replayed at our target", async (t) => {
  const session = loadSession(capture('spdk_discovery.pcapng')[0]!);
  const { port } = await startTarget(t);
  const { answers, socket } = await replayHost(port, session);
  t.teardown(() => socket.destroy());
  const logs = answers.filter((a) => a.key.startsWith('log:112:'));
  t.equal(logs.length, 3, 'three discovery log reads');
  const header = decodeDiscoveryHeader(dataOf(logs[0]!));
  t.equal(header.records, 2n, 'two records: the discovery subsystem and the NVM subsystem');
  // SPDK's second read asked for exactly 1024 + 2 × 1024 bytes, which is what our log holds too.
  const entries = decodeDiscoveryEntries(dataOf(logs[1]!));
  t.same(entries.map((e) => [e.subtype, e.subnqn, e.trtype, e.trsvcid]), [
    [3, DISCOVERY_NQN, 3, String(port)],
    [2, 'nqn.2026-01.io.strata.test:ns1', 3, String(port)],
  ]);
  t.equal(dataOf(logs[2]!).readBigUInt64LE(0), header.generation, 'GENCTR stable across reads');
  const identify = answers.find((a) => a.key === 'identify:1:0')!;
  t.equal(decodeIdentifyController(dataOf(identify)).cntrltype, 2, 'discovery controller type');
  for (const answer of answers) if (answer.pdus.length) t.equal(statusOf(answer).sc, 0, `${answer.key}: success`);
});

t.test("SPDK host's perf session (digests, R2T writes, reads), replayed at our target", async (t) => {
  const [adminStream, ioStream] = capture('spdk_perf_digest_head.pcapng');
  const admin = loadSession(adminStream!);
  const io = loadSession(ioStream!, 'io');
  t.ok(admin.framing.hdgst && admin.framing.ddgst, 'the capture negotiated both digests');
  const connectData = (decodePdu(admin.hostPdus[1]!, admin.framing) as CapsuleCmdPdu).data;
  // Export a namespace with the block size SPDK's namespace had.
  const spdkNamespace = admin.answers.get('identify:0:1')![0]!.filter((p): p is DataPdu => p.type === PduType.C2HData);
  const blockSizeBytes = decodeIdentifyNamespace(Buffer.concat(spdkNamespace.map((p) => p.data))).blockSizeBytes;
  const { port, backing } = await startTarget(t, { nqn: getNqn(connectData, 256), blockSizeBytes });
  const adminRun = await replayHost(port, admin);
  t.teardown(() => adminRun.socket.destroy());
  const ioRun = await replayHost(port, io, { cntlid: adminRun.cntlid, queue: 'io' });
  t.teardown(() => ioRun.socket.destroy());
  t.equal(statusOf(ioRun.answers[0]!).sc, 0, 'I/O Connect joins the controller');
  t.equal(statusOf(ioRun.answers[0]!).cqe.sqid, 1, 'I/O responses carry SQID 1');
  let reads = 0;
  let writes = 0;
  const ioPdus = io.hostPdus.slice(1).map((raw) => decodePdu(raw, io.framing));
  for (const answer of ioRun.answers.slice(1)) {
    const r2t = answer.pdus.find((p): p is R2tPdu => p.type === PduType.R2T);
    if (answer.key === 'io:1') {
      t.ok(r2t && r2t.r2toBytes === 0 && r2t.r2tlBytes === 16384, 'a 16 KiB write without in-capsule data gets one R2T for all of it');
      if (answer.pdus.some((p) => p.type === PduType.CapsuleResp)) {
        t.equal(statusOf(answer).sc, 0, 'write completes');
        writes += 1;
      }
    } else if (answer.key === 'io:2') {
      t.equal(dataOf(answer).length, 16384, 'read returns 16 KiB in C2HData');
      t.equal(statusOf(answer).sc, 0);
      reads += 1;
    }
  }
  t.ok(reads >= 5 && writes >= 5, `${reads} reads and ${writes} writes answered`);
  // The data SPDK wrote is on our backing file where the LBA says.
  const firstWriteIndex = ioPdus.findIndex((p) => p.type === PduType.CapsuleCmd && p.sqe[0] === 1);
  const firstWrite = ioPdus[firstWriteIndex] as CapsuleCmdPdu;
  const slba = decodeSqe(firstWrite.sqe).cdw[0];
  const cid = decodeSqe(firstWrite.sqe).cid;
  // Its data: the H2CData PDUs for its CID after it, up to LAST_PDU (CIDs are reused later).
  const written: Buffer[] = [];
  for (const p of ioPdus.slice(firstWriteIndex + 1)) {
    if (p.type !== PduType.H2CData || p.cccid !== cid) continue;
    written.push(p.data);
    if (p.last) break;
  }
  const writtenBytes = Buffer.concat(written);
  t.equal(writtenBytes.length, 16384);
  t.same(await backing.read(slba * blockSizeBytes, writtenBytes.length), writtenBytes, 'the bytes of the first replayed write are on the backing file');
});

/** A server that answers our initiator with the recorded SPDK target's bytes (CID rewritten). */
async function replayTarget(t: { teardown(fn: () => unknown): void }, sessions: RecordedSession[]): Promise<{ port: number; asked: string[] }> {
  const asked: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    // The first connection gets the first recorded session (admin), later ones the next (I/O).
    const session = sessions[Math.min(connections++, sessions.length - 1)]!;
    const used = new Map<string, number>();
    const decoder = new PduDecoder({ maxPduBytes: 1 << 20 });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let pdu = decoder.next(); pdu; pdu = decoder.next()) {
        if (pdu.type === PduType.ICReq) {
          socket.write(session.controllerPdus[0]!);
          decoder.framing = session.framing;
          continue;
        }
        if (pdu.type !== PduType.CapsuleCmd) continue;
        const key = commandKey(pdu.sqe, session.queue);
        asked.push(key);
        const recorded = session.answers.get(key);
        if (!recorded) continue; // never answered: the initiator's timeout would fire
        const index = used.get(key) ?? 0;
        used.set(key, index + 1);
        const group = recorded[Math.min(index, recorded.length - 1)]!;
        socket.write(Buffer.concat(reframeAnswer(group, decodeSqe(pdu.sqe).cid, session.framing)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, asked };
}

t.test("SPDK target's discovery answers drive our discover()", async (t) => {
  const session = loadSession(capture('spdk_discovery.pcapng')[0]!);
  const { port, asked } = await replayTarget(t, [session]);
  const entries = await discover({ host: '127.0.0.1', port, commandTimeoutMs: 3000 });
  t.same(entries.map((e) => [e.subtype, e.trtype, e.adrfam, e.subnqn]), [
    [3, 3, 1, DISCOVERY_NQN],
    [2, 3, 1, 'nqn.2016-06.io.spdk:cnode1'],
  ], "the SPDK target's discovery log, decoded");
  t.equal(entries[1]!.trsvcid, '4420');
  t.equal(entries[1]!.traddr, '127.0.0.1');
  t.ok(asked.includes('log:112:1024') && asked.includes('log:112:3072'), `asked ${asked.join(' ')}`);
});

t.test("SPDK target's identify answers bring our host controller up", async (t) => {
  const session = loadSession(capture('spdk_identify.pcapng')[0]!);
  const { port } = await replayTarget(t, [session]);
  const controller = await HostController.connect({
    host: '127.0.0.1',
    port,
    subsystemNqn: 'nqn.2016-06.io.spdk:cnode1',
    hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001',
    hostId: Buffer.alloc(16, 1),
    hdgst: false,
    ddgst: false,
    ioQueues: 0,
    queueEntries: 32,
    katoMs: 0,
    commandTimeoutMs: 3000,
    connectTimeoutMs: 3000,
  });
  t.teardown(() => controller.close({ shutdownTimeoutMs: 1000 }));
  t.match(controller.identity, { sqes: 0x66, cqes: 0x44, cntrltype: 1, subnqn: 'nqn.2016-06.io.spdk:cnode1' });
  t.equal(controller.identity!.cntlid, controller.cntlid, 'SPDK Identify CNTLID = its Connect CNTLID');
  t.ok(controller.maxTransferBytes >= 4096, `MDTS → ${controller.maxTransferBytes} bytes`);
  const nsids = await controller.activeNamespaces();
  t.ok(nsids.length >= 1 && nsids[0] === 1, `active namespaces ${nsids.join(',')}`);
  const ns = await controller.identifyNamespace(1);
  t.ok(ns.blockSizeBytes === 512 || ns.blockSizeBytes === 4096, `block size ${ns.blockSizeBytes}`);
  t.ok(ns.nsze > 0n, `NSZE ${ns.nsze}`);
});

t.test("SPDK target's perf answers (digests) carry our connect() and a read through the I/O queue", async (t) => {
  const [adminStream, ioStream] = capture('spdk_perf_digest_head.pcapng');
  const admin = loadSession(adminStream!);
  const io = loadSession(ioStream!, 'io');
  const { port, asked } = await replayTarget(t, [admin, io]);
  const ns = await connect(`nvme-tcp://127.0.0.1:${port}/nqn.2016-06.io.spdk:cnode1?hdgst=1&ddgst=1`, {
    ioQueues: 1,
    katoMs: 0,
    commandTimeoutMs: 3000,
    reconnect: { waitMs: 1000 },
  });
  // The truncated capture has no shutdown answers: do not wait for CSTS.SHST.
  t.teardown(() => ns.close({ shutdownTimeoutMs: 200 }));
  t.ok(ns.blockSizeBytes === 512 || ns.blockSizeBytes === 4096, `namespace from SPDK's Identify: ${ns.sizeBytes} bytes, ${ns.blockSizeBytes}-byte blocks`);
  // Read what SPDK's first recorded read read; the replay answers with SPDK's digest-protected C2HData.
  const readCommand = io.hostPdus.map((raw) => decodePdu(raw, io.framing)).find((p): p is CapsuleCmdPdu => p.type === PduType.CapsuleCmd && p.sqe[0] === 2)!;
  const slba = decodeSqe(readCommand.sqe).cdw[0];
  const recorded = io.answers.get('io:2')![0]!.filter((p): p is DataPdu => p.type === PduType.C2HData);
  const expected = Buffer.concat(recorded.map((p) => p.data));
  t.equal(expected.length, 16384);
  const data = await ns.read(slba * ns.blockSizeBytes, expected.length);
  t.same(data, expected, "our initiator returns the bytes of SPDK's C2HData, digests verified");
  t.ok(asked.includes('features:9:7') && asked.includes('io:2'), `asked: ${asked.join(' ')}`);
});

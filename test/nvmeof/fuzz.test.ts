// Goal: nothing a peer sends crashes the target or leaks its state. A short,
// time-bounded fuzz: (1) the PDU decoder on mutated PDUs may only return a PDU
// or throw PduError; (2) the live target gets connections carrying valid
// sessions with random mutations and pure garbage; it must answer with PDUs that
// decode, never throw, release every controller, and still serve a clean host
// afterwards. The seed is printed; NVMEOF_FUZZ_SEED=... replays a run.
import t from 'tap';
import { connect as tcpConnect } from 'node:net';
import { FabricsType, Fes, PduType } from '../../src/backends/nvmeof/constants.js';
import { PduError } from '../../src/backends/nvmeof/errors.js';
import {
  decodePdu,
  encodeCapsuleCmd,
  encodeDataPdu,
  encodeIcReq,
  PduDecoder,
  type PduFraming,
} from '../../src/backends/nvmeof/pdu.js';
import { encodeFabricsSqe, encodeSqe } from '../../src/backends/nvmeof/sqe.js';
import { connect } from '../../src/backends/nvmeof/index.js';
import { pattern, startTarget, TEST_NQN } from './helpers/target.js';

const seed = Number(process.env.NVMEOF_FUZZ_SEED ?? Date.now() % 2 ** 31);
let state = seed || 1;
function random(limit: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % limit;
}

function connectCapsule(framing: PduFraming, qid: number, cntlid: number): Buffer {
  const specific = Buffer.alloc(24);
  specific.writeUInt16LE(qid, 2);
  specific.writeUInt16LE(31, 4);
  specific.writeUInt32LE(random(2) ? 0 : 2000, 8);
  const data = Buffer.alloc(1024);
  data.writeUInt16LE(cntlid, 16);
  data.write(TEST_NQN, 256);
  data.write('nqn.2014-08.org.nvmexpress:uuid:fuzz', 512);
  return Buffer.concat(encodeCapsuleCmd(encodeFabricsSqe({ cid: 0, fctype: FabricsType.Connect, sgl: { id: 1, address: 0n, lengthBytes: 1024 }, specific }), data, framing));
}

/** Valid PDUs a host could send after the IC exchange: the fuzz mutates these. */
function corpus(framing: PduFraming): Buffer[] {
  const cmd = (fields: Parameters<typeof encodeSqe>[0], data?: Buffer) => Buffer.concat(encodeCapsuleCmd(encodeSqe(fields), data, framing));
  const property = (fctype: number, offset: number, value: number) => {
    const specific = Buffer.alloc(24);
    specific[0] = 1;
    specific.writeUInt32LE(offset, 4);
    specific.writeUInt32LE(value, 8);
    return Buffer.concat(encodeCapsuleCmd(encodeFabricsSqe({ cid: random(8), fctype, specific }), undefined, framing));
  };
  return [
    connectCapsule(framing, 0, 0xffff),
    connectCapsule(framing, 1, 1 + random(3)),
    property(FabricsType.PropertySet, 0x14, 0x00460001),
    property(FabricsType.PropertyGet, [0, 8, 0x14, 0x1c, 0x40][random(5)]!, 0),
    cmd({ opcode: 0x06, cid: random(8), nsid: random(3), cdw: [random(8)], sgl: { id: 0x5a, address: 0n, lengthBytes: 4096 } }),
    cmd({ opcode: 0x09, cid: random(8), cdw: [7, random(2 ** 32)] }),
    cmd({ opcode: 0x02, cid: random(8), cdw: [0x70 | (random(4096) << 16)], sgl: { id: 0x5a, address: 0n, lengthBytes: 4096 } }),
    cmd({ opcode: 0x0c, cid: random(8) }),
    cmd({ opcode: 0x18, cid: random(8) }),
    cmd({ opcode: 0x01, cid: random(8), nsid: 1, cdw: [random(4096), 0, random(4)], sgl: { id: 1, address: 0n, lengthBytes: 512 } }, Buffer.alloc(512, 1)),
    cmd({ opcode: 0x01, cid: random(8), nsid: 1, cdw: [random(4096), 0, 63], sgl: { id: 0x5a, address: 0n, lengthBytes: 32768 } }),
    cmd({ opcode: 0x02, cid: random(8), nsid: 1, cdw: [random(4096), 0, random(16)], sgl: { id: 0x5a, address: 0n, lengthBytes: 512 * (1 + random(16)) } }),
    cmd({ opcode: 0x00, cid: random(8), nsid: 1 }),
    Buffer.concat(encodeDataPdu(PduType.H2CData, { cccid: random(8), ttag: random(4), dataoBytes: random(2) * 16384, last: random(2) === 1 }, Buffer.alloc(16384, 2), framing)),
  ];
}

function mutate(pdu: Buffer): Buffer {
  const out = Buffer.from(pdu);
  switch (random(6)) {
    case 0: // flip bytes anywhere
      for (let i = random(4) + 1; i > 0; i--) out[random(out.length)] ^= 1 << random(8);
      return out;
    case 1: // flip header bytes only
      out[random(Math.min(out.length, 72))] = random(256);
      return out;
    case 2: // wrong PLEN
      out.writeUInt32LE([0, 7, 8, out.length - 1, out.length + 1, 2 ** 32 - 1, random(2 ** 20)][random(7)]! >>> 0, 4);
      return out;
    case 3: // truncate
      return out.subarray(0, random(out.length));
    case 4: // other type, flags, HLEN or PDO
      out[random(4)] = random(256);
      return out;
    default:
      return out; // valid, possibly out of sequence
  }
}

t.test(`decoder: mutated PDUs give a PDU or a PduError, nothing else (seed ${seed})`, async (t) => {
  let decoded = 0;
  let refused = 0;
  const deadline = Date.now() + 2000;
  for (let i = 0; i < 40_000 && Date.now() < deadline; i++) {
    const framing: PduFraming = { hdgst: random(2) === 1, ddgst: random(2) === 1, dataAlignmentBytes: 4 };
    const pdus = corpus(framing);
    const bytes = mutate(pdus[random(pdus.length)]!);
    try {
      decodePdu(bytes, framing, { maxPduBytes: 1 << 20 });
      decoded += 1;
    } catch (error) {
      if (!(error instanceof PduError)) {
        t.fail(`non-PduError ${(error as Error).name}: ${(error as Error).message} on ${bytes.subarray(0, 16).toString('hex')}`);
        return;
      }
      refused += 1;
    }
  }
  t.ok(refused > 1000 && decoded > 100, `${decoded} decoded, ${refused} refused with PduError`);
});

t.test(`target: mutated sessions and garbage never crash it or leak controllers (seed ${seed})`, async (t) => {
  const { port, target, url } = await startTarget(t, { sizeBytes: 4 * 1024 * 1024 });
  const fesSeen = new Map<number, number>();
  let answersDecoded = 0;
  let sessions = 0;
  const runSession = async () => {
    const framing: PduFraming = { hdgst: random(2) === 1, ddgst: random(2) === 1, dataAlignmentBytes: 4 };
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    const decoder = new PduDecoder({ maxPduBytes: 1 << 20 });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let broken = false;
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      try {
        for (let pdu = decoder.next(); pdu; pdu = decoder.next()) {
          answersDecoded += 1;
          if (pdu.type === PduType.ICResp) decoder.framing = framing;
          if (pdu.type === PduType.C2HTermReq) fesSeen.set(pdu.fes, (fesSeen.get(pdu.fes) ?? 0) + 1);
        }
      } catch (error) {
        broken = true;
        t.fail(`the target sent a PDU our decoder refuses: ${(error as Error).message}`);
      }
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    const parts: Buffer[] = [];
    if (random(8) === 0) {
      parts.push(Buffer.from(Array.from({ length: random(300) + 1 }, () => random(256))));
    } else {
      const icReq = encodeIcReq({ pfv: 0, hpda: 0, hdgst: framing.hdgst, ddgst: framing.ddgst, maxr2t: 0 });
      parts.push(random(10) === 0 ? mutate(icReq) : icReq);
      const pdus = corpus(framing);
      parts.push(connectCapsule(framing, 0, 0xffff));
      for (let n = random(12); n > 0; n--) {
        const pdu = pdus[random(pdus.length)]!;
        parts.push(random(3) === 0 ? mutate(pdu) : pdu);
      }
    }
    const wire = Buffer.concat(parts);
    // Random segmentation, to exercise reassembly.
    for (let offset = 0; offset < wire.length && !socket.destroyed; ) {
      const size = 1 + random(Math.max(1, wire.length - offset));
      socket.write(wire.subarray(offset, offset + size));
      offset += size;
    }
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 40))]);
    socket.destroy();
    await closed;
    sessions += 1;
    return broken;
  };
  const deadline = Date.now() + 6000;
  while (Date.now() < deadline) {
    const results = await Promise.all(Array.from({ length: 6 }, runSession));
    if (results.some(Boolean)) break;
  }
  t.ok(sessions > 50, `${sessions} fuzz sessions`);
  t.ok(answersDecoded > sessions, `${answersDecoded} answers from the target decoded`);
  t.ok((fesSeen.get(Fes.InvalidHeaderField) ?? 0) > 0, `TermReqs by FES: ${JSON.stringify([...fesSeen])}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(target.connectionCount, 0, 'every fuzz connection closed');
  t.equal(target.registry.size, 0, 'every controller released');
  const ns = await connect(url(), { ioQueues: 2 });
  t.teardown(() => ns.close());
  await ns.write(4096, pattern(8192, 1));
  t.same(await ns.read(4096, 8192), pattern(8192, 1), 'a clean host is served after the fuzz');
});

// Goal: the PDU codec frames exactly what the transport binding specifies and
// refuses what it forbids: PDO/PLEN with and without digests and alignment,
// CRC32C digests (the binding's check value), reassembly across every split
// point, and each header check mapped to the FES/FEI a TermReq would report.
import t from 'tap';
import { Fes, PduType } from '../../src/backends/nvmeof/constants.js';
import { PduError } from '../../src/backends/nvmeof/errors.js';
import {
  crc32c,
  decodePdu,
  encodeCapsuleCmd,
  encodeCapsuleResp,
  encodeDataPdu,
  encodeIcReq,
  encodeR2t,
  encodeTermReq,
  FRAMING_INITIAL,
  type CapsuleCmdPdu,
  type CapsuleRespPdu,
  type DataPdu,
  PduDecoder,
  type TermReqPdu,
  type PduFraming,
} from '../../src/backends/nvmeof/pdu.js';
import { decodeCqe, decodeSqe, encodeCqe, encodeSqe } from '../../src/backends/nvmeof/sqe.js';
import { decodeStatus, encodeStatus } from '../../src/backends/nvmeof/errors.js';

const digests: PduFraming = { hdgst: true, ddgst: true, dataAlignmentBytes: 4 };

t.test('CRC32C is the Castagnoli check value', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

t.test('framing: PDO and PLEN with and without digests and with CPDA padding', async (t) => {
  const sqe = encodeSqe({ opcode: 1, cid: 7, nsid: 1 });
  const data = Buffer.alloc(512, 0xab);
  const plain = Buffer.concat(encodeCapsuleCmd(sqe, data, FRAMING_INITIAL));
  t.match([plain[2], plain[3], plain.readUInt32LE(4), plain[1]], [72, 72, 72 + 512, 0]);
  const digested = Buffer.concat(encodeCapsuleCmd(sqe, data, digests));
  t.match([digested[3], digested.readUInt32LE(4), digested[1]], [76, 76 + 512 + 4, 3], 'PDO 76 as on the wire');
  t.equal(digested.readUInt32LE(72), crc32c(digested.subarray(0, 72)), 'HDGST covers the 72 header bytes');
  t.equal(digested.readUInt32LE(76 + 512), crc32c(data), 'DDGST covers the data only');
  const aligned = Buffer.concat(encodeCapsuleCmd(sqe, data, { hdgst: true, ddgst: false, dataAlignmentBytes: 32 }));
  t.equal(aligned[3], 96, 'PDO rounded up to the 32-byte CPDA unit, zero padding after the digest');
  t.same(aligned.subarray(76, 96), Buffer.alloc(20));
  const decoded = decodePdu(aligned, { hdgst: true, ddgst: false, dataAlignmentBytes: 32 }) as CapsuleCmdPdu;
  t.same(decoded.data, data, 'the decoder finds the data at PDO');
  const noData = encodeCapsuleResp(encodeCqe({ dw0: 1, dw1: 2, sqhd: 3, sqid: 4, cid: 5, status: encodeStatus(1, 0x82, true) }), digests);
  t.match([noData.length, noData[3], noData[1]], [28, 0, 1], 'no PDO and no DDGST without data');
  const cqe = decodeCqe((decodePdu(noData, digests) as CapsuleRespPdu).cqe);
  t.match(cqe, { dw0: 1, dw1: 2, sqhd: 3, sqid: 4, cid: 5 });
  t.match(decodeStatus(cqe.status), { sct: 1, sc: 0x82, dnr: true, more: false });
  const sqeBack = decodeSqe(sqe);
  t.match(sqeBack, { opcode: 1, flags: 0x40, cid: 7, nsid: 1, sgl: { id: 0x5a, lengthBytes: 0 } });
});

t.test('the stream decoder reassembles PDUs split at every byte', async (t) => {
  const stream = Buffer.concat([
    encodeR2t({ cccid: 1, ttag: 2, r2toBytes: 0, r2tlBytes: 8192 }, digests),
    ...encodeDataPdu(PduType.C2HData, { cccid: 3, dataoBytes: 0, last: true }, Buffer.alloc(300, 7), digests),
    encodeCapsuleResp(Buffer.alloc(16), digests),
  ]);
  for (let split = 0; split <= stream.length; split += 1) {
    const decoder = new PduDecoder({ maxPduBytes: 4096 });
    decoder.framing = digests;
    const types: number[] = [];
    for (const piece of [stream.subarray(0, split), stream.subarray(split)]) {
      decoder.push(piece);
      for (let pdu = decoder.next(); pdu; pdu = decoder.next()) types.push(pdu.type);
    }
    if (types.join() !== '9,7,5') t.fail(`split at ${split} gave ${types.join()}`);
  }
  t.pass('every split point decodes to R2T, C2HData, CapsuleResp');
});

function expectPduError(t: { ok: (v: unknown, m: string) => void; fail: (m: string) => void; match: (a: unknown, b: unknown, m: string) => void }, bytes: Buffer, framing: PduFraming, fes: number, fei: number, what: string) {
  try {
    decodePdu(bytes, framing);
    t.fail(`${what}: accepted`);
  } catch (error) {
    t.ok(error instanceof PduError, `${what}: PduError`);
    t.match(error, { fes, fei }, `${what}: FES ${fes} FEI ${fei}`);
  }
}

t.test('header checks map to FES/FEI', async (t) => {
  const resp = encodeCapsuleResp(Buffer.alloc(16), digests);
  const badDigest = Buffer.from(resp);
  badDigest[10] ^= 1;
  expectPduError(t, badDigest, digests, Fes.HeaderDigestError, resp.readUInt32LE(24), 'header digest mismatch (FEI = received digest)');
  const badHlen = Buffer.from(resp);
  badHlen[2] = 30;
  expectPduError(t, badHlen, digests, Fes.InvalidHeaderField, 2, 'wrong HLEN');
  const unknown = Buffer.from(resp);
  unknown[0] = 0x08;
  expectPduError(t, unknown, digests, Fes.InvalidHeaderField, 0, 'PDU type 0x08');
  expectPduError(t, encodeCapsuleResp(Buffer.alloc(16), FRAMING_INITIAL), digests, Fes.InvalidHeaderField, 1, 'HDGST flag missing although negotiated');
  const icReq = encodeIcReq({ pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0 });
  const longIc = Buffer.concat([icReq, Buffer.alloc(4)]);
  longIc.writeUInt32LE(132, 4);
  expectPduError(t, longIc, FRAMING_INITIAL, Fes.InvalidHeaderField, 4, 'ICReq PLEN ≠ 128');
  const data = Buffer.concat(encodeDataPdu(PduType.H2CData, { cccid: 1, ttag: 1, dataoBytes: 0, last: true }, Buffer.alloc(64), FRAMING_INITIAL));
  const badDatal = Buffer.from(data);
  badDatal.writeUInt32LE(65, 16);
  expectPduError(t, badDatal, FRAMING_INITIAL, Fes.InvalidHeaderField, 16, 'DATAL ≠ carried data');
  const badPdo = Buffer.from(data);
  badPdo[3] = 20;
  expectPduError(t, badPdo, FRAMING_INITIAL, Fes.InvalidHeaderField, 3, 'PDO inside the header');
  const success = Buffer.from(data);
  success[1] = 0x08;
  expectPduError(t, success, FRAMING_INITIAL, Fes.InvalidHeaderField, 1, 'SUCCESS without LAST_PDU');
  const decoder = new PduDecoder({ maxPduBytes: 1000 });
  const huge = Buffer.from(resp.subarray(0, 8));
  huge[1] = 0;
  huge.writeUInt32LE(2 ** 31, 4);
  decoder.push(huge);
  t.throws(() => decoder.next(), { name: 'PduError', fes: Fes.DataLimitExceeded, fei: 4 } as unknown as Error, 'an oversized PLEN is refused from the common header alone');
});

t.test('data digest mismatch is reported on the PDU, not thrown', async (t) => {
  const pdu = Buffer.concat(encodeDataPdu(PduType.C2HData, { cccid: 1, dataoBytes: 0, last: true }, Buffer.alloc(128, 1), digests));
  pdu[40] ^= 0xff;
  const decoded = decodePdu(pdu, digests) as DataPdu;
  t.equal(decoded.dataDigestOk, false);
});

t.test('TermReq carries the offending header, never digested, PLEN ≤ 152', async (t) => {
  const term = encodeTermReq(PduType.C2HTermReq, { fes: Fes.HeaderDigestError, fei: 0xdeadbeef, offendingHeader: Buffer.alloc(200, 9) });
  t.equal(term.length, 152);
  const decoded = decodePdu(term, digests) as TermReqPdu;
  t.match(decoded, { fes: 3, fei: 0xdeadbeef });
  t.equal(decoded.data.length, 128);
});

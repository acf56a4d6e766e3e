// Turns a recorded SPDK session into material the tests can drive:
// - the host's PDUs, in order, to replay against our target;
// - the controller's answers grouped by command (C2HData…, CapsuleResp), keyed
//   by what the command asked for, so a replay server can answer our initiator
//   with SPDK's own bytes (only the CID is rewritten).
import { PduType } from '../../../src/backends/nvmeof/constants.js';
import {
  decodePdu,
  encodeCapsuleResp,
  encodeDataPdu,
  FRAMING_INITIAL,
  type Pdu,
  PduDecoder,
  type PduFraming,
} from '../../../src/backends/nvmeof/pdu.js';
import { decodeSqe } from '../../../src/backends/nvmeof/sqe.js';
import { splitPdus, type TcpStream } from './pcap.js';

export interface RecordedSession {
  hostPdus: Buffer[];
  controllerPdus: Buffer[];
  /** Framing both sides used after the IC exchange (CPDA = HPDA = 0 in all captures). */
  framing: PduFraming;
  /** Controller answers per command key, in the order they were given. */
  answers: Map<string, Pdu[][]>;
  /** Admin or I/O queue: decides how opcodes are keyed (0x02 is Get Log Page or Read). */
  queue: 'admin' | 'io';
}

/** What a command asks for, independent of its CID. */
export function commandKey(sqe: Buffer, queue: 'admin' | 'io' = 'admin'): string {
  const command = decodeSqe(sqe);
  if (queue === 'io' && command.opcode !== 0x7f) return `io:${command.opcode}`;
  switch (command.opcode) {
    case 0x7f: {
      const fctype = sqe[4]!;
      return fctype === 0x00 || fctype === 0x04 ? `fabrics:${fctype}:${sqe.readUInt32LE(44)}` : `fabrics:${fctype}`;
    }
    case 0x06:
      return `identify:${command.cdw[0] & 0xff}:${command.nsid}`;
    case 0x09:
    case 0x0a:
      return `features:${command.opcode}:${command.cdw[0] & 0xff}`;
    case 0x02:
      return `log:${command.cdw[0] & 0xff}:${((command.cdw[0] >>> 16) + 1) * 4}`;
    default:
      return `opcode:${command.opcode}`;
  }
}

export function loadSession(stream: TcpStream, queue: 'admin' | 'io' = 'admin'): RecordedSession {
  const hostPdus = splitPdus(stream.toServer);
  const controllerPdus = splitPdus(stream.toClient);
  const icReq = decodePdu(hostPdus[0]!, FRAMING_INITIAL);
  const icResp = decodePdu(controllerPdus[0]!, FRAMING_INITIAL);
  if (icReq.type !== PduType.ICReq || icResp.type !== PduType.ICResp) throw new Error('session does not start with the IC exchange');
  const framing: PduFraming = { hdgst: icResp.hdgst, ddgst: icResp.ddgst, dataAlignmentBytes: 4 };
  // Walk both directions in capture order: SPDK reuses CIDs, so a response
  // belongs to the latest command with its CID sent before it.
  const keyByCid = new Map<number, string>();
  const answers = new Map<string, Pdu[][]>();
  const open = new Map<number, Pdu[]>();
  const hostSplitter = new PduDecoder({ maxPduBytes: 1 << 24 });
  const controllerSplitter = new PduDecoder({ maxPduBytes: 1 << 24 });
  for (const segment of stream.segments) {
    const splitter = segment.fromClient ? hostSplitter : controllerSplitter;
    splitter.push(segment.payload);
    for (let pdu = splitter.next(); pdu; pdu = splitter.next()) {
      if (pdu.type === PduType.ICReq || pdu.type === PduType.ICResp) {
        splitter.framing = framing;
        continue;
      }
      if (pdu.type === PduType.CapsuleCmd) {
        keyByCid.set(decodeSqe(pdu.sqe).cid, commandKey(pdu.sqe, queue));
        continue;
      }
      if (segment.fromClient) continue;
      const cid = pdu.type === PduType.CapsuleResp ? pdu.cqe.readUInt16LE(12) : pdu.type === PduType.C2HData || pdu.type === PduType.R2T ? pdu.cccid : -1;
      const group = open.get(cid) ?? [];
      group.push(pdu);
      open.set(cid, group);
      if (pdu.type === PduType.CapsuleResp) {
        open.delete(cid);
        const key = keyByCid.get(cid) ?? `unknown:${cid}`;
        answers.set(key, [...(answers.get(key) ?? []), group]);
      }
    }
  }
  return { hostPdus, controllerPdus, framing, answers, queue };
}

/** Re-frames a recorded answer for another CID (header digests recomputed). */
export function reframeAnswer(group: Pdu[], cid: number, framing: PduFraming): Buffer[] {
  const out: Buffer[] = [];
  for (const pdu of group) {
    if (pdu.type === PduType.C2HData) {
      out.push(...encodeDataPdu(PduType.C2HData, { cccid: cid, dataoBytes: pdu.dataoBytes, last: pdu.last, success: pdu.success }, pdu.data, framing));
    } else if (pdu.type === PduType.CapsuleResp) {
      const cqe = Buffer.from(pdu.cqe);
      cqe.writeUInt16LE(cid, 12);
      out.push(encodeCapsuleResp(cqe, framing));
    } else {
      throw new Error(`cannot re-frame PDU type ${pdu.type}`);
    }
  }
  return out;
}

// One TCP connection of the target = one queue pair. Runs the NVMe/TCP state
// machine: ICReq/ICResp, then Fabrics Connect (which creates a controller on
// QID 0 or joins one on an I/O QID), then commands: admin commands through
// admin.ts, Read/Write/Flush through io.ts, with R2T/H2CData for writes that do
// not travel in the capsule and C2HData for controller-to-host data.
//
// Robustness invariant: nothing a peer sends can throw out of this class. A
// transport violation gets a C2HTermReq with the right FES and the connection is
// closed; a bad command gets an NVMe status; an internal failure closes the
// connection.
import type { Socket } from 'node:net';
import { BatchedWriter } from '../batched-writer.js';
import {
  AdminOpcode,
  CNTLID_DYNAMIC,
  FabricsStatus,
  FabricsType,
  Fes,
  GenericStatus,
  IoOpcode,
  PduType,
  Sct,
  SglId,
} from '../constants.js';
import { PduError } from '../errors.js';
import { getNqn } from '../identify.js';
import {
  type CapsuleCmdPdu,
  type DataPdu,
  encodeCapsuleResp,
  encodeDataPdu,
  encodeIcResp,
  encodeR2t,
  encodeTermReq,
  type IcReqPdu,
  type Pdu,
  PduDecoder,
  type PduFraming,
  pdaToAlignmentBytes,
  FRAMING_INITIAL,
} from '../pdu.js';
import { decodeSqe, encodeCqe, fctypeOf, type Sqe } from '../sqe.js';
import { type CommandResult, executeAdmin, failure, type TargetIdentity } from './admin.js';
import { type ControllerMember, type ControllerRegistry, TARGET_LIMITS, type TargetController } from './controller.js';
import { type IoPlan, isPlan, planIo, runFlush, runRead, runWrite } from './io.js';

export interface ConnectionEnvironment {
  registry: ControllerRegistry;
  /** MAXH2CDATA announced in the ICResp (≥ 4096, a multiple of 4). */
  maxH2CDataBytes: number;
  identity: TargetIdentity;
  log: (message: string) => void;
}

interface PendingWrite {
  cid: number;
  plan: Extract<IoPlan, { kind: 'write' }>;
  buffer: Buffer;
  receivedBytes: number;
  digestFailed: boolean;
}

/** PDU size limit before the IC exchange (an ICReq is 128 bytes) and after it. */
const PDU_BYTES_MAX_BEFORE_IC = 128;
/** Header, digests and the most padding a PDU can carry besides its data. */
const PDU_OVERHEAD_BYTES_MAX = 72 + 4 + 128 + 4;

const MEDIA_WRITE_FAULT = 0x80;
const MEDIA_UNRECOVERED_READ = 0x81;

export class TargetConnection implements ControllerMember {
  private readonly decoder = new PduDecoder({ maxPduBytes: PDU_BYTES_MAX_BEFORE_IC });
  private readonly writer: BatchedWriter;
  private sendFraming: PduFraming = { ...FRAMING_INITIAL };
  private state: 'ic' | 'connect' | 'ready' | 'closed' = 'ic';
  private qid = -1;
  private controller: TargetController | undefined;
  private sqEntries = 0;
  private sqhd = 0;
  /** CIDs of commands received and not yet completed (AERs included). */
  private readonly outstanding = new Map<number, Sqe>();
  private readonly transfers = new Map<number, PendingWrite>();
  private nextTtag = 0;
  /** Bytes of write buffers granted by R2T and not yet released; bounded by r2tBufferBytesMax. */
  private r2tBufferBytes = 0;
  private readonly r2tWaiting: Array<{ command: Sqe; plan: Extract<IoPlan, { kind: 'write' }> }> = [];
  /** Bytes of reads under way or not yet handed to the kernel; bounded by readBufferBytesMax. */
  private readBufferBytes = 0;
  private readonly readWaiting: Array<{ command: Sqe; plan: Extract<IoPlan, { kind: 'read' }> }> = [];

  constructor(
    private readonly socket: Socket,
    private readonly environment: ConnectionEnvironment,
  ) {
    this.writer = new BatchedWriter(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.teardown());
    socket.on('close', () => this.teardown());
  }

  /** ControllerMember: the controller is going away (keep-alive expiry, admin queue loss, shutdown). */
  close(reason: string): void {
    this.environment.log(`closing connection (qid ${this.qid}): ${reason}`);
    this.teardown();
    this.socket.destroy();
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.decoder.push(chunk);
    try {
      for (;;) {
        const pdu = this.decoder.next();
        if (!pdu) break;
        this.handlePdu(pdu);
        if (this.isClosed()) break;
      }
    } catch (error) {
      if (error instanceof PduError) this.fatal(error.fes, error.fei, error.message, this.decoder.lastHeader);
      else this.fatal(Fes.InvalidHeaderField, 0, `internal error: ${(error as Error).message}`, this.decoder.lastHeader);
    }
  }

  private handlePdu(pdu: Pdu): void {
    if (this.state === 'ic') {
      if (pdu.type !== PduType.ICReq) throw new PduError(Fes.PduSequenceError, 0, 'first PDU is not an ICReq');
      this.handleIcReq(pdu);
      return;
    }
    switch (pdu.type) {
      case PduType.CapsuleCmd:
        this.handleCommand(pdu);
        return;
      case PduType.H2CData:
        this.handleH2CData(pdu);
        return;
      case PduType.H2CTermReq:
        this.close(`host terminated the connection (FES ${pdu.fes})`);
        return;
      case PduType.ICReq:
        throw new PduError(Fes.PduSequenceError, 0, 'second ICReq');
      default:
        throw new PduError(Fes.InvalidHeaderField, 0, `controller-to-host PDU type 0x${pdu.type.toString(16)} from a host`);
    }
  }

  private handleIcReq(pdu: IcReqPdu): void {
    if (pdu.pfv !== 0) throw new PduError(Fes.UnsupportedParameter, 8, `PFV ${pdu.pfv}`);
    if (pdu.hpda > 31) throw new PduError(Fes.InvalidHeaderField, 10, `HPDA ${pdu.hpda}`);
    // CPDA 0 (Linux hosts refuse anything else), digests exactly as asked.
    this.socket.write(encodeIcResp({ pfv: 0, cpda: 0, hdgst: pdu.hdgst, ddgst: pdu.ddgst, maxh2cdataBytes: this.environment.maxH2CDataBytes }));
    this.sendFraming = { hdgst: pdu.hdgst, ddgst: pdu.ddgst, dataAlignmentBytes: pdaToAlignmentBytes(pdu.hpda) };
    this.decoder.framing = { hdgst: pdu.hdgst, ddgst: pdu.ddgst, dataAlignmentBytes: pdaToAlignmentBytes(0) };
    this.decoder.limits = { maxPduBytes: Math.max(this.environment.maxH2CDataBytes, TARGET_LIMITS.ioInCapsuleBytesMax) + PDU_OVERHEAD_BYTES_MAX };
    this.state = 'connect';
  }

  private handleCommand(pdu: CapsuleCmdPdu): void {
    const command = decodeSqe(pdu.sqe);
    if (this.state === 'ready') this.sqhd = (this.sqhd + 1) % this.sqEntries;
    const existing = this.outstanding.get(command.cid);
    if (existing && existing.opcode === AdminOpcode.AsyncEventRequest && this.qid === 0) {
      // The SPDK host reuses the CID of an AER it gave up on (seen at shutdown in
      // the reference capture); the AER is dropped, as SPDK's target does.
      this.outstanding.delete(command.cid);
      this.controller!.pendingAers -= 1;
    } else if (existing) {
      this.respond(command, failure(GenericStatus.CommandIdConflict), false);
      return;
    }
    if (this.state === 'ready' && this.outstanding.size >= this.sqEntries) {
      throw new PduError(Fes.DataLimitExceeded, 0, `more than ${this.sqEntries} commands outstanding`);
    }
    this.outstanding.set(command.cid, command);
    if (!pdu.dataDigestOk) {
      this.respond(command, failure(GenericStatus.TransientTransportError, { dnr: false }));
      return;
    }
    if ((command.flags & 0xc0) !== 0x40 || (command.flags & 0x03) !== 0) {
      this.respond(command, failure(GenericStatus.InvalidField));
      return;
    }
    const inCapsuleMax = this.qid > 0 ? TARGET_LIMITS.ioInCapsuleBytesMax : TARGET_LIMITS.adminInCapsuleBytesMax;
    if (pdu.data.length > inCapsuleMax) {
      this.respond(command, failure(GenericStatus.DataSglLengthInvalid));
      return;
    }
    if (this.state === 'connect') {
      const isConnect = command.opcode === AdminOpcode.Fabrics && fctypeOf(pdu.sqe) === FabricsType.Connect;
      this.respond(command, isConnect ? this.connect(command, pdu) : failure(GenericStatus.CommandSequenceError));
      return;
    }
    const controller = this.controller!;
    if (this.qid === 0) {
      controller.touchKeepAlive();
      const result = executeAdmin(controller, this.environment.registry, command, pdu.sqe, {
        ...this.environment.identity,
        flush: () => Promise.all([...controller.subsystem.namespaces.values()].map((ns) => ns.backing.flush())).then(() => undefined),
        localAddress: this.socket.localAddress?.replace(/^::ffff:/, ''),
      });
      if (!result.held) this.respond(command, result);
      return;
    }
    this.handleIo(controller, command, pdu);
  }

  private handleIo(controller: TargetController, command: Sqe, pdu: CapsuleCmdPdu): void {
    if (command.opcode === AdminOpcode.Fabrics) {
      const isConnect = fctypeOf(pdu.sqe) === FabricsType.Connect;
      this.respond(command, failure(isConnect ? GenericStatus.CommandSequenceError : GenericStatus.InvalidOpcode));
      return;
    }
    if (!controller.enabled) {
      this.respond(command, failure(GenericStatus.CommandSequenceError));
      return;
    }
    const plan = planIo(controller, command, pdu.data.length);
    if (!isPlan(plan)) {
      this.respond(command, plan);
      return;
    }
    switch (plan.kind) {
      case 'read':
        this.startRead(command, plan);
        return;
      case 'flush':
        this.finish(command, runFlush(plan), MEDIA_WRITE_FAULT);
        return;
      case 'write':
        if (plan.inCapsule) {
          this.finish(command, runWrite(plan, pdu.data), MEDIA_WRITE_FAULT);
          return;
        }
        this.requestData(command, plan);
        return;
    }
  }

  /** Asks the host for a write's data with one R2T for the whole range (the host sends it in ≤ MAXH2CDATA pieces). */
  private requestData(command: Sqe, plan: Extract<IoPlan, { kind: 'write' }>): void {
    // Memory bound: a host may have many large writes outstanding; grant R2Ts only while buffers fit.
    if (this.r2tBufferBytes > 0 && this.r2tBufferBytes + plan.lengthBytes > TARGET_LIMITS.r2tBufferBytesMax) {
      this.r2tWaiting.push({ command, plan });
      return;
    }
    this.r2tBufferBytes += plan.lengthBytes;
    let ttag = this.nextTtag;
    while (this.transfers.has(ttag)) ttag = (ttag + 1) & 0xffff;
    this.nextTtag = (ttag + 1) & 0xffff;
    this.transfers.set(ttag, { cid: command.cid, plan, buffer: Buffer.allocUnsafe(plan.lengthBytes), receivedBytes: 0, digestFailed: false });
    this.writer.write([encodeR2t({ cccid: command.cid, ttag, r2toBytes: 0, r2tlBytes: plan.lengthBytes }, this.sendFraming)]);
  }

  private handleH2CData(pdu: DataPdu): void {
    const transfer = this.transfers.get(pdu.ttag);
    if (!transfer) throw new PduError(Fes.InvalidHeaderField, 10, `H2CData for unknown TTAG ${pdu.ttag}`);
    if (transfer.cid !== pdu.cccid) throw new PduError(Fes.InvalidHeaderField, 8, `H2CData CCCID ${pdu.cccid} does not own TTAG ${pdu.ttag}`);
    if (pdu.data.length > this.environment.maxH2CDataBytes) throw new PduError(Fes.DataLimitExceeded, 16, `DATAL ${pdu.data.length} above MAXH2CDATA`);
    if (pdu.dataoBytes !== transfer.receivedBytes || pdu.dataoBytes + pdu.data.length > transfer.buffer.length) {
      throw new PduError(Fes.DataOutOfRange, 12, `H2CData [${pdu.dataoBytes}, +${pdu.data.length}) outside the expected range`);
    }
    pdu.data.copy(transfer.buffer, pdu.dataoBytes);
    transfer.receivedBytes += pdu.data.length;
    if (!pdu.dataDigestOk) transfer.digestFailed = true;
    const complete = transfer.receivedBytes === transfer.buffer.length;
    if (pdu.last !== complete) throw new PduError(Fes.DataOutOfRange, 1, 'LAST_PDU does not mark the end of the R2T range');
    if (!complete) return;
    this.transfers.delete(pdu.ttag);
    const command = this.outstanding.get(transfer.cid)!;
    if (transfer.digestFailed) {
      // A data digest error fails only this command; the host may retry it.
      this.respond(command, failure(GenericStatus.TransientTransportError, { dnr: false }));
      this.releaseR2tBuffer(transfer.buffer.length);
      return;
    }
    this.finish(command, runWrite(transfer.plan, transfer.buffer), MEDIA_WRITE_FAULT, transfer.buffer.length);
  }

  /** Runs a read within the connection's read budget (memory bound), or queues it. */
  private startRead(command: Sqe, plan: Extract<IoPlan, { kind: 'read' }>): void {
    if (this.readBufferBytes > 0 && this.readBufferBytes + plan.lengthBytes > TARGET_LIMITS.readBufferBytesMax) {
      this.readWaiting.push({ command, plan });
      return;
    }
    this.readBufferBytes += plan.lengthBytes;
    const release = () => {
      this.readBufferBytes -= plan.lengthBytes;
      while (this.readWaiting.length > 0 && this.state !== 'closed') {
        const next = this.readWaiting[0]!;
        if (this.readBufferBytes > 0 && this.readBufferBytes + next.plan.lengthBytes > TARGET_LIMITS.readBufferBytesMax) return;
        this.readWaiting.shift();
        this.startRead(next.command, next.plan);
      }
    };
    runRead(plan).then(
      (result) => this.respond(command, result, true, release),
      (error: unknown) => {
        this.environment.log(`backing read failed: ${(error as Error).message}`);
        this.respond(command, failure(MEDIA_UNRECOVERED_READ, { sct: Sct.MediaError, dnr: false }), true, release);
      },
    );
  }

  /** A write's buffer is free again: grant waiting R2Ts that now fit. */
  private releaseR2tBuffer(lengthBytes: number): void {
    this.r2tBufferBytes -= lengthBytes;
    while (this.r2tWaiting.length > 0 && this.state !== 'closed') {
      const next = this.r2tWaiting[0]!;
      if (this.r2tBufferBytes > 0 && this.r2tBufferBytes + next.plan.lengthBytes > TARGET_LIMITS.r2tBufferBytesMax) return;
      this.r2tWaiting.shift();
      this.requestData(next.command, next.plan);
    }
  }

  private finish(command: Sqe, work: Promise<CommandResult>, mediaStatus: number, r2tBufferBytes = 0): void {
    work.then(
      (result) => {
        // Respond first, so the completion precedes on the wire the R2T that reuses the buffer budget.
        this.respond(command, result);
        if (r2tBufferBytes > 0) this.releaseR2tBuffer(r2tBufferBytes);
      },
      (error: unknown) => {
        this.environment.log(`backing I/O failed for opcode 0x${command.opcode.toString(16)}: ${(error as Error).message}`);
        const status = command.opcode === IoOpcode.Flush ? failure(GenericStatus.InternalError, { dnr: false }) : failure(mediaStatus, { sct: Sct.MediaError, dnr: false });
        this.respond(command, status);
        if (r2tBufferBytes > 0) this.releaseR2tBuffer(r2tBufferBytes);
      },
    );
  }

  private connect(command: Sqe, pdu: CapsuleCmdPdu): CommandResult {
    const raw = pdu.sqe;
    const recfmt = raw.readUInt16LE(40);
    const qid = raw.readUInt16LE(42);
    const sqsize = raw.readUInt16LE(44);
    const katoMs = raw.readUInt32LE(48);
    const invalid = (offset: number, inData: boolean) =>
      failure(FabricsStatus.ConnectInvalidParameters, { sct: Sct.CommandSpecific, dw0: offset | (inData ? 1 << 16 : 0) });
    if (recfmt !== 0) return failure(FabricsStatus.IncompatibleFormat, { sct: Sct.CommandSpecific });
    if (command.sgl.id !== SglId.InCapsule || pdu.data.length !== 1024 || command.sgl.lengthBytes !== 1024) {
      return failure(GenericStatus.DataSglLengthInvalid);
    }
    const data = pdu.data;
    const hostId = Buffer.from(data.subarray(0, 16));
    const cntlid = data.readUInt16LE(16);
    const subsystemNqn = getNqn(data, 256);
    const hostNqn = getNqn(data, 512);
    const subsystem = this.environment.registry.subsystems.get(subsystemNqn);
    if (!subsystem) return invalid(256, true);
    if (subsystem.allowedHosts && !subsystem.allowedHosts.has(hostNqn)) {
      return failure(FabricsStatus.ConnectInvalidHost, { sct: Sct.CommandSpecific });
    }
    const entries = sqsize + 1;
    if (entries > TARGET_LIMITS.queueEntriesMax || (qid === 0 && entries < TARGET_LIMITS.adminQueueEntriesMin) || sqsize === 0) {
      return invalid(44, false);
    }
    let controller: TargetController | undefined;
    if (qid === 0) {
      if (cntlid !== CNTLID_DYNAMIC && cntlid !== 0xfffe) return invalid(16, true);
      controller = this.environment.registry.create(subsystem, hostNqn, hostId, katoMs);
      if (!controller) return failure(FabricsStatus.ControllerBusy, { sct: Sct.CommandSpecific });
      controller.touchKeepAlive();
    } else {
      controller = this.environment.registry.get(cntlid);
      const sameHost = controller && controller.subsystem === subsystem && controller.hostNqn === hostNqn && controller.hostId.equals(hostId);
      if (!controller || !sameHost || controller.destroyed) return invalid(16, true);
      if (subsystem.kind !== 'nvm' || qid > controller.ioQueuesGranted || controller.connectedQids.has(qid)) return invalid(42, false);
      if (!controller.enabled) return failure(GenericStatus.CommandSequenceError);
    }
    controller.connectedQids.add(qid);
    controller.members.add(this);
    this.controller = controller;
    this.qid = qid;
    this.sqEntries = entries;
    this.sqhd = 1 % entries; // the Connect itself was the first command fetched
    this.state = 'ready';
    return { status: 0, dw0: controller.cntlid };
  }

  /** Sends the command's data (if any) and its completion. */
  private respond(command: Sqe, result: CommandResult, release = true, onFlushed?: () => void): void {
    if (this.state === 'closed') {
      onFlushed?.();
      return;
    }
    if (release) this.outstanding.delete(command.cid);
    const pieces: Buffer[] = [];
    let status = result.status;
    if (result.data && status === 0) {
      const wanted = command.sgl.lengthBytes;
      if (command.sgl.id !== SglId.TransportDataBlock && wanted > 0) {
        status = failure(GenericStatus.SglDescriptorTypeInvalid).status;
      } else if (wanted > 0) {
        let data = result.data;
        if (data.length !== wanted) {
          data = Buffer.alloc(wanted);
          result.data.copy(data, 0, 0, Math.min(wanted, result.data.length));
        }
        for (let offset = 0; offset < data.length; offset += TARGET_LIMITS.c2hChunkBytes) {
          const piece = data.subarray(offset, Math.min(data.length, offset + TARGET_LIMITS.c2hChunkBytes));
          const last = offset + piece.length === data.length;
          // SUCCESS is never set: the CapsuleResp carries SQHD, as SQ flow control requires.
          pieces.push(...encodeDataPdu(PduType.C2HData, { cccid: command.cid, dataoBytes: offset, last }, piece, this.sendFraming));
        }
      }
    }
    const cqe = encodeCqe({
      dw0: result.dw0 ?? 0,
      dw1: result.dw1 ?? 0,
      sqhd: this.sqhd,
      sqid: Math.max(this.qid, 0),
      cid: command.cid,
      status,
    });
    pieces.push(encodeCapsuleResp(cqe, this.sendFraming));
    this.writer.write(pieces, onFlushed);
  }

  /** Transport violation: C2HTermReq with FES/FEI and the offending header, then close. */
  private fatal(fes: number, fei: number, message: string, header: Buffer): void {
    if (this.state === 'closed') return;
    this.environment.log(`terminating connection (qid ${this.qid}): FES ${fes}: ${message}`);
    const term = encodeTermReq(PduType.C2HTermReq, { fes, fei, offendingHeader: Buffer.from(header) });
    this.teardown();
    this.socket.end(term);
    // A peer that never reads must not keep the socket alive.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.transfers.clear();
    this.r2tWaiting.length = 0;
    this.readWaiting.length = 0;
    const controller = this.controller;
    if (!controller) return;
    controller.members.delete(this);
    controller.connectedQids.delete(this.qid);
    for (const command of this.outstanding.values()) {
      if (command.opcode === AdminOpcode.AsyncEventRequest && this.qid === 0) controller.pendingAers -= 1;
    }
    this.outstanding.clear();
    // Losing the admin queue ends the association: its I/O queues go with it.
    if (this.qid === 0) controller.destroy('admin queue closed');
  }
}

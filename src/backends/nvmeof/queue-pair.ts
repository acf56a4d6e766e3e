// Initiator side of one NVMe/TCP connection = one queue pair. Does the IC
// exchange, then carries commands: assigns command identifiers, bounds the
// commands in flight by the queue size (waiting callers queue up, nothing
// grows without bound), moves data (in-capsule, R2T → H2CData, C2HData), and
// completes each command exactly once.
//
// Failure rules: a transport violation or a header digest error sends an
// H2CTermReq and closes; a data digest error on received data fails that
// command and resets the connection (its stream can no longer be trusted); a
// command past its deadline fails with NvmeTimeoutError and resets the
// connection (its CID cannot be reused safely). On close every outstanding and
// waiting command is rejected with NvmeTransportError: none is left hanging.
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { BatchedWriter } from './batched-writer.js';
import { Fes, MAXH2CDATA_MIN_BYTES, PduType, SglId } from './constants.js';
import { DataDigestError, decodeStatus, NvmeStatusError, NvmeTimeoutError, NvmeTransportError, PduError } from './errors.js';
import {
  type DataPdu,
  encodeCapsuleCmd,
  encodeDataPdu,
  encodeIcReq,
  encodeTermReq,
  FRAMING_INITIAL,
  type IcRespPdu,
  type Pdu,
  PduDecoder,
  type PduFraming,
  pdaToAlignmentBytes,
  type R2tPdu,
} from './pdu.js';
import { decodeCqe } from './sqe.js';

export interface QueuePairOptions {
  host: string;
  port: number;
  /** Ask for header / data digests (the controller's ICResp decides). */
  hdgst: boolean;
  ddgst: boolean;
  connectTimeoutMs: number;
  log?: (message: string) => void;
}

export interface Completion {
  dw0: number;
  dw1: number;
  sqhd: number;
  data: Buffer | undefined;
}

export interface SubmitOptions {
  /** Host → controller data. */
  dataOut?: Buffer;
  /** Bytes the controller sends back (C2HData). */
  dataInBytes?: number;
  /** Completion deadline. */
  timeoutMs: number;
  /** What the command is, for error messages. */
  what: string;
}

interface InFlight {
  cid: number;
  what: string;
  deadlineMs: number;
  dataOut: Buffer | undefined;
  inCapsule: boolean;
  /** Bytes the controller will send; 0 for commands without controller → host data. */
  dataInBytes: number;
  /** Allocated on the first C2HData that does not carry the whole transfer (one that does is adopted as is). */
  dataIn: Buffer | undefined;
  receivedBytes: number;
  resolve(completion: Completion): void;
  reject(error: Error): void;
}

/** Largest PDU the host accepts once connected (C2HData size is the controller's choice). */
const PDU_BYTES_MAX = 64 * 1024 * 1024;
const SWEEP_INTERVAL_MS = 200;

export class HostQueuePair extends EventEmitter {
  private readonly decoder = new PduDecoder({ maxPduBytes: 128 });
  private readonly writer: BatchedWriter;
  private sendFraming: PduFraming = { ...FRAMING_INITIAL };
  private readonly inFlight = new Map<number, InFlight>();
  private readonly slotWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  private nextCid = 0;
  /** Slots freed by a completion and promised to a waiter that has not run yet. */
  private handedOverSlots = 0;
  private closedError: Error | undefined;
  private icWaiter: { resolve(pdu: IcRespPdu): void; reject(error: Error): void } | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  /** From the ICResp. */
  maxH2CDataBytes = MAXH2CDATA_MIN_BYTES;
  digests = { hdgst: false, ddgst: false };
  /** Commands allowed in flight: SQ entries − 1 once connected. Before Connect, one. */
  depth = 1;
  /** Largest write that goes in the capsule (set from IOCCSZ, or 8 KiB on the admin queue). */
  inCapsuleBytesMax = 8192;
  qid = -1;

  private constructor(
    private readonly socket: Socket,
    private readonly options: QueuePairOptions,
  ) {
    super();
    this.writer = new BatchedWriter(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.shutdown(new NvmeTransportError(`connection to ${options.host}:${options.port} failed: ${error.message}`, { cause: error })));
    socket.on('close', () => this.shutdown(new NvmeTransportError(`connection to ${options.host}:${options.port} closed`)));
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Opens the TCP connection and completes the IC exchange. */
  static async open(options: QueuePairOptions): Promise<HostQueuePair> {
    const socket = tcpConnect({ host: options.host, port: options.port });
    const qp = new HostQueuePair(socket, options);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
        options.connectTimeoutMs,
        `TCP connect to ${options.host}:${options.port}`,
      );
      const icResp = await withTimeout(
        new Promise<IcRespPdu>((resolve, reject) => {
          qp.icWaiter = { resolve, reject };
          socket.write(encodeIcReq({ pfv: 0, hpda: 0, hdgst: options.hdgst, ddgst: options.ddgst, maxr2t: 0 }));
        }),
        options.connectTimeoutMs,
        'ICResp',
      );
      qp.adoptIcResp(icResp);
      return qp;
    } catch (error) {
      qp.close();
      throw error instanceof NvmeTransportError ? error : new NvmeTransportError((error as Error).message, { cause: error });
    }
  }

  private adoptIcResp(pdu: IcRespPdu): void {
    if (pdu.pfv !== 0) throw new NvmeTransportError(`controller answered PFV ${pdu.pfv}`);
    if (pdu.cpda > 31) throw new NvmeTransportError(`controller answered CPDA ${pdu.cpda}`);
    if (pdu.maxh2cdataBytes < MAXH2CDATA_MIN_BYTES || pdu.maxh2cdataBytes % 4 !== 0) {
      throw new NvmeTransportError(`controller answered MAXH2CDATA ${pdu.maxh2cdataBytes}`);
    }
    // Like SPDK, adopt the digests the controller turned on rather than insist on equality.
    this.digests = { hdgst: pdu.hdgst, ddgst: pdu.ddgst };
    this.maxH2CDataBytes = pdu.maxh2cdataBytes;
    this.sendFraming = { hdgst: pdu.hdgst, ddgst: pdu.ddgst, dataAlignmentBytes: pdaToAlignmentBytes(pdu.cpda) };
    this.decoder.framing = { hdgst: pdu.hdgst, ddgst: pdu.ddgst, dataAlignmentBytes: pdaToAlignmentBytes(0) };
    this.decoder.limits = { maxPduBytes: PDU_BYTES_MAX };
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  get outstanding(): number {
    return this.inFlight.size + this.slotWaiters.length;
  }

  /**
   * Sends one command. `sqe` is the 64-byte entry; its CID and SGL are filled
   * in here. Resolves with the completion, rejects with NvmeStatusError for a
   * non-success status or NvmeTransportError if the connection fails.
   */
  async submit(sqe: Buffer, options: SubmitOptions): Promise<Completion> {
    if (this.closedError) throw this.closedError;
    if (this.slotWaiters.length > 0 || this.inFlight.size + this.handedOverSlots >= this.depth) {
      await new Promise<void>((resolve, reject) => this.slotWaiters.push({ resolve, reject }));
      this.handedOverSlots -= 1;
      // The connection may have closed between the hand-over and this continuation.
      if (this.closedError) throw this.closedError;
    }
    const cid = this.allocateCid();
    const dataOut = options.dataOut && options.dataOut.length > 0 ? options.dataOut : undefined;
    const inCapsule = dataOut !== undefined && dataOut.length <= this.inCapsuleBytesMax;
    const dataInBytes = options.dataInBytes ?? 0;
    const lengthBytes = dataOut ? dataOut.length : dataInBytes;
    sqe.writeUInt16LE(cid, 2);
    sqe.writeBigUInt64LE(0n, 24);
    sqe.writeUInt32LE(lengthBytes, 32);
    sqe.fill(0, 36, 39);
    sqe[39] = inCapsule ? SglId.InCapsule : SglId.TransportDataBlock;
    return new Promise<Completion>((resolve, reject) => {
      this.inFlight.set(cid, {
        cid,
        what: options.what,
        deadlineMs: Date.now() + options.timeoutMs,
        dataOut,
        inCapsule,
        dataInBytes,
        dataIn: undefined,
        receivedBytes: 0,
        resolve,
        reject,
      });
      this.writer.write(encodeCapsuleCmd(sqe, inCapsule ? dataOut : undefined, this.sendFraming));
    });
  }

  private allocateCid(): number {
    // CIDs are unique among this queue's outstanding commands; 0xFFFF is avoided (some controllers treat it specially).
    for (;;) {
      const cid = this.nextCid;
      this.nextCid = (this.nextCid + 1) % 0xffff;
      if (!this.inFlight.has(cid)) return cid;
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closedError) return;
    this.decoder.push(chunk);
    try {
      for (;;) {
        const pdu = this.decoder.next();
        if (!pdu) return;
        this.handlePdu(pdu);
        if (this.closedError) return;
      }
    } catch (error) {
      if (error instanceof PduError) {
        this.terminate(error.fes, error.fei, new NvmeTransportError(`protocol error from controller: ${error.message}`), this.decoder.lastHeader);
      } else {
        this.shutdown(new NvmeTransportError(`internal error handling a PDU: ${(error as Error).message}`, { cause: error }));
      }
    }
  }

  private handlePdu(pdu: Pdu): void {
    switch (pdu.type) {
      case PduType.ICResp:
        if (!this.icWaiter) throw new PduError(Fes.PduSequenceError, 0, 'unexpected ICResp');
        this.icWaiter.resolve(pdu);
        this.icWaiter = undefined;
        return;
      case PduType.CapsuleResp:
        this.complete(pdu.cqe);
        return;
      case PduType.C2HData:
        this.receiveData(pdu);
        return;
      case PduType.R2T:
        this.sendData(pdu);
        return;
      case PduType.C2HTermReq:
        this.options.log?.(`controller terminated the connection: FES ${pdu.fes} FEI ${pdu.fei}`);
        this.shutdown(new NvmeTransportError(`controller terminated the connection (FES ${pdu.fes}, FEI ${pdu.fei})`));
        return;
      default:
        throw new PduError(Fes.InvalidHeaderField, 0, `host-to-controller PDU type 0x${pdu.type.toString(16)} from a controller`);
    }
  }

  private command(cid: number, offset: number): InFlight {
    const command = this.inFlight.get(cid);
    if (!command) throw new PduError(Fes.InvalidHeaderField, offset, `PDU for CID ${cid}, which is not in flight`);
    return command;
  }

  private complete(cqeBytes: Buffer): void {
    const cqe = decodeCqe(cqeBytes);
    const command = this.command(cqe.cid, 8 + 12);
    this.release(command.cid);
    const status = decodeStatus(cqe.status);
    if (status.sc !== 0 || status.sct !== 0) {
      command.reject(new NvmeStatusError(status, command.what, cqe.dw0));
      return;
    }
    if (command.receivedBytes !== command.dataInBytes) {
      command.reject(new NvmeTransportError(`${command.what}: completed after ${command.receivedBytes} of ${command.dataInBytes} bytes`));
      return;
    }
    command.resolve({ dw0: cqe.dw0, dw1: cqe.dw1, sqhd: cqe.sqhd, data: command.dataIn });
  }

  private receiveData(pdu: DataPdu): void {
    const command = this.command(pdu.cccid, 8);
    const totalBytes = command.dataInBytes;
    if (totalBytes === 0) throw new PduError(Fes.InvalidHeaderField, 8, `C2HData for ${command.what}, which reads nothing`);
    if (pdu.dataoBytes !== command.receivedBytes || pdu.dataoBytes + pdu.data.length > totalBytes) {
      throw new PduError(Fes.DataOutOfRange, 12, `C2HData [${pdu.dataoBytes}, +${pdu.data.length}) out of order or beyond ${totalBytes}`);
    }
    if (!pdu.dataDigestOk) {
      this.release(command.cid);
      command.reject(new DataDigestError(`${command.what}: C2HData data digest mismatch`));
      this.shutdown(new NvmeTransportError('connection reset after a data digest error'));
      return;
    }
    if (pdu.dataoBytes === 0 && pdu.data.length === totalBytes) {
      command.dataIn = pdu.data;
    } else {
      command.dataIn ??= Buffer.allocUnsafe(totalBytes);
      pdu.data.copy(command.dataIn, pdu.dataoBytes);
    }
    command.receivedBytes += pdu.data.length;
    if (pdu.success) {
      // SUCCESS: no CapsuleResp follows; the command completed without status or result.
      if (command.receivedBytes !== totalBytes) throw new PduError(Fes.DataOutOfRange, 1, 'SUCCESS before all data');
      this.release(command.cid);
      command.resolve({ dw0: 0, dw1: 0, sqhd: 0, data: command.dataIn });
    }
  }

  private sendData(pdu: R2tPdu): void {
    const command = this.command(pdu.cccid, 8);
    const data = command.dataOut;
    if (!data || command.inCapsule) throw new PduError(Fes.InvalidHeaderField, 8, `R2T for ${command.what}, which has no R2T data`);
    if (pdu.r2tlBytes === 0 || pdu.r2toBytes + pdu.r2tlBytes > data.length) {
      throw new PduError(Fes.DataOutOfRange, 12, `R2T [${pdu.r2toBytes}, +${pdu.r2tlBytes}) beyond ${data.length} bytes`);
    }
    const end = pdu.r2toBytes + pdu.r2tlBytes;
    const pieces: Buffer[] = [];
    for (let offset = pdu.r2toBytes; offset < end; offset += this.maxH2CDataBytes) {
      const piece = data.subarray(offset, Math.min(end, offset + this.maxH2CDataBytes));
      const last = offset + piece.length === end;
      pieces.push(...encodeDataPdu(PduType.H2CData, { cccid: command.cid, ttag: pdu.ttag, dataoBytes: offset, last }, piece, this.sendFraming));
    }
    this.writer.write(pieces);
  }

  private release(cid: number): void {
    this.inFlight.delete(cid);
    const waiter = this.slotWaiters.shift();
    if (waiter) {
      this.handedOverSlots += 1;
      waiter.resolve();
    }
  }

  private sweep(): void {
    if (this.closedError) return;
    const nowMs = Date.now();
    for (const command of this.inFlight.values()) {
      if (command.deadlineMs <= nowMs) {
        this.release(command.cid);
        command.reject(new NvmeTimeoutError(`${command.what}: no completion within its deadline`));
        this.shutdown(new NvmeTransportError('connection reset after a command timeout'));
        return;
      }
    }
  }

  /** H2CTermReq with the reason, then close. */
  private terminate(fes: number, fei: number, error: Error, header: Buffer): void {
    if (this.closedError) return;
    this.options.log?.(`terminating connection: FES ${fes}: ${error.message}`);
    this.socket.write(encodeTermReq(PduType.H2CTermReq, { fes, fei, offendingHeader: Buffer.from(header) }));
    this.shutdown(error);
  }

  private shutdown(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    clearInterval(this.sweepTimer);
    this.icWaiter?.reject(error);
    this.icWaiter = undefined;
    for (const command of this.inFlight.values()) {
      command.reject(error instanceof NvmeTransportError ? new NvmeTransportError(`${command.what}: ${error.message}`, { cause: error }) : error);
    }
    this.inFlight.clear();
    for (const waiter of this.slotWaiters.splice(0)) waiter.reject(error);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 100).unref();
    this.emit('close', error);
  }

  /** Closes the connection; outstanding commands fail with NvmeTransportError. */
  close(): void {
    this.shutdown(new NvmeTransportError('queue pair closed'));
  }
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NvmeTimeoutError(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

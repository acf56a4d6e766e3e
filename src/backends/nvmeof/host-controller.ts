// Initiator side of one controller association: the admin queue pair plus N I/O
// queue pairs. Brings the controller up the way the Linux and SPDK hosts do
// (Connect, Property Get VS/CAP/CC/CSTS, Set CC.EN, poll CSTS.RDY, Identify,
// Set Features Number of Queues, Connect each I/O queue with the CNTLID), keeps
// it alive with Keep Alive at KATO/2, and shuts it down with CC.SHN.
//
// Any queue pair closing, or a Keep Alive failing, ends the association: every
// queue is closed (their commands fail) and 'lost' is emitted once. Recovery is
// the owner's job (initiator.ts reconnects with backoff).
import { EventEmitter } from 'node:events';
import {
  AdminOpcode,
  CNTLID_DYNAMIC,
  FabricsType,
  FeatureId,
  IdentifyCns,
  Property,
} from './constants.js';
import { NvmeTransportError } from './errors.js';
import {
  type ControllerIdentity,
  decodeActiveNamespaceList,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  IDENTIFY_BYTES,
  type NamespaceIdentity,
} from './identify.js';
import { type Completion, HostQueuePair, withTimeout } from './queue-pair.js';
import { encodeFabricsSqe, encodeSqe } from './sqe.js';

export interface ControllerConnectOptions {
  host: string;
  port: number;
  subsystemNqn: string;
  hostNqn: string;
  /** 16-byte host identifier, the same on every connection of this host. */
  hostId: Buffer;
  hdgst: boolean;
  ddgst: boolean;
  /** I/O queues to ask for (0 for a discovery controller). */
  ioQueues: number;
  /** Entries per I/O queue to ask for (clamped to CAP.MQES + 1 and MAXCMD). */
  queueEntries: number;
  /** Keep-alive timeout sent in the admin Connect; 0 disables keep-alive. */
  katoMs: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  log?: (message: string) => void;
}

const ADMIN_QUEUE_ENTRIES = 32;
const ADMIN_IN_CAPSULE_BYTES = 8192;
const READY_POLL_INTERVAL_MS = 5;
/** CC.EN = 1, IOSQES = 6 (64 B), IOCQES = 4 (16 B), CSS = NVM, MPS = 4 KiB. */
const CC_ENABLE = 0x00460001;

export class HostController extends EventEmitter {
  readonly ioQueues: HostQueuePair[] = [];
  cntlid = 0;
  identity: ControllerIdentity | undefined;
  capabilities = 0n;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private lostError: Error | undefined;
  private closing = false;

  private constructor(
    readonly admin: HostQueuePair,
    readonly options: ControllerConnectOptions,
  ) {
    super();
    admin.once('close', (error: Error) => this.lose(error));
  }

  static async connect(options: ControllerConnectOptions): Promise<HostController> {
    const admin = await HostQueuePair.open(queueOptions(options));
    const controller = new HostController(admin, options);
    try {
      await controller.bringUp();
      return controller;
    } catch (error) {
      controller.closeQueues(error as Error);
      throw error;
    }
  }

  /** Max bytes in one command, from MDTS (in units of the 4 KiB minimum page); capped at 4 MiB. */
  get maxTransferBytes(): number {
    const mdts = this.identity?.mdts ?? 0;
    const limit = 4 * 1024 * 1024;
    return mdts === 0 ? limit : Math.min(limit, 2 ** mdts * 4096);
  }

  get lost(): boolean {
    return this.lostError !== undefined;
  }

  private async bringUp(): Promise<void> {
    const { options, admin } = this;
    admin.inCapsuleBytesMax = ADMIN_IN_CAPSULE_BYTES;
    this.cntlid = await this.fabricsConnect(admin, 0, ADMIN_QUEUE_ENTRIES, CNTLID_DYNAMIC);
    admin.depth = ADMIN_QUEUE_ENTRIES - 1;
    await this.propertyGet(Property.VS, false);
    this.capabilities = await this.propertyGet(Property.CAP, true);
    const cc = Number(await this.propertyGet(Property.CC, false));
    if ((cc & 1) === 0) {
      await this.propertySet(Property.CC, CC_ENABLE);
      await this.waitReady();
    }
    const identityData = await this.adminData(AdminOpcode.Identify, { cdw: [IdentifyCns.Controller] }, IDENTIFY_BYTES, 'Identify Controller');
    this.identity = decodeIdentifyController(identityData);
    if (this.identity.cntlid !== this.cntlid) {
      throw new NvmeTransportError(`Identify Controller CNTLID ${this.identity.cntlid} differs from Connect's ${this.cntlid}`);
    }
    if (options.katoMs > 0) this.startKeepAlive();
    if (options.ioQueues === 0) return;
    const wanted = options.ioQueues - 1;
    const granted = await this.adminCommand(AdminOpcode.SetFeatures, { cdw: [FeatureId.NumberOfQueues, (wanted << 16) | wanted] }, 'Set Features (Number of Queues)');
    const queueCount = Math.min(options.ioQueues, (granted.dw0 & 0xffff) + 1, (granted.dw0 >>> 16) + 1);
    const mqesEntries = Number(this.capabilities & 0xffffn) + 1;
    const maxcmd = this.identity.maxcmd || Number.MAX_SAFE_INTEGER;
    const entries = Math.max(2, Math.min(options.queueEntries, mqesEntries, maxcmd));
    const inCapsuleBytesMax = Math.max(0, this.identity.ioccsz * 16 - 64);
    const queues = await Promise.allSettled(
      Array.from({ length: queueCount }, async (_, index) => {
        const qp = await HostQueuePair.open(queueOptions(options));
        this.ioQueues.push(qp);
        qp.once('close', (error: Error) => this.lose(error));
        qp.inCapsuleBytesMax = inCapsuleBytesMax;
        await this.fabricsConnect(qp, index + 1, entries, this.cntlid);
        qp.depth = entries - 1;
      }),
    );
    const failed = queues.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async fabricsConnect(qp: HostQueuePair, qid: number, entries: number, cntlid: number): Promise<number> {
    const specific = Buffer.alloc(24);
    specific.writeUInt16LE(0, 0); // RECFMT
    specific.writeUInt16LE(qid, 2);
    specific.writeUInt16LE(entries - 1, 4); // SQSIZE, 0's based
    specific[6] = 0; // CATTR: keep SQ flow control
    specific.writeUInt32LE(qid === 0 ? this.options.katoMs : 0, 8);
    const data = Buffer.alloc(1024);
    this.options.hostId.copy(data, 0, 0, 16);
    data.writeUInt16LE(cntlid, 16);
    data.write(this.options.subsystemNqn, 256, 'utf8');
    data.write(this.options.hostNqn, 512, 'utf8');
    const sqe = encodeFabricsSqe({ cid: 0, fctype: FabricsType.Connect, specific });
    const completion = await qp.submit(sqe, { dataOut: data, timeoutMs: this.options.connectTimeoutMs, what: `Connect (QID ${qid})` });
    qp.qid = qid;
    return completion.dw0 & 0xffff;
  }

  async propertyGet(offset: number, eightBytes: boolean): Promise<bigint> {
    const specific = Buffer.alloc(24);
    specific[0] = eightBytes ? 1 : 0;
    specific.writeUInt32LE(offset, 4);
    const sqe = encodeFabricsSqe({ cid: 0, fctype: FabricsType.PropertyGet, specific });
    const completion = await this.admin.submit(sqe, { timeoutMs: this.options.commandTimeoutMs, what: `Property Get 0x${offset.toString(16)}` });
    return BigInt(completion.dw0) | (eightBytes ? BigInt(completion.dw1) << 32n : 0n);
  }

  async propertySet(offset: number, value: number): Promise<void> {
    const specific = Buffer.alloc(24);
    specific.writeUInt32LE(offset, 4);
    specific.writeUInt32LE(value >>> 0, 8);
    const sqe = encodeFabricsSqe({ cid: 0, fctype: FabricsType.PropertySet, specific });
    await this.admin.submit(sqe, { timeoutMs: this.options.commandTimeoutMs, what: `Property Set 0x${offset.toString(16)}` });
  }

  /** Polls CSTS until RDY (or CFS), within CAP.TO (500 ms units). */
  private async waitReady(): Promise<void> {
    const timeoutMs = Math.max(500, Number((this.capabilities >> 24n) & 0xffn) * 500);
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const csts = Number(await this.propertyGet(Property.CSTS, false));
      if (csts & 0x2) throw new NvmeTransportError('controller fatal status (CSTS.CFS) while enabling');
      if (csts & 0x1) return;
      if (Date.now() > deadlineMs) throw new NvmeTransportError(`controller not ready within ${timeoutMs} ms`);
      await sleep(READY_POLL_INTERVAL_MS);
    }
  }

  async adminCommand(opcode: number, fields: { nsid?: number; cdw?: number[] }, what: string): Promise<Completion> {
    const sqe = encodeSqe({ opcode, cid: 0, ...fields });
    return this.admin.submit(sqe, { timeoutMs: this.options.commandTimeoutMs, what });
  }

  async adminData(opcode: number, fields: { nsid?: number; cdw?: number[] }, lengthBytes: number, what: string): Promise<Buffer> {
    const sqe = encodeSqe({ opcode, cid: 0, ...fields });
    const completion = await this.admin.submit(sqe, { dataInBytes: lengthBytes, timeoutMs: this.options.commandTimeoutMs, what });
    return completion.data!;
  }

  async activeNamespaces(): Promise<number[]> {
    return decodeActiveNamespaceList(
      await this.adminData(AdminOpcode.Identify, { cdw: [IdentifyCns.ActiveNamespaceList] }, IDENTIFY_BYTES, 'Identify Active Namespace List'),
    );
  }

  async identifyNamespace(nsid: number): Promise<NamespaceIdentity & { blockSizeBytes: number }> {
    return decodeIdentifyNamespace(
      await this.adminData(AdminOpcode.Identify, { nsid, cdw: [IdentifyCns.Namespace] }, IDENTIFY_BYTES, `Identify Namespace ${nsid}`),
    );
  }

  /** Get Log Page: `lengthBytes` (a multiple of 4) from byte `offsetBytes` of log `lid`. */
  async getLogPage(lid: number, offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const dwords = lengthBytes / 4 - 1;
    return this.adminData(
      AdminOpcode.GetLogPage,
      { cdw: [lid | ((dwords & 0xffff) << 16), dwords >>> 16, offsetBytes >>> 0, Math.floor(offsetBytes / 2 ** 32)] },
      lengthBytes,
      `Get Log Page 0x${lid.toString(16)}`,
    );
  }

  private startKeepAlive(): void {
    const intervalMs = Math.max(100, Math.floor(this.options.katoMs / 2));
    this.keepAliveTimer = setInterval(() => {
      // A failed or late Keep Alive means the association is gone: the owner reconnects.
      const sqe = encodeSqe({ opcode: AdminOpcode.KeepAlive, cid: 0 });
      this.admin.submit(sqe, { timeoutMs: this.options.katoMs, what: 'Keep Alive' }).catch((error: Error) => this.lose(error));
    }, intervalMs);
    this.keepAliveTimer.unref();
  }

  private lose(error: Error): void {
    if (this.lostError || this.closing) return;
    this.lostError = error;
    this.closeQueues(error);
    this.emit('lost', error);
  }

  private closeQueues(_error: Error): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    for (const qp of this.ioQueues) qp.close();
    this.admin.close();
  }

  /**
   * Orderly shutdown: CC.SHN = normal, wait (bounded) for CSTS.SHST = complete, so
   * the target flushes; then close every connection. Never throws.
   */
  async close(options: { shutdownTimeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.lostError && !this.admin.closed) {
      const timeoutMs = options.shutdownTimeoutMs ?? 5000;
      try {
        await withTimeout(
          (async () => {
            await this.propertySet(Property.CC, CC_ENABLE | (1 << 14));
            for (;;) {
              const csts = Number(await this.propertyGet(Property.CSTS, false));
              if (((csts >> 2) & 0x3) === 2) return;
              await sleep(READY_POLL_INTERVAL_MS);
            }
          })(),
          timeoutMs,
          'controller shutdown',
        );
      } catch (error) {
        this.options.log?.(`shutdown incomplete: ${(error as Error).message}`);
      }
    }
    this.closeQueues(new NvmeTransportError('controller closed'));
  }
}

function queueOptions(options: ControllerConnectOptions) {
  return {
    host: options.host,
    port: options.port,
    hdgst: options.hdgst,
    ddgst: options.ddgst,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.log ? { log: options.log } : {}),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The initiator API the remote tier uses: connect(url) → a namespace handle
// with read/write/flush at byte offsets. It hides queue pairs, transfer
// splitting (MDTS), queue choice, and reconnection.
//
// Failure contract:
// - A command the controller rejects → NvmeStatusError (sct/sc/dnr).
// - A command in flight when the connection fails: reads are retried once on
//   the new association (they are idempotent); writes and flushes fail with
//   NvmeTransportError, because whether they reached the medium is unknown.
//   The caller decides (the tier rewrites the extent or fails the PUT).
// - While disconnected, new requests wait for the reconnection up to
//   `reconnect.waitMs`, then fail with NvmeTransportError. Nothing hangs.
// - Reconnection runs with exponential backoff until close().
// Events: 'disconnect' (error), 'reconnect' ({ attempts }), 'reconnect-error' (error).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { IoOpcode, NVME_TCP_PORT_DEFAULT } from './constants.js';
import { NvmeTransportError } from './errors.js';
import { HostController, sleep } from './host-controller.js';
import type { HostQueuePair } from './queue-pair.js';
import { encodeSqe } from './sqe.js';

export interface NvmeTcpUrl {
  host: string;
  port: number;
  subsystemNqn: string;
  nsid?: number;
  hdgst: boolean;
  ddgst: boolean;
  ioQueues?: number;
  queueEntries?: number;
}

/**
 * `nvme-tcp://HOST:PORT/SUBNQN?nsid=1&hdgst=1&ddgst=1&queues=2&depth=128`
 * (port defaults to 4420; IPv6 hosts in brackets).
 */
export function parseNvmeTcpUrl(text: string): NvmeTcpUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`not a URL: ${text}`);
  }
  if (url.protocol !== 'nvme-tcp:') throw new RangeError(`expected nvme-tcp://, got ${url.protocol}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new RangeError(`no host in ${text}`);
  const subsystemNqn = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!subsystemNqn) throw new RangeError(`no subsystem NQN in ${text}`);
  const flag = (name: string) => ['1', 'true', 'on'].includes(url.searchParams.get(name) ?? '');
  const integer = (name: string) => {
    const raw = url.searchParams.get(name);
    if (raw === null) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name}=${raw} is not a non-negative integer`);
    return value;
  };
  const nsid = integer('nsid');
  const ioQueues = integer('queues');
  const queueEntries = integer('depth');
  return {
    host,
    port: url.port ? Number(url.port) : NVME_TCP_PORT_DEFAULT,
    subsystemNqn,
    hdgst: flag('hdgst'),
    ddgst: flag('ddgst'),
    ...(nsid !== undefined ? { nsid } : {}),
    ...(ioQueues !== undefined ? { ioQueues } : {}),
    ...(queueEntries !== undefined ? { queueEntries } : {}),
  };
}

export interface ConnectOptions {
  hostNqn?: string;
  /** 16 bytes; defaults to the UUID in the default host NQN. */
  hostId?: Buffer;
  ioQueues?: number;
  /** Entries per I/O queue (commands in flight per queue = entries − 1). */
  queueEntries?: number;
  hdgst?: boolean;
  ddgst?: boolean;
  katoMs?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; waitMs?: number };
  log?: (message: string) => void;
}

const PROCESS_HOST_UUID = randomUUID();

function defaultHost(): { hostNqn: string; hostId: Buffer } {
  return {
    hostNqn: `nqn.2014-08.org.nvmexpress:uuid:${PROCESS_HOST_UUID}`,
    hostId: Buffer.from(PROCESS_HOST_UUID.replace(/-/g, ''), 'hex'),
  };
}

export async function connect(url: string | NvmeTcpUrl, options: ConnectOptions = {}): Promise<NvmeTcpNamespace> {
  const target = typeof url === 'string' ? parseNvmeTcpUrl(url) : url;
  const host = defaultHost();
  const controllerOptions = {
    host: target.host,
    port: target.port,
    subsystemNqn: target.subsystemNqn,
    hostNqn: options.hostNqn ?? host.hostNqn,
    hostId: options.hostId ?? host.hostId,
    hdgst: options.hdgst ?? target.hdgst,
    ddgst: options.ddgst ?? target.ddgst,
    ioQueues: Math.max(1, options.ioQueues ?? target.ioQueues ?? 2),
    queueEntries: options.queueEntries ?? target.queueEntries ?? 128,
    katoMs: options.katoMs ?? 10_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 30_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    ...(options.log ? { log: options.log } : {}),
  };
  const controller = await HostController.connect(controllerOptions);
  try {
    const nsids = await controller.activeNamespaces();
    const nsid = target.nsid ?? nsids[0];
    if (nsid === undefined || !nsids.includes(nsid)) {
      throw new NvmeTransportError(`namespace ${target.nsid ?? '(any)'} is not active on ${target.subsystemNqn}`);
    }
    const identity = await controller.identifyNamespace(nsid);
    if (identity.blockSizeBytes === 0) throw new NvmeTransportError(`namespace ${nsid} reports LBADS ${identity.lbads}`);
    return new NvmeTcpNamespace(controller, nsid, identity.blockSizeBytes, Number(identity.nsze) * identity.blockSizeBytes, identity.nguid, {
      initialDelayMs: options.reconnect?.initialDelayMs ?? 100,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 5_000,
      waitMs: options.reconnect?.waitMs ?? 15_000,
    });
  } catch (error) {
    await controller.close({ shutdownTimeoutMs: 1000 });
    throw error;
  }
}

type ReconnectPolicy = { initialDelayMs: number; maxDelayMs: number; waitMs: number };

export class NvmeTcpNamespace extends EventEmitter {
  private controller: HostController | undefined;
  private closed = false;
  private readyWaiters: Array<{ resolve(controller: HostController): void; reject(error: Error): void }> = [];
  private nextQueue = 0;
  private readonly subsystemNqnValue: string;

  constructor(
    controller: HostController,
    readonly nsid: number,
    readonly blockSizeBytes: number,
    readonly sizeBytes: number,
    private readonly nguid: Buffer,
    private readonly reconnectPolicy: ReconnectPolicy,
  ) {
    super();
    this.subsystemNqnValue = controller.options.subsystemNqn;
    this.attach(controller);
  }

  get connected(): boolean {
    return this.controller !== undefined && !this.controller.lost;
  }

  get subsystemNqn(): string {
    return this.subsystemNqnValue;
  }

  private attach(controller: HostController): void {
    this.controller = controller;
    controller.once('lost', (error: Error) => {
      if (this.closed) return;
      this.controller = undefined;
      this.emit('disconnect', error);
      void this.reconnectLoop(controller);
    });
  }

  private async reconnectLoop(previous: HostController): Promise<void> {
    let delayMs = this.reconnectPolicy.initialDelayMs;
    for (let attempts = 1; !this.closed; attempts += 1) {
      await sleep(delayMs);
      if (this.closed) break;
      try {
        const controller = await HostController.connect(previous.options);
        const identity = await controller.identifyNamespace(this.nsid).catch(async (error: Error) => {
          await controller.close({ shutdownTimeoutMs: 500 });
          throw error;
        });
        const size = Number(identity.nsze) * identity.blockSizeBytes;
        if (!identity.nguid.equals(this.nguid) || identity.blockSizeBytes !== this.blockSizeBytes || size !== this.sizeBytes) {
          await controller.close({ shutdownTimeoutMs: 500 });
          throw new NvmeTransportError('the namespace changed identity or size across the reconnection');
        }
        if (this.closed) {
          await controller.close({ shutdownTimeoutMs: 500 });
          break;
        }
        this.attach(controller);
        for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(controller);
        this.emit('reconnect', { attempts });
        return;
      } catch (error) {
        this.emit('reconnect-error', error);
        delayMs = Math.min(this.reconnectPolicy.maxDelayMs, delayMs * 2);
      }
    }
  }

  /** The live controller, waiting for a reconnection up to waitMs. */
  private ready(): Promise<HostController> {
    if (this.closed) return Promise.reject(new NvmeTransportError('namespace handle closed'));
    if (this.controller && !this.controller.lost) return Promise.resolve(this.controller);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (controller: HostController) => {
          clearTimeout(timer);
          resolve(controller);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((entry) => entry !== waiter);
        reject(new NvmeTransportError(`not connected: no reconnection within ${this.reconnectPolicy.waitMs} ms`));
      }, this.reconnectPolicy.waitMs);
      this.readyWaiters.push(waiter);
    });
  }

  /** The I/O queue with the fewest commands outstanding (round-robin among equals). */
  private pickQueue(controller: HostController): HostQueuePair {
    const queues = controller.ioQueues;
    let best = queues[this.nextQueue % queues.length]!;
    this.nextQueue += 1;
    for (const qp of queues) if (qp.outstanding < best.outstanding) best = qp;
    return best;
  }

  private checkRange(offsetBytes: number, lengthBytes: number, aligned: boolean): void {
    if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(lengthBytes) || offsetBytes < 0 || lengthBytes < 0) {
      throw new RangeError(`bad range: offset ${offsetBytes}, length ${lengthBytes}`);
    }
    if (offsetBytes + lengthBytes > this.sizeBytes) {
      throw new RangeError(`range [${offsetBytes}, +${lengthBytes}) beyond the namespace (${this.sizeBytes} bytes)`);
    }
    if (aligned && (offsetBytes % this.blockSizeBytes !== 0 || lengthBytes % this.blockSizeBytes !== 0)) {
      throw new RangeError(`writes must be aligned to the ${this.blockSizeBytes}-byte block size (offset ${offsetBytes}, length ${lengthBytes})`);
    }
  }

  private async rw(opcode: number, offsetBytes: number, lengthBytes: number, data: Buffer | undefined, fua: boolean): Promise<Buffer | undefined> {
    const controller = await this.ready();
    const blocks = lengthBytes / this.blockSizeBytes;
    const slba = BigInt(offsetBytes / this.blockSizeBytes);
    const sqe = encodeSqe({
      opcode,
      cid: 0,
      nsid: this.nsid,
      cdw: [Number(slba & 0xffffffffn), Number(slba >> 32n), (blocks - 1) | (fua ? 1 << 30 : 0)],
    });
    const qp = this.pickQueue(controller);
    const what = `${opcode === IoOpcode.Read ? 'Read' : 'Write'} [${offsetBytes}, +${lengthBytes})`;
    const completion = await qp.submit(sqe, {
      ...(data ? { dataOut: data } : { dataInBytes: lengthBytes }),
      timeoutMs: controller.options.commandTimeoutMs,
      what,
    });
    return completion.data;
  }

  /** Reads any byte range (whole blocks are read and trimmed). Split at MDTS; pieces run in parallel. */
  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    this.checkRange(offsetBytes, lengthBytes, false);
    if (lengthBytes === 0) return Buffer.alloc(0);
    const block = this.blockSizeBytes;
    const start = offsetBytes - (offsetBytes % block);
    const end = Math.ceil((offsetBytes + lengthBytes) / block) * block;
    const controller = await this.ready();
    const pieceBytes = controller.maxTransferBytes - (controller.maxTransferBytes % block);
    if (end - start <= pieceBytes) {
      // One command: hand back its buffer without another copy.
      const data = await this.readPiece(start, end - start);
      return data.subarray(offsetBytes - start, offsetBytes - start + lengthBytes);
    }
    const result = Buffer.allocUnsafe(end - start);
    const pieces: Promise<void>[] = [];
    for (let at = start; at < end; at += pieceBytes) {
      const length = Math.min(pieceBytes, end - at);
      pieces.push(this.readPiece(at, length).then((data) => void data.copy(result, at - start)));
    }
    await Promise.all(pieces);
    return result.subarray(offsetBytes - start, offsetBytes - start + lengthBytes);
  }

  private async readPiece(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    try {
      return (await this.rw(IoOpcode.Read, offsetBytes, lengthBytes, undefined, false))!;
    } catch (error) {
      // Reads are idempotent: one retry on the next association.
      if (!(error instanceof NvmeTransportError) || this.closed) throw error;
      return (await this.rw(IoOpcode.Read, offsetBytes, lengthBytes, undefined, false))!;
    }
  }

  /**
   * Writes whole blocks. With fua, resolves only once the target made the data
   * durable; without it, call flush() for durability.
   */
  async write(offsetBytes: number, data: Buffer, options: { fua?: boolean } = {}): Promise<void> {
    this.checkRange(offsetBytes, data.length, true);
    if (data.length === 0) return;
    const controller = await this.ready();
    const pieceBytes = controller.maxTransferBytes - (controller.maxTransferBytes % this.blockSizeBytes);
    const pieces: Promise<unknown>[] = [];
    for (let at = 0; at < data.length; at += pieceBytes) {
      const piece = data.subarray(at, Math.min(data.length, at + pieceBytes));
      pieces.push(this.rw(IoOpcode.Write, offsetBytes + at, piece.length, piece, options.fua ?? false));
    }
    await Promise.all(pieces);
  }

  /** Makes every write that completed before this call durable on the target. */
  async flush(): Promise<void> {
    const controller = await this.ready();
    const sqe = encodeSqe({ opcode: IoOpcode.Flush, cid: 0, nsid: this.nsid });
    await this.pickQueue(controller).submit(sqe, { timeoutMs: controller.options.commandTimeoutMs, what: 'Flush' });
  }

  /**
   * Shuts the controller down (CC.SHN: the target flushes; waited for up to
   * shutdownTimeoutMs, default 5 s) and closes every connection.
   */
  async close(options: { shutdownTimeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new NvmeTransportError('namespace handle closed'));
    const controller = this.controller;
    this.controller = undefined;
    await controller?.close(options);
  }
}

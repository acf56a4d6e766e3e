// Target-side subsystems and controllers: which NQNs exist, which namespaces
// they export, and the per-controller state a host sets up over its admin queue
// (properties CC/CSTS, granted queues, features, keep-alive, AERs). One
// controller spans the admin connection and the I/O connections that joined it
// by CNTLID; destroying it closes all of them.
import { createHash } from 'node:crypto';
import { CNTLID_DYNAMIC } from '../constants.js';
import type { DiscoveryEntry } from '../discovery-log.js';
import type { BackingStore } from './backing-store.js';

export interface ExportedNamespace {
  nsid: number;
  backing: BackingStore;
  /** 16-byte NGUID, stable for a given subsystem NQN and NSID. */
  nguid: Buffer;
  eui64: Buffer;
}

export interface Subsystem {
  nqn: string;
  kind: 'nvm' | 'discovery';
  namespaces: Map<number, ExportedNamespace>;
  /** Host NQNs allowed to connect; undefined = any host. */
  allowedHosts?: Set<string>;
}

/** Limits the target advertises (CAP, Identify Controller) and enforces. */
export const TARGET_LIMITS = {
  /** CAP.MQES + 1: most entries in any submission queue. */
  queueEntriesMax: 128,
  adminQueueEntriesMin: 32,
  /** I/O queues a controller may be granted (Set Features Number of Queues). */
  ioQueuesMax: 16,
  /** MDTS = 8 → 2^8 × 4 KiB = 1 MiB. */
  mdts: 8,
  maxTransferBytes: 2 ** 8 * 4096,
  /** In-capsule data accepted on the admin queue (the Linux host puts up to 8 KiB there). */
  adminInCapsuleBytesMax: 8192,
  /** IOCCSZ = (64 + 16 KiB) / 16: writes up to 16 KiB may travel in the capsule. */
  ioInCapsuleBytesMax: 16384,
  /**
   * Default MAXH2CDATA = MDTS: every R2T (≤ MDTS) fits in one H2CData PDU, so
   * hosts that do not split an R2T into several PDUs (older Linux) still work.
   */
  maxH2CDataBytes: 2 ** 8 * 4096,
  /** C2HData PDUs are cut at this size. */
  c2hChunkBytes: 128 * 1024,
  /** Write data buffered per connection (R2Ts granted, data not yet written); more R2Ts wait. */
  r2tBufferBytesMax: 32 * 1024 * 1024,
  /**
   * Read data per connection between the start of its backing read and the moment
   * its C2HData reaches the kernel; more reads wait. A host that stops reading its
   * socket therefore pins at most this much (plus the kernel's socket buffers).
   */
  readBufferBytesMax: 16 * 1024 * 1024,
  aerMax: 4,
  /** Keep-alive slack beyond KATO before the controller is torn down. */
  keepAliveSlackMs: 1000,
} as const;

export const VERSION_1_4 = 0x00010400;

export function namespaceIds(subsystemNqn: string, nsid: number): { nguid: Buffer; eui64: Buffer } {
  const digest = createHash('sha256').update(`${subsystemNqn}\0${nsid}`).digest();
  return { nguid: digest.subarray(0, 16), eui64: digest.subarray(16, 24) };
}

/** Anything a controller can close when it is torn down (the target's connections). */
export interface ControllerMember {
  close(reason: string): void;
}

export class TargetController {
  /** CC register as last set by the host. */
  cc = 0;
  /** CSTS register. */
  csts = 0;
  /** Granted I/O queue count (1-based), set by Set Features Number of Queues. */
  ioQueuesGranted = 0;
  asyncEventConfig = 0;
  volatileWriteCacheEnabled = true;
  readonly connectedQids = new Set<number>();
  readonly members = new Set<ControllerMember>();
  pendingAers = 0;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  destroyed = false;

  constructor(
    readonly cntlid: number,
    readonly subsystem: Subsystem,
    readonly hostNqn: string,
    readonly hostId: Buffer,
    public katoMs: number,
    private readonly onDestroy: (controller: TargetController) => void,
  ) {}

  get enabled(): boolean {
    return (this.csts & 1) !== 0;
  }

  /** (Re)arms the keep-alive timer; called on Keep Alive and on any admin command. */
  touchKeepAlive(): void {
    if (this.destroyed) return;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    if (this.katoMs > 0) {
      this.keepAliveTimer = setTimeout(() => this.destroy('keep-alive timeout'), this.katoMs + TARGET_LIMITS.keepAliveSlackMs);
      this.keepAliveTimer.unref();
    }
  }

  destroy(reason: string): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    for (const member of [...this.members]) member.close(`controller ${this.cntlid}: ${reason}`);
    this.members.clear();
    this.onDestroy(this);
  }
}

/** The subsystems a target serves and the live controllers, by CNTLID. */
export class ControllerRegistry {
  private readonly controllers = new Map<number, TargetController>();
  private nextCntlid = 1;
  readonly subsystems = new Map<string, Subsystem>();
  /** Discovery log generation counter; bumped when the set of entries changes. */
  generation = 1n;
  /**
   * Filled by the target with its listeners, for the discovery log. localAddress
   * is the address the asking host reached us on (reported for wildcard listeners).
   */
  discoveryEntries: (localAddress: string | undefined) => DiscoveryEntry[] = () => [];

  addSubsystem(subsystem: Subsystem): void {
    this.subsystems.set(subsystem.nqn, subsystem);
    this.generation += 1n;
  }

  create(subsystem: Subsystem, hostNqn: string, hostId: Buffer, katoMs: number): TargetController | undefined {
    // Dynamic model: CNTLIDs 1..0xFFEF, skipping those in use.
    for (let attempt = 0; attempt < 0xffef; attempt += 1) {
      const cntlid = this.nextCntlid;
      this.nextCntlid = this.nextCntlid >= 0xffef ? 1 : this.nextCntlid + 1;
      if (cntlid === CNTLID_DYNAMIC || this.controllers.has(cntlid)) continue;
      const controller = new TargetController(cntlid, subsystem, hostNqn, hostId, katoMs, (c) => this.controllers.delete(c.cntlid));
      this.controllers.set(cntlid, controller);
      return controller;
    }
    return undefined;
  }

  get(cntlid: number): TargetController | undefined {
    return this.controllers.get(cntlid);
  }

  get size(): number {
    return this.controllers.size;
  }

  destroyAll(reason: string): void {
    for (const controller of [...this.controllers.values()]) controller.destroy(reason);
  }
}

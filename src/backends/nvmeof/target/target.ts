// The NVMe/TCP target: listens on one or more TCP addresses, serves one NVM
// subsystem (one namespace on a BackingStore) and the discovery subsystem on
// every listener, and reports both in the discovery log. `strata nvmet` is a
// thin CLI over this class; tests and benchmarks start it in-process or as a
// child process.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import { DISCOVERY_NQN } from '../constants.js';
import { AddressFamily, type DiscoveryEntry, DiscoverySubtype, TransportType } from '../discovery-log.js';
import type { BackingStore } from './backing-store.js';
import { ControllerRegistry, namespaceIds, TARGET_LIMITS } from './controller.js';
import { TargetConnection } from './connection.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TargetOptions {
  /** Where the NVM subsystem (and a discovery controller) is served. */
  listen: ListenAddress;
  /** Optional second listener for discovery only in the log (it answers any subsystem too). */
  discoveryListen?: ListenAddress;
  subsystemNqn: string;
  backing: BackingStore;
  /** Host NQNs allowed to connect to the NVM subsystem; undefined = any. */
  allowedHosts?: string[];
  firmwareRevision?: string;
  /** MAXH2CDATA to announce; default 1 MiB (= MDTS). Smaller values make hosts split R2Ts. */
  maxH2CDataBytes?: number;
  log?: (message: string) => void;
}

export class NvmeTcpTarget {
  readonly registry = new ControllerRegistry();
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private ioAddress: AddressInfo | undefined;
  private discoveryAddress: AddressInfo | undefined;

  private constructor(private readonly options: TargetOptions) {}

  static async start(options: TargetOptions): Promise<NvmeTcpTarget> {
    const h2c = options.maxH2CDataBytes;
    if (h2c !== undefined && (h2c < 4096 || h2c % 4 !== 0 || h2c > 16 * 1024 * 1024)) {
      throw new RangeError(`MAXH2CDATA ${h2c} must be 4 KiB..16 MiB and a multiple of 4`);
    }
    const target = new NvmeTcpTarget(options);
    const ids = namespaceIds(options.subsystemNqn, 1);
    target.registry.addSubsystem({
      nqn: options.subsystemNqn,
      kind: 'nvm',
      namespaces: new Map([[1, { nsid: 1, backing: options.backing, ...ids }]]),
      ...(options.allowedHosts ? { allowedHosts: new Set(options.allowedHosts) } : {}),
    });
    target.registry.addSubsystem({ nqn: DISCOVERY_NQN, kind: 'discovery', namespaces: new Map() });
    target.registry.discoveryEntries = (localAddress) => target.discoveryEntries(localAddress);
    try {
      target.ioAddress = await target.listen(options.listen);
      if (options.discoveryListen) target.discoveryAddress = await target.listen(options.discoveryListen);
    } catch (error) {
      await target.close();
      throw error;
    }
    return target;
  }

  /** The bound I/O address (port resolved when 0 was asked for). */
  get address(): AddressInfo {
    return this.ioAddress!;
  }

  get discoveryAddressInfo(): AddressInfo | undefined {
    return this.discoveryAddress;
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  private listen(address: ListenAddress): Promise<AddressInfo> {
    const log = this.options.log ?? (() => undefined);
    const serial = createHash('sha256').update(this.options.subsystemNqn).digest('hex').slice(0, 20);
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      new TargetConnection(socket, {
        registry: this.registry,
        maxH2CDataBytes: this.options.maxH2CDataBytes ?? TARGET_LIMITS.maxH2CDataBytes,
        identity: { serial, firmware: this.options.firmwareRevision ?? '0.1.0' },
        log,
      });
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  private discoveryEntries(localAddress: string | undefined): DiscoveryEntry[] {
    // A wildcard listener (0.0.0.0, ::) is useless as TRADDR: report the address the host reached.
    const reachable = (address: AddressInfo) => (['0.0.0.0', '::'].includes(address.address) && localAddress ? localAddress : address.address);
    const entry = (address: AddressInfo, portId: number, subtype: number, subnqn: string): DiscoveryEntry => ({
      trtype: TransportType.Tcp,
      adrfam: isIPv6(reachable(address)) ? AddressFamily.IPv6 : AddressFamily.IPv4,
      subtype,
      treq: 2, // secure channel not required
      portId,
      cntlid: 0xffff,
      asqsz: TARGET_LIMITS.adminQueueEntriesMin,
      trsvcid: String(address.port),
      subnqn,
      traddr: reachable(address),
      sectype: 0,
    });
    const entries: DiscoveryEntry[] = [];
    const discovery = this.discoveryAddress ?? this.ioAddress;
    if (discovery) entries.push(entry(discovery, this.discoveryAddress ? 2 : 1, DiscoverySubtype.CurrentDiscovery, DISCOVERY_NQN));
    if (this.ioAddress) entries.push(entry(this.ioAddress, 1, DiscoverySubtype.NvmSubsystem, this.options.subsystemNqn));
    return entries;
  }

  /** Stops listening and drops every connection and controller; the backing store stays open (the caller owns it). */
  async close(): Promise<void> {
    this.registry.destroyAll('target shutting down');
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      this.servers.map(
        (server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
  }
}

// The remote tier for large objects: the nvme tier's extent layout (CRC32C
// per extent, allocation rebuilt from committed metadata, group flush) on a
// namespace reached over NVMe/TCP with Strata's userspace initiator. A blob is
// acknowledged only after its writes completed on the target and a Flush
// covering them returned. While the target is unreachable the tier reports
// itself unavailable: placement writes elsewhere and reads answer 503.
import { openIoEngine } from './io-engine.js';
import type { IoEngine } from './io-engine.js';
import type { SlotRange } from './io-file.js';
import type { BlockFile } from './block-file.js';
import { loadIntents } from './nvme-intents.js';
import { BLOCK_BYTES, DATA_START_BYTES, newSuperblock, type Superblock } from './nvme-layout.js';
import { readSuperblock, writeSuperblock } from './nvme-open.js';
import { NvmeTier } from './nvme-tier.js';
import { connect, NvmeTransportError, type ConnectOptions, type NvmeTcpNamespace } from './nvmeof/index.js';
import { TierUnavailableError } from './tier-store.js';

const DEFAULT_EXTENT_BYTES = 1024 * 1024;

/** An NVMe/TCP namespace seen as a BlockFile; transport failures become TierUnavailableError. */
export class RemoteNamespaceFile implements BlockFile {
  constructor(
    readonly namespace: NvmeTcpNamespace,
    readonly engine: IoEngine,
    readonly path: string,
  ) {}

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NvmeTransportError) throw new TierUnavailableError('remote', error.message);
      throw error;
    }
  }

  async readExact(range: SlotRange, offsetBytes: number): Promise<void> {
    const bytes = await this.guard(() => this.namespace.read(offsetBytes, range.lengthBytes));
    range.slot.bytes.set(bytes, range.offsetBytes ?? 0);
  }

  async writeExact(range: SlotRange, offsetBytes: number): Promise<void> {
    const slot = range.slot.bytes;
    const view = Buffer.from(slot.buffer, slot.byteOffset + (range.offsetBytes ?? 0), range.lengthBytes);
    await this.guard(() => this.namespace.write(offsetBytes, view));
  }

  datasync(): Promise<void> {
    return this.guard(() => this.namespace.flush());
  }

  async close(): Promise<void> {
    await this.namespace.close();
  }
}

export interface RemoteTierOptions {
  /** nvme-tcp://HOST[:PORT]/SUBNQN[?nsid=&hdgst=&ddgst=&queues=&depth=] */
  url: string;
  /** Use at most this many bytes of the namespace. Default: all of it. */
  sizeBytes?: number;
  connect?: ConnectOptions;
  log?: (message: string) => void;
}

/** Connects, formats a blank namespace (or adopts ours, refusing foreign data), and returns the tier. Call recover() next. */
export async function openRemoteTier(options: RemoteTierOptions): Promise<NvmeTier> {
  const namespace = await connect(options.url, options.connect ?? {});
  const engine = openIoEngine({ kind: 'threadpool', slotBytes: DEFAULT_EXTENT_BYTES, slots: 32, queueDepth: 32 });
  const file = new RemoteNamespaceFile(namespace, engine, options.url);
  try {
    if (BLOCK_BYTES % namespace.blockSizeBytes !== 0) {
      throw new Error(`${options.url}: ${namespace.blockSizeBytes}-byte blocks do not divide the tier's ${BLOCK_BYTES}-byte blocks`);
    }
    const superblock = await adoptNamespace(file, namespace, options);
    const intents = await loadIntents({ file, pool: engine.pool });
    const log = options.log ?? ((message: string) => console.error(message));
    namespace.on('disconnect', (error: Error) => log(`strata: remote tier ${options.url} disconnected: ${error.message}`));
    namespace.on('reconnect', () => log(`strata: remote tier ${options.url} reconnected`));
    return new NvmeTier({
      engine,
      ownsEngine: true,
      file,
      superblock,
      device: 'nvme-tcp',
      intents,
      tierName: 'remote',
      mode: 'nvme-tcp',
      isAvailable: () => namespace.connected,
    });
  } catch (error) {
    await file.close().catch(() => undefined);
    await engine.close();
    throw error;
  }
}

async function adoptNamespace(file: RemoteNamespaceFile, namespace: NvmeTcpNamespace, options: RemoteTierOptions): Promise<Superblock> {
  const decoded = await readSuperblock(file);
  if (decoded.kind === 'foreign') throw new Error(`${options.url}: ${decoded.reason}; refusing to use it as the remote tier`);
  const available = Math.floor(Math.min(namespace.sizeBytes, options.sizeBytes ?? namespace.sizeBytes) / BLOCK_BYTES) * BLOCK_BYTES;
  if (decoded.kind === 'blank') {
    if (available <= DATA_START_BYTES) throw new Error(`${options.url}: too small for the remote tier (${available} bytes)`);
    const superblock = newSuperblock(available, DEFAULT_EXTENT_BYTES);
    await writeSuperblock(file, superblock);
    return superblock;
  }
  const superblock = decoded.superblock;
  if (superblock.blockBytes !== BLOCK_BYTES || superblock.dataStartBytes !== DATA_START_BYTES) {
    throw new Error(`${options.url}: unsupported geometry (block ${superblock.blockBytes}, data at ${superblock.dataStartBytes})`);
  }
  if (superblock.capacityBytes > namespace.sizeBytes) {
    throw new Error(`${options.url}: superblock says ${superblock.capacityBytes} bytes, the namespace has ${namespace.sizeBytes}`);
  }
  return superblock;
}

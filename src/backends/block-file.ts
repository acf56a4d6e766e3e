// What the extent-based tiers (nvme, remote) need from their medium: exact
// reads and writes of block-aligned ranges through aligned pool slots, and a
// durability barrier. IoFile (a local file or block device on the native I/O
// engine) is one; RemoteNamespaceFile (an NVMe/TCP namespace) is the other.
import type { IoEngine } from './io-engine.js';
import type { SlotRange } from './io-file.js';

export interface BlockFile {
  /** Where the medium is, for messages and health (a path or an nvme-tcp:// URL). */
  readonly path: string;
  /** The engine whose aligned buffer pool the tier reads and writes through. */
  readonly engine: IoEngine;
  readExact(range: SlotRange, offsetBytes: number): Promise<void>;
  writeExact(range: SlotRange, offsetBytes: number): Promise<void>;
  /** Everything written before the call is durable when this resolves. */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

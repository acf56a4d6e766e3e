// Public surface of the NVMe/TCP stack: the initiator API (what the remote tier
// uses), discovery, the target (what `strata nvmet` runs) and the typed errors.
export { connect, parseNvmeTcpUrl, NvmeTcpNamespace, type ConnectOptions, type NvmeTcpUrl } from './initiator.js';
export { discover, type DiscoverOptions } from './discovery.js';
export type { DiscoveryEntry } from './discovery-log.js';
export { NvmeTcpTarget, type TargetOptions } from './target/target.js';
export { FileBackingStore, type BackingStore } from './target/backing-store.js';
export { NvmeStatusError, NvmeTransportError, NvmeTimeoutError, DataDigestError, PduError } from './errors.js';

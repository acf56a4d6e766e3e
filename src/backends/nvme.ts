// Public entry of the nvme tier for placement and the server:
//
//   const tier = await openNvmeTier({ path: 'data/nvme.img', sizeBytes: 8 * 1024 ** 3 });
//   await tier.recover(committedNvmeRefs);   // before serving anything
//   tier.stats();                            // { name: 'nvme', mode: 'io_uring' | 'threadpool', ... }
//
// See docs/backends.md.
export { openNvmeTier, type NvmeTierOptions } from './nvme-open.js';
export { NvmeTier, type NvmeBlobRef, type NvmeTierDetails } from './nvme-tier.js';
export { parseNvmeSpec, parseSizeBytes, type NvmeSpec } from './nvme-spec.js';
export { openIoEngine, type IoEngine, type IoEngineKind, type IoEngineOptions } from './io-engine.js';
export { IoError, EngineClosedError } from './io-errors.js';

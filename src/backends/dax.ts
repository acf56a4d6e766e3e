// Public entry of the dax tier for placement and the server:
//
//   const spec = parseDaxSpec(flag ?? join(dataDir, 'blobs', 'dax.img'));   // --dax PATH[:SIZE]
//   const tier = await openDaxTier({ path: spec.path, sizeBytes: spec.sizeBytes });
//   await tier.recover(committedDaxRefs);   // before serving anything
//   tier.stats();   // { name: 'dax', mode: 'dax' | 'emulated', capacityBytes, usedBytes, objects }
//   tier.details(); // + persistence ('clwb' | 'clflushopt' | 'clflush' | 'msync'), mapSyncError, flushes, ...
//
// See docs/backends.md, "DAX tier".
export { openDaxTier, type DaxTierOptions } from './dax-open.js';
export { DaxTier, type DaxTierDetails } from './dax-tier.js';
export type { DaxBlobRef } from './dax-writer.js';
export type { DaxRecoveryReport } from './dax-recover.js';
export { parseDaxSpec, type DaxSpec } from './dax-spec.js';
export { RECORD_PAYLOAD_BYTES_MAX, SLOT_CLASSES } from './dax-layout.js';

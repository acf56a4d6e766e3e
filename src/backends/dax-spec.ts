// Parses the `--dax PATH[:SIZE]` flag, the same way as `--nvme` (binary size
// suffixes K, M, G, T with optional "iB"/"B"; a trailing ":..." that is not a
// size belongs to the path).
import { parseSizeBytes } from './nvme-spec.js';

export interface DaxSpec {
  path: string;
  sizeBytes?: number;
}

export function parseDaxSpec(spec: string): DaxSpec {
  if (spec.length === 0) throw new Error('--dax needs a PATH[:SIZE]');
  const colon = spec.lastIndexOf(':');
  if (colon > 0) {
    const sizeBytes = parseSizeBytes(spec.slice(colon + 1));
    if (sizeBytes !== undefined) {
      if (sizeBytes === 0) throw new Error(`--dax ${spec}: size must be positive`);
      return { path: spec.slice(0, colon), sizeBytes };
    }
  }
  return { path: spec };
}

// Parses the `--nvme PATH[:SIZE]` flag. SIZE takes binary suffixes (K, M, G, T,
// optionally followed by "iB" or "B"); a trailing ":..." that is not a size is
// part of the path.
export interface NvmeSpec {
  path: string;
  sizeBytes?: number;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "8G" → 8589934592; undefined when the text is not a size. */
export function parseSizeBytes(text: string): number | undefined {
  const match = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (match === null) return undefined;
  const bytes = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export function parseNvmeSpec(spec: string): NvmeSpec {
  if (spec.length === 0) throw new Error('--nvme needs a PATH[:SIZE]');
  const colon = spec.lastIndexOf(':');
  if (colon > 0) {
    const sizeBytes = parseSizeBytes(spec.slice(colon + 1));
    if (sizeBytes !== undefined) {
      if (sizeBytes === 0) throw new Error(`--nvme ${spec}: size must be positive`);
      return { path: spec.slice(0, colon), sizeBytes };
    }
  }
  return { path: spec };
}

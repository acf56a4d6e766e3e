// Size-based placement policy: which tiers, in order of preference, should hold
// a blob of a given size. Small blobs prefer persistent memory, mid-size local
// NVMe, large ones remote NVMe-oF; every chain ends at the portable fs tier so a
// PUT never fails while any tier has room.
import type { TierName } from '../backends/tier-store.js';

export interface PlacementThresholds {
  /** Blobs up to this size (exclusive upper bound) are "small". */
  smallMaxBytes: number;
  /** Blobs of at least this size are "large". */
  largeMinBytes: number;
}

export const DEFAULT_THRESHOLDS: PlacementThresholds = {
  smallMaxBytes: 64 * 1024,
  largeMinBytes: 10 * 1024 * 1024,
};

export type SizeClass = 'small' | 'mid' | 'large';

export function sizeClass(sizeBytes: number, thresholds: PlacementThresholds): SizeClass {
  if (sizeBytes < thresholds.smallMaxBytes) return 'small';
  if (sizeBytes >= thresholds.largeMinBytes) return 'large';
  return 'mid';
}

const PREFERENCE: Record<SizeClass, TierName[]> = {
  small: ['dax', 'nvme', 'fs'],
  mid: ['nvme', 'fs'],
  large: ['remote', 'nvme', 'fs'],
};

/** The tiers to try, in order, among those configured. */
export function tierChain(sizeBytes: number, thresholds: PlacementThresholds, available: ReadonlySet<TierName>): TierName[] {
  return PREFERENCE[sizeClass(sizeBytes, thresholds)].filter((tier) => available.has(tier));
}

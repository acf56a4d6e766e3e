// Goal: the placement policy sends each size to the right tier chain at the
// exact boundaries (64 KiB − 1, 64 KiB, 10 MiB − 1, 10 MiB by default, and
// custom thresholds), and drops tiers that are not configured.
import t from 'tap';
import { DEFAULT_THRESHOLDS, sizeClass, tierChain } from '../../src/placement/policy.js';
import type { TierName } from '../../src/backends/tier-store.js';

const all = new Set<TierName>(['dax', 'nvme', 'remote', 'fs']);
const KiB = 1024;
const MiB = 1024 * KiB;

t.test('default boundaries', async (t) => {
  t.same(tierChain(0, DEFAULT_THRESHOLDS, all), ['dax', 'nvme', 'fs']);
  t.same(tierChain(64 * KiB - 1, DEFAULT_THRESHOLDS, all), ['dax', 'nvme', 'fs'], '64 KiB − 1 is small');
  t.same(tierChain(64 * KiB, DEFAULT_THRESHOLDS, all), ['nvme', 'fs'], '64 KiB is mid-size');
  t.same(tierChain(10 * MiB - 1, DEFAULT_THRESHOLDS, all), ['nvme', 'fs'], '10 MiB − 1 is mid-size');
  t.same(tierChain(10 * MiB, DEFAULT_THRESHOLDS, all), ['remote', 'nvme', 'fs'], '10 MiB is large');
  t.same(tierChain(5 * 1024 * MiB, DEFAULT_THRESHOLDS, all), ['remote', 'nvme', 'fs']);
});

t.test('custom thresholds', async (t) => {
  const thresholds = { smallMaxBytes: 4 * KiB, largeMinBytes: 1 * MiB };
  t.equal(sizeClass(4 * KiB - 1, thresholds), 'small');
  t.equal(sizeClass(4 * KiB, thresholds), 'mid');
  t.equal(sizeClass(MiB - 1, thresholds), 'mid');
  t.equal(sizeClass(MiB, thresholds), 'large');
});

t.test('tiers that are not configured are skipped; fs always ends the chain', async (t) => {
  const nvmeAndFs = new Set<TierName>(['nvme', 'fs']);
  t.same(tierChain(1, DEFAULT_THRESHOLDS, nvmeAndFs), ['nvme', 'fs']);
  t.same(tierChain(20 * MiB, DEFAULT_THRESHOLDS, nvmeAndFs), ['nvme', 'fs']);
  const fsOnly = new Set<TierName>(['fs']);
  for (const size of [0, 100 * KiB, 100 * MiB]) t.same(tierChain(size, DEFAULT_THRESHOLDS, fsOnly), ['fs']);
});

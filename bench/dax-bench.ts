// dax tier benchmark: the raw durable record write rate below HTTP, against
// a plain memcpy + msync baseline measured in the same run on the same disk.
//
// Tier side: `writers` concurrent loops of createWriter({ sizeHint }) → one
// write() of the record → finish() (durable: payload flush, then commit
// marker flush, group-committed), deleting the oldest blobs to keep the tier
// from filling (an overwrite workload; deletes are part of the cost).
// Baseline side (native pmemBaseline): `writers` threads, each memcpy of the
// record into its own stripe of a MAP_SHARED mapping, then msync(MS_SYNC) of
// the pages it touched — the least a durable small write costs here, with no
// tier logic and no group commit.
// Cells alternate tier and baseline, `rounds` times; medians are reported.
//
//   node dist/bench/dax-bench.js [--dir /tmp/strata-bench] [--size-mib 256] [--runtime-s 3] [--rounds 2]
//       [--records 1024,4096,16384,61440] [--writers 1,32] [--paths msync,cacheflush]
//
// --paths cacheflush also runs the tier with the DAX code path (CLWB + SFENCE)
// on this non-DAX file: that shows the CPU cost of the DAX path, NOT a
// durable rate (the page cache still holds the data). cacheflush-memcpy is
// the same with ordinary copies + line flushes instead of non-temporal stores.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDaxTier, type DaxTier } from '../src/backends/dax.js';
import { pmemAddon } from '../src/backends/dax-region.js';
import type { BlobRef } from '../src/backends/tier-store.js';

interface Cell {
  records: number;
  seconds: number;
  p50Us?: number;
  p99Us?: number;
  batchesPerRecord?: number;
  msyncsPerRecord?: number;
}

const LIVE_WINDOW_BYTES = 64 * 1024 * 1024;

async function runTier(tier: DaxTier, recordBytes: number, writers: number, runtimeMs: number): Promise<Cell> {
  const body = Buffer.alloc(recordBytes);
  for (let i = 0; i < recordBytes; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
  const window = Math.max(writers * 2, Math.floor(LIVE_WINDOW_BYTES / recordBytes));
  // A FIFO of live blobs (head index, not shift(): O(1) per delete at 64k entries).
  const live: BlobRef[] = [];
  let head = 0;
  const latencyUs: number[] = [];
  const before = tier.details();
  const deadline = performance.now() + runtimeMs;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const writer = await tier.createWriter({ sizeHint: recordBytes });
        await writer.write(body);
        live.push(await writer.finish());
        latencyUs.push((performance.now() - t0) * 1000);
        while (live.length - head > window) await tier.delete(live[head++]!);
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  for (const ref of live.slice(head)) await tier.delete(ref);
  const after = tier.details();
  latencyUs.sort((a, b) => a - b);
  const pick = (q: number): number => latencyUs[Math.floor(q * (latencyUs.length - 1))]!;
  return {
    records: latencyUs.length,
    seconds,
    p50Us: pick(0.5),
    p99Us: pick(0.99),
    batchesPerRecord: (after.commitBatches - before.commitBatches) / latencyUs.length,
    msyncsPerRecord: (after.msyncs - before.msyncs) / latencyUs.length,
  };
}

function runBaseline(path: string, lengthBytes: number, recordBytes: number, writers: number, runtimeMs: number): Cell {
  const fd = openSync(path, 'r+');
  try {
    const result = pmemAddon.pmemBaseline(fd, lengthBytes, recordBytes, writers, runtimeMs);
    if (typeof result === 'number') throw new Error(`pmemBaseline: errno ${result}`);
    return result;
  } finally {
    closeSync(fd);
  }
}

function zeroFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const zeroes = Buffer.alloc(1024 * 1024);
  try {
    for (let offset = 0; offset < bytes; offset += zeroes.length) writeSync(fd, zeroes, 0, Math.min(zeroes.length, bytes - offset), offset);
  } finally {
    closeSync(fd);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: join(tmpdir(), 'strata-bench') },
      'size-mib': { type: 'string', default: '256' },
      'runtime-s': { type: 'string', default: '3' },
      rounds: { type: 'string', default: '2' },
      records: { type: 'string', default: '1024,4096,16384,61440' },
      writers: { type: 'string', default: '1,32' },
      paths: { type: 'string', default: 'msync' },
    },
  });
  const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
  const runtimeMs = Number(values['runtime-s']) * 1000;
  const rounds = Number(values.rounds);
  const recordSizes = values.records.split(',').map(Number);
  const writerCounts = values.writers.split(',').map(Number);
  const paths = values.paths.split(',');
  mkdirSync(values.dir, { recursive: true });
  const tierPath = join(values.dir, 'dax-bench.img');
  const baselinePath = join(values.dir, 'dax-baseline.img');
  rmSync(tierPath, { force: true });
  zeroFile(baselinePath, sizeBytes);
  const tiers = new Map<string, DaxTier>();
  for (const path of paths) {
    if (!['msync', 'cacheflush', 'cacheflush-memcpy'].includes(path)) throw new Error(`unknown path ${path}`);
    rmSync(tierPath + path, { force: true });
    const tier = await openDaxTier({
      path: tierPath + path,
      sizeBytes,
      unsafeCacheFlushWithoutDax: path.startsWith('cacheflush'),
      nonTemporalStores: path !== 'cacheflush-memcpy',
    });
    await tier.recover([]);
    tiers.set(path, tier);
  }
  const first = tiers.values().next().value as DaxTier;
  const d = first.details();
  console.error(`dax-bench: mode ${d.mode}, persistence ${d.persistence}, MAP_SYNC ${d.mapSync} (${d.mapSyncError ?? 'ok'}), non-temporal stores ${d.nonTemporalStores}`);

  const rows: string[] = [];
  for (const recordBytes of recordSizes) {
    for (const writers of writerCounts) {
      const results = new Map<string, Cell[]>();
      const add = (key: string, cell: Cell): void => void results.set(key, [...(results.get(key) ?? []), cell]);
      for (let round = 0; round < rounds; round++) {
        for (const [path, tier] of tiers) add(path, await runTier(tier, recordBytes, writers, runtimeMs));
        add('baseline', runBaseline(baselinePath, sizeBytes, recordBytes, writers, runtimeMs));
      }
      const rate = (key: string): number => median(results.get(key)!.map((c) => c.records / c.seconds));
      const baselineRounds = results.get('baseline')!.map((c) => c.records / c.seconds);
      const summary: Record<string, unknown> = {
        recordBytes,
        writers,
        baselineRecordsPerSecond: rate('baseline'),
        baselinePerRound: baselineRounds.map(Math.round),
      };
      let row = `| ${recordBytes / 1024} KiB | ${writers} | ${Math.round(rate('baseline'))} |`;
      for (const path of tiers.keys()) {
        const cells = results.get(path)!;
        const r = rate(path);
        const p50 = median(cells.map((c) => c.p50Us!));
        const p99 = median(cells.map((c) => c.p99Us!));
        const bpr = median(cells.map((c) => c.batchesPerRecord!));
        const mpr = median(cells.map((c) => c.msyncsPerRecord!));
        summary[path] = {
          recordsPerSecond: r,
          mbPerSecond: (r * recordBytes) / 1e6,
          p50Us: p50,
          p99Us: p99,
          batchesPerRecord: bpr,
          msyncsPerRecord: mpr,
          perRound: cells.map((c) => Math.round(c.records / c.seconds)),
        };
        // Tier and baseline of the same round ran back to back: their ratio is the steadier figure.
        const ratios = cells.map((c, i) => c.records / c.seconds / baselineRounds[i]!);
        const ratioRange = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
        row += ` ${Math.round(r)} | ${((r * recordBytes) / 1e6).toFixed(1)} | ${(r / rate('baseline')).toFixed(2)}× (${ratioRange}) | ${Math.round(p50)} / ${Math.round(p99)} µs | ${(1 / bpr).toFixed(1)} |`;
      }
      console.log(JSON.stringify(summary));
      rows.push(row);
    }
  }
  for (const tier of tiers.values()) await tier.close();
  for (const path of tiers.keys()) rmSync(tierPath + path, { force: true });
  rmSync(baselinePath, { force: true });
  const header = [...tiers.keys()].map((p) => ` ${p} rec/s | ${p} MB/s | vs baseline | ${p} p50 / p99 | records per batch |`).join('');
  console.log(`\n| record | writers | baseline memcpy+msync rec/s |${header}`);
  console.log(`|---|---:|---:|${[...tiers.keys()].map(() => '---:|---:|---:|---:|---:|').join('')}`);
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

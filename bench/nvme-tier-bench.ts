// nvme tier benchmark: what a PUT/GET mix sees below the HTTP layer. PUT phase:
// `concurrency` writers each stream blobs of `blob-kib` in 64 KiB chunks (the
// size HTTP bodies arrive in) and finish() them — durable, group-committed —
// for `runtime-s`. GET phase: the same number of readers stream random
// written blobs whole (CRC-checked). Deletes happen at the end.
//
//   node dist/bench/nvme-tier-bench.js [--file F] [--size-mib 2048] [--blob-kib 1024] [--concurrency 16] [--runtime-s 10] [--engine io_uring]
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openNvmeTier } from '../src/backends/nvme.js';
import { TierFullError, type BlobRef } from '../src/backends/tier-store.js';
import type { IoEngineKind } from '../src/backends/io-engine.js';

const CHUNK_BYTES = 64 * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string', default: join(tmpdir(), 'strata-bench', 'nvme-tier.img') },
      'size-mib': { type: 'string', default: '2048' },
      'blob-kib': { type: 'string', default: '1024' },
      concurrency: { type: 'string', default: '16' },
      'runtime-s': { type: 'string', default: '10' },
      engine: { type: 'string', default: 'io_uring' },
    },
  });
  const blobBytes = Number(values['blob-kib']) * 1024;
  const concurrency = Number(values.concurrency);
  const runtimeMs = Number(values['runtime-s']) * 1000;
  rmSync(values.file, { force: true });
  const tier = await openNvmeTier({
    path: values.file,
    sizeBytes: Number(values['size-mib']) * 1024 * 1024,
    engine: values.engine as IoEngineKind,
    slots: Math.max(32, concurrency * 4),
  });
  await tier.recover([]);
  const body = Buffer.alloc(blobBytes);
  for (let i = 0; i < blobBytes; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);

  const refs: BlobRef[] = [];
  const putLatencyMs: number[] = [];
  let deadline = Date.now() + runtimeMs;
  let putStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const began = performance.now();
        const writer = await tier.createWriter({ sizeHint: blobBytes });
        for (let offset = 0; offset < blobBytes; offset += CHUNK_BYTES) {
          await writer.write(body.subarray(offset, offset + CHUNK_BYTES));
        }
        refs.push(await writer.finish());
        putLatencyMs.push(performance.now() - began);
        if (tier.stats().capacityBytes - tier.stats().usedBytes < 2 * concurrency * blobBytes) {
          // Keep going on a full tier: drop the oldest blobs (an overwrite workload).
          for (const ref of refs.splice(0, concurrency)) await tier.delete(ref);
        }
      }
    }),
  ).catch((error: unknown) => {
    if (!(error instanceof TierFullError)) throw error;
  });
  const putSeconds = (performance.now() - putStart) / 1000;
  const details = tier.details();
  const puts = putLatencyMs.length;

  const getLatencyMs: number[] = [];
  let getBytes = 0;
  deadline = Date.now() + runtimeMs;
  putStart = performance.now();
  let pick = 12345;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        pick = (Math.imul(pick, 1103515245) + 12345) >>> 0;
        const ref = refs[pick % refs.length]!;
        const began = performance.now();
        for await (const chunk of tier.createReadStream(ref, { start: 0, end: ref.size })) getBytes += (chunk as Buffer).length;
        getLatencyMs.push(performance.now() - began);
      }
    }),
  );
  const getSeconds = (performance.now() - putStart) / 1000;
  for (const ref of refs) await tier.delete(ref);
  await tier.close();
  rmSync(values.file, { force: true });

  const p = (samples: number[], q: number): number => [...samples].sort((a, b) => a - b)[Math.floor(q * (samples.length - 1))]!;
  console.log(
    JSON.stringify({
      engine: details.engine.kind,
      blobBytes,
      concurrency,
      put: {
        blobsPerSecond: puts / putSeconds,
        mbPerSecond: (puts * blobBytes) / putSeconds / 1e6,
        p50Ms: p(putLatencyMs, 0.5),
        p99Ms: p(putLatencyMs, 0.99),
        fdatasyncs: details.flushes,
        blobsPerFdatasync: details.flushRequests / details.flushes,
      },
      get: {
        blobsPerSecond: getLatencyMs.length / getSeconds,
        mbPerSecond: getBytes / getSeconds / 1e6,
        p50Ms: p(getLatencyMs, 0.5),
        p99Ms: p(getLatencyMs, 0.99),
      },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

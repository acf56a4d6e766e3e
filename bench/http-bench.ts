// S3 PUT/GET benchmark: strata beside, in the same run, a plain Node http
// server serving the same bytes from memory and s3rver (npm). Prints a
// markdown table with ratios. Bounded: every cell runs --duration seconds.
//
//   npm run bench:peers   # once: installs s3rver under bench/peers
//   node dist/bench/http-bench.js [--duration 5] [--sizes 4KiB,1MiB,64MiB] [--concurrency 1,32]
//        [--strata 'strata=;strata-fs=--nvme none'] [--peers node-http,s3rver]
// --strata names one or more strata configurations (name=server flags, ';'-separated).
// --nvmet PATH:SIZE also starts a `strata nvmet` target on that backing file; @NVMET@ in
// strata flags becomes its nvme-tcp:// URL (for the remote tier).
import { parseSize } from '../src/config/server-config.js';
import { runLoad, type LoadOp, type LoadResult } from './load.js';
import { startNvmetProcess, startPlainProcess, startS3rverProcess, startStrataProcess, type BenchProcess } from './processes.js';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1]! : fallback;
}

const durationSeconds = Number(arg('duration', '5'));
const sizes = arg('sizes', '4KiB,1MiB,64MiB').split(',');
const concurrencies = arg('concurrency', '1,32').split(',').map(Number);
const ops = arg('ops', 'put,get').split(',') as LoadOp[];

function keysFor(sizeBytes: number): number {
  return Math.max(4, Math.min(64, Math.floor((1024 * 1024 * 1024) / sizeBytes)));
}

async function measure(target: BenchProcess, op: LoadOp, sizeBytes: number, concurrency: number): Promise<LoadResult> {
  return runLoad({
    endpoint: target.endpoint,
    bucket: `bench-${sizeBytes}`,
    sizeBytes,
    concurrency,
    durationSeconds,
    op,
    keys: keysFor(sizeBytes),
    createBucket: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey, region: 'us-east-1' },
  });
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);

async function main(): Promise<void> {
  const targets: BenchProcess[] = [];
  const helpers: { stop(): Promise<void> }[] = [];
  let nvmetUrl = '';
  const nvmetSpec = arg('nvmet', '');
  if (nvmetSpec !== '') {
    const colon = nvmetSpec.lastIndexOf(':');
    const nvmet = await startNvmetProcess(nvmetSpec.slice(0, colon), nvmetSpec.slice(colon + 1));
    helpers.push(nvmet);
    nvmetUrl = nvmet.url;
  }
  for (const item of arg('strata', 'strata=').split(';')) {
    const [name, flags = ''] = item.split('=');
    const words = flags.replaceAll('@NVMET@', nvmetUrl).split(' ').filter((word) => word !== '');
    const started = await startStrataProcess({ args: words });
    targets.push({ ...started, name: name! });
  }
  const peers = arg('peers', 'node-http,s3rver').split(',');
  if (peers.includes('node-http')) targets.push(await startPlainProcess());
  if (peers.includes('s3rver')) {
    const s3rver = await startS3rverProcess(4568 + Math.floor(Math.random() * 1000));
    if (s3rver) targets.push(s3rver);
    else console.error('s3rver not installed (npm run bench:peers): its columns are skipped');
  }
  try {
    console.log(`| op | size | conc | server | ops/s | MB/s | p50 ms | p99 ms | errors | × node-http | × s3rver |`);
    console.log(`|---|---|---|---|---|---|---|---|---|---|---|`);
    for (const size of sizes) {
      const sizeBytes = parseSize(size, '--sizes');
      for (const concurrency of concurrencies) {
        for (const op of ops) {
          const results = new Map<string, LoadResult>();
          for (const target of targets) results.set(target.name, await measure(target, op, sizeBytes, concurrency));
          const plain = results.get('node-http');
          const peer = results.get('s3rver');
          for (const [name, result] of results) {
            console.log(
              `| ${op} | ${size} | ${concurrency} | ${name} | ${fmt(result.opsPerSecond)} | ${fmt(result.megabytesPerSecond)} | ${fmt(result.p50Ms, 2)} | ${fmt(result.p99Ms, 2)} | ${result.errors} | ${plain ? fmt(result.opsPerSecond / plain.opsPerSecond, 2) : '–'} | ${peer ? fmt(result.opsPerSecond / peer.opsPerSecond, 2) : '–'} |`,
            );
          }
        }
      }
    }
  } finally {
    for (const target of targets) await target.stop();
    for (const helper of helpers) await helper.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

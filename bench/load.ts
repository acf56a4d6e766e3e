// The load tool: drives PUT, GET or a 50/50 mix of objects of one size against
// an S3 endpoint at a fixed concurrency for a fixed duration, and reports
// ops/s, MB/s and latency percentiles. Every request is SigV4-signed, whatever
// the target, so client-side cost is identical across targets.
//
//   node dist/bench/load.js --endpoint http://127.0.0.1:9000 --bucket bench \
//     --size 1MiB --concurrency 32 --duration 10 --op get [--keys 64]
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseSize } from '../src/config/server-config.js';
import { signedHeaders, type SigningCredentials } from './sigv4-client.js';

export type LoadOp = 'put' | 'get' | 'mixed';

export interface LoadOptions {
  endpoint: string;
  bucket: string;
  sizeBytes: number;
  concurrency: number;
  durationSeconds: number;
  op: LoadOp;
  /** Distinct keys written before a GET run and cycled through. */
  keys: number;
  credentials: SigningCredentials;
  /** Create the bucket first (ignore "already exists"). */
  createBucket?: boolean;
}

export interface LoadResult {
  op: LoadOp;
  sizeBytes: number;
  concurrency: number;
  ops: number;
  errors: number;
  seconds: number;
  opsPerSecond: number;
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

interface Target {
  host: string;
  port: number;
  agent: Agent;
}

function send(target: Target, credentials: SigningCredentials, method: string, path: string, body?: Buffer): Promise<number> {
  const extra: Record<string, string> = body ? { 'content-length': String(body.length) } : {};
  const headers = signedHeaders(credentials, method, `${target.host}:${target.port}`, path, extra);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.host, port: target.port, method, path, headers, agent: target.agent }, (response) => {
      response.on('data', () => {});
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.endpoint);
  const target: Target = {
    host: url.hostname,
    port: Number(url.port),
    agent: new Agent({ keepAlive: true, maxSockets: options.concurrency }),
  };
  const body = randomBytes(options.sizeBytes);
  const keyPath = (index: number) => `/${options.bucket}/obj-${options.sizeBytes}-${index % options.keys}`;
  if (options.createBucket) await send(target, options.credentials, 'PUT', `/${options.bucket}`);
  if (options.op !== 'put') {
    for (let i = 0; i < options.keys; i += options.concurrency) {
      await Promise.all(
        Array.from({ length: Math.min(options.concurrency, options.keys - i) }, (_, j) =>
          send(target, options.credentials, 'PUT', keyPath(i + j), body),
        ),
      );
    }
  }
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const start = performance.now();
  const deadline = start + options.durationSeconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const index = counter++;
      const isPut = options.op === 'put' || (options.op === 'mixed' && index % 2 === 0);
      const began = performance.now();
      try {
        const status = await send(target, options.credentials, isPut ? 'PUT' : 'GET', keyPath(index), isPut ? body : undefined);
        if (status !== 200) errors++;
        else latencies.push(performance.now() - began);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  target.agent.destroy();
  latencies.sort((a, b) => a - b);
  const ops = latencies.length;
  return {
    op: options.op,
    sizeBytes: options.sizeBytes,
    concurrency: options.concurrency,
    ops,
    errors,
    seconds,
    opsPerSecond: ops / seconds,
    megabytesPerSecond: (ops * options.sizeBytes) / seconds / 1e6,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

function argValue(args: string[], name: string, fallback?: string): string {
  const index = args.indexOf(`--${name}`);
  if (index >= 0 && args[index + 1] !== undefined) return args[index + 1]!;
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const result = await runLoad({
    endpoint: argValue(args, 'endpoint', 'http://127.0.0.1:9000'),
    bucket: argValue(args, 'bucket', 'bench'),
    sizeBytes: parseSize(argValue(args, 'size', '1MiB'), '--size'),
    concurrency: Number(argValue(args, 'concurrency', '1')),
    durationSeconds: Number(argValue(args, 'duration', '10')),
    op: argValue(args, 'op', 'get') as LoadOp,
    keys: Number(argValue(args, 'keys', '64')),
    createBucket: true,
    credentials: {
      accessKeyId: process.env.STRATA_ACCESS_KEY ?? argValue(args, 'access-key'),
      secretAccessKey: process.env.STRATA_SECRET_KEY ?? argValue(args, 'secret-key'),
      region: 'us-east-1',
    },
  });
  console.log(JSON.stringify(result));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\//, ''))) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

// Listing cost must follow the page, not the bucket: list 1000 keys under a
// prefix (and a delimiter listing of the whole bucket) through the S3 API, in
// a bucket of 10k and one of 200k objects, and compare the times.
//
//   node dist/bench/list-bench.js [--sizes 10000,200000] [--rounds 30]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, Agent } from 'node:http';
import { MetaStore } from '../src/object/meta-store.js';
import { objectKey } from '../src/object/keys.js';
import type { ObjectRecord } from '../src/object/records.js';
import { canonicalIdFor } from '../src/config/credentials.js';
import { startStrataProcess } from './processes.js';
import { signedHeaders } from './sigv4-client.js';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1]! : fallback;
}

const TARGET_KEYS = 1500;

/** Fills a bucket directly in the metadata store: `total` objects, 1500 of them under "target/". */
async function populate(directory: string, total: number): Promise<void> {
  const store = new MetaStore(join(directory, 'meta'));
  const owner = canonicalIdFor('BENCHKEY');
  await store.transaction(() => {
    store.buckets.putSync('list-bench', { v: 1, name: 'list-bench', createdMs: Date.now(), region: 'us-east-1', owner });
  });
  const record = (key: string): ObjectRecord => ({
    v: 1, key, sizeBytes: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModifiedMs: Date.now(),
    headers: {}, userMeta: {}, blobs: [], storageClass: 'STANDARD', owner,
  });
  const keys: string[] = [];
  for (let i = 0; i < TARGET_KEYS; i++) keys.push(`target/obj-${String(i).padStart(6, '0')}`);
  for (let i = 0; keys.length < total; i++) {
    // Half the other keys sort before "target/", half after, in 100 directories each.
    const side = i % 2 === 0 ? 'a' : 'z';
    keys.push(`${side}-dir-${String(i % 100).padStart(3, '0')}/obj-${String(i).padStart(7, '0')}`);
  }
  for (let start = 0; start < keys.length; start += 20_000) {
    await store.transaction(() => {
      for (const key of keys.slice(start, start + 20_000)) store.objects.putSync(objectKey('list-bench', key), record(key));
    });
  }
  await store.close();
}

function timedGet(endpoint: URL, agent: Agent, path: string, query: string): Promise<{ ms: number; body: string }> {
  const headers = signedHeaders({ accessKeyId: 'BENCHKEY', secretAccessKey: 'bench-secret', region: 'us-east-1' }, 'GET', endpoint.host, path, {}, query);
  return new Promise((resolve, reject) => {
    const began = performance.now();
    httpRequest({ host: endpoint.hostname, port: endpoint.port, path: `${path}?${query}`, headers, agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ ms: performance.now() - began, body }));
    })
      .on('error', reject)
      .end();
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const sizes = arg('sizes', '10000,200000').split(',').map(Number);
  const rounds = Number(arg('rounds', '30'));
  console.log('| objects in bucket | listing | keys returned | median ms | p90 ms |');
  console.log('|---|---|---|---|---|');
  for (const total of sizes) {
    const directory = mkdtempSync(join(tmpdir(), 'strata-list-bench-'));
    try {
      await populate(directory, total);
      const server = await startStrataProcess({ dataDirectory: directory });
      const endpoint = new URL(server.endpoint);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const cases = [
          { name: 'ListObjectsV2 prefix=target/ max-keys=1000', query: 'list-type=2&max-keys=1000&prefix=target%2F' },
          { name: 'ListObjectsV2 delimiter=/ (whole bucket)', query: 'delimiter=%2F&list-type=2&max-keys=1000' },
        ];
        for (const item of cases) {
          const times: number[] = [];
          let returned = 0;
          for (let round = 0; round < rounds; round++) {
            const { ms, body } = await timedGet(endpoint, agent, '/list-bench', item.query);
            if (!body.includes('<ListBucketResult')) throw new Error(`listing failed: ${body.slice(0, 300)}`);
            returned = (body.match(/<Key>/g) ?? []).length + (body.match(/<CommonPrefixes>/g) ?? []).length;
            if (round > 0) times.push(ms);
          }
          const sorted = [...times].sort((a, b) => a - b);
          console.log(`| ${total} | ${item.name} | ${returned} | ${median(times).toFixed(2)} | ${sorted[Math.floor(sorted.length * 0.9)]!.toFixed(2)} |`);
        }
      } finally {
        agent.destroy();
        await server.stop();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

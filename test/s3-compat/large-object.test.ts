// Goal: objects stream in both directions — a 2 GiB PUT and GET keep the
// server's RSS growth under 100 MiB — and a client that disconnects in the
// middle of a large upload leaves no object and no bytes behind.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startStrata, type StrataProcess } from '../helpers/server-process.js';
import { rawRequest, signHeaders } from '../helpers/raw-s3.js';

const MiB = 1024 * 1024;

function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Samples a process's RSS until stopped; returns the peak. */
function watchRss(pid: number): { stop: () => number } {
  let peak = residentBytes(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, residentBytes(pid));
    } catch {
      // the process is gone; keep the last peak
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** A deterministic stream of `totalBytes` built from one random block. */
function patternStream(block: Buffer, totalBytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= totalBytes) {
        this.push(null);
        return;
      }
      const piece = block.subarray(0, Math.min(block.length, totalBytes - sent));
      sent += piece.length;
      this.push(piece);
    },
  });
}

async function streamingPut(server: StrataProcess, path: string, body: Readable, length: number, options: { abortAfterBytes?: number } = {}) {
  const headers = await signHeaders(server, { method: 'PUT', path, unsignedPayload: true, headers: { 'content-length': String(length) } });
  return new Promise<number>((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: server.port, method: 'PUT', path, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', (error) => (options.abortAfterBytes !== undefined ? resolve(0) : reject(error)));
    let written = 0;
    body.on('data', (chunk: Buffer) => {
      written += chunk.length;
      if (options.abortAfterBytes !== undefined && written >= options.abortAfterBytes) {
        body.destroy();
        request.destroy();
        resolve(0);
        return;
      }
      if (!request.write(chunk)) {
        body.pause();
        request.once('drain', () => body.resume());
      }
    });
    body.on('end', () => request.end());
  });
}

t.test('2 GiB PUT and GET stream with bounded memory', async (t) => {
  const server = await startStrata(t);
  await rawRequest(server, { method: 'PUT', path: '/big' });
  const block = randomBytes(MiB);
  const totalBytes = 2 * 1024 * MiB;
  const expected = createHash('md5');
  for (let sent = 0; sent < totalBytes; sent += block.length) expected.update(block);
  const expectedMd5 = expected.digest('hex');

  const pid = server.child.pid!;
  const baseline = residentBytes(pid);
  const putWatch = watchRss(pid);
  const status = await streamingPut(server, '/big/object', patternStream(block, totalBytes), totalBytes);
  const putPeak = putWatch.stop();
  t.equal(status, 200, 'PUT of 2 GiB succeeded');
  t.ok(putPeak - baseline < 100 * MiB, `PUT RSS growth ${((putPeak - baseline) / MiB).toFixed(1)} MiB < 100 MiB`);

  const headers = await signHeaders(server, { method: 'GET', path: '/big/object' });
  const getWatch = watchRss(pid);
  const { md5, length } = await new Promise<{ md5: string; length: number }>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: server.port, method: 'GET', path: '/big/object', headers }, (response) => {
      const hash = createHash('md5');
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
      });
      response.on('end', () => resolve({ md5: hash.digest('hex'), length: received }));
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  const getPeak = getWatch.stop();
  t.equal(length, totalBytes);
  t.equal(md5, expectedMd5, 'GET returns the same bytes');
  t.ok(getPeak - baseline < 100 * MiB, `GET RSS growth ${((getPeak - baseline) / MiB).toFixed(1)} MiB < 100 MiB`);
});

t.test('a client that disconnects mid-upload leaves nothing behind', async (t) => {
  const server = await startStrata(t);
  await rawRequest(server, { method: 'PUT', path: '/cut' });
  const block = randomBytes(MiB);
  await streamingPut(server, '/cut/object', patternStream(block, 100 * MiB), 100 * MiB, { abortAfterBytes: 30 * MiB });
  const tmp = join(server.dataDirectory, 'blobs', 'fs', 'tmp');
  const deadline = Date.now() + 10_000;
  while (readdirSync(tmp).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(readdirSync(tmp), [], 'temp file removed');
  const head = await rawRequest(server, { method: 'HEAD', path: '/cut/object' });
  t.equal(head.status, 404, 'no object is visible');
  // The aborted writer gives its reservation back once its writes in flight have settled.
  const tierUsage = async () =>
    (JSON.parse((await rawRequest(server, { method: 'GET', path: '/.strata/health', anonymous: true })).text) as {
      tiers: { name: string; usedBytes: number; objects: number }[];
    }).tiers;
  let usage = await tierUsage();
  while (usage.some((tier) => tier.usedBytes > 0) && Date.now() < deadline + 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    usage = await tierUsage();
  }
  for (const tier of usage) t.same([tier.usedBytes, tier.objects], [0, 0], `no space accounted on ${tier.name}`);
});

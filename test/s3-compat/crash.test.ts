// Goal: durability through the whole server. A child strata process takes a
// stream of PUTs (small objects → dax tier, mid-size → nvme tier, overwrites) and is SIGKILLed at
// random moments, many times. After each restart: every acknowledged object
// reads back byte-identical; every visible object is either acknowledged or
// was in flight at the kill, and then it is whole; space from interrupted
// writes is reclaimed (tier usage equals what the visible objects need).
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStrata, type StrataProcess } from '../helpers/server-process.js';
import { rawRequest } from '../helpers/raw-s3.js';

const ROUNDS = Number(process.env.STRATA_CRASH_ROUNDS ?? 6);
const WRITERS = 4;
const KEYS_PER_WRITER = 8;
const SIZES = [0, 900, 20_000, 70_000, 300_000, 1_500_000];
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

interface KeyState {
  /** md5 of the last acknowledged PUT, or 'absent' if none yet. */
  acknowledged: string | 'absent';
  acknowledgedSize: number;
  /** A PUT of this key that was in flight when the server died. */
  inFlight?: { md5: string; size: number };
}

async function writeUntilKilled(server: StrataProcess, keys: Map<string, KeyState>, round: number, stopAfterMs: number) {
  const s3 = server.client();
  let alive = true;
  const writers = Array.from({ length: WRITERS }, async (_, writer) => {
    for (let n = 0; alive; n++) {
      const key = `w${writer}-k${(n * 7 + round) % KEYS_PER_WRITER}`;
      const body = randomBytes(SIZES[(n + writer + round) % SIZES.length]!);
      const state = keys.get(key) ?? { acknowledged: 'absent', acknowledgedSize: 0 };
      keys.set(key, state);
      state.inFlight = { md5: md5(body), size: body.length };
      try {
        await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body }));
        state.acknowledged = state.inFlight.md5;
        state.acknowledgedSize = body.length;
        delete state.inFlight;
      } catch {
        return; // the server is gone; this PUT stays "in flight"
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, stopAfterMs));
  await server.kill();
  alive = false;
  await Promise.all(writers);
  s3.destroy();
}

async function verify(t: Test, server: StrataProcess, keys: Map<string, KeyState>) {
  const s3 = server.client();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'crash' }));
  const visible = new Map((listed.Contents ?? []).map((item) => [item.Key!, item.Size!]));
  let expectedNvmeBytes = 0;
  let expectedNvmeObjects = 0;
  let expectedDaxObjects = 0;
  for (const [key, state] of keys) {
    const size = visible.get(key);
    if (size === undefined) {
      t.ok(state.acknowledged === 'absent', `${key}: an acknowledged object never disappears`);
      continue;
    }
    const response = await s3.send(new GetObjectCommand({ Bucket: 'crash', Key: key }));
    const actual = md5(Buffer.from(await response.Body!.transformToByteArray()));
    const matchesAcknowledged = actual === state.acknowledged;
    const matchesInFlight = state.inFlight !== undefined && actual === state.inFlight.md5;
    t.ok(matchesAcknowledged || matchesInFlight, `${key}: visible bytes are a whole acknowledged or in-flight object`);
    if (matchesInFlight && !matchesAcknowledged) {
      // Committed just before the kill: it is now the acknowledged state.
      state.acknowledged = actual;
      state.acknowledgedSize = state.inFlight!.size;
    }
    delete state.inFlight;
    if (size > 0) {
      const tier = (await rawRequest(server, { method: 'HEAD', path: `/crash/${key}` })).headers['x-strata-tiers'];
      if (tier === 'nvme') {
        expectedNvmeBytes += Math.ceil(size / 4096) * 4096;
        expectedNvmeObjects++;
      } else {
        t.equal(tier, 'dax', `${key}: small objects live on the dax tier`);
        expectedDaxObjects++;
      }
    }
  }
  t.equal(visible.size, [...keys.values()].filter((state) => state.acknowledged !== 'absent').length, 'no unknown objects');
  const health = JSON.parse((await rawRequest(server, { method: 'GET', path: '/.strata/health', anonymous: true })).text) as {
    tiers: { name: string; usedBytes: number; objects: number }[];
  };
  const nvme = health.tiers.find((tier) => tier.name === 'nvme')!;
  const dax = health.tiers.find((tier) => tier.name === 'dax')!;
  const fs = health.tiers.find((tier) => tier.name === 'fs')!;
  t.equal(nvme.usedBytes, expectedNvmeBytes, 'nvme space equals what visible objects need (interrupted writes reclaimed)');
  t.equal(nvme.objects, expectedNvmeObjects);
  t.equal(dax.objects, expectedDaxObjects, 'dax holds exactly the visible small objects (interrupted records reclaimed)');
  t.same([fs.usedBytes, fs.objects], [0, 0], 'nothing spilled to the fs tier');
  t.same(readdirSync(join(server.dataDirectory, 'blobs', 'fs', 'tmp')), [], 'no temp files');
  s3.destroy();
}

t.test(`SIGKILL during a stream of PUTs, ${ROUNDS} times`, async (t) => {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'strata-crash-'));
  t.teardown(() => rmSync(dataDirectory, { recursive: true, force: true }));
  const keys = new Map<string, KeyState>();
  let server = await startStrata(t, { dataDirectory, keepData: true });
  await rawRequest(server, { method: 'PUT', path: '/crash' });
  for (let round = 0; round < ROUNDS; round++) {
    await writeUntilKilled(server, keys, round, 300 + Math.floor(Math.random() * 1200));
    server = await startStrata(t, { dataDirectory, keepData: true });
    await t.test(`after kill ${round + 1}`, async (t) => verify(t, server, keys));
  }
  const acknowledged = [...keys.values()].filter((state) => state.acknowledged !== 'absent').length;
  t.ok(acknowledged > 0, `${acknowledged} keys hold acknowledged objects`);
});

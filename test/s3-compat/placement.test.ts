// Goal: placement with real tiers behind the S3 API. Objects land on the nvme
// tier while it has room, then fall back to the fs tier without failing a PUT;
// a multipart object whose parts were placed on different tiers reads back
// seamlessly; overwrites and copies are placed again by their new size; and
// health / `strata admin tiers` account for each tier.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStrata, STRATA_BIN } from '../helpers/server-process.js';
import { rawRequest } from '../helpers/raw-s3.js';
import { runCommand } from '../helpers/run-command.js';

const MiB = 1024 * 1024;

t.test('nvme fills up, fs takes over; objects span tiers', async (t) => {
  const server = await startStrata(t, { args: ['--nvme', `${join(tmpdir(), `strata-place-${process.pid}.img`)}:12MiB`] });
  t.teardown(() => rmSync(join(tmpdir(), `strata-place-${process.pid}.img`), { force: true }));
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'place' }));
  const tiersOf = async (key: string) =>
    (await rawRequest(server, { method: 'HEAD', path: `/place/${key}` })).headers['x-strata-tiers'];

  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < 8; i++) {
    const body = randomBytes(3 * MiB);
    bodies.set(`obj-${i}`, body);
    await s3.send(new PutObjectCommand({ Bucket: 'place', Key: `obj-${i}`, Body: body }));
  }
  const placed: string[] = [];
  for (const key of bodies.keys()) placed.push(String(await tiersOf(key)));
  t.equal(placed[0], 'nvme', 'the first objects land on nvme');
  t.equal(placed[placed.length - 1], 'fs', 'the last ones fall back to fs');
  const health = async () =>
    (await (await fetch(`${server.endpoint}/.strata/health`)).json()) as { tiers: { name: string; usedBytes: number; objects: number }[] };
  const tiers = (await health()).tiers;
  const nvme = tiers.find((tier) => tier.name === 'nvme')!;
  const fs = tiers.find((tier) => tier.name === 'fs')!;
  t.ok(nvme.objects >= 3 && nvme.objects < 8, `nvme took what fit (${nvme.objects})`);
  t.equal(nvme.objects + fs.objects, 8, 'fs took the rest');
  for (const [key, body] of bodies) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'place', Key: key }));
    t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `${key} reads back`);
  }

  // Free nvme space, then a multipart upload whose first part fits nvme and the rest do not.
  await s3.send(new PutObjectCommand({ Bucket: 'place', Key: 'obj-0', Body: 'now tiny' }));
  await s3.send(new PutObjectCommand({ Bucket: 'place', Key: 'obj-1', Body: 'now tiny' }));
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'place', Key: 'spanning' }));
  const partBodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB)];
  const parts = [];
  for (let i = 0; i < partBodies.length; i++) {
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'place', Key: 'spanning', UploadId: upload.UploadId, PartNumber: i + 1, Body: partBodies[i] }),
    );
    parts.push({ PartNumber: i + 1, ETag: part.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: 'place', Key: 'spanning', UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }),
  );
  t.equal(await tiersOf('spanning'), 'nvme,fs', 'parts were placed on both tiers');
  const spanning = await s3.send(new GetObjectCommand({ Bucket: 'place', Key: 'spanning' }));
  t.ok(Buffer.from(await spanning.Body!.transformToByteArray()).equals(Buffer.concat(partBodies)), 'object spanning tiers reads back');
  const ranged = await s3.send(new GetObjectCommand({ Bucket: 'place', Key: 'spanning', Range: `bytes=${5 * MiB - 10}-${10 * MiB + 9}` }));
  t.ok(
    Buffer.from(await ranged.Body!.transformToByteArray()).equals(Buffer.concat(partBodies).subarray(5 * MiB - 10, 10 * MiB + 10)),
    'a range across part (and tier) boundaries',
  );

  // A copy is placed by its own size: copying a tiny object goes where tiny objects go.
  await s3.send(new CopyObjectCommand({ Bucket: 'place', Key: 'tiny-copy', CopySource: 'place/obj-0' }));
  const copy = await s3.send(new GetObjectCommand({ Bucket: 'place', Key: 'tiny-copy' }));
  t.equal(await copy.Body!.transformToString(), 'now tiny');

  const admin = await runCommand(process.execPath, [STRATA_BIN, 'admin', 'tiers', '--endpoint', server.endpoint]);
  t.equal(admin.code, 0, admin.stderr);
  t.match(admin.stdout, /nvme\s+(io_uring|threadpool)/);
  t.match(admin.stdout, /fs\s+file/);
});

t.test('size boundaries across dax, nvme and remote; dax fills up; multipart spanning dax and nvme', async (t) => {
  const { spawnNvmet, tempDirectory, TEST_NQN } = await import('../nvmeof/helpers/target.js');
  const directory = tempDirectory(t);
  const target = await spawnNvmet(t, { backingPath: join(directory, 'remote.img'), port: 0, sizeBytes: 64 * MiB, extraArgs: ['--block-size', '4096'] });
  const server = await startStrata(t, {
    args: ['--remote', `nvme-tcp://127.0.0.1:${target.port}/${TEST_NQN}`, '--dax', `${join(directory, 'dax.img')}:4MiB`],
  });
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'bounds' }));
  const tierOf = async (key: string) => (await rawRequest(server, { method: 'HEAD', path: `/bounds/${key}` })).headers['x-strata-tiers'];
  const KiB = 1024;
  const cases: [number, string][] = [
    [1, 'dax'],
    [64 * KiB - 1, 'dax'],
    [64 * KiB, 'nvme'],
    [10 * MiB - 1, 'nvme'],
    [10 * MiB, 'remote'],
  ];
  for (const [size, tier] of cases) {
    const body = randomBytes(size);
    await s3.send(new PutObjectCommand({ Bucket: 'bounds', Key: `size-${size}`, Body: body }));
    t.equal(await tierOf(`size-${size}`), tier, `${size} bytes → ${tier}`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bounds', Key: `size-${size}` }));
    t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `${size} bytes read back`);
  }

  // Overwriting a small object with a large one re-places it.
  await s3.send(new PutObjectCommand({ Bucket: 'bounds', Key: 'size-1', Body: randomBytes(100 * KiB) }));
  t.equal(await tierOf('size-1'), 'nvme', 'an overwrite is placed by its new size');

  // Fill the 4 MiB dax tier with 40 KiB objects: later ones fall back to nvme, none fails.
  const smalls = new Map<string, Buffer>();
  for (let i = 0; i < 120; i++) {
    const body = randomBytes(40 * KiB);
    smalls.set(`small-${i}`, body);
    await s3.send(new PutObjectCommand({ Bucket: 'bounds', Key: `small-${i}`, Body: body }));
  }
  const placements = await Promise.all([...smalls.keys()].map(tierOf));
  t.ok(placements.includes('dax') && placements.includes('nvme'), `dax filled, then nvme (${placements.filter((p) => p === 'dax').length} on dax)`);
  t.equal(placements.indexOf('nvme') > placements.indexOf('dax'), true, 'the first ones are on dax');
  for (const [key, body] of smalls) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bounds', Key: key }));
    if (!Buffer.from(await got.Body!.transformToByteArray()).equals(body)) t.fail(`${key} differs`);
  }
  // Empty the dax tier (its slab pages return to the pool) for the multipart part that follows.
  const onDax = [...smalls.keys()].filter((_, index) => placements[index] === 'dax');
  for (const key of [...onDax, 'size-65535']) await s3.send(new PutObjectCommand({ Bucket: 'bounds', Key: key, Body: '' }));

  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bounds', Key: 'mixed' }));
  const partBodies = [randomBytes(5 * MiB), randomBytes(20 * KiB)];
  const parts = [];
  for (let i = 0; i < partBodies.length; i++) {
    const part = await s3.send(new UploadPartCommand({ Bucket: 'bounds', Key: 'mixed', UploadId: upload.UploadId, PartNumber: i + 1, Body: partBodies[i] }));
    parts.push({ PartNumber: i + 1, ETag: part.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'bounds', Key: 'mixed', UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
  t.equal(await tierOf('mixed'), 'nvme,dax', 'each part placed by its own size');
  const mixed = await s3.send(new GetObjectCommand({ Bucket: 'bounds', Key: 'mixed', Range: `bytes=${5 * MiB - 100}-` }));
  t.ok(Buffer.from(await mixed.Body!.transformToByteArray()).equals(Buffer.concat(partBodies).subarray(5 * MiB - 100)), 'a range across the tier boundary');
});

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

// Goal: the AWS SDK for JavaScript v3 works unmodified against Strata for the
// core S3 API — buckets, objects, listing, ranges, conditionals, copy,
// multipart (lib-storage), presigned URLs and additional checksums — with
// results checked byte for byte and error codes as AWS gives them.
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startStrata } from '../helpers/server-process.js';

/** Expects an S3 error; code undefined for bodiless answers (304), which the SDK names Unknown. */
async function expectS3Error(t: Test, promise: Promise<unknown>, code: string | undefined, status: number) {
  try {
    await promise;
    t.fail(`expected ${code ?? status}`);
  } catch (error) {
    t.ok(error instanceof S3ServiceException, `S3 error, got ${String(error)}`);
    const s3Error = error as S3ServiceException;
    if (code !== undefined) t.equal(s3Error.name, code, `error code ${code}`);
    t.equal(s3Error.$metadata.httpStatusCode, status, `status ${status}`);
  }
}

async function bodyBytes(client: S3Client, input: ConstructorParameters<typeof GetObjectCommand>[0]): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand(input));
  return Buffer.from(await response.Body!.transformToByteArray());
}

const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex');

t.test('AWS SDK v3 against strata', async (t) => {
  const server = await startStrata(t);
  const s3 = server.client();
  const bucket = 'sdk-bucket';

  await t.test('buckets', async (t) => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'survives-recreate', Body: 'x' }));
    // us-east-1 keeps AWS's legacy answer (200, bucket untouched); other regions say 409.
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'survives-recreate' }));
    await expectS3Error(
      t,
      s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
      'BucketAlreadyOwnedByYou',
      409,
    );
    await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })), 'InvalidBucketName', 400);
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    await expectS3Error(t, s3.send(new HeadBucketCommand({ Bucket: 'missing-bucket' })), 'NotFound', 404);
    const list = await s3.send(new ListBucketsCommand({}));
    t.same(list.Buckets?.map((b) => b.Name), [bucket]);
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
    t.notOk(location.LocationConstraint, 'us-east-1 is an empty LocationConstraint');
    await s3.send(
      new CreateBucketCommand({ Bucket: 'eu-bucket', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );
    t.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'eu-bucket' }))).LocationConstraint, 'eu-west-1');
    await s3.send(new DeleteBucketCommand({ Bucket: 'eu-bucket' }));
  });

  await t.test('put, get, head, delete with metadata and checksums', async (t) => {
    const body = randomBytes(100_000);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'dir/a b+c.bin',
        Body: body,
        ContentType: 'application/x-test',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment',
        Metadata: { color: 'blue', 'mixed-case': 'Value', latin: 'Hello Worldé' },
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    t.equal(put.ETag, `"${md5Hex(body)}"`);
    t.equal(put.ChecksumSHA256, createHash('sha256').update(body).digest('base64'));
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin', ChecksumMode: 'ENABLED' }));
    t.equal(get.ContentType, 'application/x-test');
    t.equal(get.CacheControl, 'max-age=60');
    t.equal(get.ContentDisposition, 'attachment');
    t.same(get.Metadata, { color: 'blue', 'mixed-case': 'Value', latin: 'Hello Worldé' });
    t.equal(get.ChecksumSHA256, createHash('sha256').update(body).digest('base64'));
    t.ok(Buffer.from(await get.Body!.transformToByteArray()).equals(body), 'bytes round-trip');
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin' }));
    t.equal(head.ContentLength, body.length);
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1'] as const) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sum-${algorithm}`, Body: body, ChecksumAlgorithm: algorithm }));
      const got = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `sum-${algorithm}`, ChecksumMode: 'ENABLED' }));
      t.ok(got[`Checksum${algorithm}`], `${algorithm} returned on HEAD`);
    }
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin' }));
    await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin' })), 'NoSuchKey', 404);
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })), 'NoSuchBucket', 404);
    await expectS3Error(
      t,
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k'.repeat(1025), Body: 'x' })),
      'KeyTooLongError',
      400,
    );
    await expectS3Error(
      t,
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-md5', Body: 'hello', ContentMD5: createHash('md5').update('other').digest('base64') })),
      'BadDigest',
      400,
    );
    await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-md5' })), 'NotFound', 404);
    await expectS3Error(
      t,
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-crc', Body: 'hello', ChecksumCRC32: 'AAAAAA==' })),
      'BadDigest',
      400,
    );
  });

  await t.test('ranges and part numbers', async (t) => {
    const body = randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ranged', Body: body }));
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'ranged', Range: 'bytes=10-19' })).equals(body.subarray(10, 20)));
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'ranged', Range: 'bytes=990-' })).equals(body.subarray(990)));
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'ranged', Range: 'bytes=-5' })).equals(body.subarray(995)));
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'ranged', Range: 'bytes=0-1,5-6' })).equals(body), 'multi-range → whole object');
    const partial = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=0-99999' }));
    t.equal(partial.ContentRange, 'bytes 0-999/1000');
    await partial.Body!.transformToByteArray();
    await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=1000-' })), 'InvalidRange', 416);
  });

  await t.test('conditional requests', async (t) => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'v1' }));
    await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: '"nope"' })), 'PreconditionFailed', 412);
    await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfNoneMatch: put.ETag })), undefined, 304);
    await expectS3Error(
      t,
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfUnmodifiedSince: new Date(Date.now() - 3_600_000) })),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(
      t,
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfModifiedSince: new Date(Date.now() + 3_600_000) })),
      undefined,
      304,
    );
    t.equal((await bodyBytes(s3, { Bucket: bucket, Key: 'cond', IfMatch: put.ETag })).toString(), 'v1');
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'v2', IfNoneMatch: '*' })), 'PreconditionFailed', 412);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'v2', IfMatch: put.ETag }));
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'v3', IfMatch: put.ETag })), 'PreconditionFailed', 412);
    t.equal((await bodyBytes(s3, { Bucket: bucket, Key: 'cond' })).toString(), 'v2');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond-new', Body: 'fresh', IfNoneMatch: '*' }));
  });

  await t.test('listing v1, v2 and versions with prefix, delimiter and pagination', async (t) => {
    const b = 'list-bucket';
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd e', 'd+f'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: key }));
    const all = await s3.send(new ListObjectsV2Command({ Bucket: b }));
    t.same(all.Contents?.map((o) => o.Key), [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    t.equal(all.KeyCount, keys.length);
    const delimited = await s3.send(new ListObjectsV2Command({ Bucket: b, Delimiter: '/' }));
    t.same(delimited.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/']);
    t.same(delimited.Contents?.map((o) => o.Key), ['c', 'd e', 'd+f']);
    const nested = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'a/', Delimiter: '/' }));
    t.same(nested.Contents?.map((o) => o.Key), ['a/1', 'a/2']);
    t.same(nested.CommonPrefixes?.map((p) => p.Prefix), ['a/b/']);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: b, MaxKeys: 2, Delimiter: '/', ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((o) => o.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      token = page.NextContinuationToken;
      pages++;
    } while (token);
    t.same(seen.sort(), ['a/', 'b/', 'c', 'd e', 'd+f'].sort());
    t.equal(pages, 3);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: b, Delimiter: '/', MaxKeys: 1 }));
    t.equal(v1.IsTruncated, true);
    t.equal(v1.NextMarker, 'a/');
    const v1next = await s3.send(new ListObjectsCommand({ Bucket: b, Delimiter: '/', Marker: v1.NextMarker }));
    t.same(v1next.CommonPrefixes?.map((p) => p.Prefix), ['b/']);
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'd', EncodingType: 'url' }));
    // The JS SDK hands url-encoded keys back as sent; botocore decodes them itself.
    t.same(encoded.Contents?.map((o) => o.Key), ['d%20e', 'd%2Bf'], 'keys url-encoded on request');
    const startAfter = await s3.send(new ListObjectsV2Command({ Bucket: b, StartAfter: 'b/1' }));
    t.same(startAfter.Contents?.map((o) => o.Key), ['c', 'd e', 'd+f']);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 'a/' }));
    t.same(versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest]), [
      ['a/1', 'null', true],
      ['a/2', 'null', true],
      ['a/b/3', 'null', true],
    ]);
    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: b,
        Delete: { Objects: keys.map((Key) => ({ Key, VersionId: 'null' })) },
      }),
    );
    t.equal(deleted.Deleted?.length, keys.length);
    await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: b, Key: 'a/1', VersionId: 'null' })), 'NotFound', 404);
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'left', Body: 'x' }));
    await expectS3Error(t, s3.send(new DeleteBucketCommand({ Bucket: b })), 'BucketNotEmpty', 409);
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'left', VersionId: 'null' }));
    await s3.send(new DeleteBucketCommand({ Bucket: b }));
  });

  await t.test('copy', async (t) => {
    const body = randomBytes(5000);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src key', Body: body, Metadata: { origin: 'src' } }));
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy1', CopySource: `${bucket}/${encodeURIComponent('src key')}` }));
    const copied = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy1' }));
    t.same(copied.Metadata, { origin: 'src' });
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'copy1' })).equals(body));
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy1',
        CopySource: `${bucket}/copy1`,
        MetadataDirective: 'REPLACE',
        Metadata: { origin: 'self' },
      }),
    );
    t.same((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy1' }))).Metadata, { origin: 'self' });
    await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy1', CopySource: `${bucket}/copy1` })), 'InvalidRequest', 400);
    await expectS3Error(
      t,
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy2', CopySource: `${bucket}/copy1`, CopySourceIfMatch: '"nope"' })),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy2', CopySource: `${bucket}/missing` })), 'NoSuchKey', 404);
  });

  await t.test('multipart: low-level API, part copy, listing, checksums', async (t) => {
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1234);
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ChecksumAlgorithm: 'CRC32', Metadata: { m: '1' } }),
    );
    const uploadId = created.UploadId!;
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    t.same(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [['mp', uploadId]]);
    const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: uploadId, PartNumber: 1, Body: part1, ChecksumAlgorithm: 'CRC32' }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: uploadId, PartNumber: 2, Body: part2, ChecksumAlgorithm: 'CRC32' }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mp', UploadId: uploadId, MaxParts: 1 }));
    t.equal(parts.IsTruncated, true);
    t.equal(parts.Parts?.[0]?.Size, part1.length);
    await expectS3Error(
      t,
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'mp',
          UploadId: uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 2, ETag: p2.ETag, ChecksumCRC32: p2.ChecksumCRC32 }, { PartNumber: 1, ETag: p1.ETag, ChecksumCRC32: p1.ChecksumCRC32 }] },
        }),
      ),
      'InvalidPartOrder',
      400,
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp',
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag, ChecksumCRC32: p1.ChecksumCRC32 },
            { PartNumber: 2, ETag: p2.ETag, ChecksumCRC32: p2.ChecksumCRC32 },
          ],
        },
      }),
    );
    const expectedEtag = createHash('md5')
      .update(Buffer.concat([createHash('md5').update(part1).digest(), createHash('md5').update(part2).digest()]))
      .digest('hex');
    t.equal(done.ETag, `"${expectedEtag}-2"`);
    t.match(done.ChecksumCRC32, /-2$/, 'composite checksum');
    const whole = await bodyBytes(s3, { Bucket: bucket, Key: 'mp' });
    t.ok(whole.equals(Buffer.concat([part1, part2])));
    const second = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', PartNumber: 2 }));
    t.equal(second.PartsCount, 2);
    t.ok(Buffer.from(await second.Body!.transformToByteArray()).equals(part2));
    const attributes = await s3.send(
      new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp', ObjectAttributes: ['ETag', 'ObjectParts', 'ObjectSize', 'Checksum'] }),
    );
    t.equal(attributes.ObjectSize, part1.length + part2.length);
    t.equal(attributes.ObjectParts?.TotalPartsCount, 2);

    const small = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'too-small' }));
    const s1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'too-small', UploadId: small.UploadId, PartNumber: 1, Body: 'tiny' }));
    const s2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'too-small', UploadId: small.UploadId, PartNumber: 2, Body: 'tiny' }));
    await expectS3Error(
      t,
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'too-small',
          UploadId: small.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] },
        }),
      ),
      'EntityTooSmall',
      400,
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'too-small', UploadId: small.UploadId }));
    await expectS3Error(
      t,
      s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'too-small', UploadId: small.UploadId, PartNumber: 3, Body: 'x' })),
      'NoSuchUpload',
      404,
    );

    const copyUpload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp-copy' }));
    const c1 = await s3.send(
      new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp-copy', UploadId: copyUpload.UploadId, PartNumber: 1, CopySource: `${bucket}/mp`, CopySourceRange: `bytes=0-${part1.length - 1}` }),
    );
    const c2 = await s3.send(
      new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp-copy', UploadId: copyUpload.UploadId, PartNumber: 2, CopySource: `${bucket}/mp`, CopySourceRange: `bytes=${part1.length}-${part1.length + 99}` }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp-copy',
        UploadId: copyUpload.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: c1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: c2.CopyPartResult?.ETag }] },
      }),
    );
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'mp-copy' })).equals(Buffer.concat([part1, part2.subarray(0, 100)])));
  });

  await t.test('lib-storage Upload of 17 MiB and presigned URLs', async (t) => {
    const body = randomBytes(17 * 1024 * 1024);
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'big', Body: body }, partSize: 5 * 1024 * 1024, queueSize: 4 });
    await upload.done();
    t.ok((await bodyBytes(s3, { Bucket: bucket, Key: 'big' })).equals(body));

    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 60 });
    const putResponse = await fetch(putUrl, { method: 'PUT', body: 'via presigned url' });
    t.equal(putResponse.status, 200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 60 });
    const getResponse = await fetch(getUrl);
    t.equal(await getResponse.text(), 'via presigned url');
    const tampered = getUrl.replace('presigned', 'presignee');
    t.equal((await fetch(tampered)).status, 403);
    const expiredUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 10_000),
    });
    const expired = await fetch(expiredUrl);
    t.equal(expired.status, 403);
    t.match(await expired.text(), /Request has expired/);
  });

  await t.test('anonymous and badly signed requests are refused', async (t) => {
    const anonymous = await fetch(`${server.endpoint}/${bucket}/big`);
    t.equal(anonymous.status, 403);
    t.match(await anonymous.text(), /<Code>AccessDenied<\/Code>/);
    const wrong = server.client();
    const bad = new (wrong.constructor as typeof S3Client)({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    await expectS3Error(t, bad.send(new GetObjectCommand({ Bucket: bucket, Key: 'big' })), 'SignatureDoesNotMatch', 403);
    const unknown = new (wrong.constructor as typeof S3Client)({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOPE', secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    await expectS3Error(t, unknown.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
  });
});

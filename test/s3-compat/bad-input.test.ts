// Goal: bad input gets the S3 error AWS gives (XML, right status) and never
// changes stored data: malformed / oversized / DTD-bearing XML, invalid names,
// long keys, unsatisfiable ranges, short bodies, bad payload hashes, bad chunk
// signatures, skewed clocks, oversized metadata and headers, unknown subresources.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startStrata } from '../helpers/server-process.js';
import { rawRequest } from '../helpers/raw-s3.js';

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('base64');

t.test('bad input', async (t) => {
  const server = await startStrata(t);
  const bucket = 'bad-input';
  t.equal((await rawRequest(server, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const original = 'original bytes';
  t.equal((await rawRequest(server, { method: 'PUT', path: `/${bucket}/victim`, body: original })).status, 200);

  const victimIntact = async () => {
    const response = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim` });
    t.equal(response.text, original, 'stored object untouched');
  };
  const tmpFiles = () => readdirSync(join(server.dataDirectory, 'blobs', 'fs', 'tmp'));

  await t.test('XML bodies', async (t) => {
    const upload = await rawRequest(server, { method: 'POST', path: `/${bucket}/mp`, query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(upload.text)![1]!;
    const malformed = await rawRequest(server, {
      method: 'POST',
      path: `/${bucket}/mp`,
      query: { uploadId },
      body: '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>',
    });
    t.equal(malformed.status, 400);
    t.equal(malformed.code, 'MalformedXML');
    t.match(malformed.headers['content-type'], /xml/);

    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>' +
      '<Delete><Object><Key>&lol2;</Key></Object></Delete>';
    const dtd = await rawRequest(server, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, body: laughs, headers: { 'content-md5': md5(laughs) } });
    t.equal(dtd.status, 400);
    t.equal(dtd.code, 'MalformedXML', 'DTDs are refused, nothing is expanded');

    const huge = '<Delete>' + '<Object><Key>k</Key></Object>'.repeat(80_000) + '</Delete>';
    const oversized = await rawRequest(server, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, body: huge, headers: { 'content-md5': md5(huge) } });
    t.equal(oversized.status, 400);
    t.equal(oversized.code, 'MaxMessageLengthExceeded');

    const tooMany = '<Delete>' + '<Object><Key>victim</Key></Object>'.repeat(1001) + '</Delete>';
    const many = await rawRequest(server, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, body: tooMany, headers: { 'content-md5': md5(tooMany) } });
    t.equal(many.code, 'MalformedXML', 'more than 1000 keys');

    const good = '<Delete><Object><Key>victim</Key></Object></Delete>';
    const noDigest = await rawRequest(server, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, body: good });
    t.equal(noDigest.status, 400, 'DeleteObjects without Content-MD5 or checksum');
    const wrongDigest = await rawRequest(server, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, body: good, headers: { 'content-md5': md5('other') } });
    t.equal(wrongDigest.code, 'BadDigest');
    await victimIntact();
  });

  await t.test('names and keys', async (t) => {
    for (const name of ['ab', 'UPPER', 'has_underscore', '-leading', 'trailing-', 'a..b', '192.168.1.1', 'xn--bucket', 'a'.repeat(64)]) {
      const response = await rawRequest(server, { method: 'PUT', path: `/${name}` });
      t.equal(response.code, 'InvalidBucketName', name);
    }
    const longKey = 'k'.repeat(1025);
    const tooLong = await rawRequest(server, { method: 'PUT', path: `/${bucket}/${longKey}`, body: 'x' });
    t.equal(tooLong.status, 400);
    t.equal(tooLong.code, 'KeyTooLongError');
    const exact = await rawRequest(server, { method: 'PUT', path: `/${bucket}/${'k'.repeat(1024)}`, body: 'x' });
    t.equal(exact.status, 200, '1024-byte keys are fine');
    const badEscape = await rawRequest(server, { method: 'GET', path: `/${bucket}/%E0%A4%A` });
    t.equal(badEscape.status, 400);
    t.equal(badEscape.code, 'InvalidURI');
  });

  await t.test('ranges', async (t) => {
    const unsatisfiable = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim`, headers: { range: 'bytes=100-200' } });
    t.equal(unsatisfiable.status, 416);
    t.equal(unsatisfiable.code, 'InvalidRange');
    const suffixZero = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim`, headers: { range: 'bytes=-0' } });
    t.equal(suffixZero.status, 416);
    const garbage = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim`, headers: { range: 'bytes=abc' } });
    t.equal(garbage.status, 200, 'an unparseable range is ignored');
    t.equal(garbage.text, original);
  });

  await t.test('bodies that do not match their declarations', async (t) => {
    const short = await rawRequest(server, {
      method: 'PUT',
      path: `/${bucket}/victim`,
      body: Buffer.alloc(1000, 'z'),
      unsignedPayload: true,
      wireBody: Buffer.alloc(500, 'z'),
      destroyAfterWrite: true,
    });
    t.equal(short.status, 0, 'client went away mid-body');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await victimIntact();
    t.same(tmpFiles(), [], 'no temp file left behind');

    const wrongHash = await rawRequest(server, {
      method: 'PUT',
      path: `/${bucket}/victim`,
      body: 'new bytes',
      headers: { 'x-amz-content-sha256': createHash('sha256').update('other bytes').digest('hex') },
    });
    t.equal(wrongHash.status, 400);
    t.equal(wrongHash.code, 'XAmzContentSHA256Mismatch');
    await victimIntact();

    const badMd5 = await rawRequest(server, { method: 'PUT', path: `/${bucket}/victim`, body: 'new bytes', headers: { 'content-md5': md5('other') } });
    t.equal(badMd5.code, 'BadDigest');
    const malformedMd5 = await rawRequest(server, { method: 'PUT', path: `/${bucket}/victim`, body: 'new bytes', headers: { 'content-md5': 'not-base64' } });
    t.equal(malformedMd5.code, 'InvalidDigest');
    const badCrc = await rawRequest(server, { method: 'PUT', path: `/${bucket}/victim`, body: 'new bytes', headers: { 'x-amz-checksum-crc32c': 'AAAAAA==' } });
    t.equal(badCrc.code, 'BadDigest');
    await victimIntact();

    const chunkBody = Buffer.from(`5;chunk-signature=${'0'.repeat(64)}\r\nhello\r\n0;chunk-signature=${'0'.repeat(64)}\r\n\r\n`);
    const badChunk = await rawRequest(server, {
      method: 'PUT',
      path: `/${bucket}/victim`,
      body: chunkBody,
      headers: {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '5',
      },
    });
    t.equal(badChunk.status, 403);
    t.equal(badChunk.code, 'SignatureDoesNotMatch');
    await victimIntact();
    t.same(tmpFiles(), [], 'no temp file left behind');

    const noLength = await rawRequest(server, {
      method: 'PUT',
      path: `/${bucket}/chunked-te`,
      headers: { 'transfer-encoding': 'chunked' },
      unsignedPayload: true,
      wireBody: Buffer.from('3\r\nabc\r\n0\r\n\r\n'),
    });
    t.equal(noLength.status, 411);
    t.equal(noLength.code, 'MissingContentLength');
  });

  await t.test('authentication', async (t) => {
    const skewed = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim`, signingDate: new Date(Date.now() - 20 * 60_000) });
    t.equal(skewed.status, 403);
    t.equal(skewed.code, 'RequestTimeTooSkewed');
    const wrongSecret = await rawRequest(server, { method: 'PUT', path: `/${bucket}/victim`, body: 'evil', secretAccessKey: 'nope' });
    t.equal(wrongSecret.code, 'SignatureDoesNotMatch');
    const anonymous = await rawRequest(server, { method: 'PUT', path: `/${bucket}/victim`, body: 'evil', anonymous: true });
    t.equal(anonymous.status, 403);
    t.equal(anonymous.code, 'AccessDenied');
    await victimIntact();
  });

  await t.test('limits and unsupported features', async (t) => {
    const bigMeta = await rawRequest(server, { method: 'PUT', path: `/${bucket}/meta`, body: 'x', headers: { 'x-amz-meta-big': 'v'.repeat(2100) } });
    t.equal(bigMeta.code, 'MetadataTooLarge');
    const hugeHeaders = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim`, headers: { 'x-filler': 'f'.repeat(20_000) } });
    t.equal(hugeHeaders.status, 400);
    t.equal(hugeHeaders.code, 'RequestHeaderSectionTooLarge');
    const tagging = await rawRequest(server, { method: 'GET', path: `/${bucket}/victim`, query: { tagging: '' } });
    t.equal(tagging.status, 501);
    t.equal(tagging.code, 'NotImplemented');
    const lifecycle = await rawRequest(server, { method: 'PUT', path: `/${bucket}`, query: { lifecycle: '' }, body: '<LifecycleConfiguration/>' });
    t.equal(lifecycle.code, 'NotImplemented');
    const partNumber = await rawRequest(server, { method: 'PUT', path: `/${bucket}/mp`, query: { partNumber: '10001', uploadId: 'x' }, body: 'x' });
    t.equal(partNumber.code, 'InvalidArgument');
    const badMaxKeys = await rawRequest(server, { method: 'GET', path: `/${bucket}`, query: { 'max-keys': 'lots' } });
    t.equal(badMaxKeys.code, 'InvalidArgument');
    await victimIntact();
  });
});

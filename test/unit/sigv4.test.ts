// Goal: the SigV4 verifier and aws-chunked decoder agree with the worked
// examples in AWS's Signature Version 4 documentation (sigv4-header-based-auth
// and sigv4-streaming), so interop does not rest on our own reading alone.
import t from 'tap';
import { Readable } from 'node:stream';
import { AwsChunkedDecoder } from '../../src/http/auth/aws-chunked.js';
import { authenticate, signingKey, type Credentials } from '../../src/http/auth/sigv4.js';
import { S3Error } from '../../src/http/s3-errors.js';

const example: Credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ownerId: 'owner',
  ownerDisplayName: 'owner',
};
const credentials = { lookup: (id: string) => (id === example.accessKeyId ? example : undefined) };
const exampleTime = Date.UTC(2013, 4, 24, 0, 0, 0);

function rawHeaders(headers: Record<string, string>): string[] {
  return Object.entries(headers).flat();
}

function lowercase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

t.test('GET Object example from the AWS SigV4 documentation', async (t) => {
  const headers = {
    Host: 'examplebucket.s3.amazonaws.com',
    Range: 'bytes=0-9',
    'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-amz-date': '20130524T000000Z',
    Authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  };
  const request = { method: 'GET', rawPath: '/test.txt', rawQuery: '', rawHeaders: rawHeaders(headers), headers: lowercase(headers) };
  const result = authenticate(request, { credentials, now: () => exampleTime });
  t.equal(result.credentials.accessKeyId, example.accessKeyId);
  t.equal(result.payload.kind, 'sha256');

  const tampered = { ...request, rawPath: '/test.txx' };
  t.throws(() => authenticate(tampered, { credentials, now: () => exampleTime }), { code: 'SignatureDoesNotMatch' });
  t.throws(() => authenticate(request, { credentials, now: () => exampleTime + 16 * 60_000 }), { code: 'RequestTimeTooSkewed' });
  const unknownKey = { ...request, headers: { ...request.headers, authorization: headers.Authorization.replace('AKIAIOSFODNN7EXAMPLE', 'AKIANOPE') } };
  t.throws(() => authenticate(unknownKey, { credentials, now: () => exampleTime }), { code: 'InvalidAccessKeyId' });
  const anonymous = { ...request, headers: {} };
  t.throws(() => authenticate(anonymous, { credentials, now: () => exampleTime }), { code: 'AccessDenied' });
});

t.test('presigned GET example from the AWS SigV4 documentation', async (t) => {
  const query =
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
  const headers = { Host: 'examplebucket.s3.amazonaws.com' };
  const request = { method: 'GET', rawPath: '/test.txt', rawQuery: query, rawHeaders: rawHeaders(headers), headers: lowercase(headers) };
  const result = authenticate(request, { credentials, now: () => exampleTime + 3600_000 });
  t.equal(result.presigned, true);
  t.throws(() => authenticate(request, { credentials, now: () => exampleTime + 86_401_000 }), { code: 'AccessDenied', message: /expired/ });
});

async function decode(body: Buffer, decoder: AwsChunkedDecoder): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of Readable.from([body]).pipe(decoder)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function chunkedExampleBody(signatures: string[]): Buffer {
  const data = Buffer.alloc(66560, 'a');
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
    data.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
    data.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n\r\n`),
  ]);
}

const exampleChunkSignatures = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];

function exampleSigning() {
  return {
    signingKey: signingKey(example.secretAccessKey, '20130524', 'us-east-1', 's3'),
    amzDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
    seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  };
}

t.test('aws-chunked PUT example from the AWS streaming documentation', async (t) => {
  const decoded = await decode(chunkedExampleBody(exampleChunkSignatures), new AwsChunkedDecoder({ signing: exampleSigning(), trailer: false, decodedLength: 66560 }));
  t.equal(decoded.length, 66560);
  t.ok(decoded.equals(Buffer.alloc(66560, 'a')));
});

t.test('a wrong chunk signature stops the stream before that chunk is released', async (t) => {
  const bad = [...exampleChunkSignatures];
  bad[1] = bad[1]!.replace(/^0/, '1');
  const released: Buffer[] = [];
  const decoder = new AwsChunkedDecoder({ signing: exampleSigning(), trailer: false, decodedLength: 66560 });
  decoder.on('data', (chunk: Buffer) => released.push(chunk));
  const error = await new Promise<unknown>((resolve) => {
    decoder.on('error', resolve);
    decoder.on('end', () => resolve(undefined));
    Readable.from([chunkedExampleBody(bad)]).pipe(decoder);
  });
  t.ok(error instanceof S3Error && error.code === 'SignatureDoesNotMatch');
  t.equal(Buffer.concat(released).length, 65536, 'only the first, verified chunk was released');
});

t.test('unsigned chunked body with a checksum trailer, split at every byte boundary', async (t) => {
  const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
  for (let split = 1; split < body.length; split += 3) {
    const decoder = new AwsChunkedDecoder({ trailer: true, decodedLength: 11 });
    const parts: Buffer[] = [];
    decoder.on('data', (chunk: Buffer) => parts.push(chunk));
    await new Promise<void>((resolve, reject) => {
      decoder.on('end', resolve);
      decoder.on('error', reject);
      decoder.write(body.subarray(0, split));
      decoder.end(body.subarray(split));
    });
    t.equal(Buffer.concat(parts).toString(), 'hello world');
    t.equal(decoder.trailers.get('x-amz-checksum-crc32'), 'DUoRhQ==');
  }
  const short = new AwsChunkedDecoder({ trailer: true, decodedLength: 12 });
  await t.rejects(decode(body, short), { code: 'IncompleteBody' });
  const truncated = new AwsChunkedDecoder({ trailer: true });
  await t.rejects(decode(body.subarray(0, 12), truncated), { code: 'IncompleteBody' });
});

// Goal: the pure router maps requests to the AWS operation names, in path and
// virtual-host style, including the pairs only a header or a query tells apart
// (CopyObject/PutObject, UploadPartCopy/UploadPart), and refuses unsupported
// subresources with NotImplemented rather than routing them to a wrong success.
import t from 'tap';
import { parseS3Request, type RouteInput } from '../../src/http/router.js';

function route(method: string, url: string, options: { host?: string; headers?: Record<string, string>; domain?: string } = {}) {
  const question = url.indexOf('?');
  const input: RouteInput = {
    method,
    host: options.host ?? '127.0.0.1:9000',
    rawPath: question < 0 ? url : url.slice(0, question),
    rawQuery: question < 0 ? '' : url.slice(question + 1),
    headers: options.headers ?? {},
  };
  return parseS3Request(input, options.domain ? { domain: options.domain } : {});
}

const table: [string, string, Record<string, string>, string][] = [
  ['GET', '/', {}, 'ListBuckets'],
  ['PUT', '/b', {}, 'CreateBucket'],
  ['HEAD', '/b', {}, 'HeadBucket'],
  ['DELETE', '/b', {}, 'DeleteBucket'],
  ['GET', '/b?location', {}, 'GetBucketLocation'],
  ['GET', '/b?versioning', {}, 'GetBucketVersioning'],
  ['GET', '/b?versions&prefix=a', {}, 'ListObjectVersions'],
  ['GET', '/b?uploads', {}, 'ListMultipartUploads'],
  ['GET', '/b?list-type=2&prefix=x', {}, 'ListObjectsV2'],
  ['GET', '/b?prefix=x&marker=y', {}, 'ListObjects'],
  ['GET', '/b/', {}, 'ListObjects'],
  ['POST', '/b?delete', {}, 'DeleteObjects'],
  ['GET', '/b?acl', {}, 'GetBucketAcl'],
  ['PUT', '/b/k', {}, 'PutObject'],
  ['PUT', '/b/k', { 'x-amz-copy-source': '/src/k' }, 'CopyObject'],
  ['PUT', '/b/k?partNumber=1&uploadId=u', {}, 'UploadPart'],
  ['PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/k' }, 'UploadPartCopy'],
  ['GET', '/b/k', {}, 'GetObject'],
  ['GET', '/b/k?versionId=null&response-content-type=text/plain', {}, 'GetObject'],
  ['HEAD', '/b/k', {}, 'HeadObject'],
  ['DELETE', '/b/k', {}, 'DeleteObject'],
  ['GET', '/b/k?attributes', {}, 'GetObjectAttributes'],
  ['POST', '/b/k?uploads', {}, 'CreateMultipartUpload'],
  ['POST', '/b/k?uploadId=u', {}, 'CompleteMultipartUpload'],
  ['DELETE', '/b/k?uploadId=u', {}, 'AbortMultipartUpload'],
  ['GET', '/b/k?uploadId=u', {}, 'ListParts'],
  ['GET', '/b/k?acl', {}, 'GetObjectAcl'],
];

t.test('path-style table', async (t) => {
  for (const [method, url, headers, operation] of table) {
    t.equal(route(method, url, { headers }).operation, operation, `${method} ${url}`);
  }
});

t.test('virtual-host style resolves the bucket from Host', async (t) => {
  const request = route('GET', '/photos/2024/a%20b.jpg', { host: 'my-bucket.s3.localhost:9000', domain: 's3.localhost' });
  t.equal(request.operation, 'GetObject');
  t.equal(request.bucket, 'my-bucket');
  t.equal(request.key, 'photos/2024/a b.jpg');
  t.equal(request.virtualHost, true);
  const bucketLevel = route('GET', '/?list-type=2', { host: 'my-bucket.s3.localhost', domain: 's3.localhost' });
  t.equal(bucketLevel.operation, 'ListObjectsV2');
  t.equal(bucketLevel.bucket, 'my-bucket');
  t.equal(route('GET', '/', { host: 's3.localhost', domain: 's3.localhost' }).operation, 'ListBuckets');
});

t.test('keys keep encoded slashes, doubled slashes and reserved characters', async (t) => {
  t.equal(route('GET', '/b/a%2Fb').key, 'a/b');
  t.equal(route('GET', '/b/a//b/').key, 'a//b/');
  t.equal(route('GET', '/b/%3F%23%25+').key, '?#%+');
});

t.test('unsupported subresources and methods', async (t) => {
  for (const url of ['/b?tagging', '/b?lifecycle', '/b?policy', '/b?cors', '/b/k?tagging', '/b/k?retention']) {
    t.throws(() => route('GET', url), { code: 'NotImplemented' }, url);
  }
  t.throws(() => route('PUT', '/b?versioning'), { code: 'NotImplemented' });
  t.throws(() => route('POST', '/b'), { code: 'NotImplemented' }, 'browser POST upload');
  t.throws(() => route('PATCH', '/b/k'), { code: 'MethodNotAllowed' });
  t.throws(() => route('PUT', '/'), { code: 'MethodNotAllowed' });
  t.throws(() => route('GET', '/b/%E0%A4%A'), { code: 'InvalidURI' });
});

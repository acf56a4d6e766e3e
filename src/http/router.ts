// Request routing as a pure function: (method, host, path, query, headers) →
// the S3 operation, named as AWS names it. Handlers sit in a Record keyed by
// these names, so the compiler reports a missing one. Known-but-unsupported
// subresources route to NotImplemented rather than to a wrong success.
import { S3Error } from './s3-errors.js';
import { decodeUriComponentStrict } from './auth/sigv4.js';

export const S3_OPERATIONS = [
  'ListBuckets',
  'CreateBucket',
  'HeadBucket',
  'DeleteBucket',
  'GetBucketLocation',
  'GetBucketVersioning',
  'ListObjects',
  'ListObjectsV2',
  'ListObjectVersions',
  'ListMultipartUploads',
  'DeleteObjects',
  'PutObject',
  'CopyObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'GetObjectAttributes',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'GetBucketAcl',
  'PutBucketAcl',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetBucketOwnershipControls',
] as const;

export type S3OperationName = (typeof S3_OPERATIONS)[number];

export interface S3Request {
  operation: S3OperationName;
  bucket?: string;
  key?: string;
  query: URLSearchParams;
  /** True when the bucket came from the Host header. */
  virtualHost: boolean;
}

export interface RouteInput {
  method: string;
  host: string | undefined;
  /** Path as sent (percent-encoded), without the query. */
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RouterOptions {
  /** Base domain for virtual-host-style addressing, e.g. "s3.localhost". */
  domain?: string;
}

/** S3 subresources we recognise; those without a handler answer NotImplemented. */
const BUCKET_SUBRESOURCES = new Set([
  'accelerate', 'analytics', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'lifecycle',
  'logging', 'metrics', 'notification', 'object-lock', 'policy', 'policyStatus',
  'publicAccessBlock', 'replication', 'requestPayment', 'tagging', 'website', 'metadataTable', 'session',
]);
const OBJECT_SUBRESOURCES = new Set(['legal-hold', 'retention', 'tagging', 'torrent', 'restore', 'select', 'renameObject']);

function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', `A header or query you provided requested a function that is not implemented: ${what}.`);
}

function methodNotAllowed(method: string, resource: string): S3Error {
  return new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
    Method: method,
    ResourceType: resource,
  });
}

function bucketFromHost(host: string | undefined, domain: string | undefined): string | undefined {
  if (!host || !domain) return undefined;
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = `.${domain.toLowerCase()}`;
  return hostname.endsWith(suffix) && hostname.length > suffix.length ? hostname.slice(0, -suffix.length) : undefined;
}

export function parseS3Request(input: RouteInput, options: RouterOptions = {}): S3Request {
  const query = new URLSearchParams(input.rawQuery);
  const hostBucket = bucketFromHost(input.host, options.domain);
  let bucket: string | undefined;
  let key: string | undefined;
  if (hostBucket !== undefined) {
    bucket = hostBucket;
    const rawKey = input.rawPath.replace(/^\//, '');
    key = rawKey === '' ? undefined : decodeUriComponentStrict(rawKey);
  } else {
    const path = input.rawPath.replace(/^\//, '');
    const slash = path.indexOf('/');
    const rawBucket = slash < 0 ? path : path.slice(0, slash);
    const rawKey = slash < 0 ? '' : path.slice(slash + 1);
    bucket = rawBucket === '' ? undefined : decodeUriComponentStrict(rawBucket);
    key = rawKey === '' ? undefined : decodeUriComponentStrict(rawKey);
  }
  const route = (operation: S3OperationName): S3Request => {
    const request: S3Request = { operation, query, virtualHost: hostBucket !== undefined };
    if (bucket !== undefined) request.bucket = bucket;
    if (key !== undefined) request.key = key;
    return request;
  };
  const method = input.method.toUpperCase();
  const has = (name: string) => query.has(name);

  if (bucket === undefined) {
    if (method === 'GET') return route('ListBuckets');
    throw methodNotAllowed(method, 'SERVICE');
  }

  if (key === undefined) {
    for (const name of query.keys()) if (BUCKET_SUBRESOURCES.has(name)) throw notImplemented(`?${name}`);
    switch (method) {
      case 'GET':
        if (has('acl')) return route('GetBucketAcl');
        if (has('ownershipControls')) return route('GetBucketOwnershipControls');
        if (has('location')) return route('GetBucketLocation');
        if (has('versioning')) return route('GetBucketVersioning');
        if (has('versions')) return route('ListObjectVersions');
        if (has('uploads')) return route('ListMultipartUploads');
        if (query.get('list-type') === '2') return route('ListObjectsV2');
        return route('ListObjects');
      case 'HEAD':
        return route('HeadBucket');
      case 'PUT':
        if (has('versioning')) throw notImplemented('PutBucketVersioning');
        if (has('acl')) return route('PutBucketAcl');
        if (has('ownershipControls')) throw notImplemented('PutBucketOwnershipControls');
        return route('CreateBucket');
      case 'DELETE':
        if (has('ownershipControls')) throw notImplemented('DeleteBucketOwnershipControls');
        return route('DeleteBucket');
      case 'POST':
        if (has('delete')) return route('DeleteObjects');
        throw notImplemented('POST Object (browser uploads)');
      default:
        throw methodNotAllowed(method, 'BUCKET');
    }
  }

  for (const name of query.keys()) if (OBJECT_SUBRESOURCES.has(name)) throw notImplemented(`?${name}`);
  const copySource = input.headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'GET':
      if (has('acl')) return route('GetObjectAcl');
      if (has('uploadId')) return route('ListParts');
      if (has('attributes')) return route('GetObjectAttributes');
      return route('GetObject');
    case 'HEAD':
      return route('HeadObject');
    case 'PUT':
      if (has('acl')) return route('PutObjectAcl');
      if (has('uploadId') || has('partNumber')) return route(copySource ? 'UploadPartCopy' : 'UploadPart');
      return route(copySource ? 'CopyObject' : 'PutObject');
    case 'POST':
      if (has('uploads')) return route('CreateMultipartUpload');
      if (has('uploadId')) return route('CompleteMultipartUpload');
      throw notImplemented(`POST on an object without ?uploads or ?uploadId`);
    case 'DELETE':
      if (has('uploadId')) return route('AbortMultipartUpload');
      return route('DeleteObject');
    default:
      throw methodNotAllowed(method, 'OBJECT');
  }
}

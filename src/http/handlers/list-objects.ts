// ListObjects (v1), ListObjectsV2 and ListObjectVersions. Unversioned buckets
// list each object once, as version "null".
import type { ObjectRecord } from '../../object/records.js';
import { awsUriEncode } from '../auth/sigv4.js';
import { bucketOf, type S3Context, type S3Handler } from '../context.js';
import { isoDate, quoteEtag, sendXml } from '../response.js';
import { S3Error } from '../s3-errors.js';
import type { XmlFields } from '../xml/build.js';
import { integerParam, ownerFields } from './common.js';

const MAX_KEYS = 1000;

interface ListParams {
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  encode: (text: string) => string;
  urlEncoding: boolean;
}

function listParams(context: S3Context, maxKeysName = 'max-keys'): ListParams {
  const query = context.s3.query;
  const encodingType = query.get('encoding-type');
  if (encodingType !== null && encodingType.toLowerCase() !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: encodingType,
    });
  }
  const urlEncoding = encodingType !== null;
  const params: ListParams = {
    prefix: query.get('prefix') ?? '',
    maxKeys: integerParam(context, maxKeysName, { fallback: MAX_KEYS, min: 0, clampTo: MAX_KEYS }),
    encode: urlEncoding ? (text) => awsUriEncode(text, true) : (text) => text,
    urlEncoding,
  };
  const delimiter = query.get('delimiter');
  if (delimiter !== null && delimiter !== '') params.delimiter = delimiter;
  return params;
}

function contentsEntry(context: S3Context, object: ObjectRecord, params: ListParams, withOwner: boolean): XmlFields {
  const entry: XmlFields = {
    Key: params.encode(object.key),
    LastModified: isoDate(object.lastModifiedMs),
    ETag: quoteEtag(object.etag),
    Size: object.sizeBytes,
    StorageClass: object.storageClass,
  };
  if (object.checksum) {
    entry.ChecksumAlgorithm = object.checksum.algorithm;
    entry.ChecksumType = object.checksum.type;
  }
  if (withOwner) entry.Owner = ownerFields(context);
  return entry;
}

function commonPrefixes(prefixes: string[], params: ListParams): XmlFields[] {
  return prefixes.map((prefix) => ({ Prefix: params.encode(prefix) }));
}

export const listObjects: S3Handler = async (context) => {
  const params = listParams(context);
  const marker = context.s3.query.get('marker') ?? '';
  const page = await context.services.objects.listObjects({
    bucket: bucketOf(context),
    prefix: params.prefix,
    ...(params.delimiter ? { delimiter: params.delimiter } : {}),
    ...(marker !== '' ? { after: marker } : {}),
    maxKeys: params.maxKeys,
  });
  sendXml(context.reply, 'ListBucketResult', {
    Name: bucketOf(context),
    // ListObjects (v1) never URL-encodes Prefix, only keys, markers and the delimiter.
    Prefix: params.prefix,
    Marker: params.encode(marker),
    MaxKeys: params.maxKeys,
    Delimiter: params.delimiter !== undefined ? params.encode(params.delimiter) : undefined,
    IsTruncated: page.isTruncated,
    // AWS sends NextMarker only with a delimiter; without one the last key is the marker.
    NextMarker: page.isTruncated && params.delimiter && page.lastReturned !== undefined ? params.encode(page.lastReturned) : undefined,
    Contents: page.objects.map((object) => contentsEntry(context, object, params, true)),
    CommonPrefixes: commonPrefixes(page.commonPrefixes, params),
    EncodingType: params.urlEncoding ? 'url' : undefined,
  });
};

function decodeContinuationToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith('1:')) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  }
  return decoded.slice(2);
}

function encodeContinuationToken(after: string): string {
  return Buffer.from(`1:${after}`, 'utf8').toString('base64url');
}

export const listObjectsV2: S3Handler = async (context) => {
  const params = listParams(context);
  const query = context.s3.query;
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? '';
  const after = token ? decodeContinuationToken(token) : startAfter;
  const page = await context.services.objects.listObjects({
    bucket: bucketOf(context),
    prefix: params.prefix,
    ...(params.delimiter ? { delimiter: params.delimiter } : {}),
    ...(after !== '' ? { after } : {}),
    maxKeys: params.maxKeys,
  });
  const withOwner = query.get('fetch-owner') === 'true';
  sendXml(context.reply, 'ListBucketResult', {
    Name: bucketOf(context),
    Prefix: params.encode(params.prefix),
    MaxKeys: params.maxKeys,
    KeyCount: page.objects.length + page.commonPrefixes.length,
    Delimiter: params.delimiter !== undefined ? params.encode(params.delimiter) : undefined,
    IsTruncated: page.isTruncated,
    ContinuationToken: token ?? undefined,
    NextContinuationToken: page.isTruncated && page.lastReturned !== undefined ? encodeContinuationToken(page.lastReturned) : undefined,
    StartAfter: startAfter !== '' ? params.encode(startAfter) : undefined,
    Contents: page.objects.map((object) => contentsEntry(context, object, params, withOwner)),
    CommonPrefixes: commonPrefixes(page.commonPrefixes, params),
    EncodingType: params.urlEncoding ? 'url' : undefined,
  });
};

export const listObjectVersions: S3Handler = async (context) => {
  const params = listParams(context);
  const query = context.s3.query;
  const keyMarker = query.get('key-marker') ?? '';
  const versionIdMarker = query.get('version-id-marker') ?? '';
  if (versionIdMarker !== '' && keyMarker === '') {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      ArgumentName: 'version-id-marker',
    });
  }
  if (versionIdMarker !== '' && versionIdMarker !== 'null') {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: 'version-id-marker' });
  }
  const page = await context.services.objects.listObjects({
    bucket: bucketOf(context),
    prefix: params.prefix,
    ...(params.delimiter ? { delimiter: params.delimiter } : {}),
    ...(keyMarker !== '' ? { after: keyMarker } : {}),
    maxKeys: params.maxKeys,
  });
  const lastIsKey = page.objects.length > 0 && page.lastReturned === page.objects[page.objects.length - 1]!.key;
  sendXml(context.reply, 'ListVersionsResult', {
    Name: bucketOf(context),
    Prefix: params.encode(params.prefix),
    KeyMarker: params.encode(keyMarker),
    VersionIdMarker: versionIdMarker,
    NextKeyMarker: page.isTruncated && page.lastReturned !== undefined ? params.encode(page.lastReturned) : undefined,
    NextVersionIdMarker: page.isTruncated && lastIsKey ? 'null' : undefined,
    MaxKeys: params.maxKeys,
    Delimiter: params.delimiter !== undefined ? params.encode(params.delimiter) : undefined,
    IsTruncated: page.isTruncated,
    Version: page.objects.map((object) => ({
      Key: params.encode(object.key),
      VersionId: 'null',
      IsLatest: true,
      LastModified: isoDate(object.lastModifiedMs),
      ETag: quoteEtag(object.etag),
      Size: object.sizeBytes,
      StorageClass: object.storageClass,
      Owner: ownerFields(context),
      ...(object.checksum ? { ChecksumAlgorithm: object.checksum.algorithm, ChecksumType: object.checksum.type } : {}),
    })),
    CommonPrefixes: commonPrefixes(page.commonPrefixes, params),
    EncodingType: params.urlEncoding ? 'url' : undefined,
  });
};

// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort,
// ListParts and ListMultipartUploads.
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
  type ChecksumType,
  type ChecksumValue,
} from '../../object/checksums.js';
import type { UploadRecord } from '../../object/records.js';
import { bucketOf, header, keyOf, type S3Context, type S3Handler } from '../context.js';
import { MAX_COMPLETE_BODY_BYTES, MAX_PART_SIZE_BYTES } from '../limits.js';
import {
  openRequestBody,
  parseContentHeaders,
  parseStorageClass,
  parseUserMetadata,
  parseWritePrecondition,
  readXmlBody,
} from '../request-input.js';
import { checksumFields, isoDate, quoteEtag, sendXml } from '../response.js';
import { checkAclHeaders } from './acl.js';
import { S3Error } from '../s3-errors.js';
import type { XmlFields } from '../xml/build.js';
import { children, childText } from '../xml/parse.js';
import { integerParam, ownerFields } from './common.js';
import { parseCopySource } from './copy-source.js';
import { awsUriEncode } from '../auth/sigv4.js';

function uploadIdOf(context: S3Context): string {
  const uploadId = context.s3.query.get('uploadId');
  if (!uploadId) throw new S3Error('InvalidArgument', 'This operation requires an uploadId.', { ArgumentName: 'uploadId' });
  return uploadId;
}

function partNumberOf(context: S3Context): number {
  return integerParam(context, 'partNumber', { fallback: 0, min: 1, max: 10_000 });
}

function parseChecksumType(text: string | undefined): ChecksumType | undefined {
  if (text === undefined) return undefined;
  const upper = text.toUpperCase();
  if (upper !== 'COMPOSITE' && upper !== 'FULL_OBJECT') {
    throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  }
  return upper;
}

export const createMultipartUpload: S3Handler = async (context) => {
  checkAclHeaders(context);
  const checksumAlgorithm = parseChecksumAlgorithm(header(context, 'x-amz-checksum-algorithm'));
  const checksumType = parseChecksumType(header(context, 'x-amz-checksum-type'));
  const storageClass = parseStorageClass(context);
  const upload = await context.services.objects.createMultipartUpload({
    bucket: bucketOf(context),
    key: keyOf(context),
    headers: parseContentHeaders(context),
    userMeta: parseUserMetadata(context),
    ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
    ...(checksumType ? { checksumType } : {}),
    ...(storageClass ? { storageClass } : {}),
    owner: context.auth.credentials.ownerId,
  });
  if (upload.checksumAlgorithm) context.reply.header('x-amz-checksum-algorithm', upload.checksumAlgorithm);
  if (upload.checksumType) context.reply.header('x-amz-checksum-type', upload.checksumType);
  sendXml(context.reply, 'InitiateMultipartUploadResult', {
    Bucket: bucketOf(context),
    Key: keyOf(context),
    UploadId: upload.uploadId,
  });
};

export const uploadPart: S3Handler = async (context) => {
  const partNumber = partNumberOf(context);
  const uploadId = uploadIdOf(context);
  const body = openRequestBody(context, { maxSizeBytes: MAX_PART_SIZE_BYTES });
  const part = await context.services.objects.uploadPart({
    bucket: bucketOf(context),
    key: keyOf(context),
    uploadId,
    partNumber,
    body: body.stream,
    ...(body.sizeBytes === undefined ? {} : { sizeBytes: body.sizeBytes }),
    integrity: body.integrity,
  });
  const algorithm = body.integrity.checksum?.algorithm ?? body.integrity.trailer?.algorithm ?? body.integrity.algorithm;
  context.reply.header('etag', quoteEtag(part.etag));
  if (algorithm && part.checksum !== undefined) context.reply.header(checksumHeaderName(algorithm), part.checksum);
  context.reply.status(200).header('content-length', 0).send();
};

export const uploadPartCopy: S3Handler = async (context) => {
  const partNumber = partNumberOf(context);
  const uploadId = uploadIdOf(context);
  const source = parseCopySource(context, { allowRange: true });
  const { part } = await context.services.objects.uploadPartCopy({
    bucket: bucketOf(context),
    key: keyOf(context),
    uploadId,
    partNumber,
    source,
  });
  sendXml(context.reply, 'CopyPartResult', {
    ETag: quoteEtag(part.etag),
    LastModified: isoDate(part.lastModifiedMs),
  });
};

/** A whole-object checksum the client asserted on Complete (x-amz-checksum-* header). */
function assertedChecksum(context: S3Context): ChecksumValue | undefined {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = header(context, checksumHeaderName(algorithm));
    if (value !== undefined) {
      const type = parseChecksumType(header(context, 'x-amz-checksum-type')) ?? (/-\d+$/.test(value) ? 'COMPOSITE' : 'FULL_OBJECT');
      return { algorithm, value: value.trim(), type };
    }
  }
  return undefined;
}

function malformed(): S3Error {
  return new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
}

export const completeMultipartUpload: S3Handler = async (context) => {
  const uploadId = uploadIdOf(context);
  const root = await readXmlBody(context, MAX_COMPLETE_BODY_BYTES);
  if (!root || root.name !== 'CompleteMultipartUpload') throw malformed();
  const partElements = children(root, 'Part');
  if (partElements.length === 0) throw malformed();
  if (partElements.length > 10_000) throw malformed();
  const parts = partElements.map((element) => {
    const numberText = childText(element, 'PartNumber')?.trim();
    const etag = childText(element, 'ETag')?.trim();
    if (!numberText || !/^\d+$/.test(numberText) || etag === undefined) throw malformed();
    const part: { partNumber: number; etag: string; checksum?: string } = {
      partNumber: Number(numberText),
      etag: etag.replace(/^"(.*)"$/, '$1').replace(/^&quot;(.*)&quot;$/, '$1'),
    };
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const value = childText(element, `Checksum${algorithm}`);
      if (value !== undefined) part.checksum = value.trim();
    }
    return part;
  });
  const expectedChecksum = assertedChecksum(context);
  const precondition = parseWritePrecondition(context);
  const object = await context.services.objects.completeMultipartUpload({
    bucket: bucketOf(context),
    key: keyOf(context),
    uploadId,
    parts,
    ...(expectedChecksum ? { expectedChecksum } : {}),
    ...(precondition ? { precondition } : {}),
  });
  sendXml(context.reply, 'CompleteMultipartUploadResult', {
    Location: `/${bucketOf(context)}/${awsUriEncode(keyOf(context), true)}`,
    Bucket: bucketOf(context),
    Key: keyOf(context),
    ETag: quoteEtag(object.etag),
    ...checksumFields(object.checksum),
  });
};

export const abortMultipartUpload: S3Handler = async (context) => {
  await context.services.objects.abortMultipartUpload(bucketOf(context), keyOf(context), uploadIdOf(context));
  context.reply.status(204).send();
};

function checksumOfUpload(upload: UploadRecord): { algorithm?: ChecksumAlgorithm; type?: ChecksumType } {
  return { ...(upload.checksumAlgorithm ? { algorithm: upload.checksumAlgorithm } : {}), ...(upload.checksumType ? { type: upload.checksumType } : {}) };
}

export const listParts: S3Handler = async (context) => {
  const maxParts = integerParam(context, 'max-parts', { fallback: 1000, min: 0, clampTo: 1000 });
  const marker = integerParam(context, 'part-number-marker', { fallback: 0, min: 0 });
  const result = await context.services.objects.listParts(bucketOf(context), keyOf(context), uploadIdOf(context), {
    afterPartNumber: marker,
    maxParts,
  });
  const { algorithm, type } = checksumOfUpload(result.upload);
  sendXml(context.reply, 'ListPartsResult', {
    Bucket: bucketOf(context),
    Key: keyOf(context),
    UploadId: result.upload.uploadId,
    Initiator: ownerFields(context),
    Owner: ownerFields(context),
    StorageClass: result.upload.storageClass,
    PartNumberMarker: marker,
    NextPartNumberMarker: result.nextPartNumberMarker,
    MaxParts: maxParts,
    IsTruncated: result.isTruncated,
    Part: result.parts.map((part) => {
      const fields: XmlFields = {
        PartNumber: part.partNumber,
        LastModified: isoDate(part.lastModifiedMs),
        ETag: quoteEtag(part.etag),
        Size: part.sizeBytes,
      };
      if (algorithm && part.checksum !== undefined) fields[`Checksum${algorithm}`] = part.checksum;
      return fields;
    }),
    ChecksumAlgorithm: algorithm,
    ChecksumType: type,
  });
};

export const listMultipartUploads: S3Handler = async (context) => {
  const query = context.s3.query;
  const maxUploads = integerParam(context, 'max-uploads', { fallback: 1000, min: 0, clampTo: 1000 });
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const keyMarker = query.get('key-marker') ?? '';
  const uploadIdMarker = query.get('upload-id-marker') ?? '';
  const encodingType = query.get('encoding-type');
  const encode = encodingType === 'url' ? (text: string) => awsUriEncode(text, true) : (text: string) => text;
  const result = await context.services.objects.listMultipartUploads({
    bucket: bucketOf(context),
    prefix,
    ...(delimiter !== '' ? { delimiter } : {}),
    ...(keyMarker !== '' ? { keyMarker } : {}),
    ...(keyMarker !== '' && uploadIdMarker !== '' ? { uploadIdMarker } : {}),
    maxUploads,
  });
  sendXml(context.reply, 'ListMultipartUploadsResult', {
    Bucket: bucketOf(context),
    KeyMarker: encode(keyMarker),
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: result.nextKeyMarker !== undefined ? encode(result.nextKeyMarker) : undefined,
    NextUploadIdMarker: result.nextUploadIdMarker,
    Prefix: encode(prefix),
    Delimiter: delimiter !== '' ? encode(delimiter) : undefined,
    MaxUploads: maxUploads,
    IsTruncated: result.isTruncated,
    Upload: result.uploads.map((upload) => ({
      Key: encode(upload.key),
      UploadId: upload.uploadId,
      Initiator: ownerFields(context),
      Owner: ownerFields(context),
      StorageClass: upload.storageClass,
      Initiated: isoDate(upload.initiatedMs),
      ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: upload.checksumAlgorithm } : {}),
      ...(upload.checksumType ? { ChecksumType: upload.checksumType } : {}),
    })),
    CommonPrefixes: result.commonPrefixes.map((item) => ({ Prefix: encode(item) })),
    EncodingType: encodingType === 'url' ? 'url' : undefined,
  });
};


// DeleteObject (idempotent 204) and DeleteObjects (up to 1,000 keys, quiet mode,
// body integrity from Content-MD5 or any x-amz-checksum-* header).
import { createHash } from 'node:crypto';
import { createHasher, decodeChecksum } from '../../object/checksums.js';
import { ObjectError } from '../../object/errors.js';
import { MAX_KEY_BYTES } from '../../object/names.js';
import type { DeleteCondition, DeleteEntry } from '../../object/commands.js';
import { bucketOf, header, keyOf, type S3Handler, type S3Context } from '../context.js';
import { MAX_DELETE_BODY_BYTES, MAX_DELETE_KEYS } from '../limits.js';
import { parseIntegrity, readSmallBody } from '../request-input.js';
import { sendXml } from '../response.js';
import { S3Error } from '../s3-errors.js';
import type { XmlFields } from '../xml/build.js';
import { children, childText, parseXml, XmlSyntaxError, type XmlElement } from '../xml/parse.js';
import { checkVersionId } from './common.js';

function parseDeleteCondition(context: S3Context): DeleteCondition | undefined {
  const condition: DeleteCondition = {};
  const ifMatch = header(context, 'if-match');
  const lastModified = header(context, 'x-amz-if-match-last-modified-time');
  const size = header(context, 'x-amz-if-match-size');
  if (ifMatch !== undefined) condition.ifMatch = ifMatch;
  if (lastModified !== undefined) {
    const ms = new Date(lastModified).getTime();
    if (Number.isNaN(ms)) throw new S3Error('InvalidArgument', 'x-amz-if-match-last-modified-time is not a valid date.');
    condition.ifMatchLastModifiedMs = ms;
  }
  if (size !== undefined) {
    if (!/^\d+$/.test(size)) throw new S3Error('InvalidArgument', 'x-amz-if-match-size must be a non-negative integer.');
    condition.ifMatchSizeBytes = Number(size);
  }
  return Object.keys(condition).length > 0 ? condition : undefined;
}

export const deleteObject: S3Handler = async (context) => {
  checkVersionId(context);
  await context.services.objects.getBucket(bucketOf(context));
  const condition = parseDeleteCondition(context);
  const result = await context.services.objects.deleteObjects(bucketOf(context), [
    condition ? { key: keyOf(context), condition } : { key: keyOf(context) },
  ]);
  const refused = result.refused[0];
  if (refused) throw new S3Error('PreconditionFailed', refused.message);
  context.reply.status(204).send();
};

function malformed(): S3Error {
  return new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
}

/** Checks the body against Content-MD5 or an x-amz-checksum-* header; one of them is required. */
function verifyBodyIntegrity(context: S3Context, body: Buffer): void {
  const integrity = parseIntegrity(context);
  if (integrity.contentMd5 === undefined && !integrity.checksum) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  if (integrity.contentMd5 !== undefined && createHash('md5').update(body).digest('base64') !== integrity.contentMd5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  if (integrity.checksum) {
    decodeChecksum(integrity.checksum.algorithm, integrity.checksum.value);
    const hasher = createHasher(integrity.checksum.algorithm);
    hasher.update(body);
    if (hasher.digest().toString('base64') !== integrity.checksum.value) {
      throw new S3Error('BadDigest', `The ${integrity.checksum.algorithm} you specified did not match the calculated checksum.`);
    }
  }
}

/** ETag / LastModifiedTime / Size inside a <Object> entry: conditional delete per key. */
function entryCondition(entry: XmlElement): DeleteCondition | undefined {
  const condition: DeleteCondition = {};
  const etag = childText(entry, 'ETag');
  const lastModified = childText(entry, 'LastModifiedTime');
  const size = childText(entry, 'Size');
  if (etag !== undefined) condition.ifMatch = etag.trim();
  if (lastModified !== undefined) {
    const ms = new Date(lastModified.trim()).getTime();
    if (Number.isNaN(ms)) throw malformed();
    condition.ifMatchLastModifiedMs = ms;
  }
  if (size !== undefined) {
    if (!/^\d+$/.test(size.trim())) throw malformed();
    condition.ifMatchSizeBytes = Number(size.trim());
  }
  return Object.keys(condition).length > 0 ? condition : undefined;
}

export const deleteObjects: S3Handler = async (context) => {
  const bucket = bucketOf(context);
  const body = await readSmallBody(context, MAX_DELETE_BODY_BYTES);
  verifyBodyIntegrity(context, body);
  let root;
  try {
    root = parseXml(body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw malformed();
    throw error;
  }
  if (root.name !== 'Delete') throw malformed();
  const quiet = (childText(root, 'Quiet') ?? '').trim().toLowerCase() === 'true';
  const entries = children(root, 'Object');
  if (entries.length === 0 || entries.length > MAX_DELETE_KEYS) throw malformed();

  const deleted: XmlFields[] = [];
  const errors: XmlFields[] = [];
  const toDelete: (DeleteEntry & { versionId?: string })[] = [];
  for (const entry of entries) {
    const key = childText(entry, 'Key');
    if (key === undefined) throw malformed();
    const versionId = childText(entry, 'VersionId');
    if (versionId !== undefined && versionId !== 'null') {
      errors.push({ Key: key, VersionId: versionId, Code: 'NoSuchVersion', Message: 'The specified version does not exist.' });
    } else if (key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
      errors.push({ Key: key, Code: key === '' ? 'InvalidArgument' : 'KeyTooLongError', Message: 'The key is not valid.' });
    } else {
      const item: DeleteEntry & { versionId?: string } = { key };
      if (versionId !== undefined) item.versionId = versionId;
      const condition = entryCondition(entry);
      if (condition) item.condition = condition;
      toDelete.push(item);
    }
  }
  await context.services.objects.getBucket(bucket);
  if (toDelete.length > 0) {
    try {
      const result = await context.services.objects.deleteObjects(
        bucket,
        toDelete.map(({ key, condition }) => (condition ? { key, condition } : { key })),
      );
      const refused = new Map(result.refused.map((item) => [item.key, item]));
      for (const item of toDelete) {
        const refusal = refused.get(item.key);
        if (refusal) errors.push({ Key: item.key, Code: refusal.code, Message: refusal.message });
        else deleted.push(item.versionId ? { Key: item.key, VersionId: item.versionId } : { Key: item.key });
      }
    } catch (error) {
      if (!(error instanceof ObjectError)) throw error;
      for (const item of toDelete) errors.push({ Key: item.key, Code: error.code, Message: error.message });
    }
  }
  sendXml(context.reply, 'DeleteResult', { Deleted: quiet ? [] : deleted, Error: errors });
};

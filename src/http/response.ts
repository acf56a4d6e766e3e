// Response helpers: XML bodies, object headers, date formats.
import type { FastifyReply } from 'fastify';
import { checksumHeaderName, type ChecksumValue } from '../object/checksums.js';
import type { ObjectRecord } from '../object/records.js';
import { xmlDocument, type XmlFields } from './xml/build.js';

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** ISO 8601 with milliseconds, as S3 writes timestamps in XML. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

export function sendXml(reply: FastifyReply, rootName: string, fields: XmlFields, status = 200): FastifyReply {
  const body = xmlDocument(rootName, fields);
  return reply.status(status).header('content-type', 'application/xml').header('content-length', Buffer.byteLength(body)).send(body);
}

export function checksumHeaders(checksum: ChecksumValue | undefined): Record<string, string> {
  if (!checksum) return {};
  return { [checksumHeaderName(checksum.algorithm)]: checksum.value, 'x-amz-checksum-type': checksum.type };
}

/** The XML fields S3 uses for a checksum, e.g. ChecksumCRC32C + ChecksumType. */
export function checksumFields(checksum: ChecksumValue | undefined, withType = true): XmlFields {
  if (!checksum) return {};
  const fields: XmlFields = { [`Checksum${checksum.algorithm}`]: checksum.value };
  if (withType) fields.ChecksumType = checksum.type;
  return fields;
}

/** Headers describing a stored object, shared by GET and HEAD. */
export function objectHeaders(object: ObjectRecord): Record<string, string> {
  const headers: Record<string, string> = {
    etag: quoteEtag(object.etag),
    'last-modified': httpDate(object.lastModifiedMs),
    'accept-ranges': 'bytes',
    'content-type': object.headers.contentType ?? 'binary/octet-stream',
  };
  if (object.headers.contentEncoding !== undefined) headers['content-encoding'] = object.headers.contentEncoding;
  if (object.headers.contentDisposition !== undefined) headers['content-disposition'] = object.headers.contentDisposition;
  if (object.headers.contentLanguage !== undefined) headers['content-language'] = object.headers.contentLanguage;
  if (object.headers.cacheControl !== undefined) headers['cache-control'] = object.headers.cacheControl;
  if (object.headers.expires !== undefined) headers.expires = object.headers.expires;
  if (object.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = object.storageClass;
  for (const [name, value] of Object.entries(object.userMeta)) headers[`x-amz-meta-${name}`] = headerBytes(value);
  return headers;
}

/**
 * Header values go out as latin1 bytes. Text that fits latin1 is sent as such
 * (what HTTP clients decode headers as); anything wider is sent as its UTF-8 bytes.
 */
export function headerBytes(text: string): string {
  // eslint-disable-next-line no-control-regex -- only characters above 0xff need care
  return /[^\x00-\xff]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}


// Turning request headers and bodies into object-layer inputs: body decoding
// (aws-chunked, signed payload hash), integrity assertions, content headers,
// user metadata, conditions and ranges. Every size is bounded here.
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  parseChecksumAlgorithm,
} from '../object/checksums.js';
import type { ContentHeaders } from '../object/records.js';
import type { BodyIntegrity, RangeRequest, ReadConditions } from '../object/service.js';
import type { WritePrecondition } from '../object/commands.js';
import { AwsChunkedDecoder } from './auth/aws-chunked.js';
import { headerText } from './header-text.js';
import { PayloadHashVerifier } from './auth/payload-hash.js';
import { header, type S3Context } from './context.js';
import { S3Error } from './s3-errors.js';
import { parseXml, XmlSyntaxError, type XmlElement } from './xml/parse.js';

export const MAX_USER_METADATA_BYTES = 2048;



export interface RequestBody {
  stream: Readable;
  /** Decoded length when the client declared one. */
  sizeBytes?: number;
  integrity: BodyIntegrity;
}

function parseLength(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,16}$/.test(text.trim())) {
    throw new S3Error('InvalidArgument', `${name} must be a non-negative integer.`, { ArgumentName: name, ArgumentValue: text });
  }
  return Number(text.trim());
}

/** Pipes without letting a transform's failure destroy the socket we still answer on. */
function pipeKeepingSocket(source: Readable, transform: Transform): Readable {
  source.on('error', (error) => transform.destroy(error));
  source.on('aborted', () => transform.destroy(new S3Error('IncompleteBody', 'The client closed the connection before sending the whole body.')));
  transform.on('error', () => source.unpipe(transform));
  return source.pipe(transform);
}

function missingLength(): S3Error {
  return new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
}

/**
 * The request body, decoded and verified as its signature mode says. Object
 * bodies need a declared length (Content-Length, or x-amz-decoded-content-length
 * for aws-chunked), as on AWS; small control bodies may use chunked transfer.
 */
export function openRequestBody(context: S3Context, options: { maxSizeBytes: number; requireLength?: boolean }): RequestBody {
  const raw = context.request.raw;
  const contentLength = parseLength(header(context, 'content-length'), 'Content-Length');
  const decodedLength = parseLength(header(context, 'x-amz-decoded-content-length'), 'x-amz-decoded-content-length');
  const chunkedTransfer = (header(context, 'transfer-encoding') ?? '').toLowerCase().includes('chunked');
  const awsChunked = (header(context, 'content-encoding') ?? '').toLowerCase().includes('aws-chunked');
  if (contentLength === undefined && !chunkedTransfer) throw missingLength();
  if ((options.requireLength ?? true) && contentLength === undefined && decodedLength === undefined) throw missingLength();
  if ((header(context, 'expect') ?? '').toLowerCase() === '100-continue' && !context.reply.raw.headersSent) {
    context.reply.raw.writeContinue();
  }
  const integrity = parseIntegrity(context);
  const payload = context.auth.payload;
  let stream: Readable = raw;
  let sizeBytes: number | undefined = contentLength;
  let decoder: AwsChunkedDecoder | undefined;
  if (payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer' || awsChunked) {
    const trailer = payload.kind === 'streaming-unsigned-trailer' || (payload.kind === 'streaming-signed' && payload.trailer);
    decoder = new AwsChunkedDecoder({
      ...(payload.kind === 'streaming-signed' ? { signing: payload.context } : {}),
      trailer,
      ...(decodedLength === undefined ? {} : { decodedLength }),
    });
    stream = pipeKeepingSocket(raw, decoder);
    sizeBytes = decodedLength;
    if (decodedLength === undefined && payload.kind !== 'unsigned') {
      throw new S3Error('MissingContentLength', 'You must provide the x-amz-decoded-content-length header with aws-chunked bodies.');
    }
  } else if (payload.kind === 'sha256') {
    stream = pipeKeepingSocket(raw, new PayloadHashVerifier(payload.expectedHex));
  }
  if (sizeBytes !== undefined && sizeBytes > options.maxSizeBytes) {
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: String(sizeBytes),
      MaxSizeAllowed: String(options.maxSizeBytes),
    });
  }
  const trailerName = (header(context, 'x-amz-trailer') ?? '').trim().toLowerCase();
  if (trailerName !== '') {
    if (!decoder) throw new S3Error('InvalidRequest', 'x-amz-trailer requires an aws-chunked body.');
    const algorithm = CHECKSUM_ALGORITHMS.find((candidate) => checksumHeaderName(candidate) === trailerName);
    if (!algorithm) throw new S3Error('InvalidRequest', `The trailer ${trailerName} is not supported.`);
    const chunked = decoder;
    integrity.trailer = { algorithm, trailerValue: () => chunked.trailers.get(trailerName) };
  }
  const body: RequestBody = { stream, integrity };
  if (sizeBytes !== undefined) body.sizeBytes = sizeBytes;
  return body;
}

/** Content-MD5, x-amz-checksum-* and x-amz-sdk-checksum-algorithm. */
export function parseIntegrity(context: S3Context): BodyIntegrity {
  const integrity: BodyIntegrity = {};
  const md5 = header(context, 'content-md5');
  if (md5 !== undefined) {
    const raw = Buffer.from(md5, 'base64');
    if (raw.length !== 16 || raw.toString('base64') !== md5.trim()) {
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
    }
    integrity.contentMd5 = md5.trim();
  }
  const asserted = CHECKSUM_ALGORITHMS.filter((algorithm) => header(context, checksumHeaderName(algorithm)) !== undefined);
  if (asserted.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  if (asserted.length === 1) {
    const algorithm = asserted[0]!;
    integrity.checksum = { algorithm, value: header(context, checksumHeaderName(algorithm))!.trim() };
  }
  const sdkAlgorithm = parseChecksumAlgorithm(header(context, 'x-amz-sdk-checksum-algorithm') ?? header(context, 'x-amz-checksum-algorithm'));
  if (sdkAlgorithm) {
    if (integrity.checksum && integrity.checksum.algorithm !== sdkAlgorithm) {
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
    integrity.algorithm = sdkAlgorithm;
  }
  return integrity;
}

export function parseContentHeaders(context: S3Context): ContentHeaders {
  const headers: ContentHeaders = {};
  const set = (field: keyof ContentHeaders, name: string) => {
    const value = header(context, name);
    if (value !== undefined) headers[field] = value;
  };
  if (context.request.s3ContentType !== undefined) headers.contentType = context.request.s3ContentType;
  set('contentDisposition', 'content-disposition');
  set('contentLanguage', 'content-language');
  set('cacheControl', 'cache-control');
  set('expires', 'expires');
  const encoding = header(context, 'content-encoding');
  if (encoding !== undefined) {
    // aws-chunked describes the transfer, not the object.
    const kept = encoding
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '' && item.toLowerCase() !== 'aws-chunked');
    if (kept.length > 0) headers.contentEncoding = kept.join(',');
  }
  return headers;
}

export function parseUserMetadata(context: S3Context): Record<string, string> {
  const meta: Record<string, string> = {};
  let totalBytes = 0;
  for (const [name, value] of Object.entries(context.request.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const metaName = name.slice('x-amz-meta-'.length);
    const text = headerText(Array.isArray(value) ? value.join(',') : value);
    meta[metaName] = text;
    totalBytes += Buffer.byteLength(metaName) + Buffer.byteLength(text);
  }
  if (totalBytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.', {
      Size: String(totalBytes),
      MaxSizeAllowed: String(MAX_USER_METADATA_BYTES),
    });
  }
  return meta;
}

const STORAGE_CLASSES = new Set([
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER',
  'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE',
]);

export function parseStorageClass(context: S3Context): string | undefined {
  const value = header(context, 'x-amz-storage-class');
  if (value === undefined) return undefined;
  if (!STORAGE_CLASSES.has(value)) throw new S3Error('InvalidStorageClass', 'The storage class you specified is not valid', { StorageClassRequested: value });
  return value;
}

function parseHttpDate(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** If-* (or x-amz-copy-source-if-*) headers; unparseable dates are ignored, as RFC 9110 says. */
export function parseReadConditions(context: S3Context, prefix = ''): ReadConditions | undefined {
  const conditions: ReadConditions = {};
  const ifMatch = header(context, `${prefix}if-match`);
  const ifNoneMatch = header(context, `${prefix}if-none-match`);
  const ifModifiedSince = parseHttpDate(header(context, `${prefix}if-modified-since`));
  const ifUnmodifiedSince = parseHttpDate(header(context, `${prefix}if-unmodified-since`));
  if (ifMatch !== undefined) conditions.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) conditions.ifNoneMatch = ifNoneMatch;
  if (ifModifiedSince) conditions.ifModifiedSince = ifModifiedSince;
  if (ifUnmodifiedSince) conditions.ifUnmodifiedSince = ifUnmodifiedSince;
  return Object.keys(conditions).length > 0 ? conditions : undefined;
}

/** Conditional writes: If-None-Match: * and If-Match: "etag". */
export function parseWritePrecondition(context: S3Context): WritePrecondition | undefined {
  const ifNoneMatch = header(context, 'if-none-match');
  const ifMatch = header(context, 'if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  const precondition: WritePrecondition = {};
  if (ifNoneMatch !== undefined) precondition.ifNoneMatch = ifNoneMatch.trim();
  if (ifMatch !== undefined) precondition.ifMatch = ifMatch.trim();
  return precondition;
}

/**
 * The Range header, or undefined when absent or one AWS ignores (several
 * ranges, or a syntax error): those are answered with the whole object.
 */
export function parseRange(text: string | undefined): RangeRequest | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(text);
  if (!match) return undefined;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return undefined;
  if (first === '') return { kind: 'suffix', length: Number(last) };
  const start = Number(first);
  if (last === '') return { kind: 'bounded', start };
  const end = Number(last);
  if (end < start) return undefined;
  return { kind: 'bounded', start, end };
}

/** Reads a small request body (XML) fully, bounded; used for control-plane requests. */
export async function readSmallBody(context: S3Context, maxBytes: number): Promise<Buffer> {
  if (header(context, 'content-length') === undefined && header(context, 'transfer-encoding') === undefined) {
    return Buffer.alloc(0);
  }
  const tooBig = () =>
    new S3Error('MaxMessageLengthExceeded', 'Your request was too big.', { MaxMessageLengthBytes: String(maxBytes) });
  const declared = parseLength(header(context, 'x-amz-decoded-content-length') ?? header(context, 'content-length'), 'Content-Length');
  if (declared !== undefined && declared > maxBytes) throw tooBig();
  const body = openRequestBody(context, { maxSizeBytes: maxBytes, requireLength: false });
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of body.stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw tooBig();
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

export async function readXmlBody(context: S3Context, maxBytes: number): Promise<XmlElement | undefined> {
  const body = await readSmallBody(context, maxBytes);
  if (body.length === 0) return undefined;
  try {
    return parseXml(body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlSyntaxError) {
      throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    throw error;
  }
}


// GetObject, HeadObject and GetObjectAttributes.
import type { FastifyReply } from 'fastify';
import type { GetObjectOutput } from '../../object/service.js';
import { bucketOf, header, keyOf, type S3Context, type S3Handler } from '../context.js';
import { checksumFields, checksumHeaders, httpDate, objectHeaders, quoteEtag, sendXml } from '../response.js';
import { parseRange, parseReadConditions } from '../request-input.js';
import { S3Error } from '../s3-errors.js';
import { checkVersionId, integerHeader, integerParam } from './common.js';
import type { XmlFields } from '../xml/build.js';

const RESPONSE_OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

function partNumberParam(context: S3Context): number | undefined {
  if (!context.s3.query.has('partNumber')) return undefined;
  return integerParam(context, 'partNumber', { fallback: 1, min: 1, max: 10_000 });
}

async function readObject(context: S3Context, headOnly: boolean): Promise<GetObjectOutput> {
  checkVersionId(context);
  const partNumber = partNumberParam(context);
  const rangeHeader = header(context, 'range');
  if (partNumber !== undefined && rangeHeader !== undefined) {
    throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  }
  const conditions = parseReadConditions(context);
  const range = parseRange(rangeHeader);
  return context.services.objects.getObject({
    bucket: bucketOf(context),
    key: keyOf(context),
    ...(range ? { range } : {}),
    ...(partNumber !== undefined ? { partNumber } : {}),
    ...(conditions ? { conditions } : {}),
    headOnly,
  });
}

function writeObjectHeaders(context: S3Context, reply: FastifyReply, output: GetObjectOutput): void {
  const headers = objectHeaders(output.object);
  for (const [parameter, headerName] of RESPONSE_OVERRIDES) {
    const value = context.s3.query.get(parameter);
    if (value !== null) headers[headerName] = value;
  }
  headers['content-length'] = String(output.end - output.start);
  if (output.partial) {
    const lastByte = output.end - 1;
    headers['content-range'] =
      output.end > output.start
        ? `bytes ${output.start}-${lastByte}/${output.object.sizeBytes}`
        : `bytes */${output.object.sizeBytes}`;
  }
  if (output.partsCount !== undefined) headers['x-amz-mp-parts-count'] = String(output.partsCount);
  // Where the object's bytes live (placement is recorded per object and per part).
  const tiers = [...new Set(output.object.blobs.map((blob) => blob.tier))];
  if (tiers.length > 0) headers['x-strata-tiers'] = tiers.join(',');
  if ((header(context, 'x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED') {
    Object.assign(headers, checksumHeaders(output.checksum));
  }
  reply.status(output.partial ? 206 : 200).headers(headers);
}

export const getObject: S3Handler = async (context) => {
  const output = await readObject(context, false);
  writeObjectHeaders(context, context.reply, output);
  const body = output.body!;
  context.reply.send(body);
};

export const headObject: S3Handler = async (context) => {
  const output = await readObject(context, true);
  writeObjectHeaders(context, context.reply, output);
  context.reply.send();
};

const ATTRIBUTE_NAMES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);

export const getObjectAttributes: S3Handler = async (context) => {
  checkVersionId(context);
  const requested = (header(context, 'x-amz-object-attributes') ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (requested.length === 0 || requested.some((name) => !ATTRIBUTE_NAMES.has(name))) {
    throw new S3Error('InvalidArgument', 'Invalid attribute name specified.', { ArgumentName: 'x-amz-object-attributes' });
  }
  const conditions = parseReadConditions(context);
  const { object } = await context.services.objects.getObject({
    bucket: bucketOf(context),
    key: keyOf(context),
    ...(conditions ? { conditions } : {}),
    headOnly: true,
  });
  const wants = new Set(requested);
  const fields: XmlFields = {};
  if (wants.has('ETag')) fields.ETag = object.etag;
  if (wants.has('Checksum') && object.checksum) fields.Checksum = checksumFields(object.checksum);
  if (wants.has('ObjectParts') && object.parts) {
    const maxParts = integerHeader(context, 'x-amz-max-parts', { fallback: 1000, min: 0, clampTo: 1000 });
    const marker = integerHeader(context, 'x-amz-part-number-marker', { fallback: 0, min: 0 });
    const remaining = object.parts.filter((part) => part.partNumber > marker);
    const page = remaining.slice(0, maxParts);
    const truncated = remaining.length > page.length;
    fields.ObjectParts = {
      PartsCount: object.parts.length,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((part) => ({
        PartNumber: part.partNumber,
        Size: part.sizeBytes,
        ...(part.checksum !== undefined && object.checksum ? { [`Checksum${object.checksum.algorithm}`]: part.checksum } : {}),
      })),
    };
  }
  if (wants.has('StorageClass')) fields.StorageClass = object.storageClass;
  if (wants.has('ObjectSize')) fields.ObjectSize = object.sizeBytes;
  context.reply.header('last-modified', httpDate(object.lastModifiedMs)).header('etag', quoteEtag(object.etag));
  sendXml(context.reply, 'GetObjectAttributesResponse', fields);
};


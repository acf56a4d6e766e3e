// Parsing of x-amz-copy-source (URL-encoded "bucket/key[?versionId=...]"),
// x-amz-copy-source-range and the x-amz-copy-source-if-* conditions.
import type { CopySource } from '../../object/service.js';
import { decodeUriComponentStrict } from '../auth/sigv4.js';
import { header, type S3Context } from '../context.js';
import { parseReadConditions } from '../request-input.js';
import { S3Error } from '../s3-errors.js';

export function parseCopySource(context: S3Context, options: { allowRange: boolean }): CopySource {
  const raw = header(context, 'x-amz-copy-source') ?? '';
  const queryAt = raw.indexOf('?');
  const path = decodeUriComponentStrict(queryAt < 0 ? raw : raw.slice(0, queryAt)).replace(/^\//, '');
  if (queryAt >= 0) {
    const versionId = new URLSearchParams(raw.slice(queryAt + 1)).get('versionId');
    if (versionId !== null && versionId !== 'null') {
      throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: 'x-amz-copy-source' });
    }
  }
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: raw,
    });
  }
  const source: CopySource = { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
  const conditions = parseReadConditions(context, 'x-amz-copy-source-');
  if (conditions) source.conditions = conditions;
  const rangeText = header(context, 'x-amz-copy-source-range');
  if (rangeText !== undefined && options.allowRange) {
    const match = /^bytes=(\d+)-(\d+)$/.exec(rangeText.trim());
    if (!match) {
      throw new S3Error(
        'InvalidArgument',
        'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
        { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: rangeText },
      );
    }
    source.range = { start: Number(match[1]), end: Number(match[2]) };
  }
  return source;
}

// Small parsing helpers shared by the handlers.
import { S3Error } from '../s3-errors.js';
import { header, type S3Context } from '../context.js';

export interface IntegerOptions {
  fallback: number;
  min: number;
  clampTo?: number;
  max?: number;
}

/** An integer query parameter within [min, max]; absent → fallback; larger → clamped to clampTo. */
export function integerParam(context: S3Context, name: string, options: IntegerOptions): number {
  return integerValue(context.s3.query.get(name) ?? undefined, name, options);
}

/** The same rules for an integer header (x-amz-max-parts, x-amz-part-number-marker). */
export function integerHeader(context: S3Context, name: string, options: IntegerOptions): number {
  return integerValue(header(context, name), name, options);
}

function integerValue(text: string | undefined, name: string, options: IntegerOptions): number {
  if (text === undefined || text === '') return options.fallback;
  if (!/^-?\d+$/.test(text)) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: text,
    });
  }
  const value = Number(text);
  if (value < options.min || (options.max !== undefined && value > options.max)) {
    throw new S3Error('InvalidArgument', `Argument ${name} must be an integer between ${options.min} and ${options.max ?? 2147483647}`, {
      ArgumentName: name,
      ArgumentValue: text,
    });
  }
  return options.clampTo !== undefined ? Math.min(value, options.clampTo) : value;
}

/** Unversioned buckets know one version per key: "null". */
export function checkVersionId(context: S3Context): void {
  const versionId = context.s3.query.get('versionId');
  if (versionId !== null && versionId !== 'null') {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: versionId });
  }
}

export function ownerFields(context: S3Context): { ID: string; DisplayName: string } {
  return { ID: context.auth.credentials.ownerId, DisplayName: context.auth.credentials.ownerDisplayName };
}

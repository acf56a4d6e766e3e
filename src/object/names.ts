// Bucket-name and object-key rules, as AWS documents them for general purpose buckets.
import { ObjectError } from './errors.js';

export const MAX_KEY_BYTES = 1024;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

export function bucketNameProblem(name: string): string | undefined {
  if (!BUCKET_NAME.test(name)) {
    return 'Bucket names must be 3-63 characters of lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit.';
  }
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) {
    return 'Bucket names must not contain two adjacent periods, or a period next to a hyphen.';
  }
  if (IP_ADDRESS.test(name)) return 'Bucket names must not be formatted as an IP address.';
  if (RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))) return 'Bucket names must not use a reserved prefix.';
  if (RESERVED_SUFFIXES.some((suffix) => name.endsWith(suffix))) return 'Bucket names must not use a reserved suffix.';
  return undefined;
}

export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) throw new ObjectError('InvalidBucketName', `The specified bucket is not valid. ${problem}`, { BucketName: name });
}

export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new ObjectError('InvalidArgument', 'Object keys must not be empty.');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new ObjectError('KeyTooLongError', 'Your key is too long', { MaxSizeAllowed: String(MAX_KEY_BYTES) });
  }
  if (key.includes('\u0000')) throw new ObjectError('InvalidArgument', 'Object keys must not contain U+0000.');
}

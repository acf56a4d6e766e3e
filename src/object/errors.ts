// Typed errors of the object layer. Codes are named after the S3 error codes
// they become, but the mapping to HTTP status and message lives in
// src/http/s3-errors.ts: this layer knows nothing of HTTP.
export type ObjectErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'NoSuchVersion'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketAlreadyExists'
  | 'BucketNotEmpty'
  | 'InvalidBucketName'
  | 'KeyTooLongError'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'EntityTooLarge'
  | 'BadDigest'
  | 'InvalidDigest'
  | 'InvalidRequest'
  | 'InvalidArgument'
  | 'PreconditionFailed'
  | 'NotModified'
  | 'InvalidRange'
  | 'InvalidPartNumber'
  | 'ConditionalRequestConflict'
  | 'IncompleteBody'
  | 'MetadataTooLarge'
  | 'InvalidStorageClass'
  | 'XAmzContentSHA256Mismatch'
  | 'InsufficientStorage'
  | 'ServiceUnavailable'
  | 'NotImplemented';

export class ObjectError extends Error {
  constructor(
    readonly code: ObjectErrorCode,
    message?: string,
    /** Extra fields S3 puts in the error XML (e.g. ArgumentName, ActualObjectSize). */
    readonly details: Record<string, string> = {},
  ) {
    super(message ?? code);
    this.name = 'ObjectError';
  }
}


// The one S3 error table: code → HTTP status. HTTP-layer failures throw S3Error;
// object-layer ObjectErrors are mapped through the same table. Anything else is
// an InternalError carrying the request id, with the cause logged, not shown.
import { ObjectError, type ObjectErrorCode } from '../object/errors.js';
import { xmlDocument } from './xml/build.js';

export type HttpErrorCode =
  | 'AccessControlListNotSupported'
  | 'AccessDenied'
  | 'MalformedACLError'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'EntityTooLarge'
  | 'InternalError'
  | 'InvalidAccessKeyId'
  | 'InvalidArgument'
  | 'InvalidBucketName'
  | 'InvalidDigest'
  | 'InvalidRequest'
  | 'InvalidURI'
  | 'KeyTooLongError'
  | 'MalformedXML'
  | 'MalformedPOSTRequest'
  | 'MaxMessageLengthExceeded'
  | 'MetadataTooLarge'
  | 'MethodNotAllowed'
  | 'MissingContentLength'
  | 'MissingRequestBodyError'
  | 'MissingSecurityHeader'
  | 'NoSuchBucket'
  | 'NotImplemented'
  | 'RequestHeaderSectionTooLarge'
  | 'RequestTimeTooSkewed'
  | 'RequestTimeout'
  | 'SignatureDoesNotMatch'
  | 'IncompleteBody'
  | 'InvalidEncryptionAlgorithmError'
  | 'InvalidStorageClass'
  | 'InvalidTag'
  | 'UnexpectedContent'
  | 'XAmzContentSHA256Mismatch'
  | 'ServiceUnavailable'
  | 'SlowDown';

export type S3ErrorCode = HttpErrorCode | ObjectErrorCode;

const STATUS: Record<S3ErrorCode, number> = {
  AccessControlListNotSupported: 400,
  AccessDenied: 403,
  MalformedACLError: 400,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  ConditionalRequestConflict: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InsufficientStorage: 507,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidEncryptionAlgorithmError: 400,
  InvalidPart: 400,
  InvalidPartNumber: 416,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidStorageClass: 400,
  InvalidTag: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedPOSTRequest: 400,
  MalformedXML: 400,
  MaxMessageLengthExceeded: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingRequestBodyError: 400,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestHeaderSectionTooLarge: 400,
  RequestTimeTooSkewed: 403,
  RequestTimeout: 400,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  UnexpectedContent: 400,
  XAmzContentSHA256Mismatch: 400,
};

export class S3Error extends Error {
  constructor(
    readonly code: S3ErrorCode,
    message: string,
    readonly details: Record<string, string> = {},
    /** Extra response headers (e.g. Allow for MethodNotAllowed). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }

  get status(): number {
    return STATUS[this.code];
  }
}

/** Normalises any thrown value into the S3 error the client should see. */
export function toS3Error(error: unknown): { error: S3Error; internal: boolean } {
  if (error instanceof S3Error) return { error, internal: false };
  if (error instanceof ObjectError) {
    // 304 has no body: its details are the validator headers.
    if (error.code === 'NotModified') return { error: new S3Error(error.code, error.message, {}, error.details), internal: false };
    return { error: new S3Error(error.code, error.message, error.details), internal: false };
  }
  return { error: new S3Error('InternalError', 'We encountered an internal error. Please try again.'), internal: true };
}

export function errorXml(error: S3Error, resource: string, requestId: string): string {
  return xmlDocument(
    'Error',
    { Code: error.code, Message: error.message, ...error.details, Resource: resource, RequestId: requestId },
    null,
  );
}

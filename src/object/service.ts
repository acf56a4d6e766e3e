// ObjectService: the contract the HTTP layer depends on. Methods take parsed,
// validated S3 inputs and Node streams; they throw ObjectError for every S3-level
// refusal and never return a partially written object.
import type { Readable } from 'node:stream';
import type { ChecksumAlgorithm, ChecksumType, ChecksumValue } from './checksums.js';
import type { BucketRecord, ContentHeaders, ObjectRecord, PartRecord, UploadRecord } from './records.js';
import type { DeleteEntry, WritePrecondition } from './commands.js';
import type { ObjectErrorCode } from './errors.js';

/** Checksums a client asserted for a body, checked after the last byte, before commit. */
export interface BodyIntegrity {
  /** base64 MD5 from Content-MD5. */
  contentMd5?: string;
  /** A value from an x-amz-checksum-* header. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  /**
   * The algorithm whose value arrives in a trailer (aws-chunked with x-amz-trailer);
   * trailerValue() is called after the body ended.
   */
  trailer?: { algorithm: ChecksumAlgorithm; trailerValue: () => string | undefined };
  /** An algorithm to compute and store even if no value was asserted (x-amz-sdk-checksum-algorithm). */
  algorithm?: ChecksumAlgorithm;
}

export interface PutObjectInput {
  bucket: string;
  key: string;
  body: Readable;
  /** Decoded body length when known (Content-Length or x-amz-decoded-content-length). */
  sizeBytes?: number;
  headers: ContentHeaders;
  userMeta: Record<string, string>;
  integrity: BodyIntegrity;
  precondition?: WritePrecondition;
  storageClass?: string;
  owner: string;
}

export interface ReadConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: Date;
  ifUnmodifiedSince?: Date;
}

/** A byte range as a client asked for it, before the object's size is known. */
export type RangeRequest = { kind: 'bounded'; start: number; end?: number } | { kind: 'suffix'; length: number };

export interface GetObjectInput {
  bucket: string;
  key: string;
  range?: RangeRequest;
  partNumber?: number;
  conditions?: ReadConditions;
  /** HEAD: resolve metadata and conditions but open no body. */
  headOnly?: boolean;
}

export interface GetObjectOutput {
  object: ObjectRecord;
  /** The bytes served, inclusive start, exclusive end. */
  start: number;
  end: number;
  /** True when the response is partial content (range or partNumber). */
  partial: boolean;
  /** Number of parts when the request named a partNumber on a multipart object. */
  partsCount?: number;
  /** The checksum that describes exactly the bytes served, if any. */
  checksum?: ChecksumValue;
  body?: Readable;
}

export interface ListObjectsInput {
  bucket: string;
  prefix: string;
  delimiter?: string;
  /** Exclusive lower bound (marker, start-after, continuation token, key-marker). */
  after?: string;
  maxKeys: number;
}

export interface ListObjectsOutput {
  objects: ObjectRecord[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned; the next page starts after it. */
  lastReturned?: string;
}

export interface CopySource {
  bucket: string;
  key: string;
  conditions?: ReadConditions;
  /** Inclusive byte range for UploadPartCopy. */
  range?: { start: number; end: number };
}

export interface CopyObjectInput {
  source: CopySource;
  bucket: string;
  key: string;
  metadataDirective: 'COPY' | 'REPLACE';
  /** Used when metadataDirective is REPLACE. */
  headers: ContentHeaders;
  userMeta: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  storageClass?: string;
  precondition?: WritePrecondition;
  owner: string;
}

export interface CreateUploadInput {
  bucket: string;
  key: string;
  headers: ContentHeaders;
  userMeta: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  storageClass?: string;
  owner: string;
}

export interface UploadPartInput {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  body: Readable;
  sizeBytes?: number;
  integrity: BodyIntegrity;
}

export interface CompleteUploadInput {
  bucket: string;
  key: string;
  uploadId: string;
  parts: { partNumber: number; etag: string; checksum?: string }[];
  expectedChecksum?: ChecksumValue;
  precondition?: WritePrecondition;
}

export interface ListUploadsInput {
  bucket: string;
  prefix: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads: number;
}

export interface ListUploadsOutput {
  uploads: UploadRecord[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

export interface ListPartsOutput {
  upload: UploadRecord;
  parts: PartRecord[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

export interface DeleteResult {
  deleted: string[];
  refused: { key: string; code: ObjectErrorCode; message: string }[];
}

export interface ObjectService {
  /** Buckets of the owner in name order, after `after` (exclusive), at most `limit`. */
  listBuckets(owner: string, options?: { after?: string; prefix?: string; limit?: number }): Promise<{ buckets: BucketRecord[]; isTruncated: boolean }>;
  createBucket(name: string, options: { region: string; owner: string }): Promise<void>;
  /** Throws NoSuchBucket. */
  getBucket(name: string): Promise<BucketRecord>;
  deleteBucket(name: string): Promise<void>;

  putObject(input: PutObjectInput): Promise<ObjectRecord>;
  /** Evaluates conditions (NotModified / PreconditionFailed) and range (InvalidRange). */
  getObject(input: GetObjectInput): Promise<GetObjectOutput>;
  /** Idempotent: deleting a missing key succeeds. */
  deleteObjects(bucket: string, entries: DeleteEntry[]): Promise<DeleteResult>;
  copyObject(input: CopyObjectInput): Promise<{ object: ObjectRecord; source: ObjectRecord }>;
  listObjects(input: ListObjectsInput): Promise<ListObjectsOutput>;

  createMultipartUpload(input: CreateUploadInput): Promise<UploadRecord>;
  uploadPart(input: UploadPartInput): Promise<PartRecord>;
  uploadPartCopy(
    input: Omit<UploadPartInput, 'body' | 'integrity' | 'sizeBytes'> & { source: CopySource },
  ): Promise<{ part: PartRecord; source: ObjectRecord }>;
  completeMultipartUpload(input: CompleteUploadInput): Promise<ObjectRecord>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  listParts(bucket: string, key: string, uploadId: string, options: { afterPartNumber: number; maxParts: number }): Promise<ListPartsOutput>;
  listMultipartUploads(input: ListUploadsInput): Promise<ListUploadsOutput>;
}

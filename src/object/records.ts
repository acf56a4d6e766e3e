// Metadata records as stored in the metadata store (and carried in commands).
// Plain JSON-compatible data; `v` is the record version so old records can be
// migrated forward when the shape changes.
import type { BlobRef } from '../backends/tier-store.js';
import type { ChecksumAlgorithm, ChecksumType, ChecksumValue } from './checksums.js';

export interface BucketRecord {
  v: 1;
  name: string;
  createdMs: number;
  region: string;
  /** Canonical id of the owning account. */
  owner: string;
}

/** Headers S3 stores with an object and returns on GET/HEAD. */
export interface ContentHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

/** One part of a completed multipart object, kept for partNumber GETs and GetObjectAttributes. */
export interface ObjectPart {
  partNumber: number;
  sizeBytes: number;
  etag: string;
  /** base64 value in the upload's checksum algorithm, when it has one. */
  checksum?: string;
}

export interface ObjectRecord {
  v: 1;
  key: string;
  sizeBytes: number;
  /** Unquoted: hex md5, or hex md5-of-md5s plus "-N" for multipart. */
  etag: string;
  lastModifiedMs: number;
  headers: ContentHeaders;
  /** x-amz-meta-* with lowercase names, without the prefix. */
  userMeta: Record<string, string>;
  /** The checksum shown to clients (x-amz-checksum-*). */
  checksum?: ChecksumValue;
  /** Parts, in order, when the object came from a multipart upload. */
  parts?: ObjectPart[];
  /** The upload that completed into this object, so a repeated Complete can succeed. */
  uploadId?: string;
  /** Where the bytes live, in order; their sizes add up to sizeBytes. Empty for empty objects. */
  blobs: BlobRef[];
  storageClass: string;
  owner: string;
}

export interface UploadRecord {
  v: 1;
  bucket: string;
  key: string;
  uploadId: string;
  initiatedMs: number;
  headers: ContentHeaders;
  userMeta: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  storageClass: string;
  owner: string;
}

export interface PartRecord {
  v: 1;
  partNumber: number;
  sizeBytes: number;
  /** Unquoted hex md5 of the part. */
  etag: string;
  lastModifiedMs: number;
  blob: BlobRef | null;
  /** base64 value in the upload's checksum algorithm, if it has one. */
  checksum?: string;
  /** base64 CRC64NVME of the part, always kept so a FULL_OBJECT default can be combined. */
  crc64nvme: string;
}

// Metadata commands: every change to metadata is one of these records, applied
// by the deterministic state machine (state-machine.ts). They carry everything
// apply needs — timestamps, ids, blob refs — so applying the same sequence of
// commands on any node yields the same state (the Raft log replays them).
import type { BlobRef } from '../backends/tier-store.js';
import type { ObjectErrorCode } from './errors.js';
import type { ObjectRecord, PartRecord, UploadRecord, BucketRecord } from './records.js';
import type { ChecksumValue } from './checksums.js';

/** A write precondition evaluated atomically with the write (conditional PUT / Complete). */
export interface WritePrecondition {
  /** If-None-Match: "*" fails if the key exists; a list of ETags fails if one matches. */
  ifNoneMatch?: string;
  /** If-Match: "*" or a list of ETags; fails (NoSuchKey) when the key does not exist. */
  ifMatch?: string;
}

/** Conditional delete (If-Match, x-amz-if-match-last-modified-time, x-amz-if-match-size). */
export interface DeleteCondition {
  ifMatch?: string;
  ifMatchLastModifiedMs?: number;
  ifMatchSizeBytes?: number;
}

export interface DeleteEntry {
  key: string;
  condition?: DeleteCondition;
}

export type MetaCommand =
  | { v: 1; type: 'CreateBucket'; bucket: BucketRecord }
  | { v: 1; type: 'DeleteBucket'; bucket: string }
  | { v: 1; type: 'PutObject'; bucket: string; object: ObjectRecord; precondition?: WritePrecondition }
  | { v: 1; type: 'DeleteObjects'; bucket: string; entries: DeleteEntry[] }
  | { v: 1; type: 'CreateUpload'; upload: UploadRecord }
  | { v: 1; type: 'PutPart'; bucket: string; key: string; uploadId: string; part: PartRecord }
  | {
      v: 1;
      type: 'CompleteUpload';
      bucket: string;
      key: string;
      uploadId: string;
      completedMs: number;
      parts: { partNumber: number; etag: string; checksum?: string }[];
      minPartSizeBytes: number;
      /** A full-object checksum the client asserted in the Complete request. */
      expectedChecksum?: ChecksumValue;
      precondition?: WritePrecondition;
    }
  | { v: 1; type: 'AbortUpload'; bucket: string; key: string; uploadId: string };

export type MetaCommandType = MetaCommand['type'];

/** A command refused by the state machine; nothing was changed. */
export interface CommandFailure {
  ok: false;
  code: ObjectErrorCode;
  message: string;
  details?: Record<string, string>;
}

export interface CommandResults {
  CreateBucket: object;
  /** Parts of uploads left in the bucket, aborted with it. */
  DeleteBucket: { freed: BlobRef[] };
  /** Blobs of the overwritten object, free once this committed. */
  PutObject: { freed: BlobRef[] };
  /** Missing keys count as deleted (deletes are idempotent); refused ones failed a condition. */
  DeleteObjects: { deleted: string[]; refused: { key: string; code: ObjectErrorCode; message: string }[]; freed: BlobRef[] };
  CreateUpload: object;
  PutPart: { freed: BlobRef[] };
  CompleteUpload: { object: ObjectRecord; freed: BlobRef[] };
  AbortUpload: { freed: BlobRef[] };
}

export type CommandResult<T extends MetaCommandType> = ({ ok: true } & CommandResults[T]) | CommandFailure;

export function fail(code: ObjectErrorCode, message: string, details?: Record<string, string>): CommandFailure {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

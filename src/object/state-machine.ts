// The deterministic metadata state machine: apply(command) validates against
// the current state, then writes, inside one LMDB transaction. No clock, no
// randomness, no I/O beyond the store: whatever varies (times, ids, blob refs)
// travels in the command, so every replica that applies the same log reaches
// the same state. Refusals are results, not exceptions, for the same reason.
import { createHash } from 'node:crypto';
import type { BlobRef } from '../backends/tier-store.js';
import { combineCrcs, compositeChecksum, type ChecksumValue } from './checksums.js';
import {
  fail,
  type CommandResult,
  type CommandResults,
  type DeleteCondition,
  type MetaCommand,
  type WritePrecondition,
} from './commands.js';
import { etagMatches } from './conditions.js';
import { objectKey, partKey, partKeyEnd, uploadKey, bucketKeyEnd } from './keys.js';
import type { MetaStore } from './meta-store.js';
import type { ObjectPart, ObjectRecord, PartRecord } from './records.js';

type Result<C extends MetaCommand> = CommandResult<C['type']>;
type Of<T extends MetaCommand['type']> = Extract<MetaCommand, { type: T }>;

export class MetaStateMachine {
  constructor(readonly store: MetaStore) {}

  /** Applies one command durably; resolves after the LMDB commit (fdatasync). */
  apply<C extends MetaCommand>(command: C): Promise<Result<C>> {
    return this.store.transaction(() => this.applyInTransaction(command));
  }

  /** For callers that already hold a write transaction (the Raft apply loop). */
  applyInTransaction<C extends MetaCommand>(command: C): Result<C> {
    switch (command.type) {
      case 'CreateBucket':
        return this.createBucket(command as Of<'CreateBucket'>) as Result<C>;
      case 'DeleteBucket':
        return this.deleteBucket(command as Of<'DeleteBucket'>) as Result<C>;
      case 'PutObject':
        return this.putObject(command as Of<'PutObject'>) as Result<C>;
      case 'DeleteObjects':
        return this.deleteObjects(command as Of<'DeleteObjects'>) as Result<C>;
      case 'CreateUpload':
        return this.createUpload(command as Of<'CreateUpload'>) as Result<C>;
      case 'PutPart':
        return this.putPart(command as Of<'PutPart'>) as Result<C>;
      case 'CompleteUpload':
        return this.completeUpload(command as Of<'CompleteUpload'>) as Result<C>;
      case 'AbortUpload':
        return this.abortUpload(command as Of<'AbortUpload'>) as Result<C>;
    }
  }

  private createBucket({ bucket }: Of<'CreateBucket'>): CommandResult<'CreateBucket'> {
    const existing = this.store.getBucket(bucket.name);
    if (existing) {
      return existing.owner === bucket.owner
        ? fail('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.')
        : fail('BucketAlreadyExists', 'The requested bucket name is not available.');
    }
    this.store.buckets.putSync(bucket.name, bucket);
    return { ok: true };
  }

  private deleteBucket({ bucket }: Of<'DeleteBucket'>): CommandResult<'DeleteBucket'> {
    if (!this.store.getBucket(bucket)) return fail('NoSuchBucket', 'The specified bucket does not exist');
    if (this.store.bucketHasObjects(bucket)) {
      return fail('BucketNotEmpty', 'The bucket you tried to delete is not empty');
    }
    const freed: BlobRef[] = [];
    const uploadKeys: Buffer[] = [];
    for (const { key, value } of this.store.uploads.getRange({ start: objectKey(bucket, ''), end: bucketKeyEnd(bucket) })) {
      uploadKeys.push(key);
      freed.push(...this.removeParts(value.uploadId));
    }
    for (const key of uploadKeys) this.store.uploads.removeSync(key);
    this.store.buckets.removeSync(bucket);
    return { ok: true, freed };
  }

  private checkPrecondition(current: ObjectRecord | undefined, precondition?: WritePrecondition) {
    if (!precondition) return undefined;
    if (precondition.ifNoneMatch !== undefined && current && etagMatches(precondition.ifNoneMatch, current.etag)) {
      return fail('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-None-Match',
      });
    }
    if (precondition.ifMatch !== undefined) {
      if (!current) return fail('NoSuchKey', 'The specified key does not exist.');
      if (!etagMatches(precondition.ifMatch, current.etag)) {
        return fail('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
          Condition: 'If-Match',
        });
      }
    }
    return undefined;
  }

  private putObject({ bucket, object, precondition }: Of<'PutObject'>): CommandResult<'PutObject'> {
    if (!this.store.getBucket(bucket)) return fail('NoSuchBucket', 'The specified bucket does not exist');
    const storeKey = objectKey(bucket, object.key);
    const current = this.store.objects.get(storeKey);
    const refused = this.checkPrecondition(current, precondition);
    if (refused) return refused;
    this.store.objects.putSync(storeKey, object);
    return { ok: true, freed: current ? current.blobs : [] };
  }

  private deleteObjects({ bucket, entries }: Of<'DeleteObjects'>): CommandResult<'DeleteObjects'> {
    if (!this.store.getBucket(bucket)) return fail('NoSuchBucket', 'The specified bucket does not exist');
    const freed: BlobRef[] = [];
    const deleted: string[] = [];
    const refused: CommandResults['DeleteObjects']['refused'] = [];
    for (const { key, condition } of entries) {
      const storeKey = objectKey(bucket, key);
      const current = this.store.objects.get(storeKey);
      if (current && condition && !deleteConditionHolds(condition, current)) {
        refused.push({ key, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' });
        continue;
      }
      deleted.push(key);
      if (!current) continue;
      freed.push(...current.blobs);
      this.store.objects.removeSync(storeKey);
    }
    return { ok: true, deleted, refused, freed };
  }

  private createUpload({ upload }: Of<'CreateUpload'>): CommandResult<'CreateUpload'> {
    if (!this.store.getBucket(upload.bucket)) return fail('NoSuchBucket', 'The specified bucket does not exist');
    this.store.uploads.putSync(uploadKey(upload.bucket, upload.key, upload.uploadId), upload);
    return { ok: true };
  }

  private putPart({ bucket, key, uploadId, part }: Of<'PutPart'>): CommandResult<'PutPart'> {
    if (!this.store.getUpload(bucket, key, uploadId)) return noSuchUpload();
    const storeKey = partKey(uploadId, part.partNumber);
    const previous = this.store.parts.get(storeKey);
    this.store.parts.putSync(storeKey, part);
    return { ok: true, freed: previous?.blob ? [previous.blob] : [] };
  }

  private removeParts(uploadId: string, keep?: Set<number>): BlobRef[] {
    const freed: BlobRef[] = [];
    const keys: Buffer[] = [];
    for (const { key, value } of this.store.parts.getRange({ start: partKey(uploadId, 0), end: partKeyEnd(uploadId) })) {
      keys.push(key);
      if (value.blob && !keep?.has(value.partNumber)) freed.push(value.blob);
    }
    for (const key of keys) this.store.parts.removeSync(key);
    return freed;
  }

  private abortUpload({ bucket, key, uploadId }: Of<'AbortUpload'>): CommandResult<'AbortUpload'> {
    if (!this.store.getUpload(bucket, key, uploadId)) return noSuchUpload();
    const freed = this.removeParts(uploadId);
    this.store.uploads.removeSync(uploadKey(bucket, key, uploadId));
    return { ok: true, freed };
  }

  private completeUpload(command: Of<'CompleteUpload'>): CommandResult<'CompleteUpload'> {
    const { bucket, key, uploadId } = command;
    const upload = this.store.getUpload(bucket, key, uploadId);
    if (!upload) {
      // A retried Complete of an upload that already became this object succeeds again, as on AWS.
      const completed = this.store.objects.get(objectKey(bucket, key));
      if (completed?.uploadId === uploadId) return { ok: true, object: completed, freed: [] };
      return noSuchUpload();
    }
    if (command.parts.length === 0) {
      return fail('InvalidRequest', 'You must specify at least one part');
    }
    const chosen: PartRecord[] = [];
    let previousNumber = 0;
    for (let i = 0; i < command.parts.length; i++) {
      const requested = command.parts[i]!;
      if (requested.partNumber < previousNumber) {
        return fail('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
      }
      previousNumber = requested.partNumber;
      // A part number listed twice (a resent part) names the stored part if either entry matches it.
      const sameNumber = command.parts.filter((other) => other.partNumber === requested.partNumber);
      if (sameNumber.length > 1 && sameNumber[0] !== requested) continue;
      const stored = this.store.getPart(uploadId, requested.partNumber);
      const match = stored && sameNumber.find((entry) => entry.etag === stored.etag);
      if (!stored || !match) {
        return fail('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.');
      }
      if (match.checksum !== undefined && upload.checksumAlgorithm && match.checksum !== stored.checksum) {
        return fail('InvalidPart', `The checksum of part ${requested.partNumber} does not match the uploaded part.`);
      }
      chosen.push(stored);
    }
    for (let i = 0; i < chosen.length - 1; i++) {
      if (chosen[i]!.sizeBytes < command.minPartSizeBytes) {
        return fail('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: String(chosen[i]!.sizeBytes),
          MinSizeAllowed: String(command.minPartSizeBytes),
          PartNumber: String(chosen[i]!.partNumber),
          ETag: `"${chosen[i]!.etag}"`,
        });
      }
    }
    const checksum = completedChecksum(upload.checksumAlgorithm, upload.checksumType, chosen);
    if (command.expectedChecksum && checksum && !checksumsAgree(command.expectedChecksum, checksum)) {
      return fail('BadDigest', `The ${command.expectedChecksum.algorithm} you specified did not match the calculated checksum.`);
    }
    const current = this.store.objects.get(objectKey(bucket, key));
    const refused = this.checkPrecondition(current, command.precondition);
    if (refused) return refused;

    const md5s = createHash('md5');
    for (const part of chosen) md5s.update(Buffer.from(part.etag, 'hex'));
    const parts: ObjectPart[] = chosen.map((part) => {
      const summary: ObjectPart = { partNumber: part.partNumber, sizeBytes: part.sizeBytes, etag: part.etag };
      if (part.checksum !== undefined) summary.checksum = part.checksum;
      return summary;
    });
    const object: ObjectRecord = {
      v: 1,
      key,
      sizeBytes: chosen.reduce((sum, part) => sum + part.sizeBytes, 0),
      etag: `${md5s.digest('hex')}-${chosen.length}`,
      lastModifiedMs: command.completedMs,
      headers: upload.headers,
      userMeta: upload.userMeta,
      parts,
      uploadId,
      blobs: chosen.flatMap((part) => (part.blob ? [part.blob] : [])),
      storageClass: upload.storageClass,
      owner: upload.owner,
    };
    if (checksum) object.checksum = checksum;
    const freed = this.removeParts(uploadId, new Set(chosen.map((part) => part.partNumber)));
    if (current) freed.push(...current.blobs);
    this.store.uploads.removeSync(uploadKey(bucket, key, uploadId));
    this.store.objects.putSync(objectKey(bucket, key), object);
    return { ok: true, object, freed };
  }
}

function deleteConditionHolds(condition: DeleteCondition, current: ObjectRecord): boolean {
  if (condition.ifMatch !== undefined && !etagMatches(condition.ifMatch, current.etag)) return false;
  if (
    condition.ifMatchLastModifiedMs !== undefined &&
    Math.floor(condition.ifMatchLastModifiedMs / 1000) !== Math.floor(current.lastModifiedMs / 1000)
  ) {
    return false;
  }
  if (condition.ifMatchSizeBytes !== undefined && condition.ifMatchSizeBytes !== current.sizeBytes) return false;
  return true;
}

function noSuchUpload() {
  return fail(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );
}

/** The whole-object checksum of a completed upload, computed as AWS does for its type. */
function completedChecksum(
  algorithm: ObjectRecordChecksumAlgorithm | undefined,
  type: ChecksumValue['type'] | undefined,
  parts: PartRecord[],
): ChecksumValue | undefined {
  if (!algorithm) {
    // No algorithm asked for: like AWS, a CRC64NVME of the whole object.
    return {
      algorithm: 'CRC64NVME',
      type: 'FULL_OBJECT',
      value: combineCrcs('CRC64NVME', parts.map((part) => ({ digestBase64: part.crc64nvme, sizeBytes: part.sizeBytes }))),
    };
  }
  const digests = parts.map((part) => part.checksum);
  if (digests.some((digest) => digest === undefined)) return undefined;
  if (type === 'FULL_OBJECT' && (algorithm === 'CRC32' || algorithm === 'CRC32C' || algorithm === 'CRC64NVME')) {
    return {
      algorithm,
      type: 'FULL_OBJECT',
      value: combineCrcs(algorithm, parts.map((part) => ({ digestBase64: part.checksum!, sizeBytes: part.sizeBytes }))),
    };
  }
  return { algorithm, type: 'COMPOSITE', value: compositeChecksum(algorithm, digests as string[]) };
}

type ObjectRecordChecksumAlgorithm = ChecksumValue['algorithm'];

function checksumsAgree(expected: ChecksumValue, actual: ChecksumValue): boolean {
  if (expected.algorithm !== actual.algorithm) return true; // a different algorithm is not asserted here
  const strip = (value: string) => value.replace(/-\d+$/, '');
  return strip(expected.value) === strip(actual.value);
}

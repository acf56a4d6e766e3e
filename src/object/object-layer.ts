// The ObjectService implementation: S3 semantics over the metadata state
// machine (through a MetaLog) and blob storage (through a DataStore). Every
// write follows intent → data persisted → command committed → old blobs freed;
// a failure before the commit aborts the new blob.
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { BlobRef } from '../backends/tier-store.js';
import { TierFullError, TierUnavailableError } from '../backends/tier-store.js';
import type { DataStore } from '../placement/data-store.js';
import {
  defaultMultipartChecksumType,
  validateMultipartChecksumType,
  type ChecksumAlgorithm,
} from './checksums.js';
import type { CommandFailure, CommandResult, DeleteEntry, MetaCommand, WritePrecondition } from './commands.js';
import { evaluateCopySourceConditions, evaluateReadConditions } from './conditions.js';
import { ObjectError } from './errors.js';
import { ingestBody, requestedAlgorithm, type IngestedBlob } from './ingest.js';
import { uploadKey, objectKeyFromStoreKey } from './keys.js';
import { listPage } from './listing.js';
import type { MetaLog } from './meta-log.js';
import type { MetaStore } from './meta-store.js';
import type { BucketRecord, ObjectRecord, PartRecord, UploadRecord } from './records.js';
import type {
  CompleteUploadInput,
  CopyObjectInput,
  CopySource,
  CreateUploadInput,
  DeleteResult,
  GetObjectInput,
  GetObjectOutput,
  ListObjectsInput,
  ListObjectsOutput,
  ListPartsOutput,
  ListUploadsInput,
  ListUploadsOutput,
  ObjectService,
  PutObjectInput,
  RangeRequest,
  UploadPartInput,
} from './service.js';
import { validateBucketName, validateObjectKey } from './names.js';

export interface ObjectLayerLimits {
  maxObjectSizeBytes: number;
  maxPartSizeBytes: number;
  minPartSizeBytes: number;
  maxPartNumber: number;
}

export const DEFAULT_LIMITS: ObjectLayerLimits = {
  maxObjectSizeBytes: 5 * 1024 ** 3,
  maxPartSizeBytes: 5 * 1024 ** 3,
  minPartSizeBytes: 5 * 1024 ** 2,
  maxPartNumber: 10_000,
};

export interface ObjectLayerOptions {
  store: MetaStore;
  log: MetaLog;
  data: DataStore;
  limits?: Partial<ObjectLayerLimits>;
  now?: () => number;
}

export class ObjectLayer implements ObjectService {
  private readonly store: MetaStore;
  private readonly log: MetaLog;
  private readonly data: DataStore;
  private readonly limits: ObjectLayerLimits;
  private readonly now: () => number;

  constructor(options: ObjectLayerOptions) {
    this.store = options.store;
    this.log = options.log;
    this.data = options.data;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.now = options.now ?? Date.now;
  }

  /** Commits a command; a refusal becomes the ObjectError it describes. */
  private async commit<C extends MetaCommand>(command: C): Promise<Exclude<CommandResult<C['type']>, CommandFailure>> {
    const result = await this.log.propose(command);
    if (!result.ok) {
      const failure = result as CommandFailure;
      throw new ObjectError(failure.code, failure.message, failure.details);
    }
    return result as Exclude<CommandResult<C['type']>, CommandFailure>;
  }

  /** Commits a command that references a new blob; on refusal the blob is freed. */
  private async commitWithBlob<C extends MetaCommand>(
    command: C,
    blob: BlobRef | null,
  ): Promise<Exclude<CommandResult<C['type']>, CommandFailure>> {
    try {
      return await this.commit(command);
    } catch (error) {
      if (blob) await this.data.release([blob]);
      throw error;
    }
  }

  private requireBucket(name: string): BucketRecord {
    const bucket = this.store.getBucket(name);
    if (!bucket) throw new ObjectError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  private requireObject(bucket: string, key: string): ObjectRecord {
    this.requireBucket(bucket);
    const object = this.store.getObject(bucket, key);
    if (!object) throw new ObjectError('NoSuchKey', 'The specified key does not exist.', { Key: key });
    return object;
  }

  private requireUpload(bucket: string, key: string, uploadId: string): UploadRecord {
    this.requireBucket(bucket);
    const upload = this.store.getUpload(bucket, key, uploadId);
    if (!upload) {
      throw new ObjectError(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return upload;
  }

  private async ingest(body: Readable, options: Parameters<typeof ingestBody>[2]): Promise<IngestedBlob> {
    try {
      return await ingestBody(this.data, body, options);
    } catch (error) {
      if (error instanceof TierFullError) {
        throw new ObjectError('InsufficientStorage', 'There is not enough free space on any storage tier for this object.');
      }
      throw unavailableAsObjectError(error);
    }
  }

  // ---- buckets ----

  async listBuckets(owner: string, options: { after?: string; prefix?: string; limit?: number } = {}) {
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const buckets: BucketRecord[] = [];
    let isTruncated = false;
    for (const bucket of this.store.listBuckets()) {
      if (bucket.owner !== owner) continue;
      if (options.after !== undefined && bucket.name <= options.after) continue;
      if (options.prefix !== undefined && !bucket.name.startsWith(options.prefix)) continue;
      if (buckets.length === limit) {
        isTruncated = true;
        break;
      }
      buckets.push(bucket);
    }
    return { buckets, isTruncated };
  }

  async createBucket(name: string, options: { region: string; owner: string }): Promise<void> {
    validateBucketName(name);
    try {
      await this.commit({
        v: 1,
        type: 'CreateBucket',
        bucket: { v: 1, name, createdMs: this.now(), region: options.region, owner: options.owner },
      });
    } catch (error) {
      // us-east-1 answers 200 to an owner re-creating a bucket (AWS's legacy
      // behaviour there); every other region answers BucketAlreadyOwnedByYou.
      const existing = this.store.getBucket(name);
      const legacyRegion = options.region === 'us-east-1' && existing?.region === 'us-east-1';
      if (error instanceof ObjectError && error.code === 'BucketAlreadyOwnedByYou' && legacyRegion) return;
      throw error;
    }
  }

  async getBucket(name: string): Promise<BucketRecord> {
    return this.requireBucket(name);
  }

  async deleteBucket(name: string): Promise<void> {
    const result = await this.commit({ v: 1, type: 'DeleteBucket', bucket: name });
    await this.data.release(result.freed);
  }

  // ---- objects ----

  async putObject(input: PutObjectInput): Promise<ObjectRecord> {
    validateObjectKey(input.key);
    this.requireBucket(input.bucket);
    const algorithm = requestedAlgorithm(input.integrity);
    const ingested = await this.ingest(input.body, {
      ...(input.sizeBytes === undefined ? {} : { sizeBytes: input.sizeBytes }),
      maxSizeBytes: this.limits.maxObjectSizeBytes,
      integrity: input.integrity,
      // Like AWS since 2025: objects uploaded without a checksum get a CRC64NVME.
      extraAlgorithms: algorithm ? [] : ['CRC64NVME'],
    });
    return this.storeObject(input.bucket, ingested, {
      key: input.key,
      headers: input.headers,
      userMeta: input.userMeta,
      checksumAlgorithm: algorithm ?? 'CRC64NVME',
      storageClass: input.storageClass ?? 'STANDARD',
      owner: input.owner,
      ...(input.precondition ? { precondition: input.precondition } : {}),
    });
  }

  /** Commits a single-blob object just ingested; the blob is freed if the commit is refused. */
  private async storeObject(
    bucket: string,
    ingested: IngestedBlob,
    fields: Pick<ObjectRecord, 'key' | 'headers' | 'userMeta' | 'storageClass' | 'owner'> & {
      checksumAlgorithm: ChecksumAlgorithm;
      precondition?: WritePrecondition;
    },
  ): Promise<ObjectRecord> {
    const object: ObjectRecord = {
      v: 1,
      key: fields.key,
      sizeBytes: ingested.sizeBytes,
      etag: ingested.md5Hex,
      lastModifiedMs: this.now(),
      headers: fields.headers,
      userMeta: fields.userMeta,
      checksum: { algorithm: fields.checksumAlgorithm, value: ingested.checksums[fields.checksumAlgorithm]!, type: 'FULL_OBJECT' },
      blobs: ingested.blob ? [ingested.blob] : [],
      storageClass: fields.storageClass,
      owner: fields.owner,
    };
    const command: MetaCommand = { v: 1, type: 'PutObject', bucket, object };
    if (fields.precondition) command.precondition = fields.precondition;
    const result = await this.commitWithBlob(command, ingested.blob);
    await this.data.release(result.freed);
    return object;
  }

  async getObject(input: GetObjectInput): Promise<GetObjectOutput> {
    const object = this.requireObject(input.bucket, input.key);
    const outcome = evaluateReadConditions(input.conditions, object);
    if (outcome === 'precondition-failed') {
      throw new ObjectError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: input.conditions?.ifMatch !== undefined ? 'If-Match' : 'If-Unmodified-Since',
      });
    }
    if (outcome === 'not-modified') {
      // A 304 still carries the validators, so caches can update.
      throw new ObjectError('NotModified', 'Not Modified', {
        ETag: `"${object.etag}"`,
        'Last-Modified': new Date(object.lastModifiedMs).toUTCString(),
      });
    }

    const output: GetObjectOutput = { object, start: 0, end: object.sizeBytes, partial: false };
    if (object.checksum) output.checksum = object.checksum;
    if (input.partNumber !== undefined) {
      this.selectPart(object, input.partNumber, output);
    } else if (input.range) {
      const range = resolveRange(input.range, object.sizeBytes);
      if (range) {
        output.start = range.start;
        output.end = range.end;
        output.partial = true;
        if (range.start !== 0 || range.end !== object.sizeBytes) delete output.checksum;
      }
    }
    if (!input.headOnly) output.body = this.openBody(object.blobs, output.start, output.end);
    return output;
  }

  private selectPart(object: ObjectRecord, partNumber: number, output: GetObjectOutput): void {
    const parts = object.parts;
    if (!parts) {
      if (partNumber !== 1) {
        throw new ObjectError('InvalidPartNumber', 'The requested partnumber is not satisfiable', {
          PartNumberRequested: String(partNumber),
          ActualPartCount: '1',
        });
      }
      output.partial = true;
      return;
    }
    const index = parts.findIndex((part) => part.partNumber === partNumber);
    const ordinal = index < 0 ? partNumber - 1 : index;
    if (ordinal < 0 || ordinal >= parts.length) {
      throw new ObjectError('InvalidPartNumber', 'The requested partnumber is not satisfiable', {
        PartNumberRequested: String(partNumber),
        ActualPartCount: String(parts.length),
      });
    }
    let start = 0;
    for (let i = 0; i < ordinal; i++) start += parts[i]!.sizeBytes;
    const part = parts[ordinal]!;
    output.start = start;
    output.end = start + part.sizeBytes;
    output.partial = true;
    output.partsCount = parts.length;
    delete output.checksum;
    if (object.checksum && part.checksum !== undefined) {
      output.checksum = { algorithm: object.checksum.algorithm, value: part.checksum, type: object.checksum.type };
    }
  }

  /**
   * Streams bytes [start, end) of an object stored as consecutive blobs. Every
   * tier involved is checked first, so an unreachable one is a clean 503
   * before any header is sent.
   */
  private openBody(blobs: BlobRef[], start: number, end: number): Readable {
    if (start >= end) return Readable.from([]);
    const pieces: { blob: BlobRef; start: number; end: number }[] = [];
    let offset = 0;
    for (const blob of blobs) {
      const blobStart = offset;
      const blobEnd = offset + blob.size;
      offset = blobEnd;
      if (blobEnd <= start || blobStart >= end) continue;
      pieces.push({ blob, start: Math.max(start, blobStart) - blobStart, end: Math.min(end, blobEnd) - blobStart });
    }
    try {
      this.data.assertReadable(pieces.map((piece) => piece.blob));
    } catch (error) {
      throw unavailableAsObjectError(error);
    }
    if (pieces.length === 1) {
      const only = pieces[0]!;
      return this.data.createReadStream(only.blob, { start: only.start, end: only.end });
    }
    return concatStreams(pieces.map((piece) => () => this.data.createReadStream(piece.blob, piece)));
  }

  async deleteObjects(bucket: string, entries: DeleteEntry[]): Promise<DeleteResult> {
    const result = await this.commit({ v: 1, type: 'DeleteObjects', bucket, entries });
    await this.data.release(result.freed);
    return { deleted: result.deleted, refused: result.refused };
  }

  private readSource(source: CopySource): { object: ObjectRecord; start: number; end: number } {
    const object = this.requireObject(source.bucket, source.key);
    if (!evaluateCopySourceConditions(source.conditions, object)) {
      throw new ObjectError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    if (source.range) {
      if (source.range.start > source.range.end || source.range.end >= object.sizeBytes) {
        throw new ObjectError('InvalidRange', 'The requested range is not satisfiable', {
          ActualObjectSize: String(object.sizeBytes),
        });
      }
      return { object, start: source.range.start, end: source.range.end + 1 };
    }
    return { object, start: 0, end: object.sizeBytes };
  }

  async copyObject(input: CopyObjectInput): Promise<{ object: ObjectRecord; source: ObjectRecord }> {
    validateObjectKey(input.key);
    this.requireBucket(input.bucket);
    const { object: source } = this.readSource(input.source);
    const sameObject = input.source.bucket === input.bucket && input.source.key === input.key;
    if (sameObject && input.metadataDirective === 'COPY' && !input.storageClass && !input.checksumAlgorithm) {
      throw new ObjectError(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (source.sizeBytes > this.limits.maxObjectSizeBytes) {
      throw new ObjectError('InvalidRequest', 'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120');
    }
    const algorithm: ChecksumAlgorithm =
      input.checksumAlgorithm ?? (source.checksum?.type === 'FULL_OBJECT' ? source.checksum.algorithm : 'CRC64NVME');
    const ingested = await this.ingest(this.openBody(source.blobs, 0, source.sizeBytes), {
      sizeBytes: source.sizeBytes,
      maxSizeBytes: this.limits.maxObjectSizeBytes,
      integrity: { algorithm },
    });
    const replace = input.metadataDirective === 'REPLACE';
    const object = await this.storeObject(input.bucket, ingested, {
      key: input.key,
      headers: replace ? input.headers : source.headers,
      userMeta: replace ? input.userMeta : source.userMeta,
      checksumAlgorithm: algorithm,
      storageClass: input.storageClass ?? source.storageClass,
      owner: input.owner,
      ...(input.precondition ? { precondition: input.precondition } : {}),
    });
    return { object, source };
  }

  async listObjects(input: ListObjectsInput): Promise<ListObjectsOutput> {
    this.requireBucket(input.bucket);
    const page = listPage(this.store.objects, input);
    const output: ListObjectsOutput = {
      objects: page.entries.map((entry) => entry.value),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
    };
    if (page.lastReturned !== undefined) output.lastReturned = page.lastReturned;
    return output;
  }

  // ---- multipart ----

  async createMultipartUpload(input: CreateUploadInput): Promise<UploadRecord> {
    validateObjectKey(input.key);
    this.requireBucket(input.bucket);
    let checksumType = input.checksumType;
    if (input.checksumAlgorithm) {
      checksumType ??= defaultMultipartChecksumType(input.checksumAlgorithm);
      validateMultipartChecksumType(input.checksumAlgorithm, checksumType);
    } else if (checksumType) {
      throw new ObjectError('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    }
    const initiatedMs = this.now();
    const upload: UploadRecord = {
      v: 1,
      bucket: input.bucket,
      key: input.key,
      // Time-ordered, so a key's uploads list in initiation order.
      uploadId: initiatedMs.toString(16).padStart(12, '0') + randomBytes(12).toString('hex'),
      initiatedMs,
      headers: input.headers,
      userMeta: input.userMeta,
      storageClass: input.storageClass ?? 'STANDARD',
      owner: input.owner,
    };
    if (input.checksumAlgorithm) upload.checksumAlgorithm = input.checksumAlgorithm;
    if (checksumType) upload.checksumType = checksumType;
    await this.commit({ v: 1, type: 'CreateUpload', upload });
    return upload;
  }

  private checkPartNumber(partNumber: number): void {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > this.limits.maxPartNumber) {
      throw new ObjectError('InvalidArgument', `Part number must be an integer between 1 and ${this.limits.maxPartNumber}, inclusive`, {
        ArgumentName: 'partNumber',
        ArgumentValue: String(partNumber),
      });
    }
  }

  private async commitPart(
    upload: UploadRecord,
    partNumber: number,
    ingested: IngestedBlob,
  ): Promise<PartRecord> {
    const part: PartRecord = {
      v: 1,
      partNumber,
      sizeBytes: ingested.sizeBytes,
      etag: ingested.md5Hex,
      lastModifiedMs: this.now(),
      blob: ingested.blob,
      crc64nvme: ingested.checksums.CRC64NVME ?? '',
    };
    if (upload.checksumAlgorithm) part.checksum = ingested.checksums[upload.checksumAlgorithm]!;
    const result = await this.commitWithBlob(
      { v: 1, type: 'PutPart', bucket: upload.bucket, key: upload.key, uploadId: upload.uploadId, part },
      ingested.blob,
    );
    await this.data.release(result.freed);
    return part;
  }

  async uploadPart(input: UploadPartInput): Promise<PartRecord> {
    this.checkPartNumber(input.partNumber);
    const upload = this.requireUpload(input.bucket, input.key, input.uploadId);
    const asked = requestedAlgorithm(input.integrity);
    if (asked && upload.checksumAlgorithm && asked !== upload.checksumAlgorithm) {
      throw new ObjectError(
        'InvalidRequest',
        `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${asked.toLowerCase()}`,
      );
    }
    const extra: ChecksumAlgorithm[] = [upload.checksumAlgorithm ?? 'CRC64NVME'];
    const ingested = await this.ingest(input.body, {
      ...(input.sizeBytes === undefined ? {} : { sizeBytes: input.sizeBytes }),
      maxSizeBytes: this.limits.maxPartSizeBytes,
      integrity: input.integrity,
      extraAlgorithms: extra,
    });
    return this.commitPart(upload, input.partNumber, ingested);
  }

  async uploadPartCopy(
    input: Omit<UploadPartInput, 'body' | 'integrity' | 'sizeBytes'> & { source: CopySource },
  ): Promise<{ part: PartRecord; source: ObjectRecord }> {
    this.checkPartNumber(input.partNumber);
    const upload = this.requireUpload(input.bucket, input.key, input.uploadId);
    const { object: source, start, end } = this.readSource(input.source);
    if (end - start > this.limits.maxPartSizeBytes) {
      throw new ObjectError('InvalidRequest', 'The specified copy range is larger than the maximum allowable size for a part.');
    }
    const ingested = await this.ingest(this.openBody(source.blobs, start, end), {
      sizeBytes: end - start,
      maxSizeBytes: this.limits.maxPartSizeBytes,
      integrity: {},
      extraAlgorithms: [upload.checksumAlgorithm ?? 'CRC64NVME'],
    });
    return { part: await this.commitPart(upload, input.partNumber, ingested), source };
  }

  async completeMultipartUpload(input: CompleteUploadInput): Promise<ObjectRecord> {
    // No upload check here: a repeated Complete finds the upload gone but the object
    // it became, and the state machine answers that deterministically.
    this.requireBucket(input.bucket);
    const command: MetaCommand = {
      v: 1,
      type: 'CompleteUpload',
      bucket: input.bucket,
      key: input.key,
      uploadId: input.uploadId,
      completedMs: this.now(),
      parts: input.parts,
      minPartSizeBytes: this.limits.minPartSizeBytes,
    };
    if (input.expectedChecksum) command.expectedChecksum = input.expectedChecksum;
    if (input.precondition) command.precondition = input.precondition;
    const result = await this.commit(command);
    await this.data.release(result.freed);
    return result.object;
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.requireUpload(bucket, key, uploadId);
    const result = await this.commit({ v: 1, type: 'AbortUpload', bucket, key, uploadId });
    await this.data.release(result.freed);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options: { afterPartNumber: number; maxParts: number },
  ): Promise<ListPartsOutput> {
    const upload = this.requireUpload(bucket, key, uploadId);
    const parts: PartRecord[] = [];
    let isTruncated = false;
    for (const part of this.store.iterateParts(uploadId, options.afterPartNumber)) {
      if (parts.length === options.maxParts) {
        isTruncated = true;
        break;
      }
      parts.push(part);
    }
    const output: ListPartsOutput = { upload, parts, isTruncated };
    if (isTruncated && parts.length > 0) output.nextPartNumberMarker = parts[parts.length - 1]!.partNumber;
    return output;
  }

  async listMultipartUploads(input: ListUploadsInput): Promise<ListUploadsOutput> {
    this.requireBucket(input.bucket);
    const decodeKey = (bucket: string, storeKey: Buffer) => {
      const withId = objectKeyFromStoreKey(bucket, storeKey);
      return withId.slice(0, withId.lastIndexOf('\u0000'));
    };
    let startKey: Buffer | undefined;
    if (input.keyMarker !== undefined) {
      startKey =
        input.uploadIdMarker !== undefined
          ? Buffer.concat([uploadKey(input.bucket, input.keyMarker, input.uploadIdMarker), Buffer.of(0)])
          : Buffer.concat([uploadKey(input.bucket, input.keyMarker, ''), Buffer.of(0xff)]);
    }
    const page = listPage(
      this.store.uploads,
      { bucket: input.bucket, prefix: input.prefix, ...(input.delimiter ? { delimiter: input.delimiter } : {}), maxKeys: input.maxUploads },
      startKey ? { decodeKey, startKey } : { decodeKey },
    );
    const output: ListUploadsOutput = {
      uploads: page.entries.map((entry) => entry.value),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
    };
    if (page.isTruncated) {
      const last = page.entries[page.entries.length - 1];
      if (last && page.lastReturned === last.key) {
        output.nextKeyMarker = last.value.key;
        output.nextUploadIdMarker = last.value.uploadId;
      } else if (page.lastReturned !== undefined) {
        output.nextKeyMarker = page.lastReturned;
      }
    }
    return output;
  }

  /** Every blob committed metadata references, for tier recovery at start. */
  *committedBlobs(): Generator<BlobRef> {
    for (const { value } of this.store.objects.getRange({})) yield* value.blobs;
    for (const { value } of this.store.parts.getRange({})) if (value.blob) yield value.blob;
  }
}

/**
 * The byte range [start, end) a Range header selects, undefined to serve the
 * whole object (no range, or one AWS ignores), or InvalidRange when unsatisfiable.
 */
export function resolveRange(range: RangeRequest, sizeBytes: number): { start: number; end: number } | undefined {
  const unsatisfiable = () =>
    new ObjectError('InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: range.kind === 'suffix' ? `bytes=-${range.length}` : `bytes=${range.start}-${range.end ?? ''}`,
      ActualObjectSize: String(sizeBytes),
    });
  if (range.kind === 'suffix') {
    if (range.length === 0 || sizeBytes === 0) throw unsatisfiable();
    return { start: Math.max(0, sizeBytes - range.length), end: sizeBytes };
  }
  if (range.start >= sizeBytes) throw unsatisfiable();
  const last = range.end === undefined ? sizeBytes - 1 : Math.min(range.end, sizeBytes - 1);
  return { start: range.start, end: last + 1 };
}

function unavailableAsObjectError(error: unknown): unknown {
  if (error instanceof TierUnavailableError) {
    return new ObjectError('ServiceUnavailable', `The storage holding this data is unreachable right now (${error.message}); retry later.`);
  }
  return error;
}

/** One readable over several lazily opened sources, in order; an error in any fails the whole. */
function concatStreams(sources: (() => Readable)[]): Readable {
  const output = new PassThrough({ highWaterMark: 256 * 1024 });
  let current: Readable | undefined;
  output.on('close', () => current?.destroy());
  const pump = async () => {
    for (const open of sources) {
      if (output.destroyed) return;
      current = open();
      for await (const chunk of current) {
        if (!output.write(chunk)) {
          await new Promise<void>((resolve, reject) => {
            const onDrain = () => {
              output.off('close', onClose);
              resolve();
            };
            const onClose = () => {
              output.off('drain', onDrain);
              reject(new Error('output closed'));
            };
            output.once('drain', onDrain);
            output.once('close', onClose);
          });
        }
      }
    }
    output.end();
  };
  pump().catch((error: Error) => output.destroy(error));
  return output;
}


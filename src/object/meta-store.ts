// The metadata store: an LMDB environment (lmdb-js) with one named database per
// record kind. Reads are synchronous and see the last committed transaction;
// writes happen only inside `transaction`, which the state machine uses to apply
// one command atomically and durably (overlappingSync off: the commit promise
// resolves after LMDB's fdatasync, not before).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { BucketRecord, ObjectRecord, PartRecord, UploadRecord } from './records.js';
import { bucketKeyEnd, objectKey, partKey, partKeyEnd, uploadKey } from './keys.js';

export class MetaStore {
  readonly root: RootDatabase;
  readonly buckets: Database<BucketRecord, string>;
  readonly objects: Database<ObjectRecord, Buffer>;
  readonly uploads: Database<UploadRecord, Buffer>;
  readonly parts: Database<PartRecord, Buffer>;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    this.root = open({
      path: join(directory, 'meta.lmdb'),
      maxDbs: 16,
      overlappingSync: false,
      noSync: false,
      // Concurrent writers come only from this process; readers are many.
      maxReaders: 256,
    });
    this.buckets = this.root.openDB<BucketRecord, string>({ name: 'buckets' });
    this.objects = this.root.openDB<ObjectRecord, Buffer>({ name: 'objects', keyEncoding: 'binary' });
    this.uploads = this.root.openDB<UploadRecord, Buffer>({ name: 'uploads', keyEncoding: 'binary' });
    this.parts = this.root.openDB<PartRecord, Buffer>({ name: 'parts', keyEncoding: 'binary' });
  }

  /**
   * Runs `body` inside one write transaction, committed durably before the
   * promise resolves. `body` must validate before it writes: lmdb-js commits
   * whatever was written even if `body` throws afterwards.
   */
  transaction<T>(body: () => T): Promise<T> {
    return this.root.transaction(body);
  }

  getBucket(name: string): BucketRecord | undefined {
    return this.buckets.get(name);
  }

  listBuckets(): BucketRecord[] {
    return [...this.buckets.getRange({}).map(({ value }) => value)];
  }

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.objects.get(objectKey(bucket, key));
  }

  bucketHasObjects(bucket: string): boolean {
    for (const _ of this.objects.getKeys({ start: objectKey(bucket, ''), end: bucketKeyEnd(bucket), limit: 1 })) {
      return true;
    }
    return false;
  }

  getUpload(bucket: string, key: string, uploadId: string): UploadRecord | undefined {
    return this.uploads.get(uploadKey(bucket, key, uploadId));
  }

  getPart(uploadId: string, partNumber: number): PartRecord | undefined {
    return this.parts.get(partKey(uploadId, partNumber));
  }

  /** Parts of an upload in part-number order, starting after `afterPartNumber`. */
  *iterateParts(uploadId: string, afterPartNumber = 0): Generator<PartRecord> {
    for (const { value } of this.parts.getRange({
      start: partKey(uploadId, afterPartNumber + 1),
      end: partKeyEnd(uploadId),
    })) {
      yield value;
    }
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

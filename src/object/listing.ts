// Listing over the ordered metadata store. A page costs O(page): the scan
// starts at the bucket/prefix/marker position, and when a key rolls up into a
// common prefix the scan jumps past every key under that prefix instead of
// walking them.
import type { Database } from 'lmdb';
import { bucketKeyEnd, objectKey, objectKeyFromStoreKey, prefixSuccessor } from './keys.js';

export interface ListPageInput {
  bucket: string;
  prefix: string;
  delimiter?: string;
  /** Exclusive lower bound on keys (and on common prefixes). */
  after?: string;
  maxKeys: number;
}

export interface ListPage<V> {
  entries: { key: string; value: V }[];
  commonPrefixes: string[];
  isTruncated: boolean;
  lastReturned?: string;
}

/** The common prefix a key rolls up into, or undefined. */
function rollUp(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (!delimiter) return undefined;
  const index = key.indexOf(delimiter, prefix.length);
  return index < 0 ? undefined : key.slice(0, index + delimiter.length);
}

/** The first store key the scan should look at. */
function scanStart(input: ListPageInput, keyOf: (bucket: string, key: string) => Buffer): Buffer {
  const prefixStart = keyOf(input.bucket, input.prefix);
  if (input.after === undefined || Buffer.from(input.after) < Buffer.from(input.prefix)) return prefixStart;
  // A marker inside a common prefix means that prefix was already returned (or
  // sorts before the marker): skip all of it.
  const rolled = rollUp(input.after, input.prefix, input.delimiter);
  if (rolled !== undefined && input.after.startsWith(input.prefix)) {
    return prefixSuccessor(keyOf(input.bucket, rolled)) ?? bucketKeyEnd(input.bucket);
  }
  // Keys never contain 0x00, so after + 0x00 is the first key strictly after it.
  return Buffer.concat([keyOf(input.bucket, input.after), Buffer.of(0)]);
}

/**
 * One page of a bucket's keyspace in `db` (objects, or uploads keyed by object
 * key). `decodeKey` turns a store key back into the object key.
 */
export function listPage<V>(
  db: Database<V, Buffer>,
  input: ListPageInput,
  options: {
    decodeKey?: (bucket: string, storeKey: Buffer) => string;
    /** Overrides where the scan starts (uploads resume inside a key's run of upload ids). */
    startKey?: Buffer;
  } = {},
): ListPage<V> {
  const decodeKey = options.decodeKey ?? objectKeyFromStoreKey;
  const page: ListPage<V> = { entries: [], commonPrefixes: [], isTruncated: false };
  if (input.maxKeys <= 0) return page;
  const end = prefixSuccessor(objectKey(input.bucket, input.prefix)) ?? bucketKeyEnd(input.bucket);
  let start: Buffer | undefined = options.startKey ?? scanStart(input, objectKey);
  let count = 0;
  while (start !== undefined && Buffer.compare(start, end) < 0) {
    let jumpTo: Buffer | undefined;
    for (const { key: storeKey, value } of db.getRange({ start, end })) {
      const key = decodeKey(input.bucket, storeKey);
      const rolled = rollUp(key, input.prefix, input.delimiter);
      if (count === input.maxKeys) {
        page.isTruncated = true;
        return page;
      }
      count++;
      if (rolled !== undefined) {
        page.commonPrefixes.push(rolled);
        page.lastReturned = rolled;
        jumpTo = prefixSuccessor(objectKey(input.bucket, rolled)) ?? end;
        break;
      }
      page.entries.push({ key, value });
      page.lastReturned = key;
    }
    if (jumpTo === undefined) break;
    start = jumpTo;
  }
  return page;
}

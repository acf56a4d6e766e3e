// Binary key layout of the metadata store. Keys sort bytewise, which is S3's
// UTF-8 binary order within a bucket, so a listing page is one range scan.
//   objects: bucket 0x00 key
//   uploads: bucket 0x00 key 0x00 uploadId      (uploadIds sort by initiation time)
//   parts:   uploadId 0x00 partNumber(u32 BE)
const SEPARATOR = 0x00;

export function objectKey(bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(bucket), Buffer.of(SEPARATOR), Buffer.from(key)]);
}


/** Everything of the bucket sorts below this. */
export function bucketKeyEnd(bucket: string): Buffer {
  return Buffer.concat([Buffer.from(bucket), Buffer.of(SEPARATOR + 1)]);
}

export function objectKeyFromStoreKey(bucket: string, storeKey: Buffer): string {
  return storeKey.subarray(Buffer.byteLength(bucket) + 1).toString('utf8');
}

export function uploadKey(bucket: string, key: string, uploadId: string): Buffer {
  return Buffer.concat([objectKey(bucket, key), Buffer.of(SEPARATOR), Buffer.from(uploadId)]);
}

export function partKey(uploadId: string, partNumber: number): Buffer {
  const key = Buffer.alloc(Buffer.byteLength(uploadId) + 5);
  key.write(uploadId, 0);
  key[key.length - 5] = SEPARATOR;
  key.writeUInt32BE(partNumber, key.length - 4);
  return key;
}

export function partKeyEnd(uploadId: string): Buffer {
  return Buffer.concat([Buffer.from(uploadId), Buffer.of(SEPARATOR + 1)]);
}

/**
 * The smallest byte string greater than every string that starts with `prefix`,
 * or undefined when there is none (all 0xff). Used to skip a whole common prefix.
 */
export function prefixSuccessor(prefix: Buffer): Buffer | undefined {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i]!++;
      return bytes.subarray(0, i + 1);
    }
  }
  return undefined;
}

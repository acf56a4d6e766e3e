// Streams a request body into a new blob while hashing it (MD5 for the ETag,
// plus the requested additional checksums), and checks the client's assertions
// once the last byte is in. Intent → data persisted → (caller) commit: if
// anything fails before the caller commits, the blob is aborted, so no partial
// object is ever visible and no space leaks.
import type { Readable } from 'node:stream';
import type { BlobRef, BlobWriter } from '../backends/tier-store.js';
import type { DataStore } from '../placement/data-store.js';
import {
  checksumHeaderName,
  createHasher,
  createMd5Hasher,
  type ChecksumAlgorithm,
  type Hasher,
} from './checksums.js';
import { ObjectError } from './errors.js';
import type { BodyIntegrity } from './service.js';

export interface IngestedBlob {
  blob: BlobRef | null;
  sizeBytes: number;
  md5Hex: string;
  /** base64 digests of every algorithm computed. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

export interface IngestOptions {
  sizeBytes?: number;
  maxSizeBytes: number;
  integrity: BodyIntegrity;
  /** Algorithms to compute whether or not the client asked (e.g. the CRC64NVME default). */
  extraAlgorithms?: ChecksumAlgorithm[];
}

/** Which algorithms a body needs hashed, from what the client asserted or asked for. */
export function requestedAlgorithm(integrity: BodyIntegrity): ChecksumAlgorithm | undefined {
  return integrity.checksum?.algorithm ?? integrity.trailer?.algorithm ?? integrity.algorithm;
}

export async function ingestBody(data: DataStore, body: Readable, options: IngestOptions): Promise<IngestedBlob> {
  const md5 = createMd5Hasher();
  const hashers = new Map<ChecksumAlgorithm, Hasher>();
  const wanted = [requestedAlgorithm(options.integrity), ...(options.extraAlgorithms ?? [])];
  for (const algorithm of wanted) {
    if (algorithm && !hashers.has(algorithm)) hashers.set(algorithm, createHasher(algorithm));
  }

  let writer: BlobWriter | undefined;
  let sizeBytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (chunk.length === 0) continue;
      sizeBytes += chunk.length;
      if (sizeBytes > options.maxSizeBytes) {
        throw new ObjectError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
          MaxSizeAllowed: String(options.maxSizeBytes),
        });
      }
      if (options.sizeBytes !== undefined && sizeBytes > options.sizeBytes) {
        throw new ObjectError('IncompleteBody', 'The request body is longer than its declared length.');
      }
      md5.update(chunk);
      for (const hasher of hashers.values()) hasher.update(chunk);
      writer ??= await data.createWriter(options.sizeBytes === undefined ? {} : { sizeHint: options.sizeBytes });
      await writer.write(chunk);
    }
    if (options.sizeBytes !== undefined && sizeBytes !== options.sizeBytes) {
      throw new ObjectError(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header.',
      );
    }
    const md5Digest = md5.digest();
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [algorithm, hasher] of hashers) checksums[algorithm] = hasher.digest().toString('base64');
    verifyIntegrity(options.integrity, md5Digest, checksums);
    const blob = writer ? await writer.finish() : null;
    return { blob, sizeBytes, md5Hex: md5Digest.toString('hex'), checksums };
  } catch (error) {
    await writer?.abort();
    throw error;
  }
}

function verifyIntegrity(
  integrity: BodyIntegrity,
  md5Digest: Buffer,
  checksums: Partial<Record<ChecksumAlgorithm, string>>,
): void {
  if (integrity.contentMd5 !== undefined && integrity.contentMd5 !== md5Digest.toString('base64')) {
    throw new ObjectError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const asserted = integrity.checksum ?? trailerAssertion(integrity);
  if (asserted && checksums[asserted.algorithm] !== asserted.value) {
    throw new ObjectError('BadDigest', `The ${asserted.algorithm} you specified did not match the calculated checksum.`);
  }
}

function trailerAssertion(integrity: BodyIntegrity): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  if (!integrity.trailer) return undefined;
  const value = integrity.trailer.trailerValue();
  if (value === undefined) {
    throw new ObjectError(
      'InvalidRequest',
      `The request declared ${checksumHeaderName(integrity.trailer.algorithm)} as a trailer but did not send it.`,
    );
  }
  return { algorithm: integrity.trailer.algorithm, value };
}

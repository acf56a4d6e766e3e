// S3 additional checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): streaming
// hashers, the base64 wire form, and the two multipart forms AWS defines —
// COMPOSITE (hash of the parts' binary checksums, suffixed "-N") and FULL_OBJECT
// (for CRCs: the parts' CRCs combined as if computed over the whole object).
import { createHash, type Hash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { native } from '../backends/native.js';
import { ObjectError } from './errors.js';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/** A checksum as S3 shows it: algorithm, base64 value and (for multipart) its type. */
export interface ChecksumValue {
  algorithm: ChecksumAlgorithm;
  /** base64 of the big-endian digest; composite values carry a "-N" suffix. */
  value: string;
  type: ChecksumType;
}

export interface Hasher {
  update(chunk: Uint8Array): void;
  /** The raw digest, big-endian for CRCs. */
  digest(): Buffer;
}

const digestBytes: Record<ChecksumAlgorithm, number> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

export function parseChecksumAlgorithm(text: string | undefined): ChecksumAlgorithm | undefined {
  if (text === undefined || text === '') return undefined;
  const upper = text.toUpperCase();
  if ((CHECKSUM_ALGORITHMS as readonly string[]).includes(upper)) return upper as ChecksumAlgorithm;
  throw new ObjectError('InvalidRequest', `Checksum algorithm ${text} is not supported`);
}

/** The header that carries this algorithm's value, e.g. x-amz-checksum-crc32c. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

class Crc32Hasher implements Hasher {
  private crc = 0;
  constructor(private readonly castagnoli: boolean) {}
  update(chunk: Uint8Array): void {
    this.crc = this.castagnoli ? native.crc32c(chunk, this.crc) : zlibCrc32(chunk, this.crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc >>> 0);
    return out;
  }
}

class Crc64NvmeHasher implements Hasher {
  private crc = 0n;
  update(chunk: Uint8Array): void {
    this.crc = native.crc64nvme(chunk, this.crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(this.crc);
    return out;
  }
}

class CryptoHasher implements Hasher {
  private readonly hash: Hash;
  constructor(name: 'sha1' | 'sha256' | 'md5') {
    this.hash = createHash(name);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Hasher(false);
    case 'CRC32C':
      return new Crc32Hasher(true);
    case 'CRC64NVME':
      return new Crc64NvmeHasher();
    case 'SHA1':
      return new CryptoHasher('sha1');
    case 'SHA256':
      return new CryptoHasher('sha256');
  }
}

export function createMd5Hasher(): Hasher {
  return new CryptoHasher('md5');
}

/** Validates a client-supplied base64 checksum's shape; wrong shapes are InvalidRequest like AWS. */
export function decodeChecksum(algorithm: ChecksumAlgorithm, base64: string): Buffer {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== digestBytes[algorithm] || raw.toString('base64') !== base64.trim()) {
    throw new ObjectError('InvalidRequest', `Value for ${checksumHeaderName(algorithm)} header is invalid.`);
  }
  return raw;
}

export function isCrc(algorithm: ChecksumAlgorithm): boolean {
  return algorithm === 'CRC32' || algorithm === 'CRC32C' || algorithm === 'CRC64NVME';
}

/** The type a multipart upload gets when the client names an algorithm but no type. */
export function defaultMultipartChecksumType(algorithm: ChecksumAlgorithm): ChecksumType {
  return algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
}

export function validateMultipartChecksumType(algorithm: ChecksumAlgorithm, type: ChecksumType): void {
  if (type === 'FULL_OBJECT' && !isCrc(algorithm)) {
    throw new ObjectError(
      'InvalidRequest',
      `The ${algorithm} checksum algorithm does not support the FULL_OBJECT checksum type.`,
    );
  }
  if (type === 'COMPOSITE' && algorithm === 'CRC64NVME') {
    throw new ObjectError('InvalidRequest', 'The CRC64NVME checksum algorithm does not support the COMPOSITE checksum type.');
  }
}

/** COMPOSITE: the algorithm applied to the concatenated binary part checksums, then "-N". */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partDigestsBase64: string[]): string {
  const hasher = createHasher(algorithm);
  for (const part of partDigestsBase64) hasher.update(Buffer.from(part, 'base64'));
  return `${hasher.digest().toString('base64')}-${partDigestsBase64.length}`;
}

const crcKind = { CRC32: 0, CRC32C: 1, CRC64NVME: 2 } as const;

/** FULL_OBJECT for CRCs: combine part CRCs in order, as if the CRC ran over the whole object. */
export function combineCrcs(
  algorithm: 'CRC32' | 'CRC32C' | 'CRC64NVME',
  parts: { digestBase64: string; sizeBytes: number }[],
): string {
  const width = digestBytes[algorithm];
  let combined: bigint | undefined;
  for (const part of parts) {
    const raw = Buffer.from(part.digestBase64, 'base64');
    const value = width === 8 ? raw.readBigUInt64BE(0) : BigInt(raw.readUInt32BE(0));
    combined =
      combined === undefined ? value : native.crcCombine(crcKind[algorithm], combined, value, BigInt(part.sizeBytes));
  }
  const out = Buffer.alloc(width);
  if (width === 8) out.writeBigUInt64BE(combined ?? 0n);
  else out.writeUInt32BE(Number(combined ?? 0n));
  return out.toString('base64');
}

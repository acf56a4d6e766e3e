// Opening the dax tier: finds out what PATH is (missing → create a zero-filled
// file; an existing file → check or write the superblock), then maps it.
// Refuses — with a one-line reason — to format or map anything that holds data
// that is not ours, and never changes an existing tier's size.
//
// Why zero-fill instead of a sparse file: a store into a hole of a shared
// mapping makes the filesystem allocate a block inside the page fault, and if
// the disk is full that fault is a SIGBUS that kills the server. Written
// blocks also keep msync a plain data flush (no extent conversion to journal).
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DEFAULT_PAGE_BYTES,
  PAGE_BYTES_MAX,
  PAGE_BYTES_MIN,
  SUPERBLOCK_BYTES,
  classesCrc32c,
  computeGeometry,
  decodeSuperblock,
  encodeSuperblock,
  newSuperblock,
  type DaxSuperblock,
} from './dax-layout.js';
import { DaxRegion } from './dax-region.js';
import { DaxTier } from './dax-tier.js';

export interface DaxTierOptions {
  /** Backing file, created if missing. On a DAX filesystem (ext4/xfs -o dax) the tier runs in mode 'dax'. */
  path: string;
  /**
   * Bytes of a new file (rounded down to whole pages). Default 1 GiB. For an
   * existing tier it must be omitted or equal its recorded size: resizing is
   * not supported.
   */
  sizeBytes?: number;
  /** Slab page size, a power of two in [64 KiB, 64 MiB]; fixed at format time. Default 1 MiB. */
  pageBytes?: number;
  /** Try MAP_SYNC (default true). False forces the emulated mode, even on a DAX filesystem. */
  mapSync?: boolean;
  /** Copy payloads with non-temporal stores where the CPU has them (default true). */
  nonTemporalStores?: boolean;
  /**
   * Tests only: use the DAX persistence path (cache-line flushes + SFENCE)
   * on a mapping that is not DAX. Safe against a process crash, NOT against
   * power loss. The tier still reports mode 'emulated'.
   */
  unsafeCacheFlushWithoutDax?: boolean;
}

const DEFAULT_FILE_BYTES = 1024 ** 3;
const ZERO_CHUNK_BYTES = 1024 * 1024;

/** Opens (creating or formatting if needed) the dax tier. Call recover() next. */
export async function openDaxTier(options: DaxTierOptions): Promise<DaxTier> {
  const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
  if (!Number.isInteger(pageBytes) || pageBytes < PAGE_BYTES_MIN || pageBytes > PAGE_BYTES_MAX || (pageBytes & (pageBytes - 1)) !== 0) {
    throw new RangeError(`dax pageBytes must be a power of two in [${PAGE_BYTES_MIN}, ${PAGE_BYTES_MAX}], not ${pageBytes}`);
  }
  if (options.sizeBytes !== undefined && (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes <= 0)) {
    throw new RangeError(`dax size must be a positive integer, not ${options.sizeBytes}`);
  }
  const existing = await fsp.stat(options.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined && !existing.isFile()) throw new Error(`${options.path} is not a regular file; the dax tier maps a file`);
  const handle = await fsp.open(options.path, existing === undefined ? constants.O_RDWR | constants.O_CREAT | constants.O_EXCL : constants.O_RDWR, 0o600);
  try {
    const superblock =
      existing === undefined
        ? await format(handle, options.path, options.sizeBytes ?? DEFAULT_FILE_BYTES, pageBytes)
        : await adopt(handle, options.path, existing.size, options.sizeBytes, pageBytes);
    if (existing === undefined) await syncDirectory(dirname(options.path));
    const region = DaxRegion.map(handle.fd, superblock.capacityBytes, options.path, options);
    return new DaxTier({ region, superblock });
  } finally {
    // The mapping keeps its own reference to the file.
    await handle.close();
  }
}

async function adopt(handle: FileHandle, path: string, fileBytes: number, sizeBytes: number | undefined, pageBytes: number): Promise<DaxSuperblock> {
  const head = Buffer.alloc(SUPERBLOCK_BYTES);
  if (fileBytes >= SUPERBLOCK_BYTES) await handle.read(head, 0, SUPERBLOCK_BYTES, 0);
  const decoded = decodeSuperblock(head);
  if (decoded.kind === 'foreign') throw new Error(`${path}: ${decoded.reason}; refusing to use it as the dax tier`);
  if (decoded.kind === 'blank') {
    // Never formatted: an empty file (or one that starts with a zeroed
    // superblock) someone made for us. Formatting zero-fills all of it.
    return format(handle, path, sizeBytes ?? (fileBytes > 0 ? fileBytes : DEFAULT_FILE_BYTES), pageBytes);
  }
  const sb = decoded.superblock;
  if (sb.classesCrc32c !== classesCrc32c()) throw new Error(`${path}: formatted with other slot classes; refusing to reuse it`);
  const geometry = computeGeometry(sb.capacityBytes, sb.pageBytes);
  if (geometry.dataStartBytes !== sb.dataStartBytes || geometry.pageCount !== sb.pageCount) {
    throw new Error(`${path}: unsupported geometry (data at ${sb.dataStartBytes}, ${sb.pageCount} pages)`);
  }
  if (sb.capacityBytes > fileBytes) throw new Error(`${path}: superblock says ${sb.capacityBytes} bytes, but the file holds ${fileBytes}`);
  if (sizeBytes !== undefined && roundDown(sizeBytes, sb.pageBytes) !== sb.capacityBytes) {
    throw new Error(`${path}: the dax tier was created with ${sb.capacityBytes} bytes; resizing it to ${sizeBytes} is not supported`);
  }
  return sb;
}

/** Zero-fills the file to its capacity, then writes the superblock; durable on return. */
async function format(handle: FileHandle, path: string, sizeBytes: number, pageBytes: number): Promise<DaxSuperblock> {
  const capacityBytes = roundDown(sizeBytes, pageBytes);
  const geometry = computeGeometry(capacityBytes, pageBytes);
  if (geometry.pageCount < 1) {
    throw new Error(`${path}: ${sizeBytes} bytes is too small for the dax tier (${pageBytes}-byte pages after ${geometry.dataStartBytes} bytes of metadata)`);
  }
  const zeroes = Buffer.alloc(ZERO_CHUNK_BYTES);
  for (let offset = 0; offset < capacityBytes; offset += ZERO_CHUNK_BYTES) {
    await handle.write(zeroes, 0, Math.min(ZERO_CHUNK_BYTES, capacityBytes - offset), offset);
  }
  await handle.truncate(capacityBytes);
  await handle.datasync();
  const superblock = newSuperblock(geometry);
  await handle.write(encodeSuperblock(superblock), 0, SUPERBLOCK_BYTES, 0);
  await handle.datasync();
  return superblock;
}

async function syncDirectory(directory: string): Promise<void> {
  // The new file's directory entry must be durable too, or a crash could lose
  // the whole tier along with acknowledged blobs.
  const dir = await fsp.open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function roundDown(bytes: number, unitBytes: number): number {
  return Math.floor(bytes / unitBytes) * unitBytes;
}

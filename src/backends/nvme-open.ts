// Opening the nvme tier: finds out what PATH is (missing → create a
// preallocated file; regular file; block device), checks or writes the
// superblock, and loads the intent table for recover(). Refuses — with a
// one-line reason — to format anything that holds data that is not ours.
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { openIoEngine, type IoEngine, type IoEngineKind } from './io-engine.js';
import { IoError } from './io-errors.js';
import { IoFile } from './io-file.js';
import type { BlockFile } from './block-file.js';
import { native } from './native.js';
import { loadIntents } from './nvme-intents.js';
import {
  BLOCK_BYTES,
  DATA_START_BYTES,
  SUPERBLOCK_BYTES,
  decodeSuperblock,
  encodeSuperblock,
  type DecodedSuperblock,
  newSuperblock,
  type Superblock,
} from './nvme-layout.js';
import { NvmeTier } from './nvme-tier.js';

export interface NvmeTierOptions {
  /** Backing file (created if missing) or block device. */
  path: string;
  /**
   * Bytes the tier uses. A new file is created (fallocated) at this size; an
   * existing file grows to it (never shrinks); a block device is used up to it.
   * Default: 1 GiB for a new file, the recorded size for an existing one, the
   * whole device for a block device.
   */
  sizeBytes?: number;
  /** An engine to share, or which kind to open (default: $STRATA_IO_ENGINE, else auto). */
  engine?: IoEngine | IoEngineKind | 'auto';
  /** Largest extent: the CRC unit and the size of one write. Default 1 MiB; fixed at format time. */
  extentBytesMax?: number;
  /** Pool slots when the tier opens its own engine (pool = slots × extentBytesMax). Default 32. */
  slots?: number;
  /** Queue depth when the tier opens its own engine. Default 128. */
  queueDepth?: number;
  /**
   * Write zeroes over new space once, at creation or growth. ext4 keeps
   * fallocated blocks "unwritten", so every first write to one costs a journal
   * commit at fdatasync; zero-filled blocks are plain overwrites. Default true.
   */
  zeroFill?: boolean;
  /** 'remote' when this file or device is the large-object tier (`--remote /dev/nvmeXnY`). */
  tierName?: 'nvme' | 'remote';
}

const DEFAULT_FILE_BYTES = 1024 ** 3;
const DEFAULT_EXTENT_BYTES = 1024 * 1024;

/** Opens (creating or formatting if needed) the nvme tier. Call recover() next. */
export async function openNvmeTier(options: NvmeTierOptions): Promise<NvmeTier> {
  const extentBytesMax = options.extentBytesMax ?? DEFAULT_EXTENT_BYTES;
  if (!Number.isInteger(extentBytesMax) || extentBytesMax < BLOCK_BYTES || extentBytesMax % BLOCK_BYTES !== 0) {
    throw new RangeError(`extentBytesMax must be a multiple of ${BLOCK_BYTES}, not ${extentBytesMax}`);
  }
  if (options.sizeBytes !== undefined && (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes <= DATA_START_BYTES)) {
    throw new RangeError(`nvme size must be more than ${DATA_START_BYTES} bytes, not ${options.sizeBytes}`);
  }
  const shared = typeof options.engine === 'object' ? options.engine : undefined;
  const engine =
    shared ??
    openIoEngine({
      kind: typeof options.engine === 'string' ? options.engine : undefined,
      slotBytes: extentBytesMax,
      slots: options.slots ?? 32,
      queueDepth: options.queueDepth ?? 128,
    });
  let file: IoFile | undefined;
  try {
    const existing = await fsp.stat(options.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (existing !== undefined && !existing.isFile() && !existing.isBlockDevice()) {
      throw new Error(`${options.path} is neither a regular file nor a block device`);
    }
    const device = existing?.isBlockDevice() === true ? 'block' : 'file';
    file = await IoFile.open(engine, options.path, { create: existing === undefined });
    const superblock =
      existing === undefined
        ? await createFile(file, { ...options, extentBytesMax })
        : await adoptExisting(file, device, { ...options, extentBytesMax });
    if (engine.pool.slotBytes < superblock.extentBytesMax) {
      throw new Error(
        `${options.path} has ${superblock.extentBytesMax}-byte extents; ` +
          `the engine's ${engine.pool.slotBytes}-byte slots cannot hold one`,
      );
    }
    const intents = await loadIntents({ file, pool: engine.pool });
    return new NvmeTier({
      engine,
      ownsEngine: shared === undefined,
      file,
      superblock,
      device,
      intents,
      ...(options.tierName === 'remote' ? { tierName: 'remote', mode: 'kernel' } : {}),
    });
  } catch (error) {
    await file?.close();
    if (shared === undefined) await engine.close();
    throw error;
  }
}

async function createFile(file: IoFile, options: NvmeTierOptions & { extentBytesMax: number }): Promise<Superblock> {
  const capacityBytes = roundDown(options.sizeBytes ?? DEFAULT_FILE_BYTES);
  await file.fallocate(0, capacityBytes);
  if (options.zeroFill !== false) await zeroFill(file, SUPERBLOCK_BYTES, capacityBytes);
  const superblock = newSuperblock(capacityBytes, options.extentBytesMax);
  await writeSuperblock(file, superblock);
  // The new file's directory entry must be durable too, or a crash could lose
  // the whole tier along with acknowledged blobs.
  const dir = await fsp.open(dirname(file.path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return superblock;
}

async function adoptExisting(
  file: IoFile,
  device: 'file' | 'block',
  options: NvmeTierOptions & { extentBytesMax: number },
): Promise<Superblock> {
  const deviceBytes = native.deviceSizeBytes(file.fd);
  if (deviceBytes < 0) throw new IoError(deviceBytes, { syscall: 'ioctl(BLKGETSIZE64)', path: file.path });
  const decoded = deviceBytes >= SUPERBLOCK_BYTES ? await readSuperblock(file) : ({ kind: 'blank' } as const);
  if (decoded.kind === 'foreign') {
    throw new Error(`${file.path}: ${decoded.reason}; refusing to use it as the nvme tier`);
  }
  if (decoded.kind === 'blank') {
    // Never formatted (zeroed device, or an empty file someone created for us).
    const wanted = device === 'block' ? Math.min(deviceBytes, options.sizeBytes ?? deviceBytes) : (options.sizeBytes ?? DEFAULT_FILE_BYTES);
    let capacityBytes = roundDown(wanted);
    if (device === 'file') {
      await file.fallocate(0, capacityBytes);
      if (options.zeroFill !== false) await zeroFill(file, SUPERBLOCK_BYTES, capacityBytes);
    } else {
      capacityBytes = Math.min(capacityBytes, roundDown(deviceBytes));
    }
    if (capacityBytes <= DATA_START_BYTES) throw new Error(`${file.path}: too small for the nvme tier (${capacityBytes} bytes)`);
    const superblock = newSuperblock(capacityBytes, options.extentBytesMax);
    await writeSuperblock(file, superblock);
    return superblock;
  }
  const superblock = decoded.superblock;
  if (superblock.blockBytes !== BLOCK_BYTES || superblock.dataStartBytes !== DATA_START_BYTES) {
    throw new Error(`${file.path}: unsupported geometry (block ${superblock.blockBytes}, data at ${superblock.dataStartBytes})`);
  }
  if (superblock.capacityBytes > deviceBytes) {
    throw new Error(`${file.path}: superblock says ${superblock.capacityBytes} bytes, but only ${deviceBytes} exist`);
  }
  const wantedBytes = roundDown(options.sizeBytes ?? 0);
  if (wantedBytes > superblock.capacityBytes) {
    // Growing keeps every committed extent where it is; shrinking could not.
    if (device === 'block') {
      if (wantedBytes > deviceBytes) throw new Error(`${file.path}: device holds ${deviceBytes} bytes, not ${wantedBytes}`);
    } else {
      await file.fallocate(superblock.capacityBytes, wantedBytes - superblock.capacityBytes);
      if (options.zeroFill !== false) await zeroFill(file, superblock.capacityBytes, wantedBytes);
    }
    const grown = { ...superblock, capacityBytes: wantedBytes };
    await writeSuperblock(file, grown);
    return grown;
  }
  return superblock;
}

export async function readSuperblock(file: BlockFile): Promise<DecodedSuperblock> {
  const slot = await file.engine.pool.acquire('read');
  try {
    await file.readExact({ slot, lengthBytes: SUPERBLOCK_BYTES }, 0);
    return decodeSuperblock(slot.bytes);
  } finally {
    file.engine.pool.release(slot);
  }
}

export async function writeSuperblock(file: BlockFile, superblock: Superblock): Promise<void> {
  const slot = await file.engine.pool.acquire('write');
  try {
    encodeSuperblock(superblock, slot.bytes);
    await file.writeExact({ slot, lengthBytes: SUPERBLOCK_BYTES }, 0);
  } finally {
    file.engine.pool.release(slot);
  }
  await file.datasync();
}

/** Writes zeroes over [startBytes, endBytes), a few slots at a time. */
async function zeroFill(file: IoFile, startBytes: number, endBytes: number): Promise<void> {
  const pool = file.engine.pool;
  const parallel = Math.max(1, Math.min(4, pool.writeSlotsMax));
  const slots = await Promise.all(Array.from({ length: parallel }, () => pool.acquire('write')));
  try {
    for (const slot of slots) slot.bytes.fill(0);
    let next = startBytes;
    const worker = async (slot: (typeof slots)[number]): Promise<void> => {
      while (next < endBytes) {
        const offset = next;
        const lengthBytes = Math.min(pool.slotBytes, endBytes - offset);
        next += lengthBytes;
        await file.writeExact({ slot, lengthBytes }, offset);
      }
    };
    await Promise.all(slots.map(worker));
  } finally {
    for (const slot of slots) pool.release(slot);
  }
  await file.datasync();
}

function roundDown(bytes: number): number {
  return Math.floor(bytes / BLOCK_BYTES) * BLOCK_BYTES;
}

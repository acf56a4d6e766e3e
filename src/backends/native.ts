// Loads the C++ addon (native/, built by cmake-js during `npm ci`) and gives its
// exports TypeScript types. Everything that crosses into C++ is validated here or
// by the caller: only integers, bigints and Uint8Arrays go in.
import { createRequire } from 'node:module';

export interface NativeAddon {
  crc32c(data: Uint8Array, previous: number): number;
  crc32(data: Uint8Array, previous: number): number;
  crc64nvme(data: Uint8Array, previous: bigint): bigint;
  /** crc(A‖B) from crc(A), crc(B) and len(B); kind 0 = CRC32, 1 = CRC32C, 2 = CRC64NVME. */
  crcCombine(kind: 0 | 1 | 2, crcA: bigint, crcB: bigint, lengthB: bigint): bigint;
  readonly crc32cHardware: boolean;
  /**
   * Starts an I/O engine (kind 0 = io_uring, 1 = thread pool) with a pool of
   * poolBytes of page-aligned memory. flags: 1 = register the pool as a fixed
   * buffer, 2 = use DEFER_TASKRUN where the kernel supports it safely. Returns the engine, or a negative errno
   * when that backend cannot start (io_uring disabled, old kernel, seccomp).
   * Use it through src/backends/io-engine.ts, which validates every argument.
   */
  openIoEngine(
    kind: 0 | 1,
    queueDepth: number,
    poolBytes: number,
    flags: number,
    deliverBatchMax: number,
    completions: Int32Array,
    onComplete: (count: number) => void,
  ): NativeIoEngine | number;
  /** Size of a regular file or block device (BLKGETSIZE64), or a negative errno. */
  deviceSizeBytes(fd: number): number;
}

/**
 * The C++ engine (native/src/io_engine.h). Every request names a tag in
 * [0, queueDepth) that TypeScript keeps busy until its completion arrives as a
 * (tag, result) pair; methods return 0 or a negative errno and never throw on
 * I/O errors. Requests are only prepared until submit() hands them over.
 */
export interface NativeIoEngine {
  readonly kind: 'io_uring' | 'threadpool';
  /** The aligned buffer pool: page-aligned, fixed size, registered with the ring when fixedBuffers. */
  readonly pool: ArrayBuffer;
  readonly queueDepth: number;
  readonly fixedBuffers: boolean;
  /** Negative errno from IORING_REGISTER_BUFFERS when it failed (e.g. RLIMIT_MEMLOCK), else 0. */
  readonly fixedBuffersErrno: number;
  readonly sqEntries: number;
  readonly kernelFeatures: number;
  /** Completion work runs batched inside our io_uring_enter calls (IORING_SETUP_DEFER_TASKRUN). */
  readonly deferTaskrun: boolean;
  read(tag: number, fd: number, poolOffset: number, lengthBytes: number, fileOffset: number): number;
  write(tag: number, fd: number, poolOffset: number, lengthBytes: number, fileOffset: number): number;
  /** dataOnly 1 = fdatasync, 0 = fsync. */
  sync(tag: number, fd: number, dataOnly: 0 | 1): number;
  fallocate(tag: number, fd: number, mode: number, offset: number, lengthBytes: number): number;
  /** One io_uring_enter for everything prepared; count taken or negative errno. */
  submit(): number;
  /** 0, or -EBUSY while requests are in flight. */
  close(): number;
}

const require = createRequire(import.meta.url);
const addonPath = new URL('../../../native/build/Release/strata_native.node', import.meta.url);

function loadAddon(): NativeAddon {
  try {
    return require(addonPath.pathname) as NativeAddon;
  } catch (error) {
    throw new Error(
      `cannot load the native addon at ${addonPath.pathname}: run \`npm ci\` (or \`npm run build:native\`) first`,
      { cause: error },
    );
  }
}

export const native: NativeAddon = loadAddon();

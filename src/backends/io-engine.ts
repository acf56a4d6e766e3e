// The asynchronous I/O engine: io_uring when the kernel allows it, otherwise
// pread/pwrite on the libuv thread pool, behind one interface.
//
// How a request flows: request() takes a free tag (or queues the request when
// all `queueDepth` tags are busy — a full queue is backpressure, never growth),
// prepares it natively, and schedules one submit() per microtask checkpoint, so
// every request issued in one turn of the event loop shares one io_uring_enter.
// Completions come back in batches (one native→JS call per eventfd wake-up) as
// (tag, result) pairs; each resolves its request's promise with the raw result:
// bytes transferred, or a negative errno. IoFile (io-file.ts) turns those into
// typed errors.
import assert from 'node:assert/strict';
import { BufferPool } from './buffer-pool.js';
import { EngineClosedError, Errno, IoError } from './io-errors.js';
import { native, type NativeIoEngine } from './native.js';

export type IoEngineKind = 'io_uring' | 'threadpool';

export interface IoEngineOptions {
  /** Which backend; default: $STRATA_IO_ENGINE, else 'auto' (io_uring, falling back to the thread pool). */
  kind?: IoEngineKind | 'auto';
  /** Requests in flight at once (tags); more wait in a FIFO. Default 128. */
  queueDepth?: number;
  /** Size of one pool slot; a multiple of 4096. Default 1 MiB. */
  slotBytes?: number;
  /** Number of pool slots; the pool is slots × slotBytes, allocated once. Default 32. */
  slots?: number;
  /** Register the pool with the ring (READ_FIXED/WRITE_FIXED). Default true. */
  fixedBuffers?: boolean;
  /**
   * io_uring: IORING_SETUP_DEFER_TASKRUN, when the kernel has it and signals
   * the eventfd for deferred work (probed at open). Completion work then runs
   * batched inside our own io_uring_enter calls, as fio does. Default true.
   */
  deferTaskrun?: boolean;
  /**
   * io_uring: most completions handed to JavaScript per native→JS call. Small
   * chunks let follow-up requests reach the device while the rest of a batch
   * is still being processed (see bench/RESULTS.md). Default 2.
   */
  deliverBatchMax?: number;
}

export type IoRequest =
  | { op: 'read' | 'write'; fd: number; poolOffset: number; lengthBytes: number; fileOffset: number }
  | { op: 'fsync' | 'fdatasync'; fd: number }
  | { op: 'fallocate'; fd: number; mode: number; offset: number; lengthBytes: number };

export interface IoEngineStats {
  kind: IoEngineKind;
  queueDepth: number;
  inflight: number;
  queued: number;
  requests: number;
  /** io_uring_enter calls (or their thread-pool equivalent); requests/submits is the batching factor. */
  submits: number;
  /** Native→JS completion calls; completions/completionBatches is the reaping batch size. */
  completionBatches: number;
  completions: number;
}

interface Pending {
  request: IoRequest;
  resolve: (result: number) => void;
}

const ENGINE_ENV = 'STRATA_IO_ENGINE';
const KIND_CODE: Record<IoEngineKind, 0 | 1> = { io_uring: 0, threadpool: 1 };

export class IoEngine {
  readonly kind: IoEngineKind;
  readonly queueDepth: number;
  readonly fixedBuffers: boolean;
  readonly deferTaskrun: boolean;
  readonly pool: BufferPool;
  /** Why io_uring is not in use when 'auto' fell back to the thread pool. */
  readonly fallbackReason: string | undefined;
  private readonly nativeEngine: NativeIoEngine;
  private readonly completions: Int32Array;
  private readonly pending: (Pending | undefined)[];
  private readonly freeTags: number[] = [];
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private submitScheduled = false;
  private closing = false;
  private closed = false;
  private drained: (() => void) | undefined;
  private readonly counters = { requests: 0, submits: 0, completionBatches: 0, completions: 0 };

  /** Use openIoEngine(). */
  constructor(
    nativeEngine: NativeIoEngine,
    completions: Int32Array,
    options: { slotBytes: number; fallbackReason: string | undefined },
  ) {
    this.nativeEngine = nativeEngine;
    this.completions = completions;
    this.kind = nativeEngine.kind;
    this.queueDepth = nativeEngine.queueDepth;
    this.fixedBuffers = nativeEngine.fixedBuffers;
    this.deferTaskrun = nativeEngine.deferTaskrun;
    this.fallbackReason = options.fallbackReason;
    this.pool = new BufferPool(nativeEngine.pool, { slotBytes: options.slotBytes });
    this.pending = new Array<Pending | undefined>(this.queueDepth).fill(undefined);
    for (let tag = this.queueDepth - 1; tag >= 0; tag--) this.freeTags.push(tag);
  }

  /**
   * Performs one request; resolves with the raw result (bytes moved, 0, or a
   * negative errno). Rejects only for a closed engine or an invalid request.
   */
  request(request: IoRequest): Promise<number> {
    if (this.closing) return Promise.reject(new EngineClosedError(this.kind));
    const invalid = this.validate(request);
    if (invalid !== undefined) return Promise.reject(new RangeError(invalid));
    this.counters.requests++;
    return new Promise((resolve) => {
      const pending: Pending = { request, resolve };
      if (this.freeTags.length > 0 && this.queueHead === this.queue.length) {
        this.start(pending);
      } else {
        this.queue.push(pending);
      }
    });
  }

  stats(): IoEngineStats {
    return {
      kind: this.kind,
      queueDepth: this.queueDepth,
      inflight: this.queueDepth - this.freeTags.length,
      queued: this.queue.length - this.queueHead,
      ...this.counters,
    };
  }

  /** Waits for every request to finish, then releases the ring and the pool. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.closed) return;
    if (this.busy()) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.closed) return;
    this.closed = true;
    const rc = this.nativeEngine.close();
    assert.equal(rc, 0, `native close refused (${rc}) with nothing in flight`);
  }

  private busy(): boolean {
    return this.freeTags.length < this.queueDepth || this.queueHead < this.queue.length;
  }

  private validate(r: IoRequest): string | undefined {
    if (!Number.isSafeInteger(r.fd) || r.fd < 0) return `bad fd ${r.fd}`;
    if (r.op === 'read' || r.op === 'write') {
      const poolBytes = this.pool.slotBytes * this.pool.slotCount;
      if (!Number.isSafeInteger(r.poolOffset) || !Number.isSafeInteger(r.lengthBytes)) return 'non-integer range';
      if (r.poolOffset < 0 || r.lengthBytes < 0 || r.poolOffset + r.lengthBytes > poolBytes) {
        return `pool range [${r.poolOffset}, +${r.lengthBytes}) outside the ${poolBytes}-byte pool`;
      }
      if (r.lengthBytes > 0x7fffffff) return 'one request moves less than 2 GiB';
      if (!Number.isSafeInteger(r.fileOffset) || r.fileOffset < 0) return `bad file offset ${r.fileOffset}`;
    } else if (r.op === 'fallocate') {
      if (!Number.isSafeInteger(r.offset) || r.offset < 0) return `bad offset ${r.offset}`;
      if (!Number.isSafeInteger(r.lengthBytes) || r.lengthBytes <= 0) return `bad length ${r.lengthBytes}`;
      if (!Number.isInteger(r.mode) || r.mode < 0 || r.mode > 0x7fffffff) return `bad mode ${r.mode}`;
    }
    return undefined;
  }

  private start(pending: Pending): void {
    const tag = this.freeTags.pop()!;
    const r = pending.request;
    const engine = this.nativeEngine;
    let rc: number;
    switch (r.op) {
      case 'read':
        rc = engine.read(tag, r.fd, r.poolOffset, r.lengthBytes, r.fileOffset);
        break;
      case 'write':
        rc = engine.write(tag, r.fd, r.poolOffset, r.lengthBytes, r.fileOffset);
        break;
      case 'fsync':
      case 'fdatasync':
        rc = engine.sync(tag, r.fd, r.op === 'fdatasync' ? 1 : 0);
        break;
      case 'fallocate':
        rc = engine.fallocate(tag, r.fd, r.mode, r.offset, r.lengthBytes);
        break;
    }
    if (rc < 0) {
      // Refused before reaching the kernel: the tag was never used.
      assert.notEqual(rc, Errno.EBUSY, `tag ${tag} busy natively: bookkeeping bug`);
      this.freeTags.push(tag);
      pending.resolve(rc);
      return;
    }
    this.pending[tag] = pending;
    this.scheduleSubmit();
  }

  private scheduleSubmit(): void {
    if (this.submitScheduled) return;
    this.submitScheduled = true;
    queueMicrotask(this.submit);
  }

  private readonly submit = (): void => {
    this.submitScheduled = false;
    if (this.closed) return;
    this.counters.submits++;
    const rc = this.nativeEngine.submit();
    if (rc < 0) {
      // EAGAIN/EBUSY/ENOMEM from io_uring_enter: the kernel is short of
      // resources right now; the prepared requests stay in the ring. Retry on
      // the next turn rather than spin.
      setImmediate(() => this.scheduleSubmit());
    }
  };

  /** Called by the native engine with `count` (tag, result) pairs in `completions`. */
  readonly onComplete = (count: number): void => {
    this.counters.completionBatches++;
    this.counters.completions += count;
    const completions = this.completions;
    for (let i = 0; i < count; i++) {
      const tag = completions[2 * i]!;
      const result = completions[2 * i + 1]!;
      const pending = this.pending[tag];
      assert(pending !== undefined, `completion for idle tag ${tag}`);
      this.pending[tag] = undefined;
      this.freeTags.push(tag);
      pending.resolve(result);
    }
    while (this.freeTags.length > 0 && this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as Pending;
      this.start(next);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
    if (this.drained !== undefined && !this.busy()) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  };
}

/** The backend to use: the option, else $STRATA_IO_ENGINE, else 'auto'. */
export function resolveEngineKind(
  kind: IoEngineKind | 'auto' | undefined,
  env: NodeJS.ProcessEnv = process.env,
): IoEngineKind | 'auto' {
  if (kind !== undefined) return kind;
  const fromEnv = env[ENGINE_ENV];
  if (fromEnv === undefined || fromEnv === '') return 'auto';
  if (fromEnv === 'io_uring' || fromEnv === 'threadpool' || fromEnv === 'auto') return fromEnv;
  throw new Error(`${ENGINE_ENV} must be io_uring, threadpool or auto, not '${fromEnv}'`);
}

/**
 * Opens an engine. An explicit 'io_uring' fails with an IoError when the ring
 * cannot start; 'auto' falls back to the thread pool and says why in
 * fallbackReason.
 */
export function openIoEngine(options: IoEngineOptions = {}): IoEngine {
  const queueDepth = options.queueDepth ?? 128;
  const slotBytes = options.slotBytes ?? 1024 * 1024;
  const slots = options.slots ?? 32;
  if (!Number.isInteger(queueDepth) || queueDepth < 1 || queueDepth > 4096) {
    throw new RangeError(`queueDepth must be an integer in [1, 4096], not ${queueDepth}`);
  }
  if (!Number.isInteger(slotBytes) || slotBytes < 4096 || slotBytes % 4096 !== 0) {
    throw new RangeError(`slotBytes must be a positive multiple of 4096, not ${slotBytes}`);
  }
  if (!Number.isInteger(slots) || slots < 1 || slots * slotBytes > 1024 ** 3) {
    throw new RangeError(`slots must be >= 1 and the pool at most 1 GiB (${slots} × ${slotBytes})`);
  }
  const kind = resolveEngineKind(options.kind);
  const poolBytes = slots * slotBytes;
  const flags = ((options.fixedBuffers ?? true) ? 1 : 0) | ((options.deferTaskrun ?? true) ? 2 : 0);
  const deliverBatchMax = options.deliverBatchMax ?? Math.min(2, queueDepth);
  if (!Number.isInteger(deliverBatchMax) || deliverBatchMax < 1 || deliverBatchMax > queueDepth) {
    throw new RangeError(`deliverBatchMax must be an integer in [1, queueDepth], not ${deliverBatchMax}`);
  }
  const settings = { queueDepth, poolBytes, flags, deliverBatchMax };
  let fallbackReason: string | undefined;
  let started = startNative(kind === 'threadpool' ? 'threadpool' : 'io_uring', settings);
  if (typeof started === 'number' && kind === 'auto') {
    fallbackReason = new IoError(started, { syscall: 'io_uring_setup' }).message;
    started = startNative('threadpool', settings);
  }
  if (typeof started === 'number') {
    throw new IoError(started, { syscall: kind === 'threadpool' ? 'openIoEngine' : 'io_uring_setup' });
  }
  const engine = new IoEngine(started.engine, started.completions, { slotBytes, fallbackReason });
  started.sink.target = engine;
  return engine;
}

interface Started {
  engine: NativeIoEngine;
  completions: Int32Array;
  /** Completions are routed through here because the wrapper is built after the native engine. */
  sink: { target: IoEngine | undefined };
}

function startNative(
  kind: IoEngineKind,
  options: { queueDepth: number; poolBytes: number; flags: number; deliverBatchMax: number },
): Started | number {
  const completions = new Int32Array(2 * options.queueDepth);
  const sink: Started['sink'] = { target: undefined };
  const engine = native.openIoEngine(
    KIND_CODE[kind],
    options.queueDepth,
    options.poolBytes,
    options.flags,
    options.deliverBatchMax,
    completions,
    (count) => sink.target?.onComplete(count),
  );
  if (typeof engine === 'number') return engine;
  return { engine, completions, sink };
}

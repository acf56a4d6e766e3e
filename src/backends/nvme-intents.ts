// The intent table: which blocks the writers that are still open hold. It is
// written (best effort, no flush of its own) whenever that set changes, to
// one of two alternating copies in the region before the data, and read back
// by recover() to *find* interrupted writes: a writer listed there whose
// blocks no committed blob uses was cut off by a crash.
//
// Correctness never depends on this table — the allocator is rebuilt from the
// committed refs alone, so interrupted writes are freed regardless. The table
// only makes them visible (recover's reclaimedBlobs/reclaimedBytes). After a
// power loss the newest copy may be missing, so those counts are a lower bound.
import type { BufferPool } from './buffer-pool.js';
import type { Run } from './extent-allocator.js';
import type { BlockFile } from './block-file.js';
import { native } from './native.js';
import { BLOCK_BYTES, INTENT_COPY_BYTES, INTENT_REGION_START_BYTES } from './nvme-layout.js';

const MAGIC = 0x544e4953; // 'SINT'
const VERSION = 1;
const HEADER_BYTES = 32;
const ENTRY_BYTES = 24;
const FLAG_TRUNCATED = 1;

export interface IntentSnapshot {
  sequence: number;
  writers: Map<number, Run[]>;
  /** More writers were open than the copy could list. */
  truncated: boolean;
}

export interface IntentHost {
  readonly file: BlockFile;
  readonly pool: BufferPool;
}

export class IntentTable {
  private readonly open = new Map<number, readonly Run[]>();
  private nextSequence: number;
  private dirty = false;
  private writing: Promise<void> | undefined;
  failures = 0;
  writes = 0;

  constructor(
    private readonly host: IntentHost,
    options: { nextSequence: number },
  ) {
    this.nextSequence = options.nextSequence;
  }

  /** Records a writer's current blocks; an empty list removes the writer. */
  note(writerId: number, runs: readonly Run[]): void {
    if (runs.length === 0) {
      if (!this.open.delete(writerId)) return;
    } else {
      this.open.set(writerId, runs);
    }
    this.dirty = true;
    this.writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.writeWhileDirty());
  }

  /** Writes the current set now (used after recover, to forget the previous run's writers). */
  async persist(): Promise<void> {
    this.dirty = true;
    await this.settled();
    if (this.dirty) await (this.writing = this.writeWhileDirty());
  }

  /** Resolves when no copy is being written. */
  async settled(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async writeWhileDirty(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.writeCopy();
          this.writes++;
        } catch {
          // Best effort by design (see the module comment); counted for health.
          this.failures++;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async writeCopy(): Promise<void> {
    const slot = await this.host.pool.acquire('read');
    try {
      const capacityBytes = Math.min(slot.bytes.byteLength, INTENT_COPY_BYTES);
      const entriesMax = Math.floor((capacityBytes - HEADER_BYTES) / ENTRY_BYTES);
      const bytes = Buffer.from(slot.bytes.buffer, slot.bytes.byteOffset, capacityBytes);
      let count = 0;
      let truncated = false;
      for (const [writerId, runs] of this.open) {
        for (const run of runs) {
          if (count === entriesMax) {
            truncated = true;
            break;
          }
          const at = HEADER_BYTES + count * ENTRY_BYTES;
          bytes.writeUInt32LE(writerId, at);
          bytes.writeUInt32LE(0, at + 4);
          bytes.writeBigUInt64LE(BigInt(run.offset), at + 8);
          bytes.writeBigUInt64LE(BigInt(run.lengthBytes), at + 16);
          count++;
        }
      }
      const sequence = this.nextSequence++;
      const usedBytes = HEADER_BYTES + count * ENTRY_BYTES;
      bytes.writeUInt32LE(MAGIC, 0);
      bytes.writeUInt16LE(VERSION, 4);
      bytes.writeUInt16LE(truncated ? FLAG_TRUNCATED : 0, 6);
      bytes.writeBigUInt64LE(BigInt(sequence), 8);
      bytes.writeUInt32LE(count, 16);
      bytes.writeUInt32LE(usedBytes, 20);
      bytes.writeUInt32LE(checksum(bytes, usedBytes), 24);
      bytes.writeUInt32LE(0, 28);
      const writeBytes = Math.ceil(usedBytes / BLOCK_BYTES) * BLOCK_BYTES;
      bytes.fill(0, usedBytes, writeBytes);
      await this.host.file.writeExact({ slot, lengthBytes: writeBytes }, copyOffset(sequence));
    } finally {
      this.host.pool.release(slot);
    }
  }
}

/** Reads both copies and returns the newest valid one (empty when none is). */
export async function loadIntents(host: IntentHost): Promise<IntentSnapshot> {
  let best: IntentSnapshot = { sequence: -1, writers: new Map(), truncated: false };
  for (const copy of [0, 1]) {
    const snapshot = await readCopy(host, copy);
    if (snapshot !== undefined && snapshot.sequence > best.sequence) best = snapshot;
  }
  return best;
}

async function readCopy(host: IntentHost, copy: number): Promise<IntentSnapshot | undefined> {
  const slot = await host.pool.acquire('read');
  try {
    const capacityBytes = Math.min(slot.bytes.byteLength, INTENT_COPY_BYTES);
    const offset = INTENT_REGION_START_BYTES + copy * INTENT_COPY_BYTES;
    await host.file.readExact({ slot, lengthBytes: BLOCK_BYTES }, offset);
    const bytes = Buffer.from(slot.bytes.buffer, slot.bytes.byteOffset, capacityBytes);
    if (bytes.readUInt32LE(0) !== MAGIC || bytes.readUInt16LE(4) !== VERSION) return undefined;
    const count = bytes.readUInt32LE(16);
    const usedBytes = bytes.readUInt32LE(20);
    if (usedBytes !== HEADER_BYTES + count * ENTRY_BYTES || usedBytes > capacityBytes) return undefined;
    if (usedBytes > BLOCK_BYTES) {
      const restBytes = Math.ceil(usedBytes / BLOCK_BYTES) * BLOCK_BYTES - BLOCK_BYTES;
      await host.file.readExact({ slot, offsetBytes: BLOCK_BYTES, lengthBytes: restBytes }, offset + BLOCK_BYTES);
    }
    if (bytes.readUInt32LE(24) !== checksum(bytes, usedBytes)) return undefined;
    const writers = new Map<number, Run[]>();
    for (let i = 0; i < count; i++) {
      const at = HEADER_BYTES + i * ENTRY_BYTES;
      const writerId = bytes.readUInt32LE(at);
      const run = { offset: Number(bytes.readBigUInt64LE(at + 8)), lengthBytes: Number(bytes.readBigUInt64LE(at + 16)) };
      const runs = writers.get(writerId) ?? [];
      runs.push(run);
      writers.set(writerId, runs);
    }
    return {
      sequence: Number(bytes.readBigUInt64LE(8)),
      writers,
      truncated: (bytes.readUInt16LE(6) & FLAG_TRUNCATED) !== 0,
    };
  } finally {
    host.pool.release(slot);
  }
}

function copyOffset(sequence: number): number {
  return INTENT_REGION_START_BYTES + (sequence % 2) * INTENT_COPY_BYTES;
}

// CRC32C of the header before the checksum field, then of the entries.
function checksum(bytes: Buffer, usedBytes: number): number {
  return native.crc32c(bytes.subarray(HEADER_BYTES, usedBytes), native.crc32c(bytes.subarray(0, 24), 0));
}

// The write-ahead log: numbered segment files of CRC32C-framed records
// (record-codec.ts), appended and fdatasync'd before append() resolves.
//
// - Segments are named <seq>.wal; a new segment starts with the current hard
//   state so that older segments can be deleted without losing it. Creating a
//   segment fsyncs the directory.
// - Truncation (a follower overwriting a conflicting suffix) is an appended
//   entry record with a lower index; replay applies it (records.ts). No byte
//   is rewritten in place.
// - On open, records are read in order. A bad record in the last segment is a
//   torn write from a crash before fdatasync returned: the segment is cut
//   there and synced (repair). A bad record in an earlier segment, which was
//   synced before the next one was created, is corruption: open fails.
// - compact(index) deletes the leading segments whose entries are all ≤ index
//   once a snapshot covering index is durable.
import { open, readdir, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { LogCorruptError, type WalRecord } from './records.js';
import { fsyncDir } from './fsutil.js';
import type { HardState } from '../raft/types.js';

export interface WalOptions {
  /** Start a new segment once the current one reaches this size. */
  readonly segmentBytesMax?: number;
}

export interface WalOpenResult {
  readonly wal: Wal;
  readonly records: WalRecord[];
  /** Bytes cut from the last segment's torn tail (0 when it ended cleanly). */
  readonly repairedBytes: number;
  readonly repairReason: string | null;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Highest entry index written in this segment (0 if none). */
  maxEntryIndex: number;
}

const SEGMENT_SUFFIX = '.wal';

function segmentName(seq: number): string {
  return `${seq.toString().padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

export class Wal {
  private handle: FileHandle | null = null;
  private sizeBytes = 0;
  private lastHardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** Latest base/mark record: repeated at the head of each new segment (see compact). */
  private lastAnchor: { index: number; term: number } | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly segments: Segment[],
    private readonly segmentBytesMax: number,
  ) {}

  static async open(dir: string, options: WalOptions = {}): Promise<WalOpenResult> {
    const names = (await readdir(dir)).filter((n) => /^\d{16}\.wal$/.test(n)).sort();
    const segments: Segment[] = names.map((n) => ({ seq: Number(n.slice(0, 16)), path: join(dir, n), maxEntryIndex: 0 }));
    const records: WalRecord[] = [];
    let repairedBytes = 0;
    let repairReason: string | null = null;
    let lastSize = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const buf = await readFile(seg.path);
      let offset = 0;
      while (offset < buf.length) {
        const r = decodeRecord(buf, offset);
        if (!r.ok) {
          if (i < segments.length - 1) {
            throw new LogCorruptError(`${seg.path}: ${r.reason} at offset ${offset} in a sealed segment`);
          }
          repairedBytes = buf.length - offset;
          repairReason = `${r.reason} at offset ${offset}`;
          await truncate(seg.path, offset);
          break;
        }
        if (r.record.kind === 'entry') seg.maxEntryIndex = Math.max(seg.maxEntryIndex, r.record.entry.index);
        records.push(r.record);
        offset = r.next;
      }
      lastSize = offset;
    }
    const wal = new Wal(dir, segments, options.segmentBytesMax ?? 64 * 1024 * 1024);
    const lastHs = records.findLast((r) => r.kind === 'hardState');
    if (lastHs?.kind === 'hardState') wal.lastHardState = lastHs.hardState;
    const anchor = records.findLast((r) => r.kind === 'mark' || r.kind === 'base');
    if (anchor?.kind === 'mark' || anchor?.kind === 'base') wal.lastAnchor = { index: anchor.index, term: anchor.term };
    const last = segments[segments.length - 1];
    if (last === undefined) {
      await wal.startSegment(1);
    } else {
      wal.handle = await open(last.path, 'r+');
      wal.sizeBytes = lastSize;
      if (repairedBytes > 0) await wal.handle.datasync();
    }
    return { wal, records, repairedBytes, repairReason };
  }

  /** Append records and make them durable (one fdatasync for the whole batch, unless `sync` is false). */
  async append(records: readonly WalRecord[], sync = true): Promise<void> {
    if (records.length === 0) return;
    if (this.closed) throw new Error('WAL is closed');
    if (this.sizeBytes >= this.segmentBytesMax) await this.startSegment(this.currentSegment().seq + 1);
    const frames = records.map(encodeRecord);
    const batch = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    const handle = this.handle!;
    let written = 0;
    while (written < batch.length) {
      const { bytesWritten } = await handle.write(batch, written, batch.length - written, this.sizeBytes + written);
      written += bytesWritten;
    }
    if (sync) await handle.datasync();
    this.sizeBytes += batch.length;
    const seg = this.currentSegment();
    for (const r of records) {
      if (r.kind === 'entry') seg.maxEntryIndex = Math.max(seg.maxEntryIndex, r.entry.index);
      if (r.kind === 'hardState') this.lastHardState = r.hardState;
      if (r.kind === 'mark' || r.kind === 'base') this.lastAnchor = { index: r.index, term: r.term };
    }
  }

  /**
   * Delete leading segments whose entries are all ≤ `index`, once a snapshot
   * covering `index` is durable and its mark record appended. A new segment
   * is started first: it opens with the hard state and that mark, so the
   * entries after `index` in surviving segments stay tied to the snapshot
   * however many old segments go.
   */
  async compact(index: number): Promise<number> {
    await this.startSegment(this.currentSegment().seq + 1);
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[0]!.maxEntryIndex <= index) {
      const seg = this.segments.shift()!;
      await unlink(seg.path);
      deleted++;
    }
    if (deleted > 0) await fsyncDir(this.dir);
    return deleted;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.handle?.close();
    this.handle = null;
  }

  private currentSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Create segment `seq`, make its name durable, and open it with the current hard state. */
  private async startSegment(seq: number): Promise<void> {
    const path = join(this.dir, segmentName(seq));
    // Seal the current segment durably first: it may end with unsynced
    // commit-only records, and a sealed segment must read back whole.
    await this.handle?.datasync();
    const handle = await open(path, 'wx');
    await this.handle?.close();
    this.handle = handle;
    this.sizeBytes = 0;
    this.segments.push({ seq, path, maxEntryIndex: 0 });
    await fsyncDir(this.dir);
    const head: WalRecord[] = [{ kind: 'hardState', hardState: this.lastHardState }];
    // Repeated as a mark: a repeated base would wrongly reset the entries after it.
    if (this.lastAnchor !== null) head.push({ kind: 'mark', ...this.lastAnchor });
    await this.append(head);
  }
}

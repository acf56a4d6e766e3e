// A node's durable Raft state on disk: the WAL (entries, hard state) plus
// snapshot files, in one directory. The shell calls persist() with each Ready
// before sending its messages; persist() resolves only when everything is
// on stable storage.
//
// Order matters for crash safety: an installed snapshot's file is durable
// before the 'base' record that resets the log; a local snapshot's file is
// durable before its 'mark' record, and old segments are deleted only after
// both (see records.ts for how recovery reads these).
import { mkdir } from 'node:fs/promises';
import { Wal, type WalOptions } from './wal.js';
import { SnapshotStore } from './snapshot-store.js';
import { replayWal, type WalRecord } from './records.js';
import type { RaftInitialState } from '../raft/core.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';

export interface PersistBatch {
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
  /** Default true. */
  readonly sync?: boolean;
}

export interface LogStoreOpenResult {
  readonly store: LogStore;
  readonly initial: RaftInitialState;
  /** True when nothing was on disk (a brand-new node). */
  readonly fresh: boolean;
  readonly repairedBytes: number;
  readonly skippedSnapshots: readonly string[];
}

export class LogStore {
  private constructor(
    private readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
  ) {}

  static async open(dir: string, options: WalOptions = {}): Promise<LogStoreOpenResult> {
    await mkdir(dir, { recursive: true });
    const snapshots = new SnapshotStore(dir);
    const { snapshot, skipped } = await snapshots.loadNewest();
    const { wal, records, repairedBytes } = await Wal.open(dir, options);
    const { initial, needsBaseRecord } = replayWal(records, snapshot);
    if (needsBaseRecord && snapshot !== null) {
      // The snapshot replaced the log but its base record was lost in a crash:
      // write it now, so that entries appended next follow the snapshot.
      await wal.append([{ kind: 'base', index: snapshot.meta.index, term: snapshot.meta.term }]);
    }
    const fresh = snapshot === null && !records.some((r) => r.kind === 'entry');
    return { store: new LogStore(wal, snapshots), initial, fresh, repairedBytes, skippedSnapshots: skipped };
  }

  /**
   * Persist one Ready's worth of state: snapshot (if any), entries, hard state.
   * With `sync: false` (only the commit index changed) the records are written
   * but not fdatasync'd.
   */
  async persist(batch: PersistBatch): Promise<void> {
    const records: WalRecord[] = [];
    if (batch.snapshot !== null) {
      await this.snapshots.save(batch.snapshot);
      records.push({ kind: 'base', index: batch.snapshot.meta.index, term: batch.snapshot.meta.term });
    }
    for (const entry of batch.entries) records.push({ kind: 'entry', entry });
    if (batch.hardState !== null) records.push({ kind: 'hardState', hardState: batch.hardState });
    await this.wal.append(records, batch.sync ?? true);
  }

  /** Record a snapshot the local state machine took, then drop the segments it makes redundant. */
  async saveLocalSnapshot(snapshot: Snapshot): Promise<void> {
    await this.snapshots.save(snapshot);
    await this.wal.append([{ kind: 'mark', index: snapshot.meta.index, term: snapshot.meta.term }]);
    await this.wal.compact(snapshot.meta.index);
  }

  segmentCount(): number {
    return this.wal.segmentCount();
  }

  async close(): Promise<void> {
    await this.wal.close();
  }
}

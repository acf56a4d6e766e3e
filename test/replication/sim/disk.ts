// The simulator's model of one node's disk: an ordered stream of operations
// (WAL records and snapshot files). Writes stay volatile until sync(); a crash
// keeps a random prefix of the volatile writes (a torn tail: some of the data
// may have reached the platter, in order) and loses the rest. Recovery goes
// through the same replayRecords() as the real log store.
import { replayWal, type WalRecord } from '../../../src/replication/storage/records.js';
import type { RaftInitialState } from '../../../src/replication/raft/core.js';
import type { Snapshot } from '../../../src/replication/raft/types.js';
import type { Rng } from './rng.js';

export type DiskOp = { readonly kind: 'record'; readonly record: WalRecord } | { readonly kind: 'snapshot'; readonly snapshot: Snapshot };

export class SimDisk {
  private durable: DiskOp[] = [];
  private volatile: DiskOp[] = [];

  write(ops: readonly DiskOp[]): void {
    this.volatile.push(...ops);
  }

  sync(): void {
    this.durable.push(...this.volatile);
    this.volatile = [];
  }

  /** Power loss: a random prefix of the unsynced writes survives. Returns how many were lost. */
  crash(rng: Rng, lying = false): number {
    const kept = rng.int(0, this.volatile.length);
    this.durable.push(...this.volatile.slice(0, kept));
    let lost = this.volatile.length - kept;
    this.volatile = [];
    if (lying) {
      // A broken disk (or a missing fsync): synced writes vanish too. Used only
      // to prove that the checker notices; never in the real test runs.
      const forget = rng.int(0, Math.min(4, this.durable.length));
      this.durable.length -= forget;
      lost += forget;
    }
    return lost;
  }

  load(): RaftInitialState {
    let snapshot: Snapshot | null = null;
    const records: WalRecord[] = [];
    for (const op of this.durable) {
      if (op.kind === 'snapshot') {
        if (snapshot === null || op.snapshot.meta.index > snapshot.meta.index) snapshot = op.snapshot;
      } else {
        records.push(op.record);
      }
    }
    const { initial, needsBaseRecord } = replayWal(records, snapshot);
    if (needsBaseRecord && snapshot !== null) {
      // As LogStore.open: re-establish the lost base record before anything else.
      this.write([{ kind: 'record', record: { kind: 'base', index: snapshot.meta.index, term: snapshot.meta.term } }]);
      this.sync();
    }
    return initial;
  }

  /**
   * Model segment deletion after a local snapshot at `index` (whose mark was
   * just synced): drop the leading run of operations that only concern
   * entries ≤ index, keeping the latest hard state and snapshot among them.
   */
  compact(index: number): void {
    let cut = 0;
    while (cut < this.durable.length) {
      const op = this.durable[cut]!;
      if (op.kind === 'record' && op.record.kind === 'entry' && op.record.entry.index > index) break;
      if (op.kind === 'record' && (op.record.kind === 'mark' || op.record.kind === 'base') && op.record.index >= index) break;
      cut++;
    }
    const dropped = this.durable.slice(0, cut);
    const keep: DiskOp[] = [];
    const lastHardState = dropped.findLast((op) => op.kind === 'record' && op.record.kind === 'hardState');
    const lastSnapshot = dropped.findLast((op) => op.kind === 'snapshot');
    if (lastSnapshot !== undefined) keep.push(lastSnapshot);
    if (lastHardState !== undefined) keep.push(lastHardState);
    this.durable = [...keep, ...this.durable.slice(cut)];
  }

  durableOps(): number {
    return this.durable.length;
  }
}

// The records of the write-ahead log and how a node's durable Raft state is
// rebuilt from them. Shared by the real segment-file log store and by the
// simulator's model of a disk, so that recovery is exercised by both.
//
// A log is an ordered stream of records. An entry record whose index is not
// past the end overwrites the tail (a follower truncating a conflicting
// suffix), so truncation never rewrites earlier bytes. A 'base' record says
// "the log now starts after (index, term)": written when a snapshot from the
// leader replaces the whole log. A 'mark' record says "a snapshot covers
// (index, term)": written after a local snapshot so that the entries after it
// stay anchored once older segments are deleted.
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import type { RaftInitialState } from '../raft/core.js';

export type WalRecord =
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | { readonly kind: 'base'; readonly index: number; readonly term: number }
  | { readonly kind: 'mark'; readonly index: number; readonly term: number };

export class LogCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogCorruptError';
  }
}

/**
 * Rebuild the initial state from the newest valid snapshot and the records.
 * Entries after the snapshot are kept only when the records tie them to it
 * (they hold the snapshot's index with its term, as an entry or a base/mark);
 * otherwise they belong to a log that the snapshot replaced — a crash came
 * between the snapshot file and its base record — and the caller must append
 * that base record now (see needsBaseRecord) before appending new entries.
 */
export function replayRecords(records: Iterable<WalRecord>, snapshot: Snapshot | null): RaftInitialState {
  return replayWal(records, snapshot).initial;
}

export interface ReplayResult {
  readonly initial: RaftInitialState;
  /** The records do not tie the log to the snapshot: append { kind: 'base' } for it before anything else. */
  readonly needsBaseRecord: boolean;
}

export function replayWal(records: Iterable<WalRecord>, snapshot: Snapshot | null): ReplayResult {
  let entries: Entry[] = [];
  let hardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** Terms known at indices without an entry record (bases and marks). */
  const anchors = new Map<number, number>();
  const firstIndex = (): number => (entries.length === 0 ? 0 : entries[0]!.index);
  const lastIndex = (): number => (entries.length === 0 ? 0 : entries[entries.length - 1]!.index);
  let baseIndex = 0;

  for (const r of records) {
    switch (r.kind) {
      case 'hardState':
        hardState = r.hardState;
        break;
      case 'base':
        entries = [];
        anchors.clear();
        anchors.set(r.index, r.term);
        baseIndex = r.index;
        break;
      case 'mark':
        anchors.set(r.index, r.term);
        break;
      case 'entry': {
        const e = r.entry;
        if (entries.length > 0 && e.index <= lastIndex()) {
          // Overwrite: the log from e.index on is replaced. When e.index is before the
          // first entry we still hold (older segments were deleted after a snapshot),
          // everything we hold is replaced.
          entries.length = Math.max(0, e.index - firstIndex());
          for (const i of anchors.keys()) if (i >= e.index) anchors.delete(i);
        } else if (entries.length > 0 && e.index !== lastIndex() + 1) {
          throw new LogCorruptError(`gap in log: ${e.index} after ${lastIndex()}`);
        } else if (entries.length === 0 && baseIndex > 0 && e.index !== baseIndex + 1) {
          throw new LogCorruptError(`entry ${e.index} does not follow base ${baseIndex}`);
        }
        entries.push(e);
        break;
      }
    }
  }

  const snapIndex = snapshot?.meta.index ?? 0;
  const snapTerm = snapshot?.meta.term ?? 0;
  let needsBaseRecord = false;
  if (snapIndex > 0) {
    const at = entries.length > 0 && snapIndex >= firstIndex() && snapIndex <= lastIndex() ? entries[snapIndex - firstIndex()]!.term : anchors.get(snapIndex);
    needsBaseRecord = at !== snapTerm;
    entries = needsBaseRecord ? [] : entries.filter((e) => e.index > snapIndex);
  }
  if (entries.length > 0 && entries[0]!.index !== snapIndex + 1) {
    throw new LogCorruptError(`log starts at ${entries[0]!.index} but the snapshot ends at ${snapIndex}`);
  }
  const last = entries.length > 0 ? entries[entries.length - 1]!.index : snapIndex;
  if (hardState.commit > last) {
    throw new LogCorruptError(`hard state commit ${hardState.commit} beyond the last durable entry ${last}`);
  }
  return { initial: { hardState, snapshot, entries }, needsBaseRecord };
}

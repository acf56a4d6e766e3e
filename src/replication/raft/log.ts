// The core's in-memory view of the replicated log: a base (the last index and
// term covered by the latest snapshot) followed by every entry after it. The
// durable copy lives in the shell's log store; the core learns what is durable
// through advance(). Invariants (asserted):
//   entries are contiguous from baseIndex + 1;
//   terms never decrease along the log;
//   baseIndex ≤ applied ≤ committed ≤ lastIndex.
import { strict as assert } from 'node:assert';
import type { Entry } from './types.js';

export class RaftLog {
  baseIndex: number;
  baseTerm: number;
  committed: number;
  /** Highest index handed to the shell for applying. */
  applied: number;
  private entries: Entry[] = [];

  constructor(baseIndex: number, baseTerm: number, entries: readonly Entry[], committed: number, applied: number) {
    this.baseIndex = baseIndex;
    this.baseTerm = baseTerm;
    this.committed = baseIndex;
    this.applied = baseIndex;
    this.append(entries);
    this.committed = committed;
    this.applied = applied;
    assert(committed <= this.lastIndex(), `commit ${committed} beyond last index ${this.lastIndex()}`);
    assert(applied <= committed && applied >= baseIndex, `applied ${applied} outside [${baseIndex}, ${committed}]`);
  }

  lastIndex(): number {
    return this.baseIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.baseTerm : last.term;
  }

  firstIndex(): number {
    return this.baseIndex + 1;
  }

  /** Term of the entry at `index`; undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.baseIndex) return this.baseTerm;
    if (index < this.baseIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.baseIndex - 1] as Entry).term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.baseIndex) return undefined;
    return this.entries[index - this.baseIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Append entries that may overlap our tail. Entries that already match are
   * skipped; at the first mismatch our log is truncated. Returns the index of
   * the first entry actually written (0 if nothing changed).
   */
  append(entries: readonly Entry[]): number {
    let i = 0;
    while (i < entries.length) {
      const e = entries[i] as Entry;
      if (e.index <= this.baseIndex) {
        i++;
        continue;
      }
      if (this.term(e.index) !== e.term) break;
      i++;
    }
    if (i === entries.length) return 0;
    const first = entries[i] as Entry;
    assert(first.index <= this.lastIndex() + 1, `gap: appending ${first.index} after ${this.lastIndex()}`);
    assert(first.index > this.committed, `truncating committed entry ${first.index} (commit ${this.committed})`);
    this.entries.length = first.index - this.baseIndex - 1;
    let prevTerm = this.lastTerm();
    for (let j = i; j < entries.length; j++) {
      const e = entries[j] as Entry;
      assert(e.index === this.lastIndex() + 1, 'entries must be contiguous');
      assert(e.term >= prevTerm, `term decreases along the log at ${e.index}`);
      prevTerm = e.term;
      this.entries.push(e);
    }
    return first.index;
  }

  /**
   * Entries in [lo, hi], stopping early once `maxBytes` of data is collected
   * (at least one entry is returned when the range is not empty).
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    assert(lo > this.baseIndex, `slice from compacted index ${lo}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= Math.min(hi, this.lastIndex()); i++) {
      const e = this.entries[i - this.baseIndex - 1] as Entry;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /**
   * Largest index ≤ `index` whose term is ≤ `term` (etcd's findConflictByTerm):
   * everything after it can be skipped when probing for a match. Stops at the
   * base when earlier terms are compacted.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.baseIndex; i--) {
      const t = this.term(i) as number;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.baseIndex, term: this.baseTerm };
  }

  /** Replace everything with a snapshot base (InstallSnapshot on a follower). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.baseIndex = index;
    this.baseTerm = term;
    this.committed = index;
    this.applied = index;
  }

  /** Drop entries up to `index` (inclusive), which a snapshot now covers. */
  compact(index: number): void {
    if (index <= this.baseIndex) return;
    assert(index <= this.applied, `compacting unapplied index ${index} (applied ${this.applied})`);
    const term = this.term(index) as number;
    this.entries = this.entries.slice(index - this.baseIndex);
    this.baseIndex = index;
    this.baseTerm = term;
  }
}

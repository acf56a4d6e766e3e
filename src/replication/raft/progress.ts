// The leader's view of one follower's log, after etcd's tracker.Progress:
//   probe     — we don't know where the follower's log ends; send one append at
//               a time and wait for its answer (or a heartbeat response).
//   replicate — the follower is known to match up to `match`; stream appends
//               optimistically (pipelining), at most `maxInflight` unacknowledged.
//   snapshot  — the follower needs a snapshot; send nothing else until it is
//               acknowledged or times out.
// Invariant: match < next.

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding, wait for its answer. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshotIndex = 0;
  /** Ticks spent waiting for the snapshot acknowledgement (retry after electionTimeoutTicks). */
  snapshotWaitTicks = 0;
  /** Heard from this follower since the last CheckQuorum round. */
  recentActive = false;
  /** Last index of each unacknowledged append, oldest first (replicate state only). */
  private readonly inflight: number[] = [];

  constructor(
    next: number,
    private readonly maxInflight: number,
  ) {
    this.next = next;
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise probe from just past what we know matches.
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshotIndex + 1);
    } else {
      this.next = this.match + 1;
    }
    this.reset('probe');
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.reset('replicate');
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.reset('snapshot');
    this.pendingSnapshotIndex = snapshotIndex;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.snapshotWaitTicks = 0;
    this.inflight.length = 0;
  }

  /** A successful append response up to `index`. Returns false if it told us nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    // Acknowledged appends leave the window.
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.inflight.shift();
    return updated;
  }

  /**
   * A rejection of an append whose prevIndex was `rejected`; `probeFrom` is
   * where the follower's hint says to probe next. Returns false when the
   * rejection is stale (answers an append we already moved past).
   */
  maybeDecrease(rejected: number, probeFrom: number): boolean {
    if (this.state === 'replicate') {
      // In replicate state only a rejection of something beyond match is news.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the append we sent (next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeFrom + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Record an append we just sent that ends at `lastIndex`. */
  sentEntries(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** Can we send another append now? */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.maxInflight;
      case 'snapshot':
        return true;
    }
  }

  /** A heartbeat response proves the follower is alive: let a stuck window move again. */
  onHeartbeatResponse(): void {
    this.probeSent = false;
    // Appends may have been lost; free one slot so replication resumes (the follower
    // rejects any gap and we fall back to probing).
    if (this.state === 'replicate' && this.inflight.length >= this.maxInflight) this.inflight.shift();
  }

  inflightCount(): number {
    return this.inflight.length;
  }
}

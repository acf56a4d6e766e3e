// The leader's queue of ReadIndex requests (dissertation §6.4). A request
// records the commit index when it arrived and waits until a majority has
// acknowledged a heartbeat carrying its context, which proves that this node
// was still leader after the request arrived. Confirming a request confirms
// every request queued before it. Requests that arrive before the leader has
// committed an entry of its own term wait for that first (until then the
// leader's commit index may lag the cluster's).
import { hasQuorum } from './quorum.js';
import type { NodeId } from './types.js';

export interface ReadRequest {
  readonly context: string;
  /** Who asked: this node, or the follower that forwarded it. */
  readonly from: NodeId;
}

export interface ConfirmedRead extends ReadRequest {
  readonly index: number;
}

interface PendingRead extends ConfirmedRead {
  readonly acks: Set<NodeId>;
}

export class ReadIndexQueue {
  private pending: PendingRead[] = [];
  private awaitingTermCommit: ReadRequest[] = [];

  /** Hold a request until the leader commits an entry of its term. */
  defer(request: ReadRequest): void {
    this.awaitingTermCommit.push(request);
  }

  /** The deferred requests, now that the leader has committed in its term. */
  takeDeferred(): ReadRequest[] {
    const out = this.awaitingTermCommit;
    this.awaitingTermCommit = [];
    return out;
  }

  /** Queue a request at `index`, already acknowledged by `self`. */
  add(request: ReadRequest, index: number, self: NodeId): void {
    this.pending.push({ ...request, index, acks: new Set([self]) });
  }

  /** The newest pending context ('' if none): heartbeats carry it so that a lost round is retried. */
  newestContext(): string {
    return this.pending[this.pending.length - 1]?.context ?? '';
  }

  /** A heartbeat acknowledgement; returns the requests it confirms, oldest first. */
  ack(context: string, from: NodeId, voters: readonly NodeId[]): ConfirmedRead[] {
    const at = this.pending.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const read = this.pending[at]!;
    read.acks.add(from);
    if (!hasQuorum(voters, read.acks)) return [];
    return this.pending.splice(0, at + 1);
  }

  /** Leadership lost: every request is dropped and returned. */
  drain(): ReadRequest[] {
    const all: ReadRequest[] = [...this.pending, ...this.awaitingTermCommit];
    this.pending = [];
    this.awaitingTermCommit = [];
    return all;
  }
}

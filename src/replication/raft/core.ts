// RaftCore: the Raft state machine of one node, synchronous and free of I/O,
// timers and randomness of its own (after etcd's raft.go / rawnode.go).
//
// Inputs:  step(message), tick(), propose(data), proposeConfChange(cc),
//          readIndex(context), transferLeader(target), campaign(),
//          createSnapshot(index, data), advance().
// Outputs: ready() — hard state and entries to persist, messages to send,
//          committed entries to apply, a snapshot to install, read states.
//
// The shell must persist a Ready before sending its messages, and call
// advance() once the Ready is fully handled; only then does the core treat the
// Ready's entries as durable (a leader counts itself toward a commit quorum
// only for durable entries). step()/tick()/propose() may be called between
// ready() and advance(); their effects come out in the next Ready.
//
// Invariants asserted (a violation is our bug and stops the process):
//   the term never decreases; a node votes at most once per term;
//   commit never decreases and never passes the last index;
//   a committed entry is never truncated; at most one leader per term is
//   observed by any node (two appends from different leaders in one term).
import { strict as assert } from 'node:assert';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { hasQuorum, majorityIndex, voteOutcome } from './quorum.js';
import { applyConfChange, decodeConfChange, encodeConfChange, type ConfChange } from './confchange.js';
import { ProposalDroppedError } from './errors.js';
import { ReadIndexQueue, type ConfirmedRead } from './read-index.js';
import {
  EntryType,
  NO_NODE,
  hardStateEqual,
  type AppendMessage,
  type AppendResponse,
  type ConfState,
  type Entry,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponse,
  type Message,
  type NodeId,
  type ReadFailure,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotMessage,
  type SoftState,
  type VoteMessage,
  type VoteResponse,
} from './types.js';

/** What the shell loaded from durable storage (all empty for a brand-new node). */
export interface RaftInitialState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

export interface RaftCoreOptions {
  readonly id: NodeId;
  readonly initial: RaftInitialState;
  /** Ticks without hearing from a leader before a follower campaigns (randomised in [t, 2t)). */
  readonly electionTimeoutTicks?: number;
  readonly heartbeatIntervalTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Unacknowledged appends per follower in replicate state (pipelining depth). */
  readonly maxInflightMsgs?: number;
  /** Soft cap on entry bytes per append message (batching); one entry is always sent. */
  readonly maxMsgBytes?: number;
  /** Soft cap on entry bytes handed out for applying in one Ready. */
  readonly maxApplyBytesPerReady?: number;
  /** Largest accepted proposal (bytes). */
  readonly maxProposalBytes?: number;
  /** Index the state machine has already applied (it persists its own state); default: the snapshot index. */
  readonly appliedIndex?: number;
  /** Uniform random number in [0, 1): injected so that simulations replay exactly. */
  readonly random: () => number;
}

interface InflightReady {
  readonly lastEntry: { index: number; term: number } | null;
  readonly snapshot: Snapshot | null;
  readonly appliedTo: number;
}

const EMPTY = Buffer.alloc(0);

export class RaftCore {
  readonly id: NodeId;
  private termValue = 0;
  private voteValue: NodeId = NO_NODE;
  private roleValue: Role = 'follower';
  private leaderValue: NodeId = NO_NODE;
  readonly log: RaftLog;
  private confValue: ConfState;
  /** Configuration in force after each index (for snapshots taken at an older index). */
  private confHistory: { index: number; conf: ConfState }[];

  private readonly electionTimeoutTicks: number;
  private readonly heartbeatIntervalTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflightMsgs: number;
  private readonly maxMsgBytes: number;
  private readonly maxApplyBytesPerReady: number;
  private readonly maxProposalBytes: number;
  private readonly random: () => number;

  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTimeoutTicks = 0;

  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private leadTransferee: NodeId = NO_NODE;
  /** Index of the latest conf change the leader appended; no new one until it commits. */
  private pendingConfIndex = 0;
  private readonly reads = new ReadIndexQueue();
  /** Entries appended by propose() not yet broadcast (batched into the next Ready). */
  private broadcastPending = false;

  private outbox: Message[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];

  /** Latest snapshot of this node (sent to followers that fell behind the log). */
  private snapshotValue: Snapshot | null;
  /** A snapshot received from the leader, not yet handed to the shell. */
  private pendingSnapshot: Snapshot | null = null;
  /** Highest log index handed to the shell for persisting, and highest known durable. */
  private handedIndex: number;
  private stableIndex: number;
  private lastHardState: HardState;
  private inflight: InflightReady | null = null;

  constructor(options: RaftCoreOptions) {
    assert(options.id > 0, 'node id must be positive');
    this.id = options.id;
    this.electionTimeoutTicks = options.electionTimeoutTicks ?? 10;
    this.heartbeatIntervalTicks = options.heartbeatIntervalTicks ?? 1;
    assert(this.heartbeatIntervalTicks < this.electionTimeoutTicks, 'heartbeat must be shorter than election timeout');
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.maxInflightMsgs = options.maxInflightMsgs ?? 256;
    this.maxMsgBytes = options.maxMsgBytes ?? 1024 * 1024;
    this.maxApplyBytesPerReady = options.maxApplyBytesPerReady ?? 16 * 1024 * 1024;
    this.maxProposalBytes = options.maxProposalBytes ?? 8 * 1024 * 1024;
    this.random = options.random;

    const { hardState, snapshot, entries } = options.initial;
    const baseIndex = snapshot?.meta.index ?? 0;
    const baseTerm = snapshot?.meta.term ?? 0;
    const committed = Math.max(hardState.commit, baseIndex);
    const applied = Math.max(options.appliedIndex ?? baseIndex, baseIndex);
    this.log = new RaftLog(baseIndex, baseTerm, entries, committed, Math.min(applied, committed));
    this.termValue = hardState.term;
    this.voteValue = hardState.vote;
    this.snapshotValue = snapshot;
    this.confValue = snapshot?.meta.conf ?? { voters: [] };
    this.confHistory = [{ index: baseIndex, conf: this.confValue }];
    // Conf changes that were committed before the restart are in force again.
    this.activateConfChanges(baseIndex, committed);
    this.handedIndex = this.log.lastIndex();
    this.stableIndex = this.log.lastIndex();
    this.lastHardState = this.hardState();
    this.becomeFollower(this.termValue, NO_NODE);
  }

  // ---------------------------------------------------------------- accessors

  get term(): number {
    return this.termValue;
  }
  get vote(): NodeId {
    return this.voteValue;
  }
  get role(): Role {
    return this.roleValue;
  }
  get leader(): NodeId {
    return this.leaderValue;
  }
  get conf(): ConfState {
    return this.confValue;
  }
  get snapshot(): Snapshot | null {
    return this.snapshotValue;
  }
  hardState(): HardState {
    return { term: this.termValue, vote: this.voteValue, commit: this.log.committed };
  }
  softState(): SoftState {
    return { leader: this.leaderValue, role: this.roleValue };
  }
  /** Can this node become leader? Only voters can. */
  promotable(): boolean {
    return this.confValue.voters.includes(this.id);
  }
  /** For tests and the simulator: the leader's view of a follower. */
  progressOf(id: NodeId): Progress | undefined {
    return this.progress.get(id);
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.roleValue === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Start an election now (as if the election timer fired). */
  campaign(): void {
    this.startCampaign(this.preVote ? 'pre' : 'election');
  }

  /** Append a command; returns where it will live if it commits. */
  propose(data: Buffer): { index: number; term: number } {
    return this.appendProposal(EntryType.Normal, data);
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    if (this.roleValue === 'leader' && this.pendingConfIndex > this.log.committed) {
      throw new ProposalDroppedError('conf-change-pending', this.leaderValue);
    }
    const at = this.appendProposal(EntryType.ConfChange, encodeConfChange(cc));
    this.pendingConfIndex = at.index;
    return at;
  }

  /**
   * Ask for a linearizable read point. The answer comes back in a later Ready
   * as a ReadState with the same context (or a ReadFailure).
   */
  readIndex(context: string): void {
    if (this.roleValue === 'leader') {
      this.leaderReadIndex(context, this.id);
    } else if (this.roleValue === 'follower' && this.leaderValue !== NO_NODE) {
      this.send({ type: 'ReadIndex', to: this.leaderValue, term: this.termValue, context });
    } else {
      this.readFailures.push({ context, reason: 'no leader' });
    }
  }

  /** Hand leadership to `target` (forwarded to the leader when called on a follower). */
  transferLeader(target: NodeId): void {
    if (this.roleValue === 'leader') this.leaderTransfer(target);
    else if (this.leaderValue !== NO_NODE) {
      this.send({ type: 'TransferLeader', to: this.leaderValue, term: this.termValue, target });
    }
  }

  step(m: Message): void {
    assert(m.to === this.id, `message for ${m.to} delivered to ${this.id}`);
    if (m.term > this.termValue) {
      if (m.type === 'Vote' || m.type === 'PreVote') {
        // CheckQuorum's lease: while we hear from a live leader, ignore
        // campaigns (a partitioned or removed node cannot disrupt us).
        const inLease =
          this.checkQuorum && this.leaderValue !== NO_NODE && this.electionElapsedTicks < this.electionTimeoutTicks;
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'PreVote') {
        // A pre-vote does not change our term.
      } else if (m.type === 'PreVoteResp' && !m.reject) {
        // A granted pre-vote carries the term the candidate will run in.
      } else {
        const fromLeader = m.type === 'App' || m.type === 'Heartbeat' || m.type === 'Snap';
        this.becomeFollower(m.term, fromLeader ? m.from : NO_NODE);
      }
    } else if (m.term < this.termValue) {
      if (m.type === 'App' || m.type === 'Heartbeat') {
        // A stale leader (e.g. healed from a partition): tell it our term so it
        // steps down (§5.1). With PreVote/CheckQuorum this is its only way to learn.
        this.send({ type: 'AppResp', to: m.from, term: this.termValue, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'PreVote') {
        this.send({ type: 'PreVoteResp', to: m.from, term: this.termValue, reject: true });
      }
      return;
    }

    switch (m.type) {
      case 'Vote':
      case 'PreVote':
        this.handleVoteRequest(m);
        return;
      case 'TransferLeader':
        this.transferLeader(m.target);
        return;
    }
    switch (this.roleValue) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  /**
   * Record a snapshot the state machine took at `index` (≤ applied) and drop
   * log entries up to `index - keepEntries` (entries kept let a slightly slow
   * follower catch up without a snapshot).
   */
  createSnapshot(index: number, data: Buffer, keepEntries = 0): Snapshot {
    assert(index <= this.log.applied, `snapshot at ${index} beyond applied ${this.log.applied}`);
    assert(index >= this.log.baseIndex, `snapshot at ${index} below the log base ${this.log.baseIndex}`);
    const term = this.log.term(index);
    assert(term !== undefined, `no term for snapshot index ${index}`);
    const snapshot: Snapshot = { meta: { index, term, conf: this.confAt(index) }, data };
    this.snapshotValue = snapshot;
    this.log.compact(Math.max(this.log.baseIndex, index - keepEntries));
    // History before the log base is needed only for the configuration in force at the base.
    const base = this.log.baseIndex;
    this.confHistory = this.confHistory.filter((h, i, all) => h.index > base || (all[i + 1]?.index ?? Infinity) > base);
    return snapshot;
  }

  /**
   * While a Ready is being persisted, a leader may send its appends and
   * heartbeats at once instead of waiting for the next Ready: they reveal no
   * new term or vote, and the leader counts its own entries toward a commit
   * only after advance(). This keeps heartbeats flowing during a slow fsync
   * and lets appends of the next batch overlap the current fsync. The shell
   * must call this only when this term is already durable.
   */
  takeReplicationMessages(): Message[] {
    if (this.roleValue !== 'leader') return [];
    if (this.broadcastPending) {
      this.broadcastPending = false;
      this.broadcastAppend();
    }
    const out: Message[] = [];
    const keep: Message[] = [];
    for (const m of this.outbox) (m.type === 'App' || m.type === 'Heartbeat' || m.type === 'Snap' ? out : keep).push(m);
    this.outbox = keep;
    return out;
  }

  // ---------------------------------------------------------------- ready / advance

  hasReady(): boolean {
    if (this.inflight !== null) return false;
    return (
      this.broadcastPending ||
      this.outbox.length > 0 ||
      this.pendingSnapshot !== null ||
      this.handedIndex < this.log.lastIndex() ||
      this.log.applied < this.log.committed ||
      this.readStates.length > 0 ||
      this.readFailures.length > 0 ||
      !hardStateEqual(this.hardState(), this.lastHardState)
    );
  }

  /** Collect the next batch of work. Must be followed by advance() before the next ready(). */
  ready(): Ready {
    assert(this.inflight === null, 'ready() called again before advance()');
    if (this.broadcastPending) {
      this.broadcastPending = false;
      if (this.roleValue === 'leader') this.broadcastAppend();
    }
    const entries = this.handedIndex < this.log.lastIndex() ? this.log.slice(this.handedIndex + 1, this.log.lastIndex()) : [];
    const snapshot = this.pendingSnapshot;
    const hs = this.hardState();
    const previousHardState = this.lastHardState;
    const hardState = hardStateEqual(hs, previousHardState) ? null : hs;
    const committedEntries =
      this.log.applied < this.log.committed
        ? this.log.slice(this.log.applied + 1, this.log.committed, this.maxApplyBytesPerReady)
        : [];
    const last = entries[entries.length - 1];
    const lastCommitted = committedEntries[committedEntries.length - 1];
    this.inflight = {
      lastEntry: last === undefined ? null : { index: last.index, term: last.term },
      snapshot,
      appliedTo: lastCommitted === undefined ? this.log.applied : lastCommitted.index,
    };
    this.handedIndex = this.log.lastIndex();
    this.pendingSnapshot = null;
    this.lastHardState = hs;
    const ready: Ready = {
      softState: this.softState(),
      hardState,
      entries,
      snapshot,
      committedEntries,
      messages: this.outbox,
      readStates: this.readStates,
      readFailures: this.readFailures,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        (hardState !== null && (hardState.term !== previousHardState.term || hardState.vote !== previousHardState.vote)),
    };
    this.outbox = [];
    this.readStates = [];
    this.readFailures = [];
    return ready;
  }

  /** The last Ready has been persisted, sent and applied. */
  advance(): void {
    const done = this.inflight;
    assert(done !== null, 'advance() without ready()');
    this.inflight = null;
    if (done.snapshot !== null) {
      const index = done.snapshot.meta.index;
      this.stableIndex = Math.max(this.stableIndex, index);
      // Keep it to serve other followers should we become leader.
      if (this.snapshotValue === null || this.snapshotValue.meta.index < index) this.snapshotValue = done.snapshot;
    }
    // Entries count as durable only if they were not overwritten meanwhile.
    if (done.lastEntry !== null && this.log.term(done.lastEntry.index) === done.lastEntry.term) {
      this.stableIndex = Math.max(this.stableIndex, done.lastEntry.index);
    }
    this.stableIndex = Math.min(this.stableIndex, this.log.lastIndex());
    if (done.appliedTo > this.log.applied) this.log.applied = Math.min(done.appliedTo, this.log.committed);
    if (this.roleValue === 'leader') {
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.stableIndex) && this.maybeCommit()) this.broadcastAppend();
    }
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: NodeId): void {
    const wasLeader = this.roleValue === 'leader';
    this.setTerm(term);
    this.roleValue = 'follower';
    this.leaderValue = leader;
    this.resetTimers();
    this.progress.clear();
    this.votes.clear();
    this.leadTransferee = NO_NODE;
    this.broadcastPending = false;
    if (wasLeader) this.failPendingReads('leadership lost');
  }

  private becomePreCandidate(): void {
    assert(this.roleValue !== 'leader', 'leader cannot pre-campaign');
    // No term change and no vote: a pre-vote round is harmless to the cluster.
    this.roleValue = 'precandidate';
    this.leaderValue = NO_NODE;
    this.votes = new Map([[this.id, true]]);
    this.resetTimers();
  }

  private becomeCandidate(): void {
    assert(this.roleValue !== 'leader', 'leader cannot campaign');
    this.setTerm(this.termValue + 1);
    this.setVote(this.id);
    this.roleValue = 'candidate';
    this.leaderValue = NO_NODE;
    this.votes = new Map([[this.id, true]]);
    this.resetTimers();
  }

  private becomeLeader(): void {
    assert(this.roleValue === 'candidate', 'only a candidate becomes leader');
    this.roleValue = 'leader';
    this.leaderValue = this.id;
    this.resetTimers();
    this.leadTransferee = NO_NODE;
    this.progress.clear();
    for (const id of this.confValue.voters) {
      const pr = new Progress(this.log.lastIndex() + 1, this.maxInflightMsgs);
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.match = this.stableIndex;
      self.becomeReplicate();
    }
    // No conf change until everything in our log (and our no-op) commits: this
    // closes the single-server-change hole found after the Raft paper.
    this.pendingConfIndex = this.log.lastIndex() + 1;
    // A no-op in our term lets us commit earlier terms' entries (§5.4.2) and serve reads.
    this.appendLocal(EntryType.Normal, EMPTY);
    this.broadcastPending = true;
  }

  private resetTimers(): void {
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    this.randomizedElectionTimeoutTicks =
      this.electionTimeoutTicks + Math.floor(this.random() * this.electionTimeoutTicks);
  }

  private setTerm(term: number): void {
    assert(term >= this.termValue, `term went back from ${this.termValue} to ${term}`);
    if (term > this.termValue) {
      this.termValue = term;
      this.voteValue = NO_NODE;
    }
  }

  private setVote(id: NodeId): void {
    assert(this.voteValue === NO_NODE || this.voteValue === id, `second vote in term ${this.termValue}`);
    this.voteValue = id;
  }

  // ---------------------------------------------------------------- timers

  private tickElection(): void {
    this.electionElapsedTicks++;
    if (this.promotable() && this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsedTicks++;
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      if (this.checkQuorum) {
        const active = new Set<NodeId>([this.id]);
        for (const [id, pr] of this.progress) {
          if (pr.recentActive) active.add(id);
          if (id !== this.id) pr.recentActive = false;
        }
        if (!hasQuorum(this.confValue.voters, active)) {
          this.becomeFollower(this.termValue, NO_NODE);
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = NO_NODE;
    }
    for (const [id, pr] of this.progress) {
      if (pr.state === 'snapshot' && ++pr.snapshotWaitTicks >= this.electionTimeoutTicks) {
        // The snapshot (or its acknowledgement) was lost: probe again, which resends it.
        pr.becomeProbe();
        this.sendAppend(id);
      }
    }
    if (this.heartbeatElapsedTicks >= this.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      // Carry the newest pending read: if its confirmation round was lost, this
      // one confirms it (and every read queued before it).
      this.broadcastHeartbeat(this.reads.newestContext());
    }
  }

  // ---------------------------------------------------------------- elections

  private startCampaign(kind: 'pre' | 'election' | 'transfer'): void {
    if (!this.promotable() || this.roleValue === 'leader') return;
    if (kind === 'pre') this.becomePreCandidate();
    else this.becomeCandidate();
    const pre = kind === 'pre';
    const term = pre ? this.termValue + 1 : this.termValue;
    for (const id of this.confValue.voters) {
      if (id === this.id) continue;
      this.send({
        type: pre ? 'PreVote' : 'Vote',
        to: id,
        term,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer: kind === 'transfer',
      });
    }
    this.checkVotes();
  }

  private handleVoteRequest(m: VoteMessage): void {
    const canVote =
      this.voteValue === m.from ||
      (this.voteValue === NO_NODE && this.leaderValue === NO_NODE) ||
      (m.type === 'PreVote' && m.term > this.termValue);
    const respType = m.type === 'Vote' ? 'VoteResp' : 'PreVoteResp';
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      this.send({ type: respType, to: m.from, term: m.term, reject: false });
      if (m.type === 'Vote') {
        this.electionElapsedTicks = 0;
        this.setVote(m.from);
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.termValue, reject: true });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'App':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'Heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'Snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'VoteResp':
      case 'PreVoteResp':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expected = this.roleValue === 'precandidate' ? 'PreVoteResp' : 'VoteResp';
    if (m.type !== expected) return;
    this.votes.set(m.from, !m.reject);
    this.checkVotes();
  }

  private checkVotes(): void {
    const outcome = voteOutcome(this.confValue.voters, this.votes);
    if (outcome === 'won') {
      if (this.roleValue === 'precandidate') this.startCampaign('election');
      else this.becomeLeader();
    } else if (outcome === 'lost') {
      this.becomeFollower(this.termValue, NO_NODE);
    }
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'App':
        this.electionElapsedTicks = 0;
        this.leaderValue = m.from;
        this.handleAppend(m);
        return;
      case 'Heartbeat':
        this.electionElapsedTicks = 0;
        this.leaderValue = m.from;
        this.handleHeartbeat(m);
        return;
      case 'Snap':
        this.electionElapsedTicks = 0;
        this.leaderValue = m.from;
        this.handleSnapshot(m);
        return;
      case 'TimeoutNow':
        // Leader transfer: campaign at once, skipping PreVote and the voters' lease.
        this.startCampaign('transfer');
        return;
      case 'ReadIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      this.sendAppendResponse(m.from, this.log.committed);
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNewIndex = m.prevIndex + m.entries.length;
      const firstWritten = this.log.append(m.entries);
      if (firstWritten > 0) {
        this.handedIndex = Math.min(this.handedIndex, firstWritten - 1);
        this.stableIndex = Math.min(this.stableIndex, firstWritten - 1);
      }
      this.commitTo(Math.min(m.commit, lastNewIndex));
      this.sendAppendResponse(m.from, lastNewIndex);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.send({
      type: 'AppResp',
      to: m.from,
      term: this.termValue,
      index: m.prevIndex,
      reject: true,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private sendAppendResponse(to: NodeId, index: number): void {
    this.send({ type: 'AppResp', to, term: this.termValue, index, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    // The leader sends min(commit, what it knows we match), so this is safe.
    this.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'HeartbeatResp', to: m.from, term: this.termValue, context: m.context });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const meta = m.snapshot.meta;
    if (meta.index <= this.log.committed) {
      this.sendAppendResponse(m.from, this.log.committed);
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We already hold the entries the snapshot covers: just learn they are committed.
      this.commitTo(meta.index);
      this.sendAppendResponse(m.from, this.log.committed);
      return;
    }
    this.log.restore(meta.index, meta.term);
    this.confValue = meta.conf;
    this.confHistory = [{ index: meta.index, conf: meta.conf }];
    this.pendingSnapshot = m.snapshot;
    this.handedIndex = meta.index;
    this.stableIndex = Math.min(this.stableIndex, meta.index);
    this.sendAppendResponse(m.from, meta.index);
  }

  // ---------------------------------------------------------------- leader

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'AppResp':
        this.handleAppendResponse(m);
        return;
      case 'HeartbeatResp':
        this.handleHeartbeatResponse(m);
        return;
      case 'ReadIndex':
        this.leaderReadIndex(m.context, m.from);
        return;
      case 'App':
      case 'Heartbeat':
      case 'Snap':
        assert.fail(`two leaders in term ${this.termValue}: ${this.id} and ${m.from}`);
        return;
      default:
        return;
    }
  }

  private appendProposal(type: EntryType, data: Buffer): { index: number; term: number } {
    if (this.roleValue !== 'leader') throw new ProposalDroppedError('not-leader', this.leaderValue);
    if (this.leadTransferee !== NO_NODE) throw new ProposalDroppedError('transferring', this.leaderValue);
    if (data.length > this.maxProposalBytes) throw new ProposalDroppedError('too-large', this.leaderValue);
    const at = this.appendLocal(type, data);
    // Batching: proposals made before the next ready() go out in one append per follower.
    this.broadcastPending = true;
    return at;
  }

  private appendLocal(type: EntryType, data: Buffer): { index: number; term: number } {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.termValue, type, data };
    this.log.append([entry]);
    return { index: entry.index, term: entry.term };
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      let probeFrom = m.hintIndex;
      if (m.hintTerm > 0) probeFrom = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrease(m.index, probeFrom)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= this.log.baseIndex) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
    if (this.maybeCommit()) {
      this.broadcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    // Pipelining: keep the follower's window full.
    while (this.roleValue === 'leader' && this.progress.has(m.from) && this.sendAppend(m.from, false)) {
      // sendAppend advanced the window
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'TimeoutNow', to: m.from, term: this.termValue });
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.onHeartbeatResponse();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.context !== '') this.ackRead(m.context, m.from);
  }

  /** Send the follower what it lacks (entries, or a snapshot). Returns false if nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      // The follower needs entries we compacted: send our snapshot.
      const snapshot = this.snapshotValue;
      assert(snapshot !== null && snapshot.meta.index >= this.log.baseIndex, 'compacted log without a snapshot');
      pr.becomeSnapshot(snapshot.meta.index);
      this.send({ type: 'Snap', to, term: this.termValue, snapshot });
      return true;
    }
    const entries = pr.next <= this.log.lastIndex() ? this.log.slice(pr.next, this.log.lastIndex(), this.maxMsgBytes) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'App', to, term: this.termValue, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentEntries(prevIndex + entries.length, entries.length);
    return true;
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'Heartbeat', to: id, term: this.termValue, commit, context });
    }
  }

  /** Commit the highest index a majority holds, if it is of our term (§5.4.2). */
  private maybeCommit(): boolean {
    let changed = false;
    for (;;) {
      const index = majorityIndex(this.confValue.voters, (id) => this.progress.get(id)?.match ?? 0);
      if (index <= this.log.committed || this.log.term(index) !== this.termValue) break;
      this.commitTo(index);
      changed = true;
      if (this.roleValue !== 'leader') break;
    }
    return changed;
  }

  private commitTo(index: number): void {
    const previous = this.log.committed;
    if (!this.log.commitTo(index)) return;
    this.activateConfChanges(previous, index);
    if (this.roleValue === 'leader' && this.log.term(index) === this.termValue) {
      for (const r of this.reads.takeDeferred()) this.leaderReadIndex(r.context, r.from);
    }
  }

  // ---------------------------------------------------------------- membership

  private activateConfChanges(fromExclusive: number, toInclusive: number): void {
    for (let i = fromExclusive + 1; i <= toInclusive; i++) {
      const e = this.log.entry(i);
      if (e === undefined || e.type !== EntryType.ConfChange) continue;
      this.confValue = applyConfChange(this.confValue, decodeConfChange(e.data));
      this.confHistory.push({ index: i, conf: this.confValue });
      if (this.roleValue === 'leader') this.leaderConfChanged();
    }
  }

  private leaderConfChanged(): void {
    const voters = this.confValue.voters;
    for (const id of voters) {
      if (!this.progress.has(id)) {
        const pr = new Progress(this.log.lastIndex() + 1, this.maxInflightMsgs);
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
    for (const id of [...this.progress.keys()]) if (!voters.includes(id)) this.progress.delete(id);
    if (!voters.includes(this.id)) {
      // Removed: let the others learn the commit, then step down. They elect a
      // leader among themselves; we no longer campaign (not promotable).
      this.broadcastAppend();
      this.becomeFollower(this.termValue, NO_NODE);
      return;
    }
    if (this.leadTransferee !== NO_NODE && !voters.includes(this.leadTransferee)) this.leadTransferee = NO_NODE;
    this.broadcastPending = true;
  }

  /** Membership in force right after `index` was applied. */
  confAt(index: number): ConfState {
    let conf = this.confHistory[0]!.conf;
    for (const h of this.confHistory) if (h.index <= index) conf = h.conf;
    return conf;
  }

  // ---------------------------------------------------------------- leader transfer

  private leaderTransfer(target: NodeId): void {
    if (target === this.id || !this.progress.has(target) || this.leadTransferee === target) return;
    this.leadTransferee = target;
    this.electionElapsedTicks = 0;
    const pr = this.progress.get(target)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'TimeoutNow', to: target, term: this.termValue });
    else this.sendAppend(target);
  }

  // ---------------------------------------------------------------- ReadIndex

  private leaderReadIndex(context: string, from: NodeId): void {
    if (this.log.term(this.log.committed) !== this.termValue) {
      // Our commit index may lag the true one until our no-op commits (§6.4).
      this.reads.defer({ context, from });
      return;
    }
    const index = this.log.committed;
    if (hasQuorum(this.confValue.voters, new Set([this.id]))) {
      this.answerRead({ context, from, index });
      return;
    }
    this.reads.add({ context, from }, index, this.id);
    this.broadcastHeartbeat(context);
  }

  private ackRead(context: string, from: NodeId): void {
    for (const r of this.reads.ack(context, from, this.confValue.voters)) this.answerRead(r);
  }

  private answerRead(r: ConfirmedRead): void {
    if (r.from === this.id) this.readStates.push({ index: r.index, context: r.context });
    else this.send({ type: 'ReadIndexResp', to: r.from, term: this.termValue, index: r.index, context: r.context });
  }

  private failPendingReads(reason: string): void {
    for (const r of this.reads.drain()) if (r.from === this.id) this.readFailures.push({ context: r.context, reason });
  }

  // ---------------------------------------------------------------- plumbing

  private send(m: DistributiveOmit<Message, 'from'>): void {
    this.outbox.push({ ...m, from: this.id } as Message);
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** The state every founding member writes before its first start: the bootstrap configuration, committed. */
export function bootstrapState(voters: readonly NodeId[]): RaftInitialState {
  const entry: Entry = {
    index: 1,
    term: 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ op: 'bootstrap', voters }),
  };
  return { hardState: { term: 1, vote: NO_NODE, commit: 1 }, snapshot: null, entries: [entry] };
}

// RaftNode: the thin I/O shell around RaftCore. For each Ready it
//   1. persists the snapshot, entries and hard state (one fdatasync per batch),
//   2. sends the messages,
//   3. installs the snapshot and applies committed entries to the state machine,
//   4. calls advance(),
// in that order (etcd's contract). Proposals made during one event-loop turn
// share one Ready, hence one fsync and one append message per follower (group
// commit). Ticks come from an injected clock, messages from an injected
// transport, randomness from an injected source, and durability from an
// injected log store.
//
// The MetaLog-facing API: propose(command) resolves with the state machine's
// result once the command is committed and applied on this node;
// linearizableRead() resolves once this node's state machine reflects every
// write acknowledged before the call (ReadIndex).
import { RaftCore, bootstrapState, type RaftCoreOptions, type RaftInitialState } from './raft/core.js';
import { ProposalDroppedError } from './raft/errors.js';
import { EntryType, type Entry, type HardState, type Message, type NodeId, type Ready, type Role, type Snapshot } from './raft/types.js';
import type { ConfChange } from './raft/confchange.js';
import type { Transport } from './transport/tcp-transport.js';

/** The replicated state machine (later: the LMDB metadata store). */
export interface StateMachine<Result> {
  /** Apply one committed command. Must be deterministic. */
  apply(entry: { readonly index: number; readonly term: number; readonly data: Buffer }): Result | Promise<Result>;
  /** Serialise the state as of the last applied entry. */
  snapshot(): Buffer | Promise<Buffer>;
  /** Replace the state with a snapshot's. */
  restore(data: Buffer): void | Promise<void>;
}

/** Durable storage for the log (LogStore implements it; tests may inject others). */
export interface DurableLog {
  /** Write the batch; fdatasync it unless `sync` is false. */
  persist(batch: { snapshot: Snapshot | null; entries: readonly Entry[]; hardState: HardState | null; sync?: boolean }): Promise<void>;
  saveLocalSnapshot(snapshot: Snapshot): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  setInterval(run: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RaftNodeOptions<Result> {
  readonly id: NodeId;
  readonly log: DurableLog;
  /** What the log store recovered (LogStore.open().initial). */
  readonly initial: RaftInitialState;
  /** For a founding member whose store is empty: write the bootstrap configuration first. */
  readonly bootstrapVoters?: readonly NodeId[];
  readonly stateMachine: StateMachine<Result>;
  readonly transport: Transport;
  readonly tickMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly core?: Partial<Omit<RaftCoreOptions, 'id' | 'initial' | 'random'>>;
  /** Take a snapshot (and compact the log) every this many applied entries. */
  readonly snapshotEveryEntries?: number;
  /** Entries kept in memory behind a snapshot for slow followers. */
  readonly snapshotKeepEntries?: number;
  readonly proposalTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  /** Called when the shell fails (a disk error): the node stops; the process should exit. */
  readonly onFatal?: (error: Error) => void;
}

function isLeaderReplication(m: Message): boolean {
  return m.type === 'App' || m.type === 'Heartbeat' || m.type === 'Snap';
}

export class RaftTimeoutError extends Error {
  constructor(what: string) {
    super(`${what} timed out (outcome unknown)`);
    this.name = 'RaftTimeoutError';
  }
}

export class NodeStoppedError extends Error {
  constructor() {
    super('raft node stopped');
    this.name = 'NodeStoppedError';
  }
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: unknown;
}

interface PendingProposal<Result> extends Waiter<Result> {
  readonly term: number;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  readonly stats: NodeStats;
}

/** Counters for tests, benchmarks and metrics. */
export interface NodeStats {
  /** Ready batches that wrote something (each is one fdatasync of the WAL). */
  persistBatches: number;
  entriesPersisted: number;
  messagesSent: number;
  snapshotsInstalled: number;
  snapshotsTaken: number;
}

export class RaftNode<Result> {
  readonly core: RaftCore;
  private readonly clock: Clock;
  private readonly tickTimer: unknown;
  private processing = false;
  private again = false;
  private stopped = false;
  private fatal: Error | null = null;
  private appliedIndex: number;
  private lastSnapshotIndex: number;
  private readonly proposals = new Map<number, PendingProposal<Result | undefined>>();
  private readonly reads = new Map<string, Waiter<void>>();
  private confirmedReads: { index: number; context: string }[] = [];
  private readSeq = 0;
  private idle: (() => void) | null = null;
  /** Term and vote as last persisted (early sends must not reveal newer ones). */
  private durableTerm: number;
  private durableVote: NodeId;
  private readonly stats: NodeStats = { persistBatches: 0, entriesPersisted: 0, messagesSent: 0, snapshotsInstalled: 0, snapshotsTaken: 0 };

  private constructor(private readonly options: RaftNodeOptions<Result>, initial: RaftInitialState) {
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    this.core = new RaftCore({ ...options.core, id: options.id, initial, random });
    this.appliedIndex = this.core.log.applied;
    this.lastSnapshotIndex = initial.snapshot?.meta.index ?? 0;
    this.durableTerm = initial.hardState.term;
    this.durableVote = initial.hardState.vote;
    options.transport.onMessage((m) => this.receive(m));
    this.tickTimer = this.clock.setInterval(() => this.tick(), options.tickMs ?? 50);
  }

  /** Recover the state machine from the snapshot, write the bootstrap state if needed, and start ticking. */
  static async start<Result>(options: RaftNodeOptions<Result>): Promise<RaftNode<Result>> {
    let initial = options.initial;
    const empty = initial.snapshot === null && initial.entries.length === 0 && initial.hardState.term === 0;
    if (empty && options.bootstrapVoters !== undefined) {
      initial = bootstrapState(options.bootstrapVoters);
      await options.log.persist({ snapshot: null, entries: initial.entries, hardState: initial.hardState });
    }
    if (initial.snapshot !== null) await options.stateMachine.restore(initial.snapshot.data);
    const node = new RaftNode(options, initial);
    node.schedule();
    return node;
  }

  // ------------------------------------------------------------------ API

  /** Replicate a command; resolves with the apply result once it is committed and applied here. */
  propose(command: Buffer): Promise<Result> {
    return this.submit(() => this.core.propose(command)) as Promise<Result>;
  }

  /** Add or remove one voter; resolves once the change is committed and applied here. */
  async changeMembership(change: ConfChange): Promise<void> {
    await this.submit(() => this.core.proposeConfChange(change));
  }

  /** Resolves once this node's state machine reflects every write acknowledged before the call. */
  linearizableRead(): Promise<void> {
    if (this.stopped) return Promise.reject(this.fatal ?? new NodeStoppedError());
    const context = `${this.options.id}:${++this.readSeq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.reads.delete(context)) reject(new RaftTimeoutError('read'));
      }, this.options.readTimeoutMs ?? 5000);
      this.reads.set(context, { resolve, reject, timer });
      this.core.readIndex(context);
      this.schedule();
    });
  }

  transferLeadership(target: NodeId): void {
    this.core.transferLeader(target);
    this.schedule();
  }

  /** Start an election now (tests and operators). */
  campaign(): void {
    this.core.campaign();
    this.schedule();
  }

  status(): NodeStatus {
    const c = this.core;
    return {
      id: this.options.id,
      role: c.role,
      term: c.term,
      leader: c.leader,
      commitIndex: c.log.committed,
      appliedIndex: this.appliedIndex,
      lastIndex: c.log.lastIndex(),
      voters: c.conf.voters,
      stats: { ...this.stats },
    };
  }

  /** Stop ticking and processing; pending operations fail. Does not close the transport or log. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearInterval(this.tickTimer);
    if (this.processing) await new Promise<void>((resolve) => (this.idle = resolve));
    this.failAll(this.fatal ?? new NodeStoppedError());
  }

  // ------------------------------------------------------------------ driving the core

  private submit(append: () => { index: number; term: number }): Promise<Result | undefined> {
    if (this.stopped) return Promise.reject(this.fatal ?? new NodeStoppedError());
    let at: { index: number; term: number };
    try {
      at = append();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.schedule();
    return new Promise<Result | undefined>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.proposals.get(at.index)?.timer === timer) {
          this.proposals.delete(at.index);
          reject(new RaftTimeoutError('proposal'));
        }
      }, this.options.proposalTimeoutMs ?? 10_000);
      // An older proposal at this index lost its entry when our log was truncated there.
      const displaced = this.proposals.get(at.index);
      if (displaced !== undefined) this.settleProposal(at.index, displaced, new ProposalDroppedError('not-leader', this.core.leader));
      this.proposals.set(at.index, { term: at.term, resolve, reject, timer });
    });
  }

  private tick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.schedule();
  }

  private receive(m: Message): void {
    if (this.stopped || m.to !== this.options.id) return;
    this.core.step(m);
    this.schedule();
  }

  /** Run the Ready loop soon; everything arriving before then joins the same batch. */
  private schedule(): void {
    if (this.processing) {
      this.again = true;
      // A leader's heartbeats and appends need not wait for the fsync in progress.
      if (this.core.role === 'leader' && this.core.term === this.durableTerm) {
        const urgent = this.core.takeReplicationMessages();
        if (urgent.length > 0) {
          this.options.transport.send(urgent);
          this.stats.messagesSent += urgent.length;
        }
      }
      return;
    }
    if (this.stopped || !this.core.hasReady()) return;
    this.processing = true;
    setImmediate(() => void this.processLoop());
  }

  private async processLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.core.hasReady()) await this.handleReady(this.core.ready());
      } while (this.again && !this.stopped);
    } catch (error) {
      // A failed fsync or apply leaves us unsure what is durable: stop rather than diverge.
      this.fatal = error as Error;
      this.stopped = true;
      this.clock.clearInterval(this.tickTimer);
      this.failAll(this.fatal);
      this.options.onFatal?.(this.fatal);
    } finally {
      this.processing = false;
      this.idle?.();
      this.idle = null;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    // A leader's appends may go out before its own write (dissertation §10.2.1):
    // they reveal no vote or term change, and the leader counts itself toward
    // a commit only after advance() reports its entries durable.
    const termOrVoteChanges = rd.hardState !== null && (rd.hardState.term !== this.durableTerm || rd.hardState.vote !== this.durableVote);
    const early = rd.softState.role === 'leader' && !termOrVoteChanges ? rd.messages.filter(isLeaderReplication) : [];
    const late = early.length > 0 ? rd.messages.filter((m) => !isLeaderReplication(m)) : rd.messages;
    if (early.length > 0) this.options.transport.send(early);
    // 1. Durable before anything else leaves this node or counts toward a quorum.
    if (rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null) {
      await this.options.log.persist({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState, sync: rd.mustSync });
      if (rd.mustSync) this.stats.persistBatches++;
      if (rd.hardState !== null) {
        this.durableTerm = rd.hardState.term;
        this.durableVote = rd.hardState.vote;
      }
      this.stats.entriesPersisted += rd.entries.length;
    }
    // 2. Send.
    if (late.length > 0) this.options.transport.send(late);
    this.stats.messagesSent += rd.messages.length;
    // 3. Apply.
    if (rd.snapshot !== null) await this.installSnapshot(rd.snapshot);
    for (const entry of rd.committedEntries) await this.applyEntry(entry);
    this.confirmedReads.push(...rd.readStates);
    for (const f of rd.readFailures) this.settleRead(f.context, new ProposalDroppedError('not-leader', this.core.leader));
    this.releaseReads();
    // 4. Advance.
    this.core.advance();
    await this.maybeSnapshot();
  }

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    await this.options.stateMachine.restore(snapshot.data);
    this.appliedIndex = snapshot.meta.index;
    this.lastSnapshotIndex = snapshot.meta.index;
    this.stats.snapshotsInstalled++;
    // Proposals the snapshot covers may or may not be in it: their outcome is unknown here.
    for (const [index, p] of this.proposals) {
      if (index <= snapshot.meta.index) this.settleProposal(index, p, new RaftTimeoutError('proposal (superseded by a snapshot)'));
    }
  }

  private async applyEntry(entry: Entry): Promise<void> {
    let result: Result | undefined;
    if (entry.type === EntryType.Normal && entry.data.length > 0) {
      result = await this.options.stateMachine.apply({ index: entry.index, term: entry.term, data: entry.data });
    }
    this.appliedIndex = entry.index;
    const p = this.proposals.get(entry.index);
    if (p === undefined) return;
    if (p.term === entry.term) {
      this.proposals.delete(entry.index);
      this.clock.clearTimeout(p.timer);
      p.resolve(result);
    } else {
      // Another leader's entry took this index: ours was lost.
      this.settleProposal(entry.index, p, new ProposalDroppedError('not-leader', this.core.leader));
    }
  }

  private settleProposal(index: number, p: PendingProposal<Result | undefined>, error: Error): void {
    this.proposals.delete(index);
    this.clock.clearTimeout(p.timer);
    p.reject(error);
  }

  private releaseReads(): void {
    const waiting: { index: number; context: string }[] = [];
    for (const rs of this.confirmedReads) {
      if (rs.index <= this.appliedIndex) this.settleRead(rs.context, null);
      else waiting.push(rs);
    }
    this.confirmedReads = waiting;
  }

  private settleRead(context: string, error: Error | null): void {
    const r = this.reads.get(context);
    if (r === undefined) return;
    this.reads.delete(context);
    this.clock.clearTimeout(r.timer);
    if (error === null) r.resolve();
    else r.reject(error);
  }

  private async maybeSnapshot(): Promise<void> {
    const every = this.options.snapshotEveryEntries ?? 10_000;
    if (this.appliedIndex - this.lastSnapshotIndex < every || this.appliedIndex !== this.core.log.applied) return;
    const data = await this.options.stateMachine.snapshot();
    const snapshot = this.core.createSnapshot(this.appliedIndex, data, this.options.snapshotKeepEntries ?? 1000);
    await this.options.log.saveLocalSnapshot(snapshot);
    this.lastSnapshotIndex = snapshot.meta.index;
    this.stats.snapshotsTaken++;
  }

  private failAll(error: Error): void {
    for (const [index, p] of this.proposals) this.settleProposal(index, p, error);
    for (const context of [...this.reads.keys()]) this.settleRead(context, error);
  }
}


// A deterministic whole-cluster simulator in the spirit of TigerBeetle's VOPR:
// N RaftCores in one process on a virtual clock, a seeded faulty network
// (drop, delay, duplicate, reorder, partition and heal), seeded disks that
// lose unsynced writes on a crash, seeded crashes and restarts, leader
// transfers and membership changes, and clients that propose commands and do
// linearizable reads. Everything random comes from one seed, so a failing seed
// replays exactly.
//
// Each node is driven the way RaftNode drives a core: take a Ready, write it
// to disk and sync (after a simulated latency), then send its messages, then
// apply, then advance. The checker asserts after every event:
//   election safety     — at most one leader per term;
//   log matching        — entries with the same index and term have identical prefixes;
//   leader completeness — a new leader holds every entry committed in earlier terms;
//   state machine safety— no two nodes apply different entries at one index;
//   durability          — a restarted node never forgets a term or a vote it sent;
//   read linearizability— a read reflects every write acknowledged before it began;
// and at the end, after healing everything, that every acknowledged write is
// applied on every member and all state machines are identical.
import { RaftCore, bootstrapState } from '../../../src/replication/raft/core.js';
import { ProposalDroppedError } from '../../../src/replication/raft/errors.js';
import { EntryType, NO_NODE, type Entry, type HardState, type Message, type NodeId, type Ready } from '../../../src/replication/raft/types.js';
import type { WalRecord } from '../../../src/replication/storage/records.js';
import { native } from '../../../src/backends/native.js';
import { Rng } from './rng.js';
import { SimDisk, type DiskOp } from './disk.js';
import { SimStateMachine } from './state-machine.js';

export interface SimOptions {
  readonly seed: number;
  readonly nodeCount: number;
  /** Virtual milliseconds of faults and client load. */
  readonly faultyMs?: number;
  /** Virtual milliseconds allowed for the healed cluster to converge. */
  readonly settleMs?: number;
  readonly clients?: number;
  /** Keep the last N trace lines for a failure report. */
  readonly traceLines?: number;
  /** Self-test of the checker: disks that lose synced writes on a crash. */
  readonly lyingDisks?: boolean;
}

export interface SimStats {
  events: number;
  acked: number;
  reads: number;
  elections: number;
  crashes: number;
  snapshotsInstalled: number;
  confChanges: number;
  transfers: number;
  maxTerm: number;
  commitIndex: number;
  virtualMs: number;
}

export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    message: string,
    readonly trace: readonly string[],
  ) {
    super(`seed ${seed}: ${message}`);
    this.name = 'SimFailure';
  }
}

interface PendingProposal {
  readonly term: number;
  readonly id: string;
  readonly done: (acked: boolean) => void;
}

interface PendingRead {
  readonly floorIndex: number;
  readonly done: (ok: boolean) => void;
}

class SimNode {
  core: RaftCore | null = null;
  readonly disk = new SimDisk();
  sm = new SimStateMachine();
  busy = false;
  /** Bumped on every crash so that events scheduled for the old incarnation are ignored. */
  epoch = 0;
  /** Chain hash of this node's (handed-out) log at each index. */
  chain = new Map<number, number>();
  checkedCommit = 0;
  leaderTerms = new Set<number>();
  proposals = new Map<number, PendingProposal>();
  reads = new Map<string, PendingRead>();
  confirmedReads: { index: number; context: string }[] = [];
  /** What this node has told others, which its disk must never forget. */
  maxSentTerm = 0;
  votesSent = new Map<number, NodeId>();
  snapshotEveryEntries: number;
  tickMs: number;
  /** Term and vote as last persisted by this incarnation. */
  durableHardState: HardState = { term: 0, vote: 0, commit: 0 };

  constructor(
    readonly id: NodeId,
    rng: Rng,
  ) {
    this.snapshotEveryEntries = rng.int(8, 60);
    // Clocks drift: each node ticks at its own rate, within ±5% of 10 ms.
    this.tickMs = 10 * (0.95 + 0.1 * rng.next());
  }
}

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Binary min-heap of events by (time, insertion order): ties resolve deterministically. */
class EventQueue {
  private heap: Event[] = [];
  private seq = 0;

  push(at: number, run: () => void): void {
    const e = { at, seq: this.seq++, run };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): Event | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  get size(): number {
    return this.heap.length;
  }
}

const EVENTS_PER_RUN_MAX = 2_000_000;

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function isLeaderReplication(m: Message): boolean {
  return m.type === 'App' || m.type === 'Heartbeat' || m.type === 'Snap';
}

function chainHash(prev: number, e: Entry): number {
  const header = Buffer.alloc(9);
  header.writeUInt32BE(e.term, 0);
  header.writeUInt32BE(e.index, 4);
  header.writeUInt8(e.type, 8);
  return native.crc32c(e.data, native.crc32c(header, prev));
}

export class SimCluster {
  readonly rng: Rng;
  readonly nodes: SimNode[] = [];
  private readonly queue = new EventQueue();
  now = 0;
  readonly stats: SimStats = {
    events: 0,
    acked: 0,
    reads: 0,
    elections: 0,
    crashes: 0,
    snapshotsInstalled: 0,
    confChanges: 0,
    transfers: 0,
    maxTerm: 0,
    commitIndex: 0,
    virtualMs: 0,
  };
  private readonly trace: string[] = [];
  private readonly traceLines: number;

  // Network model, drawn from the seed.
  private dropProbability: number;
  private readonly duplicateProbability: number;
  private readonly delayMsMax: number;
  private readonly diskLatencyMsMax: number;
  private readonly coreConfig: { maxInflightMsgs: number; maxMsgBytes: number; checkQuorum: boolean; preVote: boolean };
  /** partition[id] = group number; messages only flow within a group. */
  private partition = new Map<NodeId, number>();

  // Global knowledge for the checker.
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entryChain = new Map<string, number>();
  private readonly committed: { chain: number; term: number }[] = [{ chain: 0, term: 0 }];
  private readonly ackedWrites: { id: string; index: number }[] = [];
  private maxAckedIndex = 0;
  private faultsActive = true;
  private commandSeq = 0;
  private readSeq = 0;
  private removedNode: NodeId = NO_NODE;

  constructor(private readonly options: SimOptions) {
    this.rng = new Rng(options.seed);
    this.traceLines = options.traceLines ?? 60;
    this.dropProbability = this.rng.pick([0, 0.01, 0.05, 0.15]);
    this.duplicateProbability = this.rng.pick([0, 0.02, 0.1]);
    this.delayMsMax = this.rng.pick([1, 5, 20, 60]);
    this.diskLatencyMsMax = this.rng.pick([0.1, 1, 5]);
    // Every valid configuration must be safe: vary the ones that change message patterns.
    this.coreConfig = {
      maxInflightMsgs: this.rng.pick([1, 8, 64]),
      maxMsgBytes: this.rng.pick([1, 256, 65536]),
      checkQuorum: this.rng.chance(0.7),
      preVote: this.rng.chance(0.7),
    };
    const voters = Array.from({ length: options.nodeCount }, (_, i) => i + 1);
    const boot = bootstrapState(voters);
    for (const id of voters) {
      const node = new SimNode(id, this.rng);
      node.disk.write([
        ...boot.entries.map((entry): DiskOp => ({ kind: 'record', record: { kind: 'entry', entry } })),
        { kind: 'record', record: { kind: 'hardState', hardState: boot.hardState } },
      ]);
      node.disk.sync();
      this.nodes.push(node);
    }
  }

  // ------------------------------------------------------------ driving

  run(): SimStats {
    const faultyMs = this.options.faultyMs ?? 3000;
    const settleMs = this.options.settleMs ?? 6000;
    try {
      for (const node of this.nodes) this.start(node);
      const clientCount = this.options.clients ?? 3;
      for (let c = 0; c < clientCount; c++) this.schedule(this.rng.int(0, 50), () => this.clientStep(c, NO_NODE));
      this.schedule(this.rng.int(50, 300), () => this.nemesis(faultyMs));
      this.runUntil(faultyMs);
      this.heal();
      this.runUntil(faultyMs + settleMs, () => this.converged());
      if (!this.converged()) this.fail(`cluster did not converge ${settleMs} ms after healing`);
      this.checkFinal();
      this.stats.virtualMs = this.now;
      return this.stats;
    } catch (error) {
      if (error instanceof SimFailure) throw error;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new SimFailure(this.options.seed, `exception: ${message}`, [...this.trace, 'cluster state:', this.describe()]);
    }
  }

  private runUntil(endMs: number, stop?: () => boolean): void {
    let checks = 0;
    while (this.queue.size > 0) {
      const e = this.queue.pop()!;
      if (e.at > endMs) {
        this.queue.push(e.at, e.run);
        break;
      }
      this.now = e.at;
      e.run();
      // A correct run takes ~10^4 events; a message storm at one instant would never end.
      if (++this.stats.events > EVENTS_PER_RUN_MAX) this.fail(`more than ${EVENTS_PER_RUN_MAX} events: livelock or message storm`);
      this.checkEveryStep();
      if (stop !== undefined && ++checks % 50 === 0 && stop()) break;
    }
    this.now = Math.max(this.now, endMs);
  }

  private schedule(delayMs: number, run: () => void): void {
    this.queue.push(this.now + delayMs, run);
  }

  /** Schedule work for a node's current incarnation only. */
  private scheduleFor(node: SimNode, delayMs: number, run: () => void): void {
    const epoch = node.epoch;
    this.schedule(delayMs, () => {
      if (node.epoch === epoch && node.core !== null) run();
    });
  }

  private log(line: string): void {
    this.trace.push(`${this.now.toFixed(2)}ms ${line}`);
    if (this.trace.length > this.traceLines) this.trace.shift();
  }

  private fail(message: string): never {
    throw new SimFailure(this.options.seed, message, [...this.trace, 'cluster state:', this.describe()]);
  }

  // ------------------------------------------------------------ node lifecycle

  private start(node: SimNode): void {
    const initial = node.disk.load();
    // Durability: the disk must hold every term and vote the node ever revealed.
    if (initial.hardState.term < node.maxSentTerm) {
      this.fail(`n${node.id} restarted at term ${initial.hardState.term} after sending term ${node.maxSentTerm}`);
    }
    for (const [term, votedFor] of node.votesSent) {
      if (initial.hardState.term === term && initial.hardState.vote !== votedFor) {
        this.fail(`n${node.id} forgot its vote for n${votedFor} in term ${term}`);
      }
    }
    node.core = new RaftCore({
      id: node.id,
      initial,
      electionTimeoutTicks: 10,
      heartbeatIntervalTicks: 1,
      maxInflightMsgs: this.coreConfig.maxInflightMsgs,
      maxMsgBytes: this.coreConfig.maxMsgBytes,
      checkQuorum: this.coreConfig.checkQuorum,
      preVote: this.coreConfig.preVote,
      random: () => this.rng.next(),
    });
    node.sm = new SimStateMachine();
    node.chain = new Map();
    const base = initial.snapshot?.meta.index ?? 0;
    if (initial.snapshot !== null) node.sm.restore(initial.snapshot.data);
    node.chain.set(base, this.committedChain(base, `n${node.id} restart`));
    this.extendChain(node, initial.entries);
    node.checkedCommit = base;
    node.busy = false;
    node.durableHardState = initial.hardState;
    this.log(`n${node.id} start term=${initial.hardState.term} base=${base} last=${node.core.log.lastIndex()}`);
    this.scheduleTick(node);
  }

  private crash(node: SimNode): void {
    if (node.core === null) return;
    const lost = node.disk.crash(this.rng, this.options.lyingDisks === true);
    this.log(`n${node.id} CRASH (lost ${lost} unsynced writes)`);
    node.core = null;
    node.epoch++;
    node.busy = false;
    for (const p of node.proposals.values()) p.done(false);
    for (const r of node.reads.values()) r.done(false);
    node.proposals.clear();
    node.reads.clear();
    node.confirmedReads = [];
    this.stats.crashes++;
  }

  private scheduleTick(node: SimNode): void {
    this.scheduleFor(node, node.tickMs, () => {
      node.core!.tick();
      this.kick(node);
      this.scheduleTick(node);
    });
  }

  // ------------------------------------------------------------ the shell: persist, send, apply, advance

  private kick(node: SimNode): void {
    const core = node.core;
    if (core !== null && node.busy && core.role === 'leader' && core.term === node.durableHardState.term) {
      // As RaftNode: a leader's replication messages need not wait for the fsync in progress.
      for (const m of core.takeReplicationMessages()) this.sendFrom(node, m);
    }
    if (core === null || node.busy || !core.hasReady()) return;
    const rd = core.ready();
    node.busy = true;
    this.observeReady(node, rd);
    const ops: DiskOp[] = [];
    if (rd.snapshot !== null) {
      ops.push({ kind: 'snapshot', snapshot: rd.snapshot });
      ops.push({ kind: 'record', record: { kind: 'base', index: rd.snapshot.meta.index, term: rd.snapshot.meta.term } });
    }
    for (const entry of rd.entries) ops.push({ kind: 'record', record: { kind: 'entry', entry } });
    if (rd.hardState !== null) ops.push({ kind: 'record', record: { kind: 'hardState', hardState: rd.hardState } });
    node.disk.write(ops);
    // As RaftNode: a leader's replication messages go out before its own write
    // when they reveal no new term or vote; everything else waits for the sync.
    const durable = node.durableHardState;
    const termOrVoteChanges = rd.hardState !== null && (rd.hardState.term !== durable.term || rd.hardState.vote !== durable.vote);
    const early = rd.softState.role === 'leader' && !termOrVoteChanges ? rd.messages.filter(isLeaderReplication) : [];
    const late = rd.messages.filter((m) => !early.includes(m));
    for (const m of early) this.sendFrom(node, m);
    this.scheduleFor(node, this.rng.next() * this.diskLatencyMsMax, () => {
      // A commit-index-only change is written but not synced (it may be lost in a crash).
      if (rd.mustSync) node.disk.sync();
      if (rd.hardState !== null) node.durableHardState = rd.hardState;
      for (const m of late) this.sendFrom(node, m);
      this.apply(node, rd);
      node.core!.advance();
      node.busy = false;
      this.maybeSnapshot(node);
      this.kick(node);
    });
  }

  private sendFrom(node: SimNode, m: Message): void {
    // Pre-votes carry a prospective term that is deliberately not persisted.
    if (m.type !== 'PreVote' && m.type !== 'PreVoteResp') node.maxSentTerm = Math.max(node.maxSentTerm, m.term);
    if (m.type === 'VoteResp' && !m.reject) node.votesSent.set(m.term, m.to);
    this.send(m);
  }

  private apply(node: SimNode, rd: Ready): void {
    if (rd.snapshot !== null) {
      node.sm.restore(rd.snapshot.data);
      this.stats.snapshotsInstalled++;
      this.log(`n${node.id} installed snapshot @${rd.snapshot.meta.index}`);
      for (const [index, p] of node.proposals) {
        if (index <= rd.snapshot.meta.index) {
          node.proposals.delete(index);
          p.done(false);
        }
      }
    }
    for (const e of rd.committedEntries) {
      const known = this.committed[e.index];
      if (known === undefined) this.fail(`n${node.id} applies ${e.index} which no node recorded as committed`);
      if (node.chain.get(e.index) !== known.chain) {
        this.fail(`state machine safety: n${node.id} applies a different entry at ${e.index}`);
      }
      node.sm.apply(e);
      if (e.type === EntryType.ConfChange) this.stats.confChanges++;
      const p = node.proposals.get(e.index);
      if (p !== undefined) {
        node.proposals.delete(e.index);
        const ok = e.term === p.term && e.data.toString() === p.id;
        if (ok && e.type === EntryType.Normal) {
          this.ackedWrites.push({ id: p.id, index: e.index });
          this.maxAckedIndex = Math.max(this.maxAckedIndex, e.index);
          this.stats.acked++;
        }
        p.done(ok);
      }
    }
    for (const rs of rd.readStates) node.confirmedReads.push(rs);
    for (const f of rd.readFailures) {
      const r = node.reads.get(f.context);
      if (r !== undefined) {
        node.reads.delete(f.context);
        r.done(false);
      }
    }
    this.serveReads(node);
  }

  private serveReads(node: SimNode): void {
    const remaining: { index: number; context: string }[] = [];
    for (const rs of node.confirmedReads) {
      const r = node.reads.get(rs.context);
      if (r === undefined) continue;
      if (rs.index < r.floorIndex) {
        this.fail(`stale read on n${node.id}: read index ${rs.index} < acknowledged write ${r.floorIndex}`);
      }
      if (node.sm.appliedIndex < rs.index) {
        remaining.push(rs);
        continue;
      }
      // The read sees the state at appliedIndex ≥ read index; it must be the committed one.
      const expected = this.smHashAt(node.sm.appliedIndex);
      if (expected !== undefined && expected !== node.sm.hash) this.fail(`read on n${node.id} saw a divergent state`);
      node.reads.delete(rs.context);
      this.stats.reads++;
      r.done(true);
    }
    node.confirmedReads = remaining;
  }

  private readonly smHashes = new Map<number, number>();
  private smHashAt(index: number): number | undefined {
    return this.smHashes.get(index);
  }

  private maybeSnapshot(node: SimNode): void {
    const core = node.core!;
    const applied = core.log.applied;
    this.smHashes.set(node.sm.appliedIndex, this.smHashes.get(node.sm.appliedIndex) ?? node.sm.hash);
    if (this.smHashes.get(node.sm.appliedIndex) !== node.sm.hash) {
      this.fail(`n${node.id} state machine hash differs at ${node.sm.appliedIndex}`);
    }
    const lastSnapshot = core.snapshot?.meta.index ?? 0;
    if (applied - lastSnapshot < node.snapshotEveryEntries || node.sm.appliedIndex !== applied) return;
    const keep = this.rng.int(0, 5);
    const snap = core.createSnapshot(applied, node.sm.snapshot(), keep);
    const mark: WalRecord = { kind: 'mark', index: snap.meta.index, term: snap.meta.term };
    // Like RaftNode: snapshot file synced, then the mark, then old segments deleted.
    node.disk.write([{ kind: 'snapshot', snapshot: snap }, { kind: 'record', record: mark }]);
    node.disk.sync();
    node.disk.compact(snap.meta.index);
  }

  // ------------------------------------------------------------ checker

  private committedChain(index: number, who: string): number {
    const c = this.committed[index];
    if (c === undefined) this.fail(`${who}: no committed entry known at ${index}`);
    return c.chain;
  }

  private extendChain(node: SimNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      const prev = node.chain.get(e.index - 1);
      if (prev === undefined) this.fail(`n${node.id} log has a hole before ${e.index}`);
      const h = chainHash(prev, e);
      for (let i = e.index; node.chain.delete(i); i++) {
        // truncate the node's tail at the overwritten index
      }
      node.chain.set(e.index, h);
      const key = `${e.index}:${e.term}`;
      const seen = this.entryChain.get(key);
      if (seen === undefined) this.entryChain.set(key, h);
      else if (seen !== h) this.fail(`log matching: n${node.id} holds a different log ending at (${e.index}, term ${e.term})`);
    }
  }

  private observeReady(node: SimNode, rd: Ready): void {
    const core = node.core!;
    if (rd.snapshot !== null) {
      const meta = rd.snapshot.meta;
      node.chain = new Map([[meta.index, this.committedChain(meta.index, `n${node.id} snapshot`)]]);
      node.checkedCommit = meta.index;
    }
    this.extendChain(node, rd.entries);
    if (rd.softState.role === 'leader' && !node.leaderTerms.has(core.term)) {
      node.leaderTerms.add(core.term);
      this.stats.elections++;
      this.log(`n${node.id} LEADER term=${core.term} last=${core.log.lastIndex()}`);
      this.checkLeaderCompleteness(node, core.term);
    }
    const commit = core.log.committed;
    for (let i = node.checkedCommit + 1; i <= commit; i++) {
      const h = node.chain.get(i);
      if (h === undefined) this.fail(`n${node.id} commits ${i} that it does not hold`);
      const known = this.committed[i];
      const term = core.log.term(i) ?? 0;
      if (known === undefined) {
        if (this.committed.length !== i) this.fail(`commit gap at ${i}`);
        this.committed.push({ chain: h, term });
      } else if (known.chain !== h) {
        this.fail(`n${node.id} commits a different entry at ${i}`);
      }
    }
    node.checkedCommit = Math.max(node.checkedCommit, commit);
    this.stats.commitIndex = Math.max(this.stats.commitIndex, commit);
    this.stats.maxTerm = Math.max(this.stats.maxTerm, core.term);
  }

  /** The new leader of `term` must hold every entry committed in an earlier term. */
  private checkLeaderCompleteness(node: SimNode, term: number): void {
    let k = this.committed.length - 1;
    while (k > 0 && this.committed[k]!.term >= term) k--;
    if (k <= node.core!.log.baseIndex) return; // covered by its snapshot, which is committed state
    if (node.chain.get(k) !== this.committed[k]!.chain) {
      this.fail(`leader completeness: n${node.id} leads term ${term} without committed entry ${k}`);
    }
  }

  private checkEveryStep(): void {
    for (const node of this.nodes) {
      const core = node.core;
      if (core === null || core.role !== 'leader') continue;
      const other = this.leaderOfTerm.get(core.term);
      if (other === undefined) this.leaderOfTerm.set(core.term, node.id);
      else if (other !== node.id) this.fail(`election safety: n${other} and n${node.id} both lead term ${core.term}`);
    }
  }

  private members(): SimNode[] {
    return this.nodes.filter((n) => n.id !== this.removedNode);
  }

  private converged(): boolean {
    if (this.pendingConfChange) return false;
    const members = this.members();
    const leader = members.find((n) => n.core?.role === 'leader');
    if (leader === undefined) return false;
    const last = leader.core!.log.lastIndex();
    if (leader.core!.log.committed !== last) return false;
    return members.every((n) => n.core !== null && !n.busy && n.core.log.lastIndex() === last && n.sm.appliedIndex === last);
  }

  private checkFinal(): void {
    const members = this.members();
    const reference = members[0]!;
    for (const node of members) {
      if (node.sm.hash !== reference.sm.hash || node.sm.commands.length !== reference.sm.commands.length) {
        this.fail(`n${node.id} and n${reference.id} applied different commands`);
      }
      const applied = new Set(node.sm.commands);
      for (const w of this.ackedWrites) {
        if (!applied.has(w.id)) this.fail(`acknowledged write ${w.id} (index ${w.index}) missing on n${node.id}`);
      }
    }
  }

  // ------------------------------------------------------------ network

  private send(m: Message): void {
    const to = this.nodes[m.to - 1];
    if (to === undefined) return;
    const copies = this.faultsActive && this.rng.chance(this.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.faultsActive && this.rng.chance(this.dropProbability)) continue;
      if (!this.connected(m.from, m.to)) continue;
      const delay = this.faultsActive ? this.rng.next() * this.delayMsMax : this.rng.next();
      this.schedule(delay, () => {
        if (to.core === null || !this.connected(m.from, m.to)) return;
        to.core.step(m);
        this.kick(to);
      });
    }
  }

  private connected(a: NodeId, b: NodeId): boolean {
    return (this.partition.get(a) ?? 0) === (this.partition.get(b) ?? 0);
  }

  // ------------------------------------------------------------ clients

  private liveNodes(): SimNode[] {
    return this.nodes.filter((n) => n.core !== null);
  }

  private clientStep(client: number, hint: NodeId): void {
    if (!this.faultsActive) return;
    const live = this.liveNodes();
    if (live.length === 0) {
      this.schedule(20, () => this.clientStep(client, NO_NODE));
      return;
    }
    const hinted = hint !== NO_NODE ? this.nodes[hint - 1] : undefined;
    const next = (leaderHint: NodeId, delay: number): void => this.schedule(delay, () => this.clientStep(client, leaderHint));
    if (this.rng.chance(0.3)) {
      // Reads go anywhere half of the time: followers forward them, and a deposed
      // leader that still believes in itself must not answer from its own state.
      const node = hinted?.core != null && this.rng.chance(0.5) ? hinted : this.rng.pick(live);
      this.clientRead(node, client, next);
    } else {
      this.clientWrite(hinted?.core != null ? hinted : this.rng.pick(live), client, next);
    }
  }

  private clientWrite(node: SimNode, client: number, next: (hint: NodeId, delay: number) => void): void {
    const id = `c${client}-${++this.commandSeq}`;
    const core = node.core!;
    let at: { index: number; term: number };
    try {
      at = core.propose(Buffer.from(id));
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      next(error.leader, this.rng.int(1, 20));
      return;
    }
    let finished = false;
    const done = (acked: boolean): void => {
      if (finished) return;
      finished = true;
      next(acked ? node.id : NO_NODE, this.rng.int(0, 10));
    };
    node.proposals.set(at.index, { term: at.term, id, done });
    this.scheduleTimeout(() => {
      if (node.proposals.get(at.index)?.id === id) node.proposals.delete(at.index);
      done(false);
    });
    this.kick(node);
  }

  private clientRead(node: SimNode, client: number, next: (hint: NodeId, delay: number) => void): void {
    const context = `r${client}-${++this.readSeq}`;
    let finished = false;
    const done = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      next(ok ? node.id : NO_NODE, this.rng.int(0, 10));
    };
    node.reads.set(context, { floorIndex: this.maxAckedIndex, done });
    node.core!.readIndex(context);
    this.scheduleTimeout(() => {
      node.reads.delete(context);
      done(false);
    });
    this.kick(node);
  }

  private scheduleTimeout(run: () => void): void {
    this.schedule(500, run);
  }

  // ------------------------------------------------------------ nemesis

  private pendingConfChange = false;

  private nemesis(faultyMs: number): void {
    if (this.now >= faultyMs) return;
    const action = this.rng.int(0, 99);
    const live = this.liveNodes();
    if (action < 20) {
      // Partition: random groups (often a minority cut off, sometimes a 3-way split).
      const groups = this.rng.int(2, 3);
      this.partition = new Map(this.nodes.map((n) => [n.id, this.rng.int(0, groups - 1)]));
      this.log(`partition ${[...this.partition].map(([id, g]) => `n${id}:${g}`).join(' ')}`);
    } else if (action < 38) {
      this.partition.clear();
      this.log('heal partition');
    } else if (action < 55) {
      if (live.length > 0) {
        const victim = this.rng.pick(live);
        this.crash(victim);
        this.schedule(this.rng.int(5, 400), () => this.restart(victim));
      }
    } else if (action < 65) {
      const leader = live.find((n) => n.core!.role === 'leader');
      if (leader !== undefined) {
        const target = this.rng.pick(leader.core!.conf.voters);
        this.log(`transfer leadership n${leader.id} → n${target}`);
        this.stats.transfers++;
        leader.core!.transferLeader(target);
        this.kick(leader);
      }
    } else if (action < 75) {
      this.membershipChange();
    } else if (action < 85) {
      this.dropProbability = this.rng.pick([0, 0.01, 0.05, 0.15, 0.4]);
      this.log(`drop probability ${this.dropProbability}`);
    } else {
      // A quiet period.
    }
    this.schedule(this.rng.int(20, 300), () => this.nemesis(faultyMs));
  }

  private restart(node: SimNode): void {
    if (node.core !== null) return;
    this.start(node);
  }

  /** Remove a voter, or add the removed one back (single-server changes; 5-node clusters only keep ≥ 4). */
  private membershipChange(): void {
    if (this.options.nodeCount < 5 || this.pendingConfChange) return;
    const leader = this.liveNodes().find((n) => n.core!.role === 'leader');
    if (leader === undefined) return;
    const core = leader.core!;
    const cc =
      this.removedNode === NO_NODE
        ? { op: 'remove' as const, nodeId: this.rng.pick(core.conf.voters.filter((id) => id !== leader.id)) }
        : { op: 'add' as const, nodeId: this.removedNode };
    let at: { index: number; term: number };
    try {
      at = core.proposeConfChange(cc);
    } catch (error) {
      if (error instanceof ProposalDroppedError) return;
      throw error;
    }
    this.log(`propose ${cc.op} n${cc.nodeId} at ${at.index}`);
    this.pendingConfChange = true;
    const id = core.log.entry(at.index)!.data.toString();
    leader.proposals.set(at.index, {
      term: at.term,
      id,
      done: (ok) => {
        this.pendingConfChange = false;
        if (ok) this.removedNode = cc.op === 'remove' ? cc.nodeId : NO_NODE;
        this.log(`conf change ${cc.op} n${cc.nodeId} ${ok ? 'applied' : 'lost'}`);
        if (!ok) this.unknownConfOutcome();
      },
    });
    this.schedule(500, () => {
      const p = leader.proposals.get(at.index);
      if (p !== undefined && p.id === id) {
        leader.proposals.delete(at.index);
        p.done(false);
      }
    });
    this.kick(leader);
  }

  /** A conf change whose fate we did not see: learn it from the cluster's committed configuration. */
  private unknownConfOutcome(): void {
    this.pendingConfChange = true;
    this.schedule(50, () => {
      const n = this.liveNodes().find((x) => x.core!.role === 'leader');
      if (n === undefined) {
        this.unknownConfOutcome();
        return;
      }
      // Wait for the leader's own log to commit everything it has: then its conf is final.
      const core = n.core!;
      if (core.log.committed < core.log.lastIndex()) {
        this.unknownConfOutcome();
        return;
      }
      const missing = this.nodes.map((x) => x.id).filter((id) => !core.conf.voters.includes(id));
      this.removedNode = missing[0] ?? NO_NODE;
      this.pendingConfChange = false;
    });
  }

  private heal(): void {
    this.faultsActive = false;
    this.partition.clear();
    this.log('HEAL: network reliable, every node restarted');
    for (const node of this.nodes) if (node.core === null) this.start(node);
    // Client operations still waiting may complete (then they count as acknowledged) or not.
    this.ensureMembership();
  }

  /** After healing, add back a removed node so that every node must converge. */
  private ensureMembership(): void {
    this.schedule(50, () => {
      if (this.pendingConfChange) {
        this.ensureMembership();
        return;
      }
      if (this.removedNode === NO_NODE) return;
      this.membershipChange();
      this.ensureMembership();
    });
  }

  /** Describe the cluster (for failure reports). */
  describe(): string {
    return this.nodes
      .map((n) => {
        const c = n.core;
        if (c === null) return `n${n.id}: down`;
        return `n${n.id}: ${c.role} term=${c.term} last=${c.log.lastIndex()} commit=${c.log.committed} applied=${n.sm.appliedIndex} voters=${c.conf.voters.join(',')}`;
      })
      .join('\n');
  }
}

/** Run one seed; throws SimFailure (with the seed and a trace) on any violation. */
export function runSeed(options: SimOptions): SimStats {
  return new SimCluster(options).run();
}

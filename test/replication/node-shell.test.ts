// Goal: the RaftNode shell keeps etcd's order — nothing is sent while the
// Ready's state is still being persisted — batches the proposals of one
// event-loop turn into one fsync (group commit), resolves propose() with the
// state machine's result and linearizableRead() only after a quorum confirms
// leadership, and stops (failing pending work) when the disk fails. Time,
// network and disk are injected; the state machine is the real KV one.
import t, { type Test } from 'tap';
import { RaftNode, type Clock, type DurableLog } from '../../src/replication/node.js';
import { bootstrapState } from '../../src/replication/raft/core.js';
import { ProposalDroppedError } from '../../src/replication/raft/errors.js';
import { KvStateMachine, encodePut } from '../../src/replication/kv-state-machine.js';
import type { Transport } from '../../src/replication/transport/tcp-transport.js';
import type { Entry, HardState, Message, NodeId, Snapshot } from '../../src/replication/raft/types.js';
import { Rng } from './sim/rng.js';

class ManualClock implements Clock {
  private intervals = new Map<number, () => void>();
  private next = 1;
  setInterval(run: () => void): unknown {
    const h = this.next++;
    this.intervals.set(h, run);
    return h;
  }
  clearInterval(h: unknown): void {
    this.intervals.delete(h as number);
  }
  setTimeout(): unknown {
    return this.next++; // timeouts never fire: tests finish well within them
  }
  clearTimeout(): void {}
  tick(): void {
    for (const run of [...this.intervals.values()]) run();
  }
}

/** An in-memory log that takes a few milliseconds to "fsync" and knows what is durable. */
class SlowLog implements DurableLog {
  batches = 0;
  failNext = false;
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** Durable entry terms by index. */
  readonly terms = new Map<number, number>();
  async persist(batch: { snapshot: Snapshot | null; entries: readonly Entry[]; hardState: HardState | null }): Promise<void> {
    await new Promise((r) => setTimeout(r, 2));
    if (this.failNext) throw new Error('EIO: fdatasync failed');
    for (const e of batch.entries) this.terms.set(e.index, e.term);
    if (batch.hardState !== null) this.hardState = batch.hardState;
    this.batches++;
  }

  /** Why sending `m` now would reveal state that is not yet durable (null if it would not). */
  notDurable(m: Message): string | null {
    if (m.type !== 'PreVote' && m.type !== 'PreVoteResp' && m.term > this.hardState.term) return `term ${m.term}`;
    if (m.type === 'VoteResp' && !m.reject && this.hardState.vote !== m.to) return `vote for ${m.to}`;
    if (m.type === 'AppResp' && !m.reject && m.index > 0 && !this.terms.has(m.index)) return `entry ${m.index}`;
    // A leader's App may carry entries it has not yet persisted (dissertation §10.2.1).
    return null;
  }
  async saveLocalSnapshot(): Promise<void> {}
  async close(): Promise<void> {}
}

class LocalNet {
  readonly handlers = new Map<NodeId, (m: Message) => void>();
  readonly logs = new Map<NodeId, SlowLog>();
  violations: string[] = [];
  transport(id: NodeId): Transport {
    return {
      send: (messages) => {
        for (const m of messages) {
          const missing = this.logs.get(id)!.notDurable(m);
          if (missing !== null) this.violations.push(`node ${id} sent ${m.type} before ${missing} was durable`);
          setImmediate(() => this.handlers.get(m.to)?.(m));
        }
      },
      onMessage: (handler) => void this.handlers.set(id, handler),
      close: async () => {},
    };
  }
}

async function startCluster(t: Test) {
  const clock = new ManualClock();
  const net = new LocalNet();
  const nodes = new Map<NodeId, RaftNode<number>>();
  const sms = new Map<NodeId, KvStateMachine>();
  let fatal: Error | null = null;
  for (const id of [1, 2, 3]) {
    const log = new SlowLog();
    net.logs.set(id, log);
    const sm = new KvStateMachine();
    sms.set(id, sm);
    const rng = new Rng(id);
    nodes.set(
      id,
      await RaftNode.start({
        id,
        log,
        initial: { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: null, entries: [] },
        bootstrapVoters: [1, 2, 3],
        stateMachine: sm,
        transport: net.transport(id),
        clock,
        random: () => rng.next(),
        onFatal: (e) => (fatal = e),
      }),
    );
  }
  t.teardown(async () => {
    for (const n of nodes.values()) await n.stop();
  });
  const settle = () => new Promise((r) => setTimeout(r, 30));
  return { clock, net, nodes, sms, settle, fatal: () => fatal };
}

t.test('shell order, results, reads and group commit', async (t) => {
  const { clock, net, nodes, sms, settle } = await startCluster(t);
  t.same(bootstrapState([1, 2, 3]).entries.length, 1);
  nodes.get(1)!.campaign();
  await settle();
  t.equal(nodes.get(1)!.status().role, 'leader');

  await t.rejects(nodes.get(2)!.propose(encodePut('k', Buffer.from('v'))), ProposalDroppedError, 'followers refuse proposals');

  const leader = nodes.get(1)!;
  const batchesBefore = net.logs.get(1)!.batches;
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.propose(encodePut(`k${i}`, Buffer.from(`v${i}`)))));
  t.equal(new Set(results).size, 50, 'each proposal resolved with its own apply result (its log index)');
  t.ok(results.every((r, i) => i === 0 || r === results[i - 1]! + 1), 'in proposal order');
  const leaderBatches = net.logs.get(1)!.batches - batchesBefore;
  t.ok(leaderBatches <= 3, `50 proposals of one turn took ${leaderBatches} fsync batches on the leader`);

  // Heartbeats spread the commit index; then a follower read must see every write.
  clock.tick();
  await settle();
  await nodes.get(3)!.linearizableRead();
  t.equal(sms.get(3)!.data.get('k49')?.toString(), 'v49', 'a linearizable read on a follower sees the acknowledged write');
  t.same(net.violations, [], 'no node sent a message revealing state that was not yet durable');
});

t.test('a failed fsync stops the node and fails its pending proposals', async (t) => {
  const { net, nodes, settle, fatal } = await startCluster(t);
  nodes.get(1)!.campaign();
  await settle();
  net.logs.get(1)!.failNext = true;
  await t.rejects(nodes.get(1)!.propose(encodePut('x', Buffer.from('y'))), /EIO/);
  t.match(fatal()?.message, /EIO/, 'onFatal was told');
  await t.rejects(nodes.get(1)!.propose(encodePut('x', Buffer.from('y'))), /EIO/, 'the node refuses work afterwards');
});

// Goal: RaftCore behaves as the Raft paper (Ongaro & Ousterhout, "In Search of
// an Understandable Consensus Algorithm", extended version) and the
// dissertation specify. Each test is named after the section whose rule it
// checks, after etcd's raft_paper_test.go; the scenarios are driven message by
// message through the synchronous test network.
import t from 'tap';
import { Net, newCore } from './helpers.js';
import { RaftCore } from '../../src/replication/raft/core.js';
import { ProposalDroppedError } from '../../src/replication/raft/errors.js';
import { EntryType, type Entry, type Message, type NodeId } from '../../src/replication/raft/types.js';
import { encodeConfChange } from '../../src/replication/raft/confchange.js';

const PAPER = { preVote: false, checkQuorum: false } as const;

function cmd(s: string): Buffer {
  return Buffer.from(s);
}

/** A log whose index-1 entry is the bootstrap configuration and whose later entries have the given terms. */
function logWithTerms(voters: readonly NodeId[], terms: readonly number[]): Entry[] {
  const entries: Entry[] = [
    { index: 1, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ op: 'bootstrap', voters }) },
  ];
  terms.forEach((term, i) => entries.push({ index: i + 2, term, type: EntryType.Normal, data: cmd(`${i + 2}@${term}`) }));
  return entries;
}

function coreWithLog(id: NodeId, voters: readonly NodeId[], terms: readonly number[], term: number): RaftCore {
  return newCore(id, voters, { ...PAPER, initial: { hardState: { term, vote: 0, commit: 1 }, snapshot: null, entries: logWithTerms(voters, terms) } });
}

/** Why a proposal was dropped ('accepted' if it was not). */
function dropReason(propose: () => unknown): string {
  try {
    propose();
    return 'accepted';
  } catch (error) {
    if (error instanceof ProposalDroppedError) return error.reason;
    throw error;
  }
}

function termsOf(core: RaftCore): number[] {
  const out: number[] = [];
  for (let i = core.log.firstIndex(); i <= core.log.lastIndex(); i++) out.push(core.log.term(i)!);
  return out;
}

function appendResp(from: NodeId, to: NodeId, term: number, index: number): Message {
  return { type: 'AppResp', from, to, term, index, reject: false, hintIndex: 0, hintTerm: 0 };
}

t.test('§5.1 a node that sees a higher term adopts it and becomes follower', async (t) => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    const net = new Net([1, 2, 3], PAPER);
    net.stabilize();
    const c = net.core(1);
    if (role === 'candidate') c.campaign();
    if (role === 'leader') net.elect(1);
    t.equal(c.role, role);
    c.step(appendResp(2, 1, 9, 0));
    t.equal(c.term, 9, `${role} adopts term 9`);
    t.equal(c.role, 'follower', `${role} becomes follower`);
    t.equal(c.vote, 0, 'no vote in the new term yet');
  }
});

t.test('§5.1 a stale leader learns the new term from the replies to its appends', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.elect(1);
  net.isolate(1);
  net.elect(2);
  net.heal();
  t.equal(net.core(1).role, 'leader', 'the old leader still believes it leads');
  net.tick(1); // heartbeat at the old term
  net.stabilize();
  t.equal(net.core(1).role, 'follower');
  t.equal(net.core(1).term, net.core(2).term);
});

t.test('§5.2 a follower that hears nothing for an election timeout starts an election', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.stabilize();
  const c = net.core(1);
  const termBefore = c.term;
  net.tick(1, 20); // the randomised timeout is below 2 × 10 ticks
  t.equal(c.role, 'candidate');
  t.equal(c.term, termBefore + 1, 'increments its term');
  t.equal(c.vote, 1, 'votes for itself');
  const rd = c.ready();
  const votes = rd.messages.filter((m) => m.type === 'Vote');
  t.same(votes.map((m) => m.to).sort(), [2, 3], 'asks every other voter');
  t.equal(rd.hardState?.vote, 1, 'the vote is in the hard state of the same Ready (persisted before sending)');
});

t.test('§5.2 election timeouts are randomised in [timeout, 2 × timeout)', async (t) => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const c = newCore(1, [1, 2, 3], PAPER, seed);
    let ticks = 0;
    while (c.role === 'follower') {
      c.tick();
      ticks++;
    }
    t.ok(ticks >= 10 && ticks < 20, `timeout ${ticks} in range`);
    seen.add(ticks);
  }
  t.ok(seen.size >= 8, `timeouts spread over ${seen.size} values`);
});

t.test('§5.2 a candidate with a majority of votes becomes leader and asserts itself', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.elect(1);
  t.equal(net.core(1).leader, 1);
  t.equal(net.core(2).leader, 1);
  t.equal(net.core(3).leader, 1);
  t.equal(net.core(2).term, net.core(1).term);
});

t.test('§5.2 each server votes for at most one candidate per term, first come first served', async (t) => {
  const c = newCore(3, [1, 2, 3], PAPER);
  const vote = (from: NodeId): Message => ({ type: 'Vote', from, to: 3, term: 5, lastLogIndex: 1, lastLogTerm: 1, transfer: false });
  c.step(vote(1));
  c.step(vote(2));
  c.step(vote(1)); // a retransmission to the same candidate is granted again
  const resps = c.ready().messages.filter((m) => m.type === 'VoteResp');
  t.same(
    resps.map((m) => [m.to, m.type === 'VoteResp' && m.reject]),
    [
      [1, false],
      [2, true],
      [1, false],
    ],
  );
  t.equal(c.vote, 1);
});

t.test('§5.2 a candidate that hears from a leader of its term steps down', async (t) => {
  const c = newCore(2, [1, 2, 3], PAPER);
  c.campaign();
  t.equal(c.role, 'candidate');
  c.step({ type: 'Heartbeat', from: 1, to: 2, term: c.term, commit: 0, context: '' });
  t.equal(c.role, 'follower');
  t.equal(c.leader, 1);
});

t.test('§5.2 a split vote ends in a new election at a higher term', async (t) => {
  const net = new Net([1, 2, 3, 4], PAPER);
  net.stabilize();
  // 1 and 2 campaign at once; 3 votes for 1 and 4 votes for 2: nobody has 3 of 4.
  net.cutLink(1, 4);
  net.cutLink(2, 3);
  net.core(1).campaign();
  net.core(2).campaign();
  net.stabilize();
  t.equal(net.core(1).role, 'candidate');
  t.equal(net.core(2).role, 'candidate');
  const term = net.core(1).term;
  net.heal();
  net.tickAll(40);
  const leaders = [...net.cores.values()].filter((c) => c.role === 'leader');
  t.equal(leaders.length, 1, 'one leader after the timeouts');
  t.ok(leaders[0]!.term > term, 'in a later term');
});

t.test('§5.3 the leader replicates a proposal and every node applies it once committed', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.elect(1);
  net.core(1).propose(cmd('x'));
  net.core(1).propose(cmd('y'));
  net.stabilize();
  net.tickAll(2); // heartbeats carry the commit index to followers
  for (const id of [1, 2, 3]) t.same(net.commands(id), ['x', 'y'], `node ${id} applied x, y`);
});

t.test('§5.3 an entry commits only once a majority stores it', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.elect(1);
  net.isolate(2);
  net.isolate(3);
  const { index } = net.core(1).propose(cmd('x'));
  net.stabilize();
  t.ok(net.core(1).log.committed < index, 'not committed with only the leader');
  net.heal();
  net.tickAll(2);
  t.ok(net.core(1).log.committed >= index, 'committed once followers store it');
  t.same(net.commands(1), ['x']);
});

t.test('§5.3 a follower rejects an append whose previous entry does not match, and hints where to probe', async (t) => {
  const c = coreWithLog(2, [1, 2, 3], [2, 2, 3], 3);
  c.step({ type: 'App', from: 1, to: 2, term: 4, prevIndex: 4, prevTerm: 4, entries: [], commit: 1 });
  const resp = c.ready().messages.find((m) => m.type === 'AppResp');
  t.ok(resp !== undefined && resp.type === 'AppResp');
  if (resp?.type !== 'AppResp') return;
  t.equal(resp.reject, true);
  t.equal(resp.index, 4, 'names the rejected prevIndex');
  // Our entry 4 has term 3 ≤ 4: probing can restart right there.
  t.same([resp.hintIndex, resp.hintTerm], [4, 3]);
});

t.test('§5.3 a follower deletes a conflicting suffix and appends the leader entries', async (t) => {
  const c = coreWithLog(2, [1, 2, 3], [2, 2, 2], 2);
  const entries: Entry[] = [
    { index: 3, term: 3, type: EntryType.Normal, data: cmd('a') },
    { index: 4, term: 3, type: EntryType.Normal, data: cmd('b') },
  ];
  c.step({ type: 'App', from: 1, to: 2, term: 3, prevIndex: 2, prevTerm: 2, entries, commit: 1 });
  t.same(termsOf(c), [1, 2, 3, 3]);
  const rd = c.ready();
  t.same(
    rd.entries.map((e) => [e.index, e.term]),
    [
      [3, 3],
      [4, 3],
    ],
    'the Ready asks the shell to overwrite from index 3',
  );
});

t.test('§5.3 Figure 7: the leader brings every kind of divergent follower in line', async (t) => {
  // Terms of entries 2.. (entry 1 is the bootstrap configuration, term 1).
  const leaderTerms = [1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 4],
    c: [1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 4, 4, 4, 4],
    f: [1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, terms] of Object.entries(followers)) {
    const net = new Net([], PAPER);
    net.add(coreWithLog(1, [1, 2, 3], leaderTerms, 7));
    net.add(coreWithLog(2, [1, 2, 3], terms, 7));
    net.add(coreWithLog(3, [1, 2, 3], leaderTerms, 7)); // votes for the leader
    net.cutLink(2, 1); // the follower's own vote does not matter
    net.elect(1);
    net.heal();
    net.tickAll(3);
    t.same(termsOf(net.core(2)), termsOf(net.core(1)), `follower (${name}) matches the leader`);
    t.same(net.commands(2), net.commands(1), `follower (${name}) applied what the leader applied`);
  }
});

t.test('§5.4.1 a voter denies its vote to a candidate whose log is less up-to-date', async (t) => {
  const c = coreWithLog(3, [1, 2, 3], [2, 3], 3);
  const ask = (from: NodeId, lastLogIndex: number, lastLogTerm: number): boolean => {
    c.step({ type: 'Vote', from, to: 3, term: 4 + from, lastLogIndex, lastLogTerm, transfer: false });
    const resp = c.ready().messages.find((m) => m.type === 'VoteResp');
    c.advance();
    return resp?.type === 'VoteResp' && !resp.reject;
  };
  t.equal(ask(1, 9, 2), false, 'older last term, longer log: denied');
  t.equal(ask(2, 2, 3), false, 'same last term, shorter log: denied');
  t.equal(ask(4, 3, 3), true, 'same last term, same length: granted');
  t.equal(ask(5, 1, 4), true, 'newer last term: granted');
});

t.test('§5.4.2 a leader never commits an entry of an earlier term by counting replicas (Figure 8)', async (t) => {
  // Node 2 leads term 3 with [1, 2@2, 3@2] and its own no-op at 4. Node 3
  // lacks 3; once it acknowledges 3 (one entry per message), entry 3 is on a
  // majority (2 and 3), but it is from term 2 and must not commit until 4 does.
  const boot: Entry[] = logWithTerms([1, 2, 3], [2, 2]);
  const init = (entries: Entry[]) => ({ ...PAPER, maxMsgBytes: 1, initial: { hardState: { term: 2, vote: 0, commit: 2 }, snapshot: null, entries } });
  const leader = newCore(2, [1, 2, 3], init(boot));
  const follower = newCore(3, [1, 2, 3], init(boot.slice(0, 2)));
  leader.campaign();
  leader.step({ type: 'VoteResp', from: 3, to: 2, term: 3, reject: false });
  t.equal(leader.role, 'leader');
  let committedEarly = false;
  let sawAckOf3 = false;
  for (let round = 0; round < 20; round++) {
    for (const core of [leader, follower]) {
      if (!core.hasReady()) continue;
      const rd = core.ready();
      core.advance();
      for (const m of rd.messages) {
        if (m.to !== 3 && m.to !== 2) continue; // node 1 is unreachable
        (m.to === 3 ? follower : leader).step(m);
        if (m.type === 'AppResp' && m.to === 2 && !m.reject && m.index === 3) {
          sawAckOf3 = true;
          if (leader.log.committed >= 3) committedEarly = true;
        }
      }
    }
  }
  t.ok(sawAckOf3, 'the follower acknowledged entry 3 on its own');
  t.notOk(committedEarly, 'entry 3 (term 2) did not commit on that acknowledgement');
  t.equal(leader.log.committed, 4, 'it commits together with the no-op of term 3');
});

t.test('§5.3 a follower commits no further than the entries the leader proved it holds', async (t) => {
  // The follower's entry 3 (term 2) is stale; the leader's entry 3 differs. An
  // append that proves only up to 2 must not commit 3 even if the leader's commit is 3.
  const c = coreWithLog(2, [1, 2, 3], [2, 2], 2);
  c.step({ type: 'App', from: 1, to: 2, term: 3, prevIndex: 2, prevTerm: 2, entries: [], commit: 3 });
  t.equal(c.log.committed, 2);
});

t.test('§5.5 a follower answers a duplicate append idempotently', async (t) => {
  const c = coreWithLog(2, [1, 2, 3], [2], 2);
  const e: Entry = { index: 3, term: 2, type: EntryType.Normal, data: cmd('x') };
  const app: Message = { type: 'App', from: 1, to: 2, term: 2, prevIndex: 2, prevTerm: 2, entries: [e], commit: 3 };
  c.step(app);
  c.step(app);
  t.same(termsOf(c), [1, 2, 2]);
  const acks = c.ready().messages.filter((m) => m.type === 'AppResp' && !m.reject);
  t.equal(acks.length, 2);
});

t.test('§6 (dissertation §4.1) a new server catches up from the log and becomes a voter', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.core(1).propose(cmd('before'));
  net.stabilize();
  net.add(newCore(4, [], { initial: { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: null, entries: [] } }));
  t.equal(net.core(4).promotable(), false, 'an empty new node does not campaign');
  net.core(1).proposeConfChange({ op: 'add', nodeId: 4 });
  net.stabilize();
  net.tickAll(3);
  for (const id of [1, 2, 3, 4]) t.same(net.core(id).conf.voters, [1, 2, 3, 4], `node ${id} knows 4 voters`);
  t.same(net.commands(4), ['before'], 'the new node replayed the log');
  // Four voters need three: the leader and the new node alone cannot commit.
  net.isolate(2);
  net.isolate(3);
  const { index } = net.core(1).propose(cmd('needs-3-of-4'));
  net.tickAll(3);
  t.ok(net.core(1).log.committed < index);
});

t.test('§6 removing the leader: it steps down once the change commits and the others elect a leader', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.core(1).proposeConfChange({ op: 'remove', nodeId: 1 });
  net.stabilize();
  t.not(net.core(1).role, 'leader');
  t.equal(net.core(1).promotable(), false);
  net.tickAll(40);
  const leader = [2, 3].find((id) => net.core(id).role === 'leader');
  t.ok(leader !== undefined, 'a remaining node leads');
  t.same(net.core(leader!).conf.voters, [2, 3]);
  net.core(leader!).propose(cmd('after'));
  net.tickAll(3);
  t.same(net.commands(2).slice(-1), ['after']);
  t.same(net.commands(3).slice(-1), ['after']);
});

t.test('§6 one membership change at a time, and none before the leader commits in its term', async (t) => {
  const net = new Net([1, 2, 3]);
  net.drop('AppResp');
  net.elect(1);
  t.throws(() => net.core(1).proposeConfChange({ op: 'add', nodeId: 4 }), ProposalDroppedError, 'no-op not committed yet');
  net.heal();
  net.tickAll(2);
  net.isolate(2);
  net.isolate(3);
  net.core(1).proposeConfChange({ op: 'add', nodeId: 4 });
  t.equal(dropReason(() => net.core(1).proposeConfChange({ op: 'remove', nodeId: 2 })), 'conf-change-pending');
});

t.test('§6.4 ReadIndex: the leader answers only after a heartbeat round confirms its leadership', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.drop('HeartbeatResp');
  net.core(1).readIndex('r1');
  net.stabilize();
  t.same(net.readStates.get(1), [], 'no answer without confirmation');
  net.heal();
  net.tickAll(1); // the next heartbeat carries the pending read's context
  t.same(net.readStates.get(1), [{ index: net.core(1).log.committed, context: 'r1' }]);
});

t.test('§6.4 ReadIndex on a follower is forwarded to the leader', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.core(1).propose(cmd('x'));
  net.stabilize();
  net.core(3).readIndex('f1');
  net.stabilize();
  const rs = net.readStates.get(3)!;
  t.equal(rs.length, 1);
  t.equal(rs[0]!.index, net.core(1).log.committed, "the leader's commit index");
});

t.test('§6.4 a deposed leader cannot complete a read', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.elect(1);
  net.isolate(1);
  net.elect(2);
  net.core(2).propose(cmd('newer'));
  net.stabilize();
  net.core(1).readIndex('stale');
  net.stabilize();
  t.same(net.readStates.get(1), [], 'no quorum confirms the old leader');
  net.heal();
  net.tick(1);
  net.stabilize();
  t.same(net.readStates.get(1), []);
  t.same(
    net.readFailures.get(1)!.map((f) => f.context),
    ['stale'],
    'the read fails when the node learns it was deposed',
  );
});

t.test('§6.4 a new leader answers reads only once its own no-op is committed', async (t) => {
  const net = new Net([1, 2, 3]);
  net.drop('AppResp');
  net.elect(1);
  net.core(1).readIndex('early');
  net.heal();
  net.stabilize();
  t.same(net.readStates.get(1), []);
  net.tickAll(2);
  const rs = net.readStates.get(1)!;
  t.equal(rs.length, 1);
  t.equal(net.core(1).log.term(rs[0]!.index), net.core(1).term, 'the read index is at or after the no-op');
});

t.test('§9.6 PreVote: a node rejoining after a partition does not disrupt the leader', async (t) => {
  const net = new Net([1, 2, 3], { preVote: true, checkQuorum: true });
  net.elect(1);
  const term = net.core(1).term;
  net.isolate(3);
  for (let i = 0; i < 100; i++) {
    net.tickAll(1);
  }
  t.equal(net.core(3).term, term, 'pre-votes do not raise its term');
  net.heal();
  net.tickAll(30);
  t.equal(net.core(1).role, 'leader');
  t.equal(net.core(1).term, term, 'the leader kept its term');
});

t.test('without PreVote the same rejoin forces a new election (the contrast)', async (t) => {
  const net = new Net([1, 2, 3], PAPER);
  net.elect(1);
  const term = net.core(1).term;
  net.isolate(3);
  net.tickAll(100);
  t.ok(net.core(3).term > term);
  net.heal();
  net.tickAll(30);
  t.ok(net.core(1).term > term, 'the higher term deposed the leader');
});

t.test('CheckQuorum: a leader cut off from a majority steps down within an election timeout', async (t) => {
  const net = new Net([1, 2, 3], { checkQuorum: true });
  net.elect(1);
  net.isolate(1);
  net.tick(1, 21);
  t.equal(net.core(1).role, 'follower');
});

t.test('CheckQuorum: followers that hear from a leader ignore vote requests (leader lease)', async (t) => {
  const net = new Net([1, 2, 3], { checkQuorum: true, preVote: false });
  net.elect(1);
  const term = net.core(1).term;
  net.core(3).campaign(); // a disruptive candidate
  net.stabilize();
  t.equal(net.core(1).role, 'leader');
  t.equal(net.core(2).term, term, 'node 2 ignored the campaign');
});

t.test('dissertation §3.10 leader transfer to an up-to-date follower', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  const term = net.core(1).term;
  net.core(1).transferLeader(3);
  net.stabilize();
  t.equal(net.core(3).role, 'leader');
  t.equal(net.core(3).term, term + 1);
  t.equal(net.core(1).role, 'follower');
});

t.test('dissertation §3.10 leader transfer to a lagging follower catches it up first', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.isolate(3);
  net.core(1).propose(cmd('a'));
  net.core(1).propose(cmd('b'));
  net.stabilize();
  net.heal();
  net.core(1).transferLeader(3);
  net.stabilize();
  t.equal(net.core(3).role, 'leader');
  net.tickAll(2);
  t.same(net.commands(3), ['a', 'b']);
});

t.test('dissertation §3.10 proposals are refused during a transfer, which is abandoned after an election timeout', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.isolate(3);
  net.core(1).transferLeader(3);
  t.equal(dropReason(() => net.core(1).propose(cmd('x'))), 'transferring');
  net.heal();
  net.isolate(3);
  net.tickAll(11);
  t.equal(net.core(1).role, 'leader');
  t.doesNotThrow(() => net.core(1).propose(cmd('x')));
});

t.test('§7 a follower behind the compacted log gets a snapshot, then entries', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 10; i++) net.core(1).propose(cmd(`c${i}`));
  net.stabilize();
  net.tickAll(1);
  const leader = net.core(1);
  const snap = leader.createSnapshot(leader.log.applied, cmd('state'));
  t.equal(leader.log.baseIndex, snap.meta.index, 'the log was compacted');
  t.same(snap.meta.conf.voters, [1, 2, 3], 'the snapshot carries the configuration');
  net.heal();
  leader.propose(cmd('after'));
  net.tickAll(3);
  t.same(net.snapshotsInstalled.get(3), [snap.meta.index]);
  t.equal(net.core(3).log.baseIndex, snap.meta.index);
  t.same(net.commands(3), ['after'], 'entries after the snapshot are applied from the log');
  t.equal(net.core(3).log.lastIndex(), leader.log.lastIndex());
});

t.test('durability: a leader counts its own entry toward a quorum only after advance()', async (t) => {
  const c = newCore(1, [1]);
  c.campaign();
  t.equal(c.role, 'leader');
  let rd = c.ready();
  t.ok(rd.entries.length > 0);
  t.ok(c.log.committed < c.log.lastIndex(), 'the no-op is not committed before it is durable');
  c.advance();
  t.equal(c.log.committed, c.log.lastIndex(), 'committed once the shell reported it durable');
  const { index } = c.propose(cmd('x'));
  rd = c.ready();
  t.same(rd.committedEntries.map((e) => e.index).includes(index), false);
  c.advance();
  rd = c.ready();
  t.ok(rd.committedEntries.some((e) => e.index === index));
  c.advance();
});

t.test('durability: a granted vote goes out in the same Ready as the hard state that records it', async (t) => {
  const c = newCore(2, [1, 2, 3], PAPER);
  c.ready();
  c.advance();
  c.step({ type: 'Vote', from: 1, to: 2, term: 5, lastLogIndex: 1, lastLogTerm: 1, transfer: false });
  const rd = c.ready();
  t.same(rd.hardState, { term: 5, vote: 1, commit: 1 });
  t.ok(rd.messages.some((m) => m.type === 'VoteResp' && !m.reject));
});

t.test('restart: a node rebuilt from its persisted state keeps term, vote, log and configuration', async (t) => {
  const net = new Net([1, 2, 3]);
  net.elect(1);
  net.core(1).proposeConfChange({ op: 'remove', nodeId: 3 });
  net.core(1).propose(cmd('x'));
  net.stabilize();
  net.tickAll(2);
  const before = net.core(2);
  const entries: Entry[] = [];
  for (let i = before.log.firstIndex(); i <= before.log.lastIndex(); i++) entries.push(before.log.entry(i)!);
  const after = newCore(2, [], { initial: { hardState: before.hardState(), snapshot: before.snapshot, entries } });
  t.equal(after.term, before.term);
  t.equal(after.vote, before.vote);
  t.same(after.conf.voters, [1, 2], 'committed conf changes are in force again');
  t.equal(after.log.applied, 0, 'the state machine re-applies from the snapshot (none here)');
  const rd = after.ready();
  t.same(
    rd.committedEntries.filter((e) => e.type === EntryType.Normal && e.data.length > 0).map((e) => e.data.toString()),
    ['x'],
  );
});

// Goal: the majority arithmetic the core commits and elects with agrees with
// a naive, obviously-correct version on many random inputs.
import t from 'tap';
import { hasQuorum, majorityIndex, voteOutcome } from '../../src/replication/raft/quorum.js';
import { Rng } from './sim/rng.js';

/** Naive: the largest index i such that more than half of the voters have match ≥ i. */
function naiveMajorityIndex(matches: number[]): number {
  let best = 0;
  for (const candidate of matches) {
    const holders = matches.filter((m) => m >= candidate).length;
    if (holders * 2 > matches.length && candidate > best) best = candidate;
  }
  return best;
}

function naiveOutcome(n: number, granted: number, rejected: number): 'won' | 'lost' | 'pending' {
  if (granted * 2 > n) return 'won';
  if ((n - rejected) * 2 <= n) return 'lost';
  return 'pending';
}

t.test('majorityIndex equals the naive definition', async (t) => {
  const rng = new Rng(7);
  let mismatches = 0;
  for (let round = 0; round < 20000; round++) {
    const n = rng.int(1, 9);
    const voters = Array.from({ length: n }, (_, i) => i + 1);
    const matches = voters.map(() => rng.int(0, 20));
    if (majorityIndex(voters, (id) => matches[id - 1]!) !== naiveMajorityIndex(matches)) mismatches++;
  }
  t.equal(mismatches, 0);
  t.equal(majorityIndex([], () => 5), 0, 'no voters commit nothing');
});

t.test('voteOutcome and hasQuorum equal the naive counts, ignoring non-voters', async (t) => {
  const rng = new Rng(11);
  let mismatches = 0;
  for (let round = 0; round < 20000; round++) {
    const n = rng.int(1, 9);
    const voters = Array.from({ length: n }, (_, i) => i + 1);
    const votes = new Map<number, boolean>();
    let granted = 0;
    let rejected = 0;
    for (const id of voters) {
      const r = rng.int(0, 2);
      if (r === 1) {
        votes.set(id, true);
        granted++;
      } else if (r === 2) {
        votes.set(id, false);
        rejected++;
      }
    }
    votes.set(100, true); // not a voter: must not count
    if (voteOutcome(voters, votes) !== naiveOutcome(n, granted, rejected)) mismatches++;
    const acks = new Set([...votes].filter(([, v]) => v).map(([id]) => id));
    if (hasQuorum(voters, acks) !== granted * 2 > n) mismatches++;
  }
  t.equal(mismatches, 0);
});

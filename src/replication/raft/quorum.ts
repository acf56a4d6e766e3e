// Majority arithmetic over a set of voters. Kept apart from the core so that it
// can be checked against a naive version on random inputs (test/replication).
import type { NodeId } from './types.js';

export type VoteOutcome = 'won' | 'lost' | 'pending';

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index that a majority of voters have reached: with matches sorted
 * in descending order it is the quorum-th one. An empty voter set commits
 * nothing (returns 0): a cluster without voters cannot make progress.
 */
export function majorityIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1] as number;
}

/**
 * Decide an election from the votes received so far. Votes from non-voters are
 * ignored. 'lost' means a majority can no longer be reached.
 */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  const needed = quorumSize(voters.length);
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  if (voters.length === 0) return 'lost';
  if (granted >= needed) return 'won';
  if (voters.length - rejected < needed) return 'lost';
  return 'pending';
}

/** True when the nodes in `acks` (which may include non-voters) form a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], acks: ReadonlySet<NodeId>): boolean {
  let count = 0;
  for (const id of voters) if (acks.has(id)) count++;
  return voters.length > 0 && count >= quorumSize(voters.length);
}

// Majority arithmetic over the voter set. A quorum always counts the node itself: the source
// documents computed `len(peers)/2 + 1` over peers *excluding* self, which is one vote too many
// for odd clusters and accepts a minority in none — here the voter list includes self.

/** Votes (or acknowledgements) needed out of `voterCount` voters: floor(n/2) + 1. */
export function quorumSize(voterCount: number): number {
  if (!Number.isSafeInteger(voterCount) || voterCount < 1) {
    throw new RangeError(`voterCount must be a positive integer, got ${voterCount}`);
  }
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that at least a quorum of voters holds, given every voter's match index
 * (self included). Sorting descending, the quorum-th value is held by that many voters or more.
 */
export function quorumMatchIndex(matchIndexes: readonly number[]): number {
  const sortedDescending = [...matchIndexes].sort((a, b) => b - a);
  return sortedDescending[quorumSize(matchIndexes.length) - 1]!;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Whether an election with these tallies is decided: a quorum of grants wins, a quorum of refusals loses. */
export function voteOutcome(grantedCount: number, rejectedCount: number, voterCount: number): VoteOutcome {
  const needed = quorumSize(voterCount);
  if (grantedCount >= needed) return 'won';
  if (rejectedCount >= needed) return 'lost';
  return 'pending';
}

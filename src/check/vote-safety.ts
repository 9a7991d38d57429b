// One vote per term: a node grants its vote to at most one candidate in a term, across crashes
// and restarts (Raft Figure 2: votedFor is persistent state). Election safety rests on this; a
// double vote is caught here even when it does not (yet) produce two leaders.

import type { NodeId } from '../raft/types.js';
import { InvariantViolation } from './violation.js';

export class VoteSafety {
  // voter → (term → candidate), for the terms this voter granted a vote in.
  private readonly grants = new Map<NodeId, Map<number, NodeId>>();

  observeVoteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    let byTerm = this.grants.get(voter);
    if (byTerm === undefined) {
      byTerm = new Map();
      this.grants.set(voter, byTerm);
    }
    const previous = byTerm.get(term);
    if (previous === undefined) {
      byTerm.set(term, candidate);
      return;
    }
    if (previous !== candidate) {
      throw new InvariantViolation(
        'election safety',
        [voter, previous, candidate],
        `node ${voter} voted twice in term ${term}: for node ${previous} and for node ${candidate}`,
      );
    }
  }
}

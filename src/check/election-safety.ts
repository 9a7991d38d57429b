// Election safety (Raft Figure 3): at most one leader per term, over the whole history.

import type { NodeId } from '../raft/types.js';
import { InvariantViolation } from './violation.js';

export class ElectionSafety {
  private readonly leaderByTerm = new Map<number, NodeId>();

  /** Record that `node` is leader in `term`; throws if another node already led that term. */
  observeLeader(node: NodeId, term: number): void {
    const previous = this.leaderByTerm.get(term);
    if (previous === undefined) {
      this.leaderByTerm.set(term, node);
      return;
    }
    if (previous !== node) {
      throw new InvariantViolation(
        'election safety',
        [previous, node],
        `term ${term} has two leaders: node ${previous} and node ${node}`,
      );
    }
  }

  leaderOf(term: number): NodeId | undefined {
    return this.leaderByTerm.get(term);
  }

  /** How many distinct (term, leader) pairs were seen: the number of elections won. */
  get electionsWon(): number {
    return this.leaderByTerm.size;
  }
}

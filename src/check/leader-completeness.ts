// Leader completeness (Raft Figure 3): a leader of term T holds every entry committed in terms < T.
//
// A commit is recorded with `commitTerm`, an upper bound on the term in which it was committed:
// a leader's own commit index was reached in its current term, and a follower only learns a
// commit index from a leader of a term ≤ its own current term. Using the upper bound can only
// make the check weaker, never raise a false alarm: a leader elected late in a lower term (its
// votes were delayed in the network) is never compared with entries committed in later terms.
// Committed prefixes are prefix-closed, so checking the highest committed index below T (its term
// at that index) suffices; log matching, checked separately, extends agreement to the prefix.

import type { NodeId } from '../raft/types.js';
import { InvariantViolation } from './violation.js';

interface CommitRecord {
  readonly index: number;
  readonly entryTerm: number;
  readonly node: NodeId;
}

/** What the checker needs to see of a new leader's log. */
export interface LeaderLogView {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly lastIndex: number;
  termAt(index: number): number | undefined;
}

export class LeaderCompleteness {
  // commitTerm → the highest committed index recorded with that upper bound. Terms are few.
  private readonly highestByTerm = new Map<number, CommitRecord>();

  observeCommit(node: NodeId, commitTerm: number, index: number, entryTerm: number): void {
    if (index === 0) return;
    const known = this.highestByTerm.get(commitTerm);
    if (known === undefined || known.index < index) this.highestByTerm.set(commitTerm, { index, entryTerm, node });
  }

  observeLeader(node: NodeId, term: number, log: LeaderLogView): void {
    let required: CommitRecord | undefined;
    let requiredTerm = 0;
    for (const [commitTerm, record] of this.highestByTerm) {
      if (commitTerm < term && (required === undefined || record.index > required.index)) {
        required = record;
        requiredTerm = commitTerm;
      }
    }
    if (required === undefined) return;
    const { index, entryTerm } = required;
    if (index < log.snapshotIndex) return; // under the leader's snapshot; snapshots are checked against applied state
    const held = index === log.snapshotIndex ? log.snapshotTerm : index > log.lastIndex ? undefined : log.termAt(index);
    if (held !== entryTerm) {
      throw new InvariantViolation(
        'leader completeness',
        [node, required.node],
        `node ${node} became leader of term ${term} but ${held === undefined ? 'lacks' : `holds term ${held} at`} ` +
          `index ${index}, which node ${required.node} saw committed with term ${entryTerm} by term ${requiredTerm} ` +
          `(leader's log: snapshot ${log.snapshotIndex}, last index ${log.lastIndex})`,
      );
    }
  }
}

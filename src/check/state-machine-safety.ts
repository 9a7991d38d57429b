// State-machine safety (Raft Figure 3): no two nodes apply different entries at one index. A global
// record index → (term, payload hash, prefix hash) is kept from the first node that applied it;
// every later apply (and every snapshot restore) must agree with it.

import type { Entry, NodeId } from '../raft/types.js';
import { hashPayload } from './entry-hash.js';
import { InvariantViolation } from './violation.js';

interface AppliedRecord {
  readonly term: number;
  readonly payloadHash: number;
  readonly prefixHash: number;
  readonly node: NodeId;
}

export class StateMachineSafety {
  private readonly applied: (AppliedRecord | undefined)[] = [];

  /** `node` applied `entry`; its state machine's chained hash is now `prefixHash`. */
  observeApply(node: NodeId, entry: Entry, prefixHash: number): void {
    const payloadHash = hashPayload(entry.data);
    const known = this.applied[entry.index];
    if (known === undefined) {
      this.applied[entry.index] = { term: entry.term, payloadHash, prefixHash, node };
      return;
    }
    if (known.term !== entry.term || known.payloadHash !== payloadHash) {
      throw new InvariantViolation(
        'state-machine safety',
        [known.node, node],
        `index ${entry.index}: node ${known.node} applied term ${known.term} payload #${known.payloadHash.toString(16)}, ` +
          `node ${node} applied term ${entry.term} payload #${payloadHash.toString(16)}`,
      );
    }
    if (known.prefixHash !== prefixHash) {
      throw new InvariantViolation(
        'state-machine safety',
        [known.node, node],
        `index ${entry.index}: node ${known.node} and node ${node} applied the same entry on top of different states`,
      );
    }
  }

  /** `node` restored a snapshot of the state as of `index` (term `term`, chained hash `prefixHash`). */
  observeSnapshot(node: NodeId, index: number, term: number, prefixHash: number): void {
    const known = this.applied[index];
    if (known === undefined) return;
    if (known.term !== term || known.prefixHash !== prefixHash) {
      throw new InvariantViolation(
        'state-machine safety',
        [known.node, node],
        `node ${node} restored a snapshot at index ${index} term ${term} that differs from what node ${known.node} applied up to that index (term ${known.term})`,
      );
    }
  }

  /** The chained hash of the applied prefix up to `index`, as the first node to apply it recorded it (undefined if none has). */
  prefixHashAt(index: number): number | undefined {
    return index === 0 ? 0 : this.applied[index]?.prefixHash;
  }

  /** The highest index any node has applied. */
  get highestApplied(): number {
    return Math.max(0, this.applied.length - 1);
  }
}

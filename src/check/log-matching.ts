// Log matching (Raft Figure 3): if two logs hold an entry with the same index and term, the logs
// are identical in all entries up to it. Checked incrementally: each node's written log is kept
// as an array of chained prefix hashes, and the first prefix hash seen for every (index, term)
// is remembered; any later log holding that (index, term) must carry the same prefix hash.
// Cost: O(entries written), not O(nodes² · log length) per step.

import type { Entry, NodeId } from '../raft/types.js';
import { chainHash, EMPTY_LOG_HASH } from './entry-hash.js';
import { InvariantViolation } from './violation.js';

/** The point a log view starts from: a snapshot (or the empty log at index 0). */
export interface LogBase {
  readonly index: number;
  readonly term: number;
  readonly hash: number;
}

export const EMPTY_LOG_BASE: LogBase = { index: 0, term: 0, hash: EMPTY_LOG_HASH };

class NodeLogView {
  base: LogBase = EMPTY_LOG_BASE;
  // terms[k] / hashes[k] describe index base.index + 1 + k.
  terms: number[] = [];
  hashes: number[] = [];

  get lastIndex(): number {
    return this.base.index + this.terms.length;
  }

  hashAt(index: number): number | undefined {
    if (index === this.base.index) return this.base.hash;
    if (index < this.base.index || index > this.lastIndex) return undefined;
    return this.hashes[index - this.base.index - 1];
  }

  termAt(index: number): number | undefined {
    if (index === this.base.index) return this.base.term;
    if (index < this.base.index || index > this.lastIndex) return undefined;
    return this.terms[index - this.base.index - 1];
  }
}

interface PrefixRecord {
  readonly term: number;
  readonly hash: number;
  readonly node: NodeId;
}

export class LogMatching {
  private readonly views = new Map<NodeId, NodeLogView>();
  // byIndex[i]: the first prefix hash seen for each term at index i (usually one or two terms).
  private readonly byIndex: PrefixRecord[][] = [];

  /** The node's log is now exactly `base` followed by `entries` (restart, or snapshot installed). */
  reset(node: NodeId, base: LogBase, entries: readonly Entry[]): void {
    const view = new NodeLogView();
    view.base = base;
    this.views.set(node, view);
    if (base.index > 0) this.record(node, base.index, base.term, base.hash);
    this.write(node, entries);
  }

  /** The node wrote `entries` (contiguous), replacing whatever it held from entries[0].index on. */
  write(node: NodeId, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const view = this.viewOf(node);
    const first = entries[0]!.index;
    if (first <= view.base.index) {
      throw new InvariantViolation(
        'log matching',
        [node],
        `node ${node} wrote entries from index ${first}, at or below its snapshot index ${view.base.index}`,
      );
    }
    if (first > view.lastIndex + 1) {
      throw new InvariantViolation(
        'log matching',
        [node],
        `node ${node} wrote entries from index ${first} but its log ends at ${view.lastIndex}: a gap`,
      );
    }
    const keep = first - view.base.index - 1;
    view.terms.length = keep;
    view.hashes.length = keep;
    let hash = view.hashAt(first - 1)!;
    let previousTerm = view.termAt(first - 1)!;
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k]!;
      if (entry.index !== first + k) {
        throw new InvariantViolation(
          'log matching',
          [node],
          `node ${node} wrote a non-contiguous batch: entries[${k}].index is ${entry.index}, expected ${first + k}`,
        );
      }
      if (entry.term < previousTerm) {
        throw new InvariantViolation(
          'log matching',
          [node],
          `node ${node} log terms decrease: index ${entry.index} has term ${entry.term} after term ${previousTerm}`,
        );
      }
      previousTerm = entry.term;
      hash = chainHash(hash, entry);
      view.terms.push(entry.term);
      view.hashes.push(hash);
      this.record(node, entry.index, entry.term, hash);
    }
  }

  lastIndex(node: NodeId): number {
    return this.viewOf(node).lastIndex;
  }

  termAt(node: NodeId, index: number): number | undefined {
    return this.viewOf(node).termAt(index);
  }

  hashAt(node: NodeId, index: number): number | undefined {
    return this.viewOf(node).hashAt(index);
  }

  private record(node: NodeId, index: number, term: number, hash: number): void {
    let records = this.byIndex[index];
    if (records === undefined) {
      records = [];
      this.byIndex[index] = records;
    }
    for (const record of records) {
      if (record.term !== term) continue;
      if (record.hash !== hash) {
        throw new InvariantViolation(
          'log matching',
          [record.node, node],
          `node ${record.node} and node ${node} both hold index ${index} term ${term} but their logs differ at or before it`,
        );
      }
      return;
    }
    records.push({ term, hash, node });
  }

  private viewOf(node: NodeId): NodeLogView {
    let view = this.views.get(node);
    if (view === undefined) {
      view = new NodeLogView();
      this.views.set(node, view);
    }
    return view;
  }
}

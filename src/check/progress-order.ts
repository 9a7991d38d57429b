// Monotonic progress: within one incarnation of a node, its commit index and applied index never
// go backwards and entries are applied in order without gaps (a snapshot restore may jump ahead);
// across incarnations, the durably stored commit index never goes backwards.

import type { NodeId } from '../raft/types.js';
import { InvariantViolation } from './violation.js';

interface NodeProgress {
  commit: number;
  applied: number;
  durableCommit: number;
}

export class ProgressOrder {
  private readonly nodes = new Map<NodeId, NodeProgress>();

  /** A node (re)started with this commit and applied index (from its durable state). */
  startIncarnation(node: NodeId, commit: number, applied: number): void {
    const previous = this.nodes.get(node);
    const durableCommit = previous?.durableCommit ?? 0;
    if (commit < durableCommit) {
      throw new InvariantViolation(
        'monotonic progress',
        [node],
        `node ${node} restarted with commit ${commit} below the commit ${durableCommit} it had made durable`,
      );
    }
    this.nodes.set(node, { commit, applied, durableCommit: Math.max(durableCommit, commit) });
  }

  observeCommit(node: NodeId, commit: number): void {
    const progress = this.progressOf(node);
    if (commit < progress.commit) {
      throw new InvariantViolation('monotonic progress', [node], `node ${node} commit index went back from ${progress.commit} to ${commit}`);
    }
    progress.commit = commit;
  }

  observeApply(node: NodeId, index: number): void {
    const progress = this.progressOf(node);
    if (index !== progress.applied + 1) {
      throw new InvariantViolation(
        'monotonic progress',
        [node],
        `node ${node} applied index ${index} after index ${progress.applied}: ${index <= progress.applied ? 'applied again' : 'gap'}`,
      );
    }
    progress.applied = index;
  }

  observeSnapshotRestore(node: NodeId, index: number): void {
    const progress = this.progressOf(node);
    if (index <= progress.applied) {
      throw new InvariantViolation(
        'monotonic progress',
        [node],
        `node ${node} restored a snapshot at index ${index}, not ahead of its applied index ${progress.applied}`,
      );
    }
    progress.applied = index;
  }

  observeDurableCommit(node: NodeId, commit: number): void {
    const progress = this.progressOf(node);
    if (commit < progress.durableCommit) {
      throw new InvariantViolation(
        'durability',
        [node],
        `node ${node} durably stored commit ${commit} after having stored ${progress.durableCommit}`,
      );
    }
    progress.durableCommit = commit;
  }

  appliedOf(node: NodeId): number {
    return this.progressOf(node).applied;
  }

  private progressOf(node: NodeId): NodeProgress {
    let progress = this.nodes.get(node);
    if (progress === undefined) {
      progress = { commit: 0, applied: 0, durableCommit: 0 };
      this.nodes.set(node, progress);
    }
    return progress;
  }
}

// All safety checkers behind one facade that a host (the deterministic simulation today, a real
// multi-process cluster later) feeds with what it observes. Every method throws
// InvariantViolation at the first wrong state.

import type { Entry, NodeId, Role } from '../raft/types.js';
import { ElectionSafety } from './election-safety.js';
import { LeaderCompleteness, type LeaderLogView } from './leader-completeness.js';
import { LogMatching, type LogBase } from './log-matching.js';
import { ProgressOrder } from './progress-order.js';
import { StateMachineSafety } from './state-machine-safety.js';
import { VoteSafety } from './vote-safety.js';

/** A node's volatile state as its core reports it, plus a view of its (in-memory) log. */
export interface NodeObservation extends LeaderLogView {
  readonly role: Role;
  readonly term: number;
  readonly commit: number;
}

interface LastSeen {
  role: Role;
  term: number;
  commit: number;
}

export class ClusterInvariants {
  readonly electionSafety = new ElectionSafety();
  readonly logMatching = new LogMatching();
  readonly leaderCompleteness = new LeaderCompleteness();
  readonly stateMachineSafety = new StateMachineSafety();
  readonly progressOrder = new ProgressOrder();
  readonly voteSafety = new VoteSafety();
  private readonly lastSeen = new Map<NodeId, LastSeen>();

  /** Call after every event that touched `node` (a step, a tick, a proposal, an advance). */
  observeNode(node: NodeId, observation: NodeObservation): void {
    const last = this.lastSeen.get(node);
    if (observation.role === 'leader') {
      this.electionSafety.observeLeader(node, observation.term);
      if (last === undefined || last.role !== 'leader' || last.term !== observation.term) {
        this.leaderCompleteness.observeLeader(node, observation.term, observation);
      }
    }
    if (last === undefined || last.commit !== observation.commit) {
      this.progressOrder.observeCommit(node, observation.commit);
      const { commit } = observation;
      const entryTerm = commit === observation.snapshotIndex ? observation.snapshotTerm : observation.termAt(commit);
      if (entryTerm !== undefined) this.leaderCompleteness.observeCommit(node, observation.term, commit, entryTerm);
    }
    if (last === undefined) {
      this.lastSeen.set(node, { role: observation.role, term: observation.term, commit: observation.commit });
    } else {
      last.role = observation.role;
      last.term = observation.term;
      last.commit = observation.commit;
    }
  }

  /** A node (re)started from durable state: its log is `base` + `entries`, with this commit and applied index. */
  nodeStarted(node: NodeId, base: LogBase, entries: readonly Entry[], commit: number, applied: number): void {
    this.lastSeen.delete(node);
    this.logMatching.reset(node, base, entries);
    this.progressOrder.startIncarnation(node, commit, applied);
  }

  /** A node wrote log entries (to be persisted), replacing its log from entries[0].index on. */
  logWritten(node: NodeId, entries: readonly Entry[]): void {
    this.logMatching.write(node, entries);
  }

  /** A node's log was replaced by a snapshot it received. */
  snapshotWritten(node: NodeId, base: LogBase): void {
    this.logMatching.reset(node, base, []);
  }

  /** A node applied `entry`; its state machine's chained hash is now `prefixHash`. */
  applied(node: NodeId, entry: Entry, prefixHash: number): void {
    this.progressOrder.observeApply(node, entry.index);
    this.stateMachineSafety.observeApply(node, entry, prefixHash);
  }

  /** A node's state machine was replaced by a snapshot as of `base`. */
  snapshotRestored(node: NodeId, base: LogBase): void {
    this.progressOrder.observeSnapshotRestore(node, base.index);
    this.stateMachineSafety.observeSnapshot(node, base.index, base.term, base.hash);
  }

  /** `voter` granted its vote in `term` to `candidate` (a VoteResponse with granted set went out). */
  voteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    this.voteSafety.observeVoteGranted(voter, term, candidate);
  }

  /** A node's storage made this commit index durable. */
  durableCommit(node: NodeId, commit: number): void {
    this.progressOrder.observeDurableCommit(node, commit);
  }
}

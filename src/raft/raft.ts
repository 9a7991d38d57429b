// The Raft protocol core: one node's state machine, in the style of etcd-io/raft. It does no I/O,
// reads no clock and draws randomness only from config.prng: time arrives as tick(), messages as
// step(), client commands as propose(), and everything the node wants done comes back in a Ready.
//
// THE HOST I/O CONTRACT (the same as on `Ready` in types.ts). For each Ready, in this order:
//   1. Persist `snapshot` (if any), then `entries` (overwriting stored entries at the same or
//      higher indexes), then `hardState` (if any), durably under the host's fsync policy.
//   2. Send `messages` — allowed even before step 1 finishes — and then, only once step 1 is
//      durable, `messagesAfterPersist`.
//   3. Restore the state machine from `snapshot` (if any), then apply `committedEntries` in order.
//   4. Call advance(ready). Only then may ready() be called again.
// Why `messagesAfterPersist` waits: each of its messages promises something about this node's
// durable state. A VoteResponse promises the vote is on disk (else a crash and restart could vote
// twice in one term and elect two leaders); a Vote request carries the candidate's own vote for
// itself (same reason); an AppendEntriesResponse or InstallSnapshotResponse promises the entries
// are on disk (else the leader could count a replica that a crash then erases, and "commit" an
// entry a majority does not hold). `messages` promise nothing about local disk: a leader's
// AppendEntries may go out while it writes the same entries itself (Raft thesis §10.2.1), which is
// why the leader counts its *own* copy towards a quorum only once advance() confirms it is durable.
//
// Other rules this file enforces:
//   - Commit (Raft §5.4.2, Figure 8): a leader advances commit only to an index held by a quorum
//     (itself included) whose entry has the leader's current term. Older entries commit indirectly.
//   - committedEntries never run above what is persisted or being persisted in the same Ready.
//   - Invariants are asserted where they can break and fail loudly with RaftInvariantError.

import { MessageValidationError, RaftInvariantError } from './errors.js';
import { Progress } from './progress.js';
import { quorumMatchIndex, quorumSize, voteOutcome } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { validateConfig, validateRestore } from './config.js';
import { validateMessage } from './validate.js';
import { NO_NODE } from './types.js';
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  Entry,
  HardState,
  HeartbeatRequest,
  InstallSnapshotRequest,
  InstallSnapshotResponse,
  Message,
  NodeId,
  ProgressStatus,
  ProposeResult,
  RaftConfig,
  RaftRestoreState,
  RaftStatus,
  Ready,
  Role,
  SnapshotMeta,
  SoftState,
  TransferResult,
} from './types.js';

/** At most this many committed entries per Ready, so one Ready's apply step stays bounded. */
const COMMITTED_ENTRIES_PER_READY_MAX = 4096;

/** Ticks without an InstallSnapshotResponse (in units of electionTicks) before the leader probes again. */
const SNAPSHOT_TIMEOUT_ELECTIONS = 2;

export class RaftNode {
  private readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly voters: readonly NodeId[];
  private readonly log: RaftLog;

  private term: number;
  private vote: NodeId;
  private role: Role = 'follower';
  private leader: NodeId = NO_NODE;
  private appliedIndex: number;

  /** Followers/candidates: ticks since the last leader contact or reset. Leader: ticks in this check-quorum round. */
  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTicks = 0;

  private readonly votesGranted = new Set<NodeId>();
  private readonly votesRejected = new Set<NodeId>();

  private readonly progress = new Map<NodeId, Progress>();
  private transferee: NodeId = NO_NODE;
  private transferElapsedTicks = 0;

  /** A snapshot received from the leader, not yet handed out for the host to persist and restore. */
  private pendingSnapshot: SnapshotMeta | null = null;

  private messages: Message[] = [];
  private messagesAfterPersist: Message[] = [];
  private readonly queuedMessagesMax: number;
  private droppedMessages = 0;

  private outstandingReady: Ready | null = null;
  private lastSoftState: SoftState;
  private lastHardState: HardState;

  constructor(config: RaftConfig, restore?: RaftRestoreState) {
    validateConfig(config);
    this.config = config;
    this.id = config.id;
    this.voters = [...config.voters];
    const fail = (index: number, invariant: string): never => this.fail(index, invariant);
    if (restore === undefined) {
      this.term = 0;
      this.vote = NO_NODE;
      this.log = new RaftLog({ index: 0, term: 0, config: { voters: [...this.voters] } }, [], 0, fail);
      this.appliedIndex = 0;
    } else {
      const snapshot = validateRestore(restore, config);
      const commit = Math.max(restore.hardState.commit, snapshot.index);
      this.log = new RaftLog(snapshot, restore.entries, commit, fail);
      this.appliedIndex = restore.applied;
      this.term = restore.hardState.term;
      this.vote = restore.hardState.vote;
      if (this.log.lastTerm() > this.term) {
        // A crash tore the last Ready after its entries (or snapshot) but before its hard state.
        // Adopt the log's term. The vote is safely NO_NODE: any vote cast in a term this new was
        // in a hard state made durable before the VoteResponse went out (messagesAfterPersist),
        // and hard states are written in order, so the stored one would show that term.
        this.term = this.log.lastTerm();
        this.vote = NO_NODE;
      }
    }
    // Enough room for a full round of replication and voting traffic per peer many times over;
    // a host that stops collecting Readies loses messages (Raft tolerates loss) instead of memory.
    this.queuedMessagesMax = 1024 + this.voters.length * (config.inflightMax + 8) * 16;
    this.lastSoftState = { leader: this.leader, role: this.role };
    // What the disk holds: if the term was adopted above, the first Ready persists the new hard state.
    this.lastHardState = restore === undefined ? { term: 0, vote: NO_NODE, commit: 0 } : { ...restore.hardState, commit: this.log.commitIndex };
    this.resetElectionTimer();
  }

  // ---------------------------------------------------------------------------------------------
  // Public API.
  // ---------------------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
    this.checkInvariants();
  }

  step(candidate: Message): void {
    const message = validateMessage(candidate);
    if (message.to !== this.id) throw new MessageValidationError('to', `addressed to ${message.to}, this node is ${this.id}`);
    if (message.from === this.id || !this.voters.includes(message.from)) {
      throw new MessageValidationError('from', `${message.from} is not another voter of this cluster`);
    }
    this.stepValidated(message);
    this.checkInvariants();
  }

  propose(data: Uint8Array): ProposeResult {
    if (!(data instanceof Uint8Array)) throw new TypeError('propose: data must be a Uint8Array');
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };
    if (this.transferee !== NO_NODE) return { ok: false, reason: 'transferring', leader: this.id };
    const entry: Entry = { term: this.term, index: this.log.lastIndex() + 1, data };
    this.log.append([entry]);
    this.broadcastAppend();
    this.checkInvariants();
    return { ok: true, index: entry.index, term: entry.term };
  }

  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader' };
    if (to === this.id) return { ok: false, reason: 'already-leader' };
    const target = this.progress.get(to);
    if (target === undefined) return { ok: false, reason: 'unknown-target' };
    if (this.transferee !== NO_NODE) return { ok: false, reason: 'transfer-in-progress' };
    this.transferee = to;
    this.transferElapsedTicks = 0;
    if (target.matchIndex === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return { ok: true };
  }

  hasReady(): boolean {
    if (this.outstandingReady !== null) return false;
    return (
      this.softStateChanged() ||
      this.hardStateChanged() ||
      this.pendingSnapshot !== null ||
      this.log.handedOutIndex < this.log.lastIndex() ||
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.appliedIndex < this.log.commitIndex
    );
  }

  ready(): Ready {
    if (this.outstandingReady !== null) this.fail(this.log.lastIndex(), 'at most one Ready outstanding: ready() called before advance()');
    const softState: SoftState | null = this.softStateChanged() ? { leader: this.leader, role: this.role } : null;
    const hardState: HardState | null = this.hardStateChanged()
      ? { term: this.term, vote: this.vote, commit: this.log.commitIndex }
      : null;
    const snapshot = this.pendingSnapshot;
    const entries = this.log.unstableEntries();
    // Every entry up to lastIndex is now persisted or in this Ready, which the host persists
    // before it applies: so committed entries may run up to commit (which is <= lastIndex).
    const applyFrom = Math.max(this.appliedIndex, snapshot === null ? 0 : snapshot.index) + 1;
    const applyTo = Math.min(this.log.commitIndex, applyFrom - 1 + COMMITTED_ENTRIES_PER_READY_MAX);
    const committedEntries = applyFrom <= applyTo ? this.log.range(applyFrom, applyTo) : [];
    const result: Ready = {
      softState,
      hardState,
      snapshot,
      entries,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committedEntries,
    };
    this.messages = [];
    this.messagesAfterPersist = [];
    this.pendingSnapshot = null;
    this.log.handedOutIndex = this.log.lastIndex();
    if (softState !== null) this.lastSoftState = softState;
    if (hardState !== null) this.lastHardState = hardState;
    this.outstandingReady = result;
    return result;
  }

  advance(ready: Ready): void {
    if (this.outstandingReady === null || ready !== this.outstandingReady) {
      this.fail(this.log.lastIndex(), 'advance() must be given the Ready most recently returned by ready()');
    }
    this.outstandingReady = null;
    if (ready.snapshot !== null) {
      this.log.persistedIndex = Math.max(this.log.persistedIndex, ready.snapshot.index);
      this.appliedIndex = Math.max(this.appliedIndex, ready.snapshot.index);
    }
    if (ready.entries.length > 0) {
      // Entries truncated after this Ready went out pulled handedOutIndex below them: only the
      // prefix that still stands is durable as the log now reads.
      const lastWritten = ready.entries[ready.entries.length - 1]!.index;
      this.log.persistedIndex = Math.max(this.log.persistedIndex, Math.min(lastWritten, this.log.handedOutIndex));
    }
    if (ready.committedEntries.length > 0) {
      const first = ready.committedEntries[0]!.index;
      if (first !== this.appliedIndex + 1) this.fail(first, `applied entries not contiguous: applied ${this.appliedIndex}`);
      this.appliedIndex = ready.committedEntries[ready.committedEntries.length - 1]!.index;
    }
    if (this.role === 'leader' && this.maybeCommit()) this.broadcastAppend();
    this.checkInvariants();
  }

  compact(snapshot: SnapshotMeta): void {
    if (snapshot.index <= this.log.snapshot.index) return;
    if (snapshot.index > this.appliedIndex) {
      this.fail(snapshot.index, `snapshot above the applied index ${this.appliedIndex}`);
    }
    this.log.compact(snapshot);
    this.checkInvariants();
  }

  status(): RaftStatus {
    let progress: Map<NodeId, ProgressStatus> | null = null;
    if (this.role === 'leader') {
      progress = new Map();
      for (const [peer, peerProgress] of this.progress) progress.set(peer, peerProgress.toStatus());
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.commitIndex,
      applied: this.appliedIndex,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshot.index,
      snapshotTerm: this.log.snapshot.term,
      progress,
      transferee: this.transferee,
    };
  }

  entryAt(index: number): Entry | undefined {
    return this.log.entryAt(index);
  }

  /** The term at `index`: 0 for index 0, the snapshot's term at its index, undefined if compacted or beyond the end. */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    return this.log.termAt(index);
  }

  /** Messages dropped because the host let the outbox fill (it should collect Readies promptly). */
  get droppedMessageCount(): number {
    return this.droppedMessages;
  }

  // ---------------------------------------------------------------------------------------------
  // Time.
  // ---------------------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsedTicks += 1;
    if (this.electionElapsedTicks >= this.randomizedElectionTicks) {
      this.campaign(this.config.preVote ? 'pre-vote' : 'election');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsedTicks += 1;
    this.electionElapsedTicks += 1;
    if (this.transferee !== NO_NODE) {
      this.transferElapsedTicks += 1;
      // The target did not win within an election timeout: give up so proposals flow again.
      if (this.transferElapsedTicks >= this.config.electionTicks) this.transferee = NO_NODE;
    }
    for (const [peer, peerProgress] of this.progress) {
      if (peerProgress.state !== 'snapshot') continue;
      peerProgress.snapshotElapsedTicks += 1;
      // No core API reports a lost snapshot transfer, so an unanswered one is retried by probing.
      if (peerProgress.snapshotElapsedTicks >= this.config.electionTicks * SNAPSHOT_TIMEOUT_ELECTIONS) {
        peerProgress.becomeProbe();
        this.sendAppend(peer, true);
      }
    }
    if (this.electionElapsedTicks >= this.config.electionTicks) {
      this.electionElapsedTicks = 0;
      if (this.config.checkQuorum) {
        let active = 1;
        for (const peerProgress of this.progress.values()) if (peerProgress.recentActive) active += 1;
        for (const peerProgress of this.progress.values()) peerProgress.recentActive = false;
        if (active < quorumSize(this.voters.length)) {
          this.becomeFollower(this.term, NO_NODE);
          return;
        }
      }
    }
    if (this.heartbeatElapsedTicks >= this.config.heartbeatTicks) {
      this.heartbeatElapsedTicks = 0;
      this.broadcastHeartbeat();
    }
  }

  private resetElectionTimer(): void {
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    this.randomizedElectionTicks = this.config.prng.nextInt(this.config.electionTicks, 2 * this.config.electionTicks);
  }

  // ---------------------------------------------------------------------------------------------
  // Role changes.
  // ---------------------------------------------------------------------------------------------

  private becomeFollower(term: number, leader: NodeId): void {
    if (term < this.term) this.fail(this.log.lastIndex(), `term would decrease from ${this.term} to ${term}`);
    if (term > this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.role = 'follower';
    this.leader = leader;
    this.resetElectionTimer();
    this.leaveLeadership();
  }

  private leaveLeadership(): void {
    this.progress.clear();
    this.transferee = NO_NODE;
    this.votesGranted.clear();
    this.votesRejected.clear();
  }

  private campaign(kind: 'pre-vote' | 'election' | 'transfer'): void {
    this.leaveLeadership();
    this.leader = NO_NODE;
    this.resetElectionTimer();
    this.votesGranted.add(this.id);
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    if (kind === 'pre-vote') {
      // Ask at term+1 without taking it: a node cut off from the cluster keeps failing here and
      // so never inflates the term that would depose a healthy leader when it returns.
      this.role = 'pre-candidate';
      if (this.tallyVotes() !== 'pending') return;
      for (const peer of this.voters) {
        if (peer === this.id) continue;
        this.send({ type: 'PreVote', from: this.id, to: peer, term: this.term + 1, lastLogIndex, lastLogTerm }, false);
      }
      return;
    }
    this.role = 'candidate';
    this.term += 1;
    this.vote = this.id;
    if (this.tallyVotes() !== 'pending') return;
    for (const peer of this.voters) {
      if (peer === this.id) continue;
      // After persist: the request carries this node's own vote for itself.
      this.send({ type: 'Vote', from: this.id, to: peer, term: this.term, lastLogIndex, lastLogTerm, transfer: kind === 'transfer' }, true);
    }
  }

  /** Acts on the current tally; returns it. */
  private tallyVotes(): 'won' | 'lost' | 'pending' {
    const outcome = voteOutcome(this.votesGranted.size, this.votesRejected.size, this.voters.length);
    if (outcome === 'won') {
      if (this.role === 'pre-candidate') this.campaign('election');
      else this.becomeLeader();
    } else if (outcome === 'lost') {
      this.becomeFollower(this.term, NO_NODE);
    }
    return outcome;
  }

  private becomeLeader(): void {
    if (this.role !== 'candidate') this.fail(this.log.lastIndex(), `only a candidate becomes leader, not a ${this.role}`);
    this.role = 'leader';
    this.leader = this.id;
    this.votesGranted.clear();
    this.votesRejected.clear();
    this.resetElectionTimer();
    const nextIndex = this.log.lastIndex() + 1;
    for (const peer of this.voters) {
      if (peer !== this.id) this.progress.set(peer, new Progress(nextIndex, this.config.inflightMax));
    }
    // An entry of the new term lets earlier terms' entries commit (they cannot by counting).
    this.log.append([{ term: this.term, index: nextIndex, data: new Uint8Array(0) }]);
    this.broadcastAppend();
    if (this.maybeCommit()) this.broadcastAppend();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages in.
  // ---------------------------------------------------------------------------------------------

  private stepValidated(message: Message): void {
    if (message.term > this.term) {
      if (message.type === 'Vote' || message.type === 'PreVote') {
        const transfer = message.type === 'Vote' && message.transfer;
        if (this.config.checkQuorum && !transfer && this.inLeaderLease()) {
          // The leader lease on votes: having heard from a live leader within the election
          // timeout, this node will not help depose it (nor take the higher term).
          return;
        }
      }
      if (message.type === 'PreVote') {
        // A pre-vote's term is hypothetical; nobody adopts it.
      } else if (message.type === 'PreVoteResponse' && message.granted) {
        // Granted at the term this node proposed to campaign at; counted below.
      } else {
        const fromLeader =
          message.type === 'AppendEntries' || message.type === 'Heartbeat' || message.type === 'InstallSnapshot' || message.type === 'TimeoutNow';
        this.becomeFollower(message.term, fromLeader ? message.from : NO_NODE);
      }
    } else if (message.term < this.term) {
      this.stepStale(message);
      return;
    }

    switch (message.type) {
      case 'PreVote':
        this.handlePreVote(message.from, message.term, message.lastLogIndex, message.lastLogTerm);
        return;
      case 'Vote':
        this.handleVote(message.from, message.lastLogIndex, message.lastLogTerm);
        return;
      case 'PreVoteResponse':
        if (this.role === 'pre-candidate' && message.term === this.term + 1) this.recordVote(message.from, message.granted);
        else if (this.role === 'pre-candidate' && message.term === this.term && !message.granted) this.recordVote(message.from, false);
        return;
      case 'VoteResponse':
        if (this.role === 'candidate') this.recordVote(message.from, message.granted);
        return;
      case 'AppendEntries':
        this.followLeader(message.from);
        this.handleAppendEntries(message);
        return;
      case 'Heartbeat':
        this.followLeader(message.from);
        this.handleHeartbeat(message);
        return;
      case 'InstallSnapshot':
        this.followLeader(message.from);
        this.handleInstallSnapshot(message);
        return;
      case 'TimeoutNow':
        if (this.role === 'follower' && message.from === this.leader) this.campaign('transfer');
        return;
      case 'AppendEntriesResponse':
        if (this.role === 'leader') this.handleAppendEntriesResponse(message);
        return;
      case 'HeartbeatResponse':
        if (this.role === 'leader') this.handleHeartbeatResponse(message.from);
        return;
      case 'InstallSnapshotResponse':
        if (this.role === 'leader') this.handleInstallSnapshotResponse(message);
        return;
    }
  }

  /** A message from an older term. Most are dropped; a few are answered so the sender catches up. */
  private stepStale(message: Message): void {
    if (message.type === 'AppendEntries' || message.type === 'Heartbeat' || message.type === 'InstallSnapshot') {
      // A deposed leader that is cut off from the new one (possible with pre-vote or check-quorum,
      // which suppress the elections that would otherwise tell it) learns the newer term here.
      this.send({ type: 'HeartbeatResponse', from: this.id, to: message.from, term: this.term }, false);
    } else if (message.type === 'PreVote') {
      this.send({ type: 'PreVoteResponse', from: this.id, to: message.from, term: this.term, granted: false }, false);
    }
  }

  /** A message from the current term's leader: every non-leader role defers to it. */
  private followLeader(leader: NodeId): void {
    if (this.role === 'leader') {
      this.fail(this.log.lastIndex(), `two leaders in term ${this.term}: this node and ${leader}`);
    }
    if (this.role !== 'follower') this.becomeFollower(this.term, leader);
    this.leader = leader;
    this.electionElapsedTicks = 0;
  }

  private inLeaderLease(): boolean {
    return this.leader !== NO_NODE && this.electionElapsedTicks < this.config.electionTicks;
  }

  private isUpToDate(lastLogIndex: number, lastLogTerm: number): boolean {
    const ourLastTerm = this.log.lastTerm();
    return lastLogTerm > ourLastTerm || (lastLogTerm === ourLastTerm && lastLogIndex >= this.log.lastIndex());
  }

  private handlePreVote(from: NodeId, term: number, lastLogIndex: number, lastLogTerm: number): void {
    // Thesis §9.6: grant only a log at least as up to date as ours, and only if no leader has
    // been heard from within the election timeout (the leader itself counts as heard).
    const granted = term > this.term && this.isUpToDate(lastLogIndex, lastLogTerm) && !this.inLeaderLease();
    this.send({ type: 'PreVoteResponse', from: this.id, to: from, term: granted ? term : this.term, granted }, false);
  }

  private handleVote(from: NodeId, lastLogIndex: number, lastLogTerm: number): void {
    // One vote per term: a repeat request from the same candidate is granted again (its first
    // answer may have been lost); anyone else is refused once the vote is cast or a leader known.
    const canVote = this.vote === from || (this.vote === NO_NODE && this.leader === NO_NODE);
    const granted = canVote && this.isUpToDate(lastLogIndex, lastLogTerm);
    if (granted) {
      this.vote = from;
      this.resetElectionTimer();
    }
    this.send({ type: 'VoteResponse', from: this.id, to: from, term: this.term, granted }, true);
  }

  private recordVote(from: NodeId, granted: boolean): void {
    if (granted) {
      this.votesRejected.delete(from);
      this.votesGranted.add(from);
    } else if (!this.votesGranted.has(from)) {
      this.votesRejected.add(from);
    }
    this.tallyVotes();
  }

  private handleAppendEntries(message: AppendEntriesRequest): void {
    let prevLogIndex = message.prevLogIndex;
    let prevLogTerm = message.prevLogTerm;
    let entries = message.entries;
    const commit = this.log.commitIndex;
    if (prevLogIndex < commit) {
      // Everything up to our commit is settled and matches any current leader's log; skip that
      // part (it may also be compacted away here, so its terms cannot be checked anyway).
      // By Log Matching, checking the last overlapping entry checks the overlap (where not compacted).
      const skip = commit - prevLogIndex;
      const lastOverlap = entries[Math.min(skip, entries.length) - 1];
      const ourTerm = lastOverlap === undefined ? undefined : this.log.termAt(lastOverlap.index);
      if (lastOverlap !== undefined && ourTerm !== undefined && ourTerm !== lastOverlap.term) {
        this.fail(lastOverlap.index, `leader ${message.from} sent term ${lastOverlap.term} for a committed entry of term ${ourTerm}`);
      }
      if (entries.length <= skip) {
        this.respondAppend(message.from, true, commit, 0, 0);
        return;
      }
      const atCommit = entries[skip - 1]!;
      prevLogIndex = commit;
      prevLogTerm = atCommit.term;
      entries = entries.slice(skip);
    }

    if (!this.log.matchTerm(prevLogIndex, prevLogTerm)) {
      if (prevLogIndex <= commit) this.fail(prevLogIndex, `leader ${message.from} disagrees on a committed entry's term (${prevLogTerm})`);
      if (prevLogIndex > this.log.lastIndex()) {
        this.respondAppend(message.from, false, message.prevLogIndex, this.log.lastIndex() + 1, 0);
      } else {
        const conflictTerm = this.log.termAt(prevLogIndex)!;
        const firstOfTerm = this.log.firstIndexOfTermAt(prevLogIndex, commit + 1);
        this.respondAppend(message.from, false, message.prevLogIndex, firstOfTerm, conflictTerm);
      }
      return;
    }

    // Truncate only on a real conflict: an entry at the same index with a different term. A
    // duplicate or reordered (stale) append whose entries we already hold changes nothing —
    // cutting the log there would drop entries this node has already acknowledged.
    const firstNew = this.log.findFirstNew(entries);
    if (firstNew < entries.length) {
      const entry = entries[firstNew]!;
      if (entry.index <= this.log.lastIndex()) {
        if (this.role === 'leader') this.fail(entry.index, 'a leader never truncates its own log');
        this.log.truncateAfter(entry.index - 1);
      }
      this.log.append(entries.slice(firstNew));
    }
    const lastNewIndex = prevLogIndex + entries.length;
    this.log.commitTo(Math.min(message.commit, lastNewIndex));
    this.respondAppend(message.from, true, lastNewIndex, 0, 0);
  }

  private respondAppend(to: NodeId, success: boolean, matchIndex: number, hintIndex: number, hintTerm: number): void {
    const response: AppendEntriesResponse = { type: 'AppendEntriesResponse', from: this.id, to, term: this.term, success, matchIndex, hintIndex, hintTerm };
    this.send(response, true);
  }

  private handleHeartbeat(message: HeartbeatRequest): void {
    // The leader sends min(its commit, our match), which we hold; the clamp guards a restarted
    // node whose log is shorter than the leader last heard.
    this.log.commitTo(Math.min(message.commit, this.log.lastIndex()));
    this.send({ type: 'HeartbeatResponse', from: this.id, to: message.from, term: this.term }, false);
  }

  private handleInstallSnapshot(message: InstallSnapshotRequest): void {
    const snapshot = message.snapshot;
    const commit = this.log.commitIndex;
    if (snapshot.index <= commit) {
      // Already past it: nothing to install.
      this.respondSnapshot(message.from, commit);
      return;
    }
    if (this.log.matchTerm(snapshot.index, snapshot.term)) {
      // Our log already holds the snapshot's last entry: keep the log, and learn that it is committed.
      this.log.commitTo(snapshot.index);
      this.respondSnapshot(message.from, this.log.commitIndex);
      return;
    }
    this.log.resetToSnapshot(snapshot);
    this.pendingSnapshot = snapshot;
    this.respondSnapshot(message.from, snapshot.index);
  }

  private respondSnapshot(to: NodeId, matchIndex: number): void {
    const response: InstallSnapshotResponse = { type: 'InstallSnapshotResponse', from: this.id, to, term: this.term, matchIndex, success: true };
    this.send(response, true);
  }

  // ---------------------------------------------------------------------------------------------
  // Leader: replication.
  // ---------------------------------------------------------------------------------------------

  private handleAppendEntriesResponse(message: AppendEntriesResponse): void {
    const peerProgress = this.progress.get(message.from);
    if (peerProgress === undefined) return;
    peerProgress.recentActive = true;
    if (!message.success) {
      this.handleRejection(message.from, peerProgress, message);
      return;
    }
    if (message.matchIndex > this.log.lastIndex()) return; // cannot be ours: ignore rather than trust it
    const wasProbeAtMatch = peerProgress.state === 'probe' && peerProgress.matchIndex === message.matchIndex;
    if (!peerProgress.maybeUpdate(message.matchIndex) && !wasProbeAtMatch) return;
    if (peerProgress.state === 'probe') {
      peerProgress.becomeReplicate();
    } else if (peerProgress.state === 'snapshot' && peerProgress.matchIndex >= this.log.snapshot.index) {
      peerProgress.becomeProbe();
      peerProgress.becomeReplicate();
    } else if (peerProgress.state === 'replicate') {
      peerProgress.inflights.freeUpTo(message.matchIndex);
    }
    if (this.maybeCommit()) this.broadcastAppend();
    this.sendAppendsWhileOpen(message.from);
    if (message.from === this.transferee && peerProgress.matchIndex === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    }
  }

  private handleRejection(peer: NodeId, peerProgress: Progress, message: AppendEntriesResponse): void {
    const rejectedIndex = message.matchIndex;
    // A rejection of something other than the append in flight is stale: a reordered answer to
    // an older message. In replicate state anything at or below match; in probe, anything but next-1.
    if (peerProgress.state === 'replicate' && rejectedIndex <= peerProgress.matchIndex) return;
    if (peerProgress.state === 'probe' && rejectedIndex !== peerProgress.nextIndex - 1) return;
    if (peerProgress.state === 'snapshot') return;
    // Fast backtracking: skip a whole term per round trip. If we hold the follower's conflicting
    // term, our entries of that term match its up to our last one; else retreat past the term.
    let nextIndex = message.hintIndex;
    if (message.hintTerm > 0) {
      const ourLastOfTerm = this.log.lastIndexOfTerm(message.hintTerm, rejectedIndex);
      if (ourLastOfTerm !== undefined) nextIndex = ourLastOfTerm + 1;
    }
    nextIndex = Math.max(peerProgress.matchIndex + 1, Math.min(nextIndex, rejectedIndex));
    if (peerProgress.state === 'replicate') peerProgress.becomeProbe();
    peerProgress.nextIndex = nextIndex;
    peerProgress.probeSent = false;
    this.sendAppend(peer, true);
  }

  private handleHeartbeatResponse(peer: NodeId): void {
    const peerProgress = this.progress.get(peer);
    if (peerProgress === undefined) return;
    peerProgress.recentActive = true;
    peerProgress.probeSent = false;
    if (peerProgress.matchIndex >= this.log.lastIndex() || peerProgress.state === 'snapshot') return;
    if (peerProgress.state === 'replicate' && peerProgress.inflights.full()) {
      // Every message in the window may have been lost. An empty append at nextIndex-1 either
      // succeeds (nothing lost) or is rejected, which drops the follower to probe and recovers.
      this.sendEmptyAppend(peer, peerProgress);
      return;
    }
    this.sendAppend(peer, true);
  }

  private handleInstallSnapshotResponse(message: InstallSnapshotResponse): void {
    const peerProgress = this.progress.get(message.from);
    if (peerProgress === undefined) return;
    peerProgress.recentActive = true;
    if (peerProgress.state !== 'snapshot') {
      if (message.success && message.matchIndex <= this.log.lastIndex() && peerProgress.maybeUpdate(message.matchIndex)) {
        if (this.maybeCommit()) this.broadcastAppend();
      }
      return;
    }
    if (message.success && message.matchIndex <= this.log.lastIndex()) peerProgress.maybeUpdate(message.matchIndex);
    peerProgress.becomeProbe();
    if (this.maybeCommit()) this.broadcastAppend();
    else this.sendAppend(message.from, true);
  }

  /**
   * The commit rule (Raft §5.4.2, Figure 8): the highest index a quorum holds — the leader's own
   * copy counted only once durable — and only if that entry is of the current term. An older-term
   * entry on a majority can still be overwritten by a leader that never saw it.
   */
  private maybeCommit(): boolean {
    const matchIndexes: number[] = [this.log.persistedIndex];
    for (const peerProgress of this.progress.values()) matchIndexes.push(peerProgress.matchIndex);
    const candidate = quorumMatchIndex(matchIndexes);
    if (candidate <= this.log.commitIndex) return false;
    if (this.log.termAt(candidate) !== this.term) return false;
    this.log.commitTo(candidate);
    return true;
  }

  private broadcastAppend(): void {
    for (const peer of this.progress.keys()) this.sendAppend(peer, true);
  }

  private broadcastHeartbeat(): void {
    for (const [peer, peerProgress] of this.progress) {
      // A probe waits for the next heartbeat; its answer triggers the next append.
      if (peerProgress.state === 'probe') peerProgress.probeSent = false;
      const commit = Math.min(this.log.commitIndex, peerProgress.matchIndex);
      this.send({ type: 'Heartbeat', from: this.id, to: peer, term: this.term, commit }, false);
    }
  }

  /** Send appends to `peer` until its window closes or it has everything; bounded by inflightMax. */
  private sendAppendsWhileOpen(peer: NodeId): void {
    for (let sent = 0; sent <= this.config.inflightMax; sent++) {
      if (!this.sendAppend(peer, false)) return;
    }
  }

  /**
   * One AppendEntries (or InstallSnapshot, if the entries it needs are compacted) to `peer`, if
   * its progress allows. `sendIfEmpty` also sends when there are no new entries (to carry a
   * commit index or probe). Returns whether a message went out.
   */
  private sendAppend(peer: NodeId, sendIfEmpty: boolean): boolean {
    const peerProgress = this.progress.get(peer);
    if (peerProgress === undefined || peerProgress.isPaused()) return false;
    const prevLogIndex = peerProgress.nextIndex - 1;
    const prevLogTerm = this.log.termAt(prevLogIndex);
    if (prevLogTerm === undefined) {
      if (prevLogIndex > this.log.lastIndex()) this.fail(prevLogIndex, `nextIndex ${peerProgress.nextIndex} of ${peer} beyond the log`);
      return this.sendSnapshot(peer, peerProgress);
    }
    const entries = peerProgress.nextIndex <= this.log.lastIndex()
      ? this.log.slice(peerProgress.nextIndex, this.config.batchEntriesMax, this.config.batchBytesMax)
      : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'AppendEntries', from: this.id, to: peer, term: this.term, prevLogIndex, prevLogTerm, entries, commit: this.log.commitIndex }, false);
    peerProgress.sentEntries(entries.length > 0 ? entries[entries.length - 1]!.index : null);
    return true;
  }

  private sendEmptyAppend(peer: NodeId, peerProgress: Progress): void {
    const prevLogIndex = peerProgress.nextIndex - 1;
    const prevLogTerm = this.log.termAt(prevLogIndex);
    if (prevLogTerm === undefined) {
      // The window's entries were compacted meanwhile: only a snapshot can bring the follower back.
      this.sendSnapshot(peer, peerProgress);
      return;
    }
    this.send({ type: 'AppendEntries', from: this.id, to: peer, term: this.term, prevLogIndex, prevLogTerm, entries: [], commit: this.log.commitIndex }, false);
  }

  private sendSnapshot(peer: NodeId, peerProgress: Progress): boolean {
    const snapshot = this.log.snapshot;
    peerProgress.becomeSnapshot(snapshot.index);
    this.send({ type: 'InstallSnapshot', from: this.id, to: peer, term: this.term, snapshot }, false);
    return true;
  }

  private sendTimeoutNow(peer: NodeId): void {
    this.send({ type: 'TimeoutNow', from: this.id, to: peer, term: this.term }, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Output and invariants.
  // ---------------------------------------------------------------------------------------------

  private send(message: Message, afterPersist: boolean): void {
    if (this.messages.length + this.messagesAfterPersist.length >= this.queuedMessagesMax) {
      this.droppedMessages += 1;
      return;
    }
    if (afterPersist) this.messagesAfterPersist.push(message);
    else this.messages.push(message);
  }

  private softStateChanged(): boolean {
    return this.lastSoftState.leader !== this.leader || this.lastSoftState.role !== this.role;
  }

  private hardStateChanged(): boolean {
    return this.lastHardState.term !== this.term || this.lastHardState.vote !== this.vote || this.lastHardState.commit !== this.log.commitIndex;
  }

  private checkInvariants(): void {
    const commit = this.log.commitIndex;
    if (commit > this.log.lastIndex()) this.fail(commit, `commit above the last index ${this.log.lastIndex()}`);
    if (this.appliedIndex > commit) this.fail(this.appliedIndex, `applied above commit ${commit}`);
    if (commit < this.lastHardState.commit) this.fail(commit, `commit decreased from ${this.lastHardState.commit}`);
    if (this.log.lastTerm() > this.term) this.fail(this.log.lastIndex(), `last entry's term ${this.log.lastTerm()} above the current term`);
    if (this.role === 'leader' && this.log.persistedIndex > this.log.lastIndex()) this.fail(this.log.persistedIndex, 'persisted above the last index');
  }

  private fail(index: number, invariant: string): never {
    throw new RaftInvariantError(this.id, this.term, index, invariant);
  }
}

// The Raft protocol core: one node's state machine, in the style of etcd-io/raft. It does no I/O,
// reads no clock and draws randomness only from config.prng: time arrives as tick(), messages as
// step(), client commands as propose(), reads as readIndex() / leaseRead(), and everything the
// node wants done comes back in a Ready.
//
// THE HOST I/O CONTRACT — the one statement of it (types.ts points here). For each Ready:
//   1. Persist `snapshot` (if any), then `entries` (overwriting stored entries at the same or
//      higher indexes), then `hardState` (if any), durably under the host's fsync policy. Readies
//      are persisted in the order ready() returned them.
//   2. Send `messages` — at once, even before step 1 finishes — and, only once step 1 is durable,
//      `messagesAfterPersist`.
//   3. Once step 1 is durable: restore the state machine from `snapshot` (if any), then apply
//      `committedEntries` in order.
//   4. Answer `readStates` once the state machine has applied up to each one's index; answer
//      `failedReads` with a retryable error at once.
//   5. Call advance(ready) — in the order ready() returned the Readies.
// ready() may be called again before advance(): several Readies may be in flight (etcd's
// asynchronous storage writes), which is what lets a group-commit log share one fsync among the
// appends of many Readies. The host reports durability by advancing; the core then counts the
// leader's own copy (its persisted index) towards commit and lets cached entries go.
// Why `messagesAfterPersist` waits: each of its messages promises something about this node's
// durable state. A VoteResponse promises the vote is on disk (else a crash and restart could vote
// twice in one term and elect two leaders); a Vote request carries the candidate's own vote for
// itself (same reason); an AppendEntriesResponse or InstallSnapshotResponse promises the entries
// are on disk (else the leader could count a replica that a crash then erases, and "commit" an
// entry a majority does not hold). `messages` promise nothing about local disk: a leader's
// AppendEntries may go out while it writes the same entries itself (Raft thesis §10.2.1), which is
// why the leader counts its *own* copy towards a quorum only once advance() confirms it durable.
// Why appends are built in ready(), not in propose(): everything proposed between two Readies goes
// to each follower in one AppendEntries (within the inflight window and the batch limits), so a
// larger window means deeper pipelining, never smaller messages. The commit index rides on the
// next append or heartbeat; a follower whose commit lags gets a heartbeat at the next tick.
//
// Other rules this file enforces:
//   - Commit (Raft §5.4.2, Figure 8): a leader advances commit only to an index held by a quorum
//     (itself included) whose entry has the leader's current term. Older entries commit indirectly.
//   - committedEntries never run above what is persisted or being persisted in the same Ready.
//   - Reads without the log and leases: read-only.ts.
//   - Invariants are asserted where they can break and fail loudly with RaftInvariantError.

import { DEFAULT_CLOCK_DRIFT_MAX, validateConfig, validateRestore } from './config.js';
import { MessageValidationError, RaftInvariantError } from './errors.js';
import { Progress } from './progress.js';
import { quorumMatchIndex, quorumSize, voteOutcome } from './quorum.js';
import { LogUnavailableError, RaftLog } from './raft-log.js';
import { PENDING_READS_MAX, ReadOnly, type ConfirmedRead, type ReadRequest } from './read-only.js';
import { validateMessage } from './validate.js';
import { NO_NODE } from './types.js';
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  Entry,
  FailedRead,
  HardState,
  HeartbeatRequest,
  HeartbeatResponse,
  InstallSnapshotRequest,
  InstallSnapshotResponse,
  LogReader,
  Message,
  NodeId,
  ProgressStatus,
  ProposeResult,
  RaftConfig,
  RaftRestoreState,
  RaftStatus,
  ReadIndexResponse,
  ReadRequestResult,
  ReadState,
  Ready,
  Role,
  SnapshotMeta,
  SoftState,
  TransferResult,
} from './types.js';

/** At most this many committed entries per Ready, so one Ready's apply step stays bounded. */
const COMMITTED_ENTRIES_PER_READY_MAX = 16_384;

/** Ticks without an InstallSnapshotResponse (in units of electionTicks) before the leader probes again. */
const SNAPSHOT_TIMEOUT_ELECTIONS = 2;

const UNCOMMITTED_ENTRIES_MAX_DEFAULT = 65_536;
const UNCOMMITTED_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const LOG_CACHE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** Reads forwarded to the leader and not yet answered, per follower; beyond it readIndex answers 'reads-full'. */
const FORWARDED_READS_MAX = PENDING_READS_MAX;

const EMPTY_DATA = new Uint8Array(0);

export class RaftNode {
  private readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly voters: readonly NodeId[];
  private readonly log: RaftLog;
  private readonly uncommittedEntriesMax: number;
  private readonly uncommittedBytesMax: number;
  private readonly logCacheBytesMax: number;
  private readonly leaseOn: boolean;

  private term: number;
  private vote: NodeId;
  private role: Role = 'follower';
  private leader: NodeId = NO_NODE;
  /** Applied by the host (advance() confirmed). */
  private appliedIndex: number;
  /** Handed to the host for applying (in a Ready not yet advanced). */
  private applyingIndex: number;

  /** Ticks since this node started: the clock leases are measured on. */
  private tickCount = 0;
  /** Followers/candidates: ticks since the last leader contact or reset. Leader: ticks in this check-quorum round. */
  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTicks = 0;
  /**
   * Ticks since this node last heard from a leader (or was one, or restarted): with leases on it
   * refuses votes while this is below electionTicks (see read-only.ts for why restarts count).
   */
  private leaderContactElapsedTicks: number;

  private readonly votesGranted = new Set<NodeId>();
  private readonly votesRejected = new Set<NodeId>();

  private readonly progress = new Map<NodeId, Progress>();
  /** Leadership state (progress, reads) is live; set by becomeLeader, cleared by leaveLeadership. */
  private leading = false;
  private transferee: NodeId = NO_NODE;
  private transferElapsedTicks = 0;
  /** Leader: payload bytes of the entries above the commit index. */
  private uncommittedBytes = 0;

  private readonly readOnly: ReadOnly;
  /** Follower: reads forwarded to `forwardedTo` in `forwardedTerm`, by context. */
  private readonly forwardedReads = new Set<number>();
  private forwardedTo: NodeId = NO_NODE;
  private forwardedTerm = 0;
  private readStates: ReadState[] = [];
  private failedReads: FailedRead[] = [];

  /** A snapshot received from the leader, not yet handed out for the host to persist and restore. */
  private pendingSnapshot: SnapshotMeta | null = null;

  private messages: Message[] = [];
  private messagesAfterPersist: Message[] = [];
  private readonly queuedMessagesMax: number;
  private droppedMessages = 0;

  /** Readies handed out and not yet advanced, oldest first. */
  private readonly outstandingReadies: Ready[] = [];
  private lastSoftState: SoftState;
  private lastHardState: HardState;

  constructor(config: RaftConfig, restore?: RaftRestoreState, logReader?: LogReader) {
    validateConfig(config);
    this.config = config;
    this.id = config.id;
    this.voters = [...config.voters];
    this.uncommittedEntriesMax = config.uncommittedEntriesMax ?? UNCOMMITTED_ENTRIES_MAX_DEFAULT;
    this.uncommittedBytesMax = config.uncommittedBytesMax ?? UNCOMMITTED_BYTES_MAX_DEFAULT;
    this.logCacheBytesMax = config.logCacheBytesMax ?? LOG_CACHE_BYTES_MAX_DEFAULT;
    this.leaseOn = (config.leaseTicks ?? 0) > 0;
    this.readOnly = new ReadOnly(this.voters.length, config.leaseTicks ?? 0);
    const fail = (index: number, invariant: string): never => this.fail(index, invariant);
    const reader = logReader ?? null;
    if (restore === undefined) {
      this.term = 0;
      this.vote = NO_NODE;
      this.log = new RaftLog({ index: 0, term: 0, config: { voters: [...this.voters] } }, [], 0, fail, reader);
      this.appliedIndex = 0;
      // A node that never ran has acknowledged nothing: no vote guard.
      this.leaderContactElapsedTicks = config.electionTicks;
    } else {
      const snapshot = validateRestore(restore, config);
      const commit = Math.max(restore.hardState.commit, snapshot.index);
      this.log = new RaftLog(snapshot, restore.entries, commit, fail, reader);
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
      // It may have acknowledged a lease round just before it crashed: refuse votes for a while.
      this.leaderContactElapsedTicks = 0;
    }
    this.applyingIndex = this.appliedIndex;
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
    this.tickCount += 1;
    if (this.leaderContactElapsedTicks < this.config.electionTicks) this.leaderContactElapsedTicks += 1;
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
    this.failForwardedReadsIfLeaderChanged();
    this.checkInvariants();
  }

  step(candidate: Message): void {
    const message = validateMessage(candidate);
    if (message.to !== this.id) throw new MessageValidationError('to', `addressed to ${message.to}, this node is ${this.id}`);
    if (message.from === this.id || !this.voters.includes(message.from)) {
      throw new MessageValidationError('from', `${message.from} is not another voter of this cluster`);
    }
    this.stepValidated(message);
    this.failForwardedReadsIfLeaderChanged();
    this.checkInvariants();
  }

  /**
   * Appends a batch of commands (one entry each) to the leader's log. Nothing is sent here: the
   * next Ready carries everything proposed since the last one to each follower.
   */
  propose(batch: readonly Uint8Array[]): ProposeResult {
    if (!Array.isArray(batch) || batch.length === 0) throw new TypeError('propose: batch must be a non-empty array of Uint8Array');
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };
    if (this.transferee !== NO_NODE) return { ok: false, reason: 'transferring', leader: this.id };
    let batchBytes = 0;
    for (let k = 0; k < batch.length; k++) {
      const data = batch[k];
      if (!(data instanceof Uint8Array)) throw new TypeError(`propose: batch[${k}] must be a Uint8Array`);
      batchBytes += data.length;
    }
    const uncommittedEntries = this.log.lastIndex() - this.log.commitIndex;
    // An empty backlog always takes one batch, however large, so a big batch cannot wedge the leader.
    if (uncommittedEntries > 0 && (uncommittedEntries + batch.length > this.uncommittedEntriesMax || this.uncommittedBytes + batchBytes > this.uncommittedBytesMax)) {
      return { ok: false, reason: 'uncommitted-full', leader: this.id, uncommittedEntries, uncommittedBytes: this.uncommittedBytes };
    }
    const firstIndex = this.log.lastIndex() + 1;
    const term = this.term;
    const entries: Entry[] = new Array<Entry>(batch.length);
    for (let k = 0; k < batch.length; k++) entries[k] = { term, index: firstIndex + k, data: batch[k]! };
    this.log.append(entries);
    this.uncommittedBytes += batchBytes;
    return { ok: true, firstIndex, lastIndex: firstIndex + batch.length - 1, term };
  }

  /**
   * A linearizable read, confirmed by a heartbeat round (ReadIndex). On a follower the request
   * goes to the leader (follower read); either way a ReadState (or a FailedRead) with `context`
   * comes out in a later Ready.
   */
  readIndex(context: number): ReadRequestResult {
    if (!Number.isSafeInteger(context) || context < 0) throw new TypeError(`readIndex: context must be a non-negative safe integer, got ${context}`);
    if (this.role === 'leader') {
      if (this.readOnly.pendingCount >= PENDING_READS_MAX) return { ok: false, reason: 'reads-full', leader: this.id };
      this.readOnly.request({ context, from: this.id }, this.committedInTerm() ? this.log.commitIndex : null);
      return { ok: true, via: 'read-index' };
    }
    if (this.role !== 'follower' || this.leader === NO_NODE) return { ok: false, reason: 'no-leader', leader: NO_NODE };
    if (this.forwardedReads.size >= FORWARDED_READS_MAX) return { ok: false, reason: 'reads-full', leader: this.leader };
    if (this.forwardedTo !== this.leader || this.forwardedTerm !== this.term) {
      this.forwardedTo = this.leader;
      this.forwardedTerm = this.term;
    }
    this.forwardedReads.add(context);
    this.send({ type: 'ReadIndex', from: this.id, to: this.leader, term: this.term, context }, false);
    return { ok: true, via: 'read-index' };
  }

  /**
   * A read the leader answers from its lease, with no message, when the lease holds; otherwise it
   * falls back to readIndex (still linearizable, one round slower). Only the leader serves it.
   */
  leaseRead(context: number): ReadRequestResult {
    if (!Number.isSafeInteger(context) || context < 0) throw new TypeError(`leaseRead: context must be a non-negative safe integer, got ${context}`);
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };
    if (this.readOnly.leaseHolds(this.tickCount) && this.committedInTerm()) {
      this.readStates.push({ context, index: this.log.commitIndex, via: 'lease' });
      return { ok: true, via: 'lease' };
    }
    return this.readIndex(context);
  }

  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader' };
    if (to === this.id) return { ok: false, reason: 'already-leader' };
    const target = this.progress.get(to);
    if (target === undefined) return { ok: false, reason: 'unknown-target' };
    if (this.transferee !== NO_NODE) return { ok: false, reason: 'transfer-in-progress' };
    // The target's Vote carries the transfer flag, which voters grant despite their lease: so no
    // lease read may be served again in this term (read-only.ts).
    this.readOnly.endLease();
    this.transferee = to;
    this.transferElapsedTicks = 0;
    if (target.matchIndex === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return { ok: true };
  }

  /** The host could not reach `peer` (connection refused or reset): stop streaming to it optimistically. */
  reportUnreachable(peer: NodeId): void {
    const peerProgress = this.progress.get(peer);
    if (this.role !== 'leader' || peerProgress === undefined) return;
    if (peerProgress.state === 'replicate') peerProgress.becomeProbe();
  }

  /**
   * The host finished or failed streaming a snapshot to `peer`. A failure sends the follower back
   * to probing, paused until it answers a heartbeat (so an unreachable follower is not sent a
   * snapshot in a tight loop), instead of waiting SNAPSHOT_TIMEOUT_ELECTIONS election timeouts; a
   * success waits for the follower's own answer.
   */
  reportSnapshot(peer: NodeId, outcome: 'finished' | 'failed'): void {
    const peerProgress = this.progress.get(peer);
    if (this.role !== 'leader' || peerProgress === undefined || peerProgress.state !== 'snapshot') return;
    if (outcome === 'failed') {
      peerProgress.pendingSnapshotIndex = 0;
      peerProgress.becomeProbe();
      peerProgress.probeSent = true;
    }
  }

  hasReady(): boolean {
    return (
      this.softStateChanged() ||
      this.hardStateChanged() ||
      this.pendingSnapshot !== null ||
      this.log.handedOutIndex < this.log.lastIndex() ||
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.applyingIndex < this.log.commitIndex ||
      this.readStates.length > 0 ||
      this.failedReads.length > 0 ||
      (this.role === 'leader' && (this.readOnly.needsRound() || this.hasAppendsToSend()))
    );
  }

  ready(): Ready {
    if (this.role === 'leader') this.flushLeader();
    const softState: SoftState | null = this.softStateChanged() ? { leader: this.leader, role: this.role } : null;
    const hardState: HardState | null = this.hardStateChanged()
      ? { term: this.term, vote: this.vote, commit: this.log.commitIndex }
      : null;
    const snapshot = this.pendingSnapshot;
    const entries = this.log.unstableEntries();
    // Every entry up to lastIndex is now persisted or in this Ready or an earlier one, which the
    // host persists before it applies: so committed entries may run up to commit (<= lastIndex).
    const applyFrom = Math.max(this.applyingIndex, snapshot === null ? 0 : snapshot.index) + 1;
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
      readStates: this.readStates,
      failedReads: this.failedReads,
    };
    this.messages = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    this.failedReads = [];
    this.pendingSnapshot = null;
    this.log.handedOutIndex = this.log.lastIndex();
    this.applyingIndex = Math.max(applyFrom - 1, applyTo);
    if (softState !== null) this.lastSoftState = softState;
    if (hardState !== null) this.lastHardState = hardState;
    this.outstandingReadies.push(result);
    return result;
  }

  /** The host finished `ready` (persisted, sent, applied): the oldest outstanding Ready. */
  advance(ready: Ready): void {
    if (this.outstandingReadies[0] !== ready) {
      this.fail(this.log.lastIndex(), 'advance() must be given the oldest Ready not yet advanced, in the order ready() returned them');
    }
    this.outstandingReadies.shift();
    if (ready.snapshot !== null) {
      this.log.persistedIndex = Math.max(this.log.persistedIndex, ready.snapshot.index);
      this.appliedIndex = Math.max(this.appliedIndex, ready.snapshot.index);
    }
    this.markPersisted(ready.entries);
    if (ready.committedEntries.length > 0) {
      const first = ready.committedEntries[0]!.index;
      if (first !== this.appliedIndex + 1) this.fail(first, `applied entries not contiguous: applied ${this.appliedIndex}`);
      this.appliedIndex = ready.committedEntries[ready.committedEntries.length - 1]!.index;
    }
    if (this.role === 'leader') this.maybeCommit();
    this.dropCachedEntries();
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
      persistedIndex: this.log.persistedIndex,
      snapshotIndex: this.log.snapshot.index,
      snapshotTerm: this.log.snapshot.term,
      progress,
      transferee: this.transferee,
      tick: this.tickCount,
      leaseExpiryTick: this.role === 'leader' && this.readOnly.leaseHolds(this.tickCount) ? this.readOnly.leaseExpiryTick : 0,
      cachedEntries: this.log.cachedEntries,
      cachedBytes: this.log.cachedBytes,
      uncommittedEntries: this.role === 'leader' ? this.log.lastIndex() - this.log.commitIndex : 0,
      uncommittedBytes: this.role === 'leader' ? this.uncommittedBytes : 0,
    };
  }

  /** The entry at `index` (from memory or the LogReader); undefined if compacted, beyond the log or unreadable. */
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
    this.leaderContactElapsedTicks = 0;
    if (this.transferee !== NO_NODE) {
      this.transferElapsedTicks += 1;
      // The target did not win within an election timeout: give up so proposals flow again.
      if (this.transferElapsedTicks >= this.config.electionTicks) this.transferee = NO_NODE;
    }
    for (const [peer, peerProgress] of this.progress) {
      if (peerProgress.state !== 'snapshot') continue;
      peerProgress.snapshotElapsedTicks += 1;
      // A transfer the host never reported on (lost in a crash, say) is retried by probing.
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
      return;
    }
    // Commit rides on appends; a follower that got none since commit moved hears it now.
    for (const [peer, peerProgress] of this.progress) {
      if (Math.min(this.log.commitIndex, peerProgress.matchIndex) > peerProgress.commitSent) this.sendHeartbeat(peer, peerProgress, this.readOnly.currentRound);
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
    if (this.leading) this.failLeaderReads();
    this.leading = false;
    this.progress.clear();
    this.transferee = NO_NODE;
    this.uncommittedBytes = 0;
    this.votesGranted.clear();
    this.votesRejected.clear();
  }

  /** Leadership ended: every read waiting on this node as leader fails (its asker retries). */
  private failLeaderReads(): void {
    for (const read of this.readOnly.reset([])) {
      if (read.from === this.id) {
        this.failedReads.push({ context: read.context, reason: 'leader-changed', leader: this.leader });
      } else {
        this.send({ type: 'ReadIndexResponse', from: this.id, to: read.from, term: this.term, context: read.context, index: 0, success: false }, false);
      }
    }
  }

  /** Reads forwarded to a leader that is no longer ours (or not in this term) will not be answered: fail them. */
  private failForwardedReadsIfLeaderChanged(): void {
    if (this.forwardedReads.size === 0) return;
    if (this.role === 'follower' && this.leader === this.forwardedTo && this.term === this.forwardedTerm) return;
    for (const context of this.forwardedReads) {
      this.failedReads.push({ context, reason: 'leader-changed', leader: this.role === 'leader' ? this.id : this.leader });
    }
    this.forwardedReads.clear();
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
    this.leading = true;
    this.votesGranted.clear();
    this.votesRejected.clear();
    this.resetElectionTimer();
    this.leaderContactElapsedTicks = 0;
    const nextIndex = this.log.lastIndex() + 1;
    const peers: NodeId[] = [];
    for (const peer of this.voters) {
      if (peer === this.id) continue;
      peers.push(peer);
      this.progress.set(peer, new Progress(nextIndex, this.config.inflightMax));
    }
    this.readOnly.reset(peers);
    // Entries above commit are all cached (only applied entries leave the cache).
    this.uncommittedBytes = this.log.payloadBytes(this.log.commitIndex, this.log.lastIndex());
    // An entry of the new term lets earlier terms' entries commit (they cannot by counting).
    this.log.append([{ term: this.term, index: nextIndex, data: EMPTY_DATA }]);
    // The probes (carrying the no-op) go out with the next Ready (flushLeader).
    this.maybeCommit();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages in.
  // ---------------------------------------------------------------------------------------------

  private stepValidated(message: Message): void {
    if (message.term > this.term) {
      if (message.type === 'Vote' || message.type === 'PreVote') {
        const transfer = message.type === 'Vote' && message.transfer;
        if ((this.config.checkQuorum || this.leaseOn) && !transfer && this.inLeaderLease()) {
          // The leader lease on votes: having heard from a live leader within the election
          // timeout, this node will not help depose it (nor take the higher term). With leases
          // on this is what keeps a lease-holding leader the only leader (read-only.ts).
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
        this.handleVote(message.from, message.lastLogIndex, message.lastLogTerm, message.transfer);
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
        if (this.role === 'leader') this.handleHeartbeatResponse(message);
        return;
      case 'InstallSnapshotResponse':
        if (this.role === 'leader') this.handleInstallSnapshotResponse(message);
        return;
      case 'ReadIndex':
        this.handleReadIndex(message.from, message.context);
        return;
      case 'ReadIndexResponse':
        this.handleReadIndexResponse(message);
        return;
    }
  }

  /** A message from an older term. Most are dropped; a few are answered so the sender catches up. */
  private stepStale(message: Message): void {
    if (message.type === 'AppendEntries' || message.type === 'Heartbeat' || message.type === 'InstallSnapshot') {
      // A deposed leader that is cut off from the new one (possible with pre-vote or check-quorum,
      // which suppress the elections that would otherwise tell it) learns the newer term here.
      this.send({ type: 'HeartbeatResponse', from: this.id, to: message.from, term: this.term, round: 0 }, false);
    } else if (message.type === 'PreVote') {
      this.send({ type: 'PreVoteResponse', from: this.id, to: message.from, term: this.term, granted: false }, false);
    } else if (message.type === 'ReadIndex') {
      // A follower of an older term asks: it is behind; tell it so and let it retry.
      this.send({ type: 'ReadIndexResponse', from: this.id, to: message.from, term: this.term, context: message.context, index: 0, success: false }, false);
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
    this.leaderContactElapsedTicks = 0;
  }

  /**
   * Whether this node heard from a live leader within the election timeout, so it refuses votes.
   * With leases on, measured from the last contact with any leader (or a restart), whatever has
   * happened since: a follower that acknowledged a lease round must not vote for electionTicks.
   */
  private inLeaderLease(): boolean {
    if (this.leaseOn) return this.leaderContactElapsedTicks < this.config.electionTicks;
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

  private handleVote(from: NodeId, lastLogIndex: number, lastLogTerm: number, transfer: boolean): void {
    // One vote per term: a repeat request from the same candidate is granted again (its first
    // answer may have been lost); anyone else is refused once the vote is cast or a leader known —
    // and, with leases on, while this node is inside a leader's lease (a transfer excepted).
    const leaseBars = this.leaseOn && !transfer && this.inLeaderLease();
    const canVote = this.vote === from || (this.vote === NO_NODE && this.leader === NO_NODE && !leaseBars);
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
      this.log.append(firstNew === 0 ? entries : entries.slice(firstNew));
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
    this.send({ type: 'HeartbeatResponse', from: this.id, to: message.from, term: this.term, round: message.round }, false);
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

  private handleReadIndex(from: NodeId, context: number): void {
    const refuse = (): void =>
      this.send({ type: 'ReadIndexResponse', from: this.id, to: from, term: this.term, context, index: 0, success: false }, false);
    if (this.role !== 'leader' || this.readOnly.pendingCount >= PENDING_READS_MAX) {
      refuse();
      return;
    }
    this.readOnly.request({ context, from }, this.committedInTerm() ? this.log.commitIndex : null);
  }

  private handleReadIndexResponse(message: ReadIndexResponse): void {
    if (!this.forwardedReads.delete(message.context)) return; // not ours, or already failed
    if (message.success) this.readStates.push({ context: message.context, index: message.index, via: 'read-index' });
    else this.failedReads.push({ context: message.context, reason: 'not-leader', leader: this.leader === message.from ? NO_NODE : this.leader });
  }

  // ---------------------------------------------------------------------------------------------
  // Leader: replication.
  // ---------------------------------------------------------------------------------------------

  private handleAppendEntriesResponse(message: AppendEntriesResponse): void {
    const peerProgress = this.progress.get(message.from);
    if (peerProgress === undefined) return;
    peerProgress.recentActive = true;
    if (!message.success) {
      this.handleRejection(peerProgress, message);
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
    // The window reopened: the next Ready streams what it can (flushLeader), with whatever else
    // was proposed meanwhile.
    this.maybeCommit();
    if (message.from === this.transferee && peerProgress.matchIndex === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    }
  }

  private handleRejection(peerProgress: Progress, message: AppendEntriesResponse): void {
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
    // The next probe goes out with the next Ready.
  }

  private handleHeartbeatResponse(message: HeartbeatResponse): void {
    const peer = message.from;
    const peerProgress = this.progress.get(peer);
    if (peerProgress === undefined) return;
    peerProgress.recentActive = true;
    peerProgress.probeSent = false;
    if (message.round > 0) this.releaseReads(this.readOnly.acknowledge(peer, message.round));
    if (peerProgress.matchIndex >= this.log.lastIndex() || peerProgress.state === 'snapshot') return;
    if (peerProgress.state === 'replicate' && peerProgress.inflights.full()) {
      // Every message in the window may have been lost. An empty append at nextIndex-1 either
      // succeeds (nothing lost) or is rejected, which drops the follower to probe and recovers.
      this.sendEmptyAppend(peer, peerProgress);
      return;
    }
    // Behind with the window open: an append from nextIndex (empty if everything went out) finds a
    // lost message the same way. On an ordered transport it arrives after what is in flight.
    this.sendAppend(peer, true);
  }

  private handleInstallSnapshotResponse(message: InstallSnapshotResponse): void {
    const peerProgress = this.progress.get(message.from);
    if (peerProgress === undefined) return;
    peerProgress.recentActive = true;
    if (peerProgress.state !== 'snapshot') {
      if (message.success && message.matchIndex <= this.log.lastIndex() && peerProgress.maybeUpdate(message.matchIndex)) this.maybeCommit();
      return;
    }
    if (message.success && message.matchIndex <= this.log.lastIndex()) peerProgress.maybeUpdate(message.matchIndex);
    peerProgress.becomeProbe();
    this.maybeCommit();
    // Probe from the snapshot on: an empty append learns where the follower stands.
    this.sendAppend(message.from, true);
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
    const firstInTerm = !this.committedInTerm();
    this.uncommittedBytes -= this.log.payloadBytes(this.log.commitIndex, candidate);
    this.log.commitTo(candidate);
    if (firstInTerm) this.readOnly.termCommitted(candidate);
    return true;
  }

  /** Whether the leader has committed an entry of its own term (before that its commit index may lag). */
  private committedInTerm(): boolean {
    return this.log.termAt(this.log.commitIndex) === this.term;
  }

  /** Reads a quorum confirmed: the leader's own come out as ReadStates, a follower's as responses. */
  private releaseReads(confirmed: readonly ConfirmedRead[]): void {
    for (const read of confirmed) {
      if (read.from === this.id) this.readStates.push({ context: read.context, index: read.index, via: 'read-index' });
      else this.send({ type: 'ReadIndexResponse', from: this.id, to: read.from, term: this.term, context: read.context, index: read.index, success: true }, false);
    }
  }

  /** At ready(): stream what each follower's window allows, and start a round for waiting reads. */
  private flushLeader(): void {
    for (const peer of this.progress.keys()) this.sendAppendsWhileOpen(peer);
    if (this.readOnly.needsRound()) this.broadcastHeartbeat();
  }

  private hasAppendsToSend(): boolean {
    const lastIndex = this.log.lastIndex();
    for (const peerProgress of this.progress.values()) {
      if (peerProgress.nextIndex <= lastIndex && !peerProgress.isPaused()) return true;
    }
    return false;
  }

  /** A new round to every follower (it also carries commit); a one-node cluster confirms it alone. */
  private broadcastHeartbeat(): void {
    const round = this.readOnly.startRound(this.tickCount);
    for (const [peer, peerProgress] of this.progress) {
      // A probe waits for the next heartbeat; its answer lets the next Ready probe again.
      if (peerProgress.state === 'probe') peerProgress.probeSent = false;
      this.sendHeartbeat(peer, peerProgress, round);
    }
    if (this.progress.size === 0) this.releaseReads(this.readOnly.acknowledge(null, round));
  }

  private sendHeartbeat(peer: NodeId, peerProgress: Progress, round: number): void {
    const commit = Math.min(this.log.commitIndex, peerProgress.matchIndex);
    peerProgress.commitSent = Math.max(peerProgress.commitSent, commit);
    this.send({ type: 'Heartbeat', from: this.id, to: peer, term: this.term, commit, round }, false);
  }

  /** Send appends to `peer` until its window closes or it has everything; bounded by inflightMax. */
  private sendAppendsWhileOpen(peer: NodeId): void {
    for (let sent = 0; sent <= this.config.inflightMax; sent++) {
      if (!this.sendAppend(peer, false)) return;
    }
  }

  /**
   * One AppendEntries (or InstallSnapshot, if the entries it needs are compacted or unreadable) to
   * `peer`, if its progress allows. `sendIfEmpty` also sends when there are no new entries (to
   * carry a commit index or probe). Returns whether a message went out.
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
    let entries: Entry[] = [];
    if (peerProgress.nextIndex <= this.log.lastIndex()) {
      try {
        entries = this.log.slice(peerProgress.nextIndex, this.config.batchEntriesMax, this.config.batchBytesMax);
      } catch (error) {
        if (!(error instanceof LogUnavailableError)) throw error;
        // A snapshot helps only if the follower lacks it; otherwise the entries after it are what
        // storage cannot give: pause the follower until its next heartbeat answer rather than
        // loop (hasReady would otherwise stay true with nothing to send).
        if (this.log.snapshot.index <= peerProgress.matchIndex) {
          if (peerProgress.state === 'replicate') peerProgress.becomeProbe();
          peerProgress.probeSent = true;
          return false;
        }
        return this.sendSnapshot(peer, peerProgress);
      }
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.commitIndex;
    this.send({ type: 'AppendEntries', from: this.id, to: peer, term: this.term, prevLogIndex, prevLogTerm, entries, commit }, false);
    peerProgress.commitSent = Math.max(peerProgress.commitSent, Math.min(commit, prevLogIndex + entries.length));
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
  // Durability and memory.
  // ---------------------------------------------------------------------------------------------

  /**
   * A Ready's entries are durable. Only the part that still stands in the log counts: a later
   * conflict may have truncated and rewritten it (handed out again, in a later Ready). The
   * highest entry whose term still matches proves, by Log Matching, the whole prefix up to it.
   */
  private markPersisted(entries: readonly Entry[]): void {
    for (let k = entries.length - 1; k >= 0; k--) {
      const entry = entries[k]!;
      if (entry.index <= this.log.persistedIndex) return;
      if (entry.index <= this.log.handedOutIndex && this.log.termAt(entry.index) === entry.term) {
        this.log.persistedIndex = entry.index;
        return;
      }
    }
  }

  /**
   * Let go of cached entries that are durable and applied — on a leader, also held by every
   * active follower, unless the cache is over its bound (a lagging follower then reads from
   * storage, or gets a snapshot).
   */
  private dropCachedEntries(): void {
    let dropTo = Math.min(this.appliedIndex, this.log.persistedIndex);
    if (this.role === 'leader' && this.log.cachedBytes <= this.logCacheBytesMax) {
      for (const peerProgress of this.progress.values()) {
        if (peerProgress.state !== 'snapshot' && peerProgress.recentActive) dropTo = Math.min(dropTo, peerProgress.matchIndex);
      }
    }
    if (dropTo >= this.log.cacheFirstIndex) this.log.dropCacheTo(dropTo);
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

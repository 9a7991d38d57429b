// The Raft core's boundary: every type that crosses between the pure protocol core and its host
// (the server loop, the storage layer, the deterministic simulation) is declared here. The core
// itself lives beside this file and never does I/O, reads a clock, or draws randomness other than
// from the injected Prng.
//
// Numbers: terms and indexes are non-negative safe integers (JavaScript numbers are exact up to
// 2^53, which at a million entries a second lasts 285 years). Index 0 / term 0 mean "nothing":
// the log's first real entry has index 1.

import type { Prng } from '../random/prng.js';

/** A node's id: a positive safe integer. `NO_NODE` (0) means "none" (no vote, no known leader). */
export type NodeId = number;
export const NO_NODE: NodeId = 0;

/**
 * One log entry. `data` is opaque to the core; an empty `data` is the no-op a new leader appends
 * so that entries of earlier terms commit promptly (Raft §5.4.2).
 */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly data: Uint8Array;
}

/** What must be durable before a node answers a vote or an append (Raft Figure 2 "persistent state"). */
export interface HardState {
  readonly term: number;
  /** Who this node voted for in `term`, or NO_NODE. */
  readonly vote: NodeId;
  /** The highest index known committed. Persisting it is an optimisation (faster restart), not a safety need. */
  readonly commit: number;
}

/** The cluster membership a snapshot was taken under. */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
}

/** Metadata of a snapshot: the state machine as of `index` (inclusive), whose entry had `term`. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

// ---------------------------------------------------------------------------------------------
// Messages. A discriminated union on `type`, so a `switch` over it is checked for exhaustiveness.
// Every message carries `from`, `to` and the sender's `term`. The core validates every message
// handed to `step` (see validate.ts) and rejects a malformed one with an error naming the field.
// ---------------------------------------------------------------------------------------------

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/**
 * Pre-vote (Raft thesis §9.6): "would you vote for me at `term`?" sent before incrementing the
 * real term, so that a node cut off from the cluster cannot disrupt it by inflating terms.
 * `term` here is the term the sender *would* campaign at; the receiver does not adopt it.
 */
export interface PreVoteRequest extends MessageBase {
  readonly type: 'PreVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}
export interface PreVoteResponse extends MessageBase {
  readonly type: 'PreVoteResponse';
  readonly granted: boolean;
}

export interface VoteRequest extends MessageBase {
  readonly type: 'Vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /**
   * Set when campaigning because of a leadership transfer (TimeoutNow): voters then grant even
   * though they recently heard from a leader (the check-quorum lease does not apply).
   */
  readonly transfer: boolean;
}
export interface VoteResponse extends MessageBase {
  readonly type: 'VoteResponse';
  readonly granted: boolean;
}

export interface AppendEntriesRequest extends MessageBase {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  /** Contiguous, starting at prevLogIndex + 1, terms non-decreasing. May be empty (a probe). */
  readonly entries: readonly Entry[];
  /** The leader's commit index. */
  readonly commit: number;
}

/**
 * Success: `matchIndex` is the last index the follower now holds that matches the leader's log
 * (prevLogIndex + entries.length). Rejection: fast backtracking hints (Raft §5.3, the "accelerated
 * log backtracking" optimisation): if the follower's log is shorter than prevLogIndex,
 * `hintTerm` = 0 and `hintIndex` = follower's lastIndex + 1; otherwise `hintTerm` is the term of
 * the follower's entry at prevLogIndex and `hintIndex` the first index the follower holds of that
 * term. The leader then skips a whole term per round trip.
 */
export interface AppendEntriesResponse extends MessageBase {
  readonly type: 'AppendEntriesResponse';
  readonly success: boolean;
  /** On success: the follower's match index. On rejection: the rejected prevLogIndex. */
  readonly matchIndex: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/**
 * Leader liveness, commit propagation, and the confirmation rounds behind ReadIndex and leases.
 * Every heartbeat broadcast starts a new `round` (numbered from 1 in each leader term); a
 * follower echoes it, and once a quorum has echoed round r the leader knows it was still leader
 * when it sent r (see read-only.ts).
 */
export interface HeartbeatRequest extends MessageBase {
  readonly type: 'Heartbeat';
  /** min(leader commit, follower's match index): never tell a follower to commit what it may not hold. */
  readonly commit: number;
  readonly round: number;
}
export interface HeartbeatResponse extends MessageBase {
  readonly type: 'HeartbeatResponse';
  /** The round of the heartbeat answered (0 when answering a stale message). */
  readonly round: number;
}

/** A follower asks the leader for a read index on behalf of its own client (follower reads). */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'ReadIndex';
  /** The follower's own id for the read; echoed back. */
  readonly context: number;
}
/**
 * The leader's answer: `index` is a commit index at which a read is linearizable once the
 * follower has applied up to it. `success: false` when the receiver is not (or stopped being) the
 * leader: the follower fails the read so its client retries elsewhere.
 */
export interface ReadIndexResponse extends MessageBase {
  readonly type: 'ReadIndexResponse';
  readonly context: number;
  readonly index: number;
  readonly success: boolean;
}

/**
 * The leader has compacted the entries a follower needs. The core sends only the metadata; the
 * host attaches the snapshot's bytes in transit (they may be large and stream in chunks) and hands
 * the receiving core the same metadata once the bytes have arrived.
 */
export interface InstallSnapshotRequest extends MessageBase {
  readonly type: 'InstallSnapshot';
  readonly snapshot: SnapshotMeta;
}
export interface InstallSnapshotResponse extends MessageBase {
  readonly type: 'InstallSnapshotResponse';
  /** The follower's last index after installing (or the index it already had, if newer). */
  readonly matchIndex: number;
  readonly success: boolean;
}

/** Leadership transfer: the leader tells a caught-up target to campaign at once. */
export interface TimeoutNowRequest extends MessageBase {
  readonly type: 'TimeoutNow';
}

export type Message =
  | PreVoteRequest
  | PreVoteResponse
  | VoteRequest
  | VoteResponse
  | AppendEntriesRequest
  | AppendEntriesResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | InstallSnapshotRequest
  | InstallSnapshotResponse
  | TimeoutNowRequest
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message['type'];

// ---------------------------------------------------------------------------------------------
// Configuration, restore, and the Ready / advance contract.
// ---------------------------------------------------------------------------------------------

export interface RaftConfig {
  readonly id: NodeId;
  /** All voting members, including `id`. */
  readonly voters: readonly NodeId[];
  /** T: a follower or candidate campaigns after a randomised timeout in [T, 2T) ticks. */
  readonly electionTicks: number;
  /** A leader sends heartbeats every `heartbeatTicks`; must be well below electionTicks. */
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  /** A leader that has not heard from a quorum within electionTicks steps down. */
  readonly checkQuorum: boolean;
  /** Outstanding AppendEntries to one follower in replicate state: 1 = stop-and-wait, N = pipelining. */
  readonly inflightMax: number;
  /** At most this many entries per AppendEntries. */
  readonly batchEntriesMax: number;
  /** At most this many payload bytes per AppendEntries (a single larger entry still goes, alone). */
  readonly batchBytesMax: number;
  /**
   * Backpressure: a leader refuses proposals ('uncommitted-full') while its log holds this many
   * entries above the commit index (default 65 536). A leader cut off from its quorum then stops
   * taking writes instead of filling its memory.
   */
  readonly uncommittedEntriesMax?: number;
  /** …or this many payload bytes above the commit index (default 64 MiB). */
  readonly uncommittedBytesMax?: number;
  /**
   * Lease reads: a leader may answer reads locally for `leaseTicks` ticks from the send of a
   * heartbeat round a quorum acknowledged. 0 (default) turns leases off. While on, every node
   * refuses votes and pre-votes for electionTicks after hearing from a leader (or restarting),
   * whatever checkQuorum says. Must be at most `leaseTicksSafeMax(electionTicks, clockDriftMax)`
   * unless `leaseUnsafe` is set (see read-only.ts for the argument).
   */
  readonly leaseTicks?: number;
  /** The bound ρ on clock rate error the lease is sized for: every clock's tick lasts nominal × [1 − ρ, 1 + ρ] (default 0.05). */
  readonly clockDriftMax?: number;
  /** Accept a lease longer than the safe bound: reads may then be stale (labelled unsafe). */
  readonly leaseUnsafe?: boolean;
  /**
   * Entries that are durable, applied here and (on a leader) held by every active follower are
   * dropped from memory and read back through the LogReader when a lagging follower needs them.
   * Entries a follower still needs stay cached up to this many payload bytes (default 64 MiB).
   */
  readonly logCacheBytesMax?: number;
  /** The core's only source of randomness (election timeout jitter). */
  readonly prng: Prng;
}

/**
 * Durable log entries the core no longer keeps in memory, read back synchronously (etcd's
 * Storage.Entries). Implemented by the write-ahead log. A read may fail (the entries were
 * compacted, or the disk failed, or the codec cannot decode synchronously): the core then sends the
 * follower a snapshot instead.
 */
export interface LogReader {
  /** Entries [fromIndex, toIndexExclusive), stopping once bytesMax of data is reached (at least one entry). Throws when unavailable. */
  entries(fromIndex: number, toIndexExclusive: number, bytesMax: number): Entry[];
  /** The term of a durable entry, or null if the log does not hold it. */
  term(index: number): number | null;
}

/** What a restarting node reads back from durable storage. */
export interface RaftRestoreState {
  readonly hardState: HardState;
  /** The newest snapshot, or null. Entries at or below snapshot.index are not in `entries`. */
  readonly snapshot: SnapshotMeta | null;
  /** The durable log after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
  /** The highest index the host's state machine has applied (≥ snapshot index, ≤ commit). */
  readonly applied: number;
}

/** Volatile state, reported when it changes (for logging, the leader hint, tests). */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A read the host may now answer, once its state machine has applied up to `index`. */
export interface ReadState {
  /** The host's id for the read (readIndex / leaseRead argument). */
  readonly context: number;
  readonly index: number;
  /** How leadership was confirmed: a quorum round, or the lease (no message). */
  readonly via: 'read-index' | 'lease';
}

/** A read the core gave up on: the host answers its client with a retryable error. */
export interface FailedRead {
  readonly context: number;
  readonly reason: 'not-leader' | 'leader-changed';
  /** The leader as this node knows it now (NO_NODE if none). */
  readonly leader: NodeId;
}

/**
 * Everything the host must do for one Ready. The contract is stated once, at the head of raft.ts.
 * Several Readies may be outstanding; `advance` takes them back in the order `ready()` gave them.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly failedReads: readonly FailedRead[];
}

export type ProposeResult =
  | { readonly ok: true; readonly firstIndex: number; readonly lastIndex: number; readonly term: number }
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leader: NodeId }
  | { readonly ok: false; readonly reason: 'transferring'; readonly leader: NodeId }
  /** Backpressure: too much uncommitted; retry once commits catch up (or elsewhere, if this leader is cut off). */
  | { readonly ok: false; readonly reason: 'uncommitted-full'; readonly leader: NodeId; readonly uncommittedEntries: number; readonly uncommittedBytes: number };

export type ReadRequestResult =
  /**
   * `via: 'lease'`: the lease held now and the read's index is fixed now (its ReadState still
   * comes out in a later Ready); `via: 'read-index'`: a heartbeat round will confirm it.
   */
  | { readonly ok: true; readonly via: 'lease' | 'read-index' }
  | { readonly ok: false; readonly reason: 'not-leader' | 'no-leader' | 'reads-full'; readonly leader: NodeId };

export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'not-leader' | 'unknown-target' | 'already-leader' | 'transfer-in-progress' };

/** Per-follower replication state as the leader tracks it (etcd's tracker.Progress). */
export interface ProgressStatus {
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly matchIndex: number;
  readonly nextIndex: number;
  readonly inflight: number;
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Entries up to here are durable (the host advanced the Readies that carried them). */
  readonly persistedIndex: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** Only on a leader: the progress of every other voter. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | null;
  readonly transferee: NodeId;
  /** Ticks counted since this node started (the clock leases are measured on). */
  readonly tick: number;
  /** On a leader: its lease holds while `tick` is below this (0: no lease). */
  readonly leaseExpiryTick: number;
  /** Entries held in memory (the rest are read back through the LogReader). */
  readonly cachedEntries: number;
  readonly cachedBytes: number;
  readonly uncommittedEntries: number;
  readonly uncommittedBytes: number;
}

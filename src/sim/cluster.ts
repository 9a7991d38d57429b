// A deterministic cluster of N Raft cores in one process, driven by one seed. Each node has a
// drifting clock, a disk with a volatile and a durable layer, and a state machine; a simulated
// network carries messages between them. The host loop per node obeys the Ready contract:
//   ready() → write snapshot/entries/hard state (volatile) → send `messages` → fsync completes
//   after a simulated latency → send `messagesAfterPersist` → restore snapshot, apply committed
//   entries → advance(). While the fsync is in flight the node still ticks and steps messages
//   but takes no new Ready.
// After every event the invariant checkers see the touched node's state; a broken invariant
// throws at the first wrong state.

import { ClusterInvariants, type NodeObservation } from '../check/cluster-invariants.js';
import { EMPTY_LOG_BASE, type LogBase } from '../check/log-matching.js';
import { InvariantViolation } from '../check/violation.js';
import { createPrng, type Prng } from '../random/prng.js';
import { RaftNode } from '../raft/raft.js';
import type {
  Entry,
  Message,
  MessageType,
  NodeId,
  ProposeResult,
  RaftConfig,
  RaftRestoreState,
  Ready,
  Role,
  SnapshotMeta,
  TransferResult,
} from '../raft/types.js';
import { describeCrashOutcome, SimDisk, type CrashCut, type DiskState, type StoredSnapshot } from './disk.js';
import { EventQueue } from './event-queue.js';
import type { ClusterOptions } from './cluster-options.js';
import { SimNetwork, type NetworkFaults } from './network.js';
import { decodePayload, encodePayload, SimStateMachine } from './state-machine.js';
import { Trace, type TraceRecord } from './trace.js';

/** What a driver sees of one node (as of the last event that touched it). */
export interface NodeView {
  readonly up: boolean;
  readonly role: Role;
  readonly term: number;
  readonly commit: number;
  /** The host's state machine's applied index. */
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
}

export type ProposalState = 'pending' | 'committed' | 'lost' | 'unknown';

/** One client proposal accepted by a leader. */
export interface Proposal {
  readonly payloadId: number;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly proposedAtUs: number;
  /** committed: applied by the accepting leader at the index and term it returned (acknowledged). */
  state: ProposalState;
  committedAtUs: number;
}

export type ProposeOutcome =
  | { readonly ok: true; readonly proposal: Proposal }
  | ProposeRefusal;

export type ProposeRefusal = { readonly ok: false; readonly reason: 'not-leader' | 'transferring' | 'uncommitted-full' | 'down'; readonly leader: NodeId };

export type BatchProposeOutcome = { readonly ok: true; readonly proposals: readonly Proposal[] } | ProposeRefusal;

export interface ClusterStats {
  events: number;
  ticks: number;
  readies: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesByType: Record<MessageType, number>;
  /** AppendEntriesResponse messages that rejected (log mismatch): the cost of finding where logs agree. */
  appendRejections: number;
  /** AppendEntries messages that carried entries, and the entries they carried (entries per append = ratio). */
  appendsWithEntries: number;
  entriesAppended: number;
  proposalsAccepted: number;
  proposalsRejected: number;
  crashes: number;
  restarts: number;
  compactions: number;
  snapshotsInstalled: number;
  faultsInjected: number;
  /** Crashes that hit a node between writing a Ready and its fsync completing. */
  crashesDuringSync: number;
  /** …of which tore a Ready that raised the term and carried entries of it (some kept, some lost). */
  tornTermAndEntries: number;
  firstLeaderAtUs: number | null;
}

/**
 * Which written-but-unsynced Ready a crash during sync aims at. `hard-state`: it changes term,
 * vote or commit; `entries`: it appends to the log; `term-and-entries`: it raises the term and
 * carries entries of the new term (torn between the two, the disk holds entries newer than its
 * hard state's term); `any`: anything written.
 */
export type SyncCrashTarget = 'any' | 'hard-state' | 'entries' | 'term-and-entries';

/** A crash during sync: which nodes, which Ready, what survives, what follows. */
export interface SyncCrashPlan {
  /** Candidate nodes (default: every node). */
  readonly nodes?: readonly NodeId[];
  readonly target: SyncCrashTarget;
  /** No Ready in flight fits now: wait this long for one before giving up. */
  readonly withinUs: number;
  /** How many nodes to crash, each inside its own sync window (default 1). */
  readonly crashes?: number;
  /** What survives of the unsynced writes (default: the cluster's seeded torn-write setting). */
  readonly cut?: CrashCut;
  /** Restart each crashed node this long after its crash (null: leave it down). */
  readonly restartAfterUs?: number | null;
  /** Also crash this node (if still up, in the same incarnation) this long after the first crash. */
  readonly thenCrash?: { readonly node: NodeId; readonly afterUs: number } | null;
}

/** What a crash during sync did at once: crashed nodes, and whether a trap waits for more. */
export interface SyncCrashOutcome {
  readonly crashedNow: readonly NodeId[];
  readonly armed: boolean;
}

/** What the Ready a node is syncing carries (NodeHost.syncing). */
interface ReadyShape {
  readonly hardState: boolean;
  readonly entries: boolean;
  /** The hard state raises the term and the entries include some of the new term. */
  readonly termAndEntries: boolean;
}

interface SyncCrashTrap {
  readonly nodes: readonly NodeId[];
  readonly target: SyncCrashTarget;
  readonly expiresAtUs: number;
  readonly cut: CrashCut;
  readonly restartAfterUs: number | null;
  readonly thenCrash: { readonly node: NodeId; readonly afterUs: number } | null;
  remaining: number;
  /** Nodes this trap crashed already (each at most once). */
  readonly crashed: NodeId[];
}

/** Traps armed at once; the oldest is dropped beyond this. */
const SYNC_CRASH_TRAPS_MAX = 8;

type SimEvent =
  | { readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly message: Message; readonly snapshot: StoredSnapshot | null }
  | { readonly kind: 'persisted'; readonly node: NodeId; readonly incarnation: number }
  | {
      readonly kind: 'crash';
      readonly node: NodeId;
      readonly incarnation: number;
      /** SimCluster.syncCrashEpoch when scheduled: disarmSyncCrashes cancels older crashes. */
      readonly epoch: number;
      readonly cut: CrashCut | null;
      readonly restartAfterUs: number | null;
      readonly why: string;
    }
  | { readonly kind: 'restart'; readonly node: NodeId; readonly incarnation: number };

/**
 * Bound on events pending at once. An honest run of ≤ 15 nodes keeps a few thousand (ticks,
 * messages in flight, fsyncs); a message storm (e.g. a leader and a follower whose log went
 * backwards answering each other forever, amplified by duplication) fails here within seconds
 * instead of minutes.
 */
const PENDING_EVENTS_MAX = 200_000;

/**
 * Bound on events within one millisecond of simulated time. Honest runs stay in the hundreds; a
 * storm of messages answering each other (a leader re-sending to a follower whose log went
 * backwards under a broken host, amplified by duplication) would otherwise run for minutes
 * before the queue bound stops it.
 */
const EVENTS_PER_MS_MAX = 50_000;

/** Bound on Ready rounds completed back to back without persistence in one pump. */
const IMMEDIATE_READIES_MAX = 10_000;

/** How many recent snapshots a host keeps for InstallSnapshot messages the core already queued. */
const SNAPSHOTS_KEPT = 8;

class NodeHost implements NodeObservation {
  readonly disk: SimDisk;
  readonly corePrngs: Prng;
  readonly hostPrng: Prng;
  readonly tickUs: number;
  core: RaftNode | null = null;
  incarnation = 0;
  stateMachine = new SimStateMachine();
  readyInFlight: Ready | null = null;
  /** What readyInFlight wrote, while its fsync is pending (null: nothing unsynced). */
  syncing: ReadyShape | null = null;
  /** The term of the last hard state written (synced or not). */
  writtenTerm = 0;
  receivedSnapshot: StoredSnapshot | null = null;
  /**
   * Recent snapshots this node took or installed, newest last. The core names the snapshot an
   * InstallSnapshot carries when it queues the message, and the host may compact again before it
   * collects that message from the next Ready, so a few older ones stay available (as a real
   * host keeps a snapshot file until no transfer uses it).
   */
  snapshots: StoredSnapshot[] = [];
  readonly pending = new Map<number, Proposal>();
  // The last observation (NodeObservation), refreshed from the core after every event.
  role: Role = 'follower';
  term = 0;
  commit = 0;
  leaderHint: NodeId = 0;
  snapshotIndex = 0;
  snapshotTerm = 0;
  lastIndex = 0;
  applied = 0;

  constructor(
    readonly id: NodeId,
    nodePrng: Prng,
    nominalTickUs: number,
    clockDriftMax: number,
  ) {
    this.disk = new SimDisk(`node ${id}`);
    this.corePrngs = nodePrng.fork();
    this.hostPrng = nodePrng.fork();
    const drift = (nodePrng.nextFloat() * 2 - 1) * clockDriftMax;
    this.tickUs = Math.max(1, Math.round(nominalTickUs * (1 + drift)));
  }

  termAt(index: number): number | undefined {
    return this.core?.termAt(index);
  }

  get up(): boolean {
    return this.core !== null;
  }
}

export class SimCluster {
  readonly options: ClusterOptions;
  readonly nodeIds: readonly NodeId[];
  readonly invariants = new ClusterInvariants();
  readonly network: SimNetwork;
  readonly trace: Trace;
  /** A stream for whoever drives the cluster (scenario scripts, random fault schedules). */
  readonly schedulePrng: Prng;
  readonly stats: ClusterStats;
  readonly proposals: Proposal[] = [];
  private readonly queue = new EventQueue<SimEvent>(PENDING_EVENTS_MAX);
  private readonly hosts: NodeHost[];
  private readonly faultPrng: Prng;
  private readonly syncCrashTraps: SyncCrashTrap[] = [];
  private syncCrashEpoch = 0;
  private nowUsValue = 0;
  private burstStartUs = 0;
  private burstEvents = 0;
  private nextPayloadId = 1;

  constructor(options: ClusterOptions) {
    if (!Number.isSafeInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > 15) {
      throw new RangeError(`nodeCount must be an integer in [1, 15], got ${options.nodeCount}`);
    }
    if (!Number.isSafeInteger(options.tickUs) || options.tickUs < 10) throw new RangeError(`tickUs must be an integer ≥ 10, got ${options.tickUs}`);
    if (!(options.clockDriftMax >= 0 && options.clockDriftMax < 0.5)) throw new RangeError(`clockDriftMax must be in [0, 0.5), got ${options.clockDriftMax}`);
    if (!(options.fsyncUsMin >= 0 && options.fsyncUsMax >= options.fsyncUsMin)) {
      throw new RangeError(`fsync latency bounds must satisfy 0 ≤ fsyncUsMin ≤ fsyncUsMax, got ${options.fsyncUsMin}..${options.fsyncUsMax}`);
    }
    this.options = options;
    this.nodeIds = Array.from({ length: options.nodeCount }, (_, k) => k + 1);
    const root = createPrng(options.seed);
    this.network = new SimNetwork(root.fork(), this.nodeIds, options.network);
    this.faultPrng = root.fork();
    this.schedulePrng = root.fork();
    this.hosts = this.nodeIds.map((id) => new NodeHost(id, root.fork(), options.tickUs, options.clockDriftMax));
    this.trace = new Trace(options.traceCapacity, options.verbose);
    this.stats = {
      events: 0,
      ticks: 0,
      readies: 0,
      messagesSent: 0,
      messagesDelivered: 0,
      messagesByType: {
        PreVote: 0,
        PreVoteResponse: 0,
        Vote: 0,
        VoteResponse: 0,
        AppendEntries: 0,
        AppendEntriesResponse: 0,
        Heartbeat: 0,
        HeartbeatResponse: 0,
        InstallSnapshot: 0,
        InstallSnapshotResponse: 0,
        TimeoutNow: 0,
        ReadIndex: 0,
        ReadIndexResponse: 0,
      },
      appendRejections: 0,
      appendsWithEntries: 0,
      entriesAppended: 0,
      proposalsAccepted: 0,
      proposalsRejected: 0,
      crashes: 0,
      restarts: 0,
      compactions: 0,
      snapshotsInstalled: 0,
      faultsInjected: 0,
      crashesDuringSync: 0,
      tornTermAndEntries: 0,
      firstLeaderAtUs: null,
    };
    for (const host of this.hosts) {
      this.note(host.id, `clock period ${(host.tickUs / 1000).toFixed(3)} ms`);
      this.startNode(host, undefined);
    }
  }

  get nowUs(): number {
    return this.nowUsValue;
  }

  // -------------------------------------------------------------------------------------------
  // Running.
  // -------------------------------------------------------------------------------------------

  /** Process events up to `nowUs + durationUs`; the clock ends there. */
  runFor(durationUs: number): void {
    this.runUntil(() => false, durationUs);
  }

  /**
   * Process events until `done()` holds (checked after every event) or `maxUs` passed.
   * Returns whether `done()` held. The clock stops at the event that satisfied it.
   */
  runUntil(done: () => boolean, maxUs: number): boolean {
    if (!(maxUs >= 0)) throw new RangeError(`runUntil: maxUs must be ≥ 0, got ${maxUs}`);
    const limitUs = this.nowUsValue + Math.floor(maxUs);
    if (done()) return true;
    for (;;) {
      const nextUs = this.queue.peekTimeUs();
      if (nextUs === undefined || nextUs > limitUs) break;
      this.processEvent();
      if (done()) return true;
    }
    this.nowUsValue = limitUs;
    return false;
  }

  private processEvent(): void {
    const event = this.queue.pop()!;
    this.nowUsValue = event.timeUs;
    this.stats.events++;
    if (event.timeUs - this.burstStartUs >= 1000) {
      this.burstStartUs = event.timeUs;
      this.burstEvents = 0;
    } else if (++this.burstEvents > EVENTS_PER_MS_MAX) {
      throw new Error(`event storm: more than ${EVENTS_PER_MS_MAX} events within 1 ms of simulated time (from ${(this.burstStartUs / 1000).toFixed(3)} ms)`);
    }
    const payload = event.payload;
    switch (payload.kind) {
      case 'tick': {
        const host = this.host(payload.node);
        if (host.core === null || host.incarnation !== payload.incarnation) return;
        this.stats.ticks++;
        this.trace.add({ kind: 'tick', timeUs: this.nowUsValue, node: host.id });
        this.queue.push(this.nowUsValue + host.tickUs, { kind: 'tick', node: host.id, incarnation: host.incarnation });
        host.core.tick();
        this.afterEvent(host);
        return;
      }
      case 'deliver': {
        const message = payload.message;
        const host = this.host(message.to);
        // A link cut while the message was in flight drops it too; so does a crashed receiver.
        if (host.core === null || !this.network.canReach(message.from, message.to)) return;
        this.stats.messagesDelivered++;
        this.trace.add({ kind: 'deliver', timeUs: this.nowUsValue, message });
        if (message.type === 'InstallSnapshot') {
          if (payload.snapshot === null) throw new Error(`InstallSnapshot ${message.from}→${message.to} arrived without its snapshot bytes`);
          host.receivedSnapshot = payload.snapshot;
        }
        host.core.step(message);
        this.afterEvent(host);
        return;
      }
      case 'persisted': {
        const host = this.host(payload.node);
        if (host.core === null || host.incarnation !== payload.incarnation) return;
        this.completeReady(host);
        this.trace.add({ kind: 'synced', timeUs: this.nowUsValue, node: host.id, applied: host.stateMachine.appliedIndex });
        this.afterEvent(host);
        return;
      }
      case 'crash': {
        const host = this.host(payload.node);
        if (host.core === null || host.incarnation !== payload.incarnation || payload.epoch !== this.syncCrashEpoch) return;
        this.crashHost(host, payload.cut, payload.why);
        if (payload.restartAfterUs !== null) this.scheduleRestart(host, payload.restartAfterUs);
        return;
      }
      case 'restart': {
        const host = this.host(payload.node);
        if (host.core !== null || host.incarnation !== payload.incarnation) return;
        this.restart(host.id);
        return;
      }
    }
  }

  private afterEvent(host: NodeHost): void {
    this.pump(host);
    this.observe(host);
  }

  /** Refresh the host's view of its core and let the checkers see it. */
  private observe(host: NodeHost): void {
    const core = host.core;
    if (core === null) return;
    const status = core.status();
    const becameLeader = status.role === 'leader' && (host.role !== 'leader' || host.term !== status.term);
    if (status.role !== host.role || status.term !== host.term) {
      this.note(host.id, `${status.role} in term ${status.term}${status.leader !== 0 && status.role !== 'leader' ? ` (leader ${status.leader})` : ''}`);
    }
    host.role = status.role;
    host.term = status.term;
    host.commit = status.commit;
    host.leaderHint = status.leader;
    host.snapshotIndex = status.snapshotIndex;
    host.snapshotTerm = status.snapshotTerm;
    host.lastIndex = status.lastIndex;
    host.applied = status.applied;
    if (becameLeader && this.stats.firstLeaderAtUs === null) this.stats.firstLeaderAtUs = this.nowUsValue;
    this.invariants.observeNode(host.id, host);
  }

  // -------------------------------------------------------------------------------------------
  // The Ready loop.
  // -------------------------------------------------------------------------------------------

  private pump(host: NodeHost): void {
    for (let round = 0; round < IMMEDIATE_READIES_MAX; round++) {
      const core = host.core;
      if (core === null || host.readyInFlight !== null || !core.hasReady()) return;
      const ready = core.ready();
      host.readyInFlight = ready;
      this.stats.readies++;
      let mustPersist = false;
      if (ready.snapshot !== null) {
        const stored = host.receivedSnapshot;
        if (stored === null || stored.meta.index !== ready.snapshot.index || stored.meta.term !== ready.snapshot.term) {
          throw new Error(
            `node ${host.id}: Ready asks to persist snapshot ${ready.snapshot.index}/t${ready.snapshot.term} but the host received ` +
              (stored === null ? 'none' : `${stored.meta.index}/t${stored.meta.term}`),
          );
        }
        const installed: StoredSnapshot = { meta: ready.snapshot, data: stored.data };
        host.disk.write({ kind: 'snapshot', snapshot: installed });
        this.rememberSnapshot(host, installed);
        this.invariants.snapshotWritten(host.id, { index: ready.snapshot.index, term: ready.snapshot.term, hash: SimStateMachine.snapshotHash(stored.data) });
        mustPersist = true;
      }
      if (ready.entries.length > 0) {
        host.disk.write({ kind: 'entries', entries: ready.entries });
        this.invariants.logWritten(host.id, ready.entries);
        mustPersist = true;
      }
      const previousTerm = host.writtenTerm;
      if (ready.hardState !== null) {
        host.disk.write({ kind: 'hardState', hardState: ready.hardState });
        host.writtenTerm = ready.hardState.term;
        mustPersist = true;
      }
      for (const message of ready.messages) this.send(host, message, false);
      if (this.options.unsafeSendBeforePersist) for (const message of ready.messagesAfterPersist) this.send(host, message, true);
      if (mustPersist) {
        const latencyUs = host.hostPrng.nextInt(this.options.fsyncUsMin, this.options.fsyncUsMax + 1);
        host.syncing = {
          hardState: ready.hardState !== null,
          entries: ready.entries.length > 0,
          termAndEntries: ready.hardState !== null && ready.hardState.term > previousTerm && ready.entries.some((entry) => entry.term > previousTerm),
        };
        // A trap's crash goes in first, so it falls inside the window even at zero latency.
        if (this.syncCrashTraps.length > 0) this.springSyncCrashTrap(host, latencyUs);
        this.queue.push(this.nowUsValue + latencyUs, { kind: 'persisted', node: host.id, incarnation: host.incarnation });
        return;
      }
      this.completeReady(host);
    }
    throw new Error(`node ${host.id}: more than ${IMMEDIATE_READIES_MAX} Ready rounds in one event without any persistence`);
  }

  private completeReady(host: NodeHost): void {
    const ready = host.readyInFlight!;
    const core = host.core!;
    if (host.disk.hasUnsyncedWrites) host.disk.sync();
    host.syncing = null;
    if (ready.hardState !== null) this.invariants.durableCommit(host.id, ready.hardState.commit);
    if (!this.options.unsafeSendBeforePersist) for (const message of ready.messagesAfterPersist) this.send(host, message, true);
    if (ready.snapshot !== null) {
      const stored = host.disk.latestSnapshot()!;
      host.stateMachine.restore(stored.data, ready.snapshot, `node ${host.id}`);
      this.invariants.snapshotRestored(host.id, { index: ready.snapshot.index, term: ready.snapshot.term, hash: host.stateMachine.hash });
      this.stats.snapshotsInstalled++;
      this.note(host.id, `installed snapshot ${ready.snapshot.index}/t${ready.snapshot.term}`);
    }
    for (const entry of ready.committedEntries) {
      // The core promises committed entries are durable here by the time they are applied.
      const durableTerm = host.disk.durableTermAt(entry.index);
      if (durableTerm !== undefined && durableTerm !== entry.term) {
        throw new InvariantViolation('durability', [host.id], `node ${host.id} applies ${entry.index}/t${entry.term} but its disk durably holds term ${durableTerm} there`);
      }
      if (durableTerm === undefined && entry.index > host.disk.durableSnapshotIndex) {
        throw new InvariantViolation('durability', [host.id], `node ${host.id} applies ${entry.index}/t${entry.term}, which is not durable on its disk`);
      }
      host.stateMachine.apply(entry, `node ${host.id}`);
      this.invariants.applied(host.id, entry, host.stateMachine.hash);
      this.settleProposal(host, entry);
    }
    core.advance(ready);
    host.readyInFlight = null;
    if (
      ready.committedEntries.length > 0 &&
      this.options.compactionProbability > 0 &&
      host.stateMachine.appliedIndex - (host.disk.latestSnapshot()?.meta.index ?? 0) >= this.options.compactionMinEntries &&
      host.hostPrng.chance(this.options.compactionProbability)
    ) {
      this.compactHost(host);
    }
  }

  private send(host: NodeHost, message: Message, afterPersist: boolean): void {
    if (message.from !== host.id) throw new Error(`node ${host.id} emitted a message from node ${message.from}: ${message.type}`);
    if (message.to === host.id || !this.nodeIds.includes(message.to)) throw new Error(`node ${host.id} emitted a ${message.type} to node ${message.to}`);
    this.stats.messagesSent++;
    this.stats.messagesByType[message.type]++;
    if (message.type === 'AppendEntriesResponse' && !message.success) this.stats.appendRejections++;
    if (message.type === 'AppendEntries' && message.entries.length > 0) {
      this.stats.appendsWithEntries++;
      this.stats.entriesAppended += message.entries.length;
    }
    if (message.type === 'VoteResponse' && message.granted) this.invariants.voteGranted(message.from, message.term, message.to);
    let snapshot: StoredSnapshot | null = null;
    if (message.type === 'InstallSnapshot') {
      // The core sends only metadata; the host attaches the bytes of the snapshot it holds.
      const wanted = message.snapshot;
      snapshot = host.snapshots.find((stored) => stored.meta.index === wanted.index && stored.meta.term === wanted.term) ?? null;
      if (snapshot === null) {
        throw new Error(
          `node ${host.id} sent InstallSnapshot ${wanted.index}/t${wanted.term} but holds only snapshots ` +
            (host.snapshots.map((stored) => `${stored.meta.index}/t${stored.meta.term}`).join(', ') || 'none'),
        );
      }
    }
    const delays = this.network.route(message.from, message.to);
    this.trace.add({ kind: 'send', timeUs: this.nowUsValue, message, copies: delays.length, afterPersist });
    for (const delayUs of delays) this.queue.push(this.nowUsValue + delayUs, { kind: 'deliver', message, snapshot });
  }

  private settleProposal(host: NodeHost, entry: Entry): void {
    const proposal = host.pending.get(entry.index);
    if (proposal === undefined) return;
    host.pending.delete(entry.index);
    if (entry.term === proposal.term && decodePayload(entry.data, `node ${host.id}`) === proposal.payloadId) {
      proposal.state = 'committed';
      proposal.committedAtUs = this.nowUsValue;
    } else {
      proposal.state = 'lost';
    }
  }

  // -------------------------------------------------------------------------------------------
  // Node lifecycle: start, crash, restart, compaction.
  // -------------------------------------------------------------------------------------------

  private raftConfig(host: NodeHost): RaftConfig {
    return { id: host.id, voters: this.nodeIds, ...this.options.raft, prng: host.corePrngs.fork() };
  }

  private startNode(host: NodeHost, restore: RaftRestoreState | undefined): void {
    host.core = new RaftNode(this.raftConfig(host), restore);
    host.role = 'follower';
    host.term = -1;
    host.commit = -1;
    const base: LogBase =
      restore?.snapshot == null
        ? EMPTY_LOG_BASE
        : { index: restore.snapshot.index, term: restore.snapshot.term, hash: host.stateMachine.hash };
    this.invariants.nodeStarted(host.id, base, restore?.entries ?? [], restore?.hardState.commit ?? 0, restore?.applied ?? 0);
    // A random phase, so nodes started together do not tick in lockstep.
    const phaseUs = host.hostPrng.nextInt(0, host.tickUs);
    this.queue.push(this.nowUsValue + phaseUs, { kind: 'tick', node: host.id, incarnation: host.incarnation });
    this.observe(host);
    this.pump(host);
  }

  /** Power loss: volatile state and unsynced writes are gone (bar a seeded torn prefix). */
  crash(node: NodeId): void {
    const host = this.host(node);
    if (host.core === null) throw new Error(`crash: node ${node} is already down`);
    this.crashHost(host, null, '');
  }

  /** `cut` null: the cluster's seeded torn-write setting. `why` goes into the trace note. */
  private crashHost(host: NodeHost, cut: CrashCut | null, why: string): void {
    const syncing = host.syncing;
    host.core = null;
    host.incarnation++;
    host.readyInFlight = null;
    host.syncing = null;
    host.receivedSnapshot = null;
    const outcome = host.disk.crash(this.faultPrng, cut ?? { kind: 'seeded', tornProbability: this.options.tornWriteProbability });
    for (const proposal of host.pending.values()) proposal.state = 'unknown';
    host.pending.clear();
    host.role = 'follower';
    this.stats.crashes++;
    this.stats.faultsInjected++;
    if (syncing !== null) this.stats.crashesDuringSync++;
    if (syncing?.termAndEntries === true && outcome.unsyncedWrites > outcome.keptWrites && outcome.keptWrites > 0) this.stats.tornTermAndEntries++;
    this.note(host.id, why === '' ? 'CRASH' : `CRASH ${why}: ${describeCrashOutcome(outcome)}`);
  }

  private scheduleRestart(host: NodeHost, afterUs: number): void {
    this.queue.push(this.nowUsValue + afterUs, { kind: 'restart', node: host.id, incarnation: host.incarnation });
  }

  /**
   * Crash nodes between writing a Ready and its fsync completing: the moment a host that
   * acknowledges too early, or a core that restores badly from a torn write, loses data. Nodes
   * syncing a fitting Ready now are crashed at once; for the rest a trap waits up to
   * `plan.withinUs` for fitting Readys and crashes each at a seeded instant inside its fsync.
   */
  crashDuringSync(plan: SyncCrashPlan): SyncCrashOutcome {
    const nodes = (plan.nodes ?? this.nodeIds).filter((node) => this.nodeIds.includes(node));
    const trap: SyncCrashTrap = {
      nodes,
      target: plan.target,
      expiresAtUs: this.nowUsValue + Math.max(0, Math.floor(plan.withinUs)),
      cut: plan.cut ?? { kind: 'seeded', tornProbability: this.options.tornWriteProbability },
      restartAfterUs: plan.restartAfterUs ?? null,
      thenCrash: plan.thenCrash ?? null,
      remaining: Math.max(1, plan.crashes ?? 1),
      crashed: [],
    };
    const crashedNow: NodeId[] = [];
    for (;;) {
      if (trap.remaining === 0) break;
      const fitting = nodes.filter((node) => {
        const host = this.host(node);
        return host.up && host.syncing !== null && !trap.crashed.includes(node) && readyFits(host.syncing, trap.target);
      });
      if (fitting.length === 0) break;
      const node = fitting[this.faultPrng.nextInt(0, fitting.length)]!;
      this.fireTrap(trap, this.host(node), 0, true);
      crashedNow.push(node);
    }
    const armed = trap.remaining > 0 && trap.expiresAtUs > this.nowUsValue;
    if (armed) {
      this.syncCrashTraps.push(trap);
      if (this.syncCrashTraps.length > SYNC_CRASH_TRAPS_MAX) this.syncCrashTraps.shift();
      this.note(0, `armed crash during sync: ${trap.remaining} of nodes ${nodes.join(',')} syncing ${trap.target}, for ${((trap.expiresAtUs - this.nowUsValue) / 1000).toFixed(1)} ms`);
    }
    return { crashedNow, armed };
  }

  /** `host` just wrote a Ready whose fsync takes `latencyUs`: the first armed trap that fits it fires. */
  private springSyncCrashTrap(host: NodeHost, latencyUs: number): void {
    const traps = this.syncCrashTraps;
    for (let k = traps.length - 1; k >= 0; k--) if (traps[k]!.expiresAtUs < this.nowUsValue || traps[k]!.remaining === 0) traps.splice(k, 1);
    const trap = traps.find((candidate) => candidate.nodes.includes(host.id) && !candidate.crashed.includes(host.id) && readyFits(host.syncing!, candidate.target));
    if (trap === undefined) return;
    // Queued, never at once: the caller (pump) is still mid-Ready.
    this.fireTrap(trap, host, latencyUs === 0 ? 0 : this.faultPrng.nextInt(0, latencyUs), false);
  }

  /** Crash `host` now or after `delayUs`, while its Ready syncs; the first firing also schedules `thenCrash`. */
  private fireTrap(trap: SyncCrashTrap, host: NodeHost, delayUs: number, now: boolean): void {
    const shape = host.syncing!;
    const why = `during sync of a Ready with ${[shape.termAndEntries ? 'a new term and its entries' : '', shape.hardState && !shape.termAndEntries ? 'hard state' : '', shape.entries && !shape.termAndEntries ? 'entries' : '']
      .filter((part) => part !== '')
      .join(' and ')}`;
    if (trap.crashed.length === 0 && trap.thenCrash !== null) {
      const target = this.host(trap.thenCrash.node);
      if (target.up) {
        this.queue.push(this.nowUsValue + delayUs + trap.thenCrash.afterUs, {
          kind: 'crash',
          node: target.id,
          incarnation: target.incarnation,
          epoch: this.syncCrashEpoch,
          cut: null,
          restartAfterUs: null,
          why: `(follows the crash of node ${host.id} during sync)`,
        });
      }
    }
    trap.crashed.push(host.id);
    trap.remaining--;
    if (now) {
      this.crashHost(host, trap.cut, why);
      if (trap.restartAfterUs !== null) this.scheduleRestart(host, trap.restartAfterUs);
      return;
    }
    this.queue.push(this.nowUsValue + delayUs, {
      kind: 'crash',
      node: host.id,
      incarnation: host.incarnation,
      epoch: this.syncCrashEpoch,
      cut: trap.cut,
      restartAfterUs: trap.restartAfterUs,
      why,
    });
  }

  /** Stop every crash during sync: armed traps and crashes already scheduled (restarts still happen). For heal phases. */
  disarmSyncCrashes(): void {
    this.syncCrashTraps.length = 0;
    this.syncCrashEpoch++;
  }

  /** Build a new core from what the disk holds durably, and re-apply from the snapshot on. */
  restart(node: NodeId): void {
    const host = this.host(node);
    if (host.core !== null) throw new Error(`restart: node ${node} is up`);
    const durable = host.disk.durableState();
    host.writtenTerm = durable.hardState.term;
    host.stateMachine = new SimStateMachine();
    host.snapshots = durable.snapshot === null ? [] : [durable.snapshot];
    let snapshotMeta: SnapshotMeta | null = null;
    if (durable.snapshot !== null) {
      snapshotMeta = durable.snapshot.meta;
      host.stateMachine.restore(durable.snapshot.data, snapshotMeta, `node ${node} restart`);
    }
    this.stats.restarts++;
    this.note(
      node,
      `RESTART from disk: term ${durable.hardState.term} vote ${durable.hardState.vote} commit ${durable.hardState.commit}, ` +
        `snapshot ${snapshotMeta?.index ?? 0}, log to ${(snapshotMeta?.index ?? 0) + durable.entries.length}`,
    );
    this.startNode(host, {
      hardState: durable.hardState,
      snapshot: snapshotMeta,
      entries: durable.entries,
      applied: snapshotMeta?.index ?? 0,
    });
  }

  /** The node snapshots its applied state and compacts its log; returns false if nothing new to snapshot. */
  compact(node: NodeId): boolean {
    const host = this.host(node);
    if (host.core === null || host.readyInFlight !== null) return false;
    return this.compactHost(host);
  }

  private rememberSnapshot(host: NodeHost, stored: StoredSnapshot): void {
    host.snapshots.push(stored);
    if (host.snapshots.length > SNAPSHOTS_KEPT) host.snapshots.shift();
  }

  private compactHost(host: NodeHost): boolean {
    const stateMachine = host.stateMachine;
    if (stateMachine.appliedIndex <= (host.disk.latestSnapshot()?.meta.index ?? 0)) return false;
    const meta: SnapshotMeta = { index: stateMachine.appliedIndex, term: stateMachine.appliedTerm, config: { voters: this.nodeIds } };
    const stored: StoredSnapshot = { meta, data: stateMachine.snapshot() };
    host.disk.compact(stored);
    this.rememberSnapshot(host, stored);
    host.core!.compact(meta);
    this.stats.compactions++;
    this.note(host.id, `compacted log through ${meta.index}/t${meta.term}`);
    this.observe(host);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Faults and clients.
  // -------------------------------------------------------------------------------------------

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
    this.stats.faultsInjected++;
    this.note(0, `partition ${groups.map((group) => `{${group.join(',')}}`).join(' ')}`);
  }

  isolate(node: NodeId): void {
    this.network.isolate(node);
    this.stats.faultsInjected++;
    this.note(0, `isolate node ${node}`);
  }

  cut(from: NodeId, to: NodeId): void {
    this.network.cut(from, to);
    this.stats.faultsInjected++;
    this.note(0, `cut link ${from}→${to}`);
  }

  heal(): void {
    this.network.heal();
    this.note(0, 'heal all links');
  }

  setNetworkFaults(faults: NetworkFaults): void {
    this.network.setFaults(faults);
    if (faults.lossProbability > 0 || faults.duplicateProbability > 0 || faults.reorderProbability > 0) this.stats.faultsInjected++;
    this.note(
      0,
      `network loss ${faults.lossProbability} dup ${faults.duplicateProbability} reorder ${faults.reorderProbability}` +
        ` (≤ ${faults.reorderDelayUsMax / 1000} ms) latency ${faults.latencyUsMin / 1000}..${faults.latencyUsMax / 1000} ms`,
    );
  }

  /** Submit one client proposal (a fresh unique payload) to `node`. */
  propose(node: NodeId): ProposeOutcome {
    const outcome = this.proposeBatch(node, 1);
    return outcome.ok ? { ok: true, proposal: outcome.proposals[0]! } : outcome;
  }

  /** Submit `count` proposals to `node` in one batch (one propose call, one Ready). */
  proposeBatch(node: NodeId, count: number): BatchProposeOutcome {
    const host = this.host(node);
    if (host.core === null) return { ok: false, reason: 'down', leader: 0 };
    const payloadIds = Array.from({ length: count }, () => this.nextPayloadId++);
    const result: ProposeResult = host.core.propose(payloadIds.map(encodePayload));
    if (!result.ok) {
      this.stats.proposalsRejected += count;
      this.afterEvent(host);
      return { ok: false, reason: result.reason, leader: result.leader };
    }
    const proposals = payloadIds.map((payloadId, k): Proposal => ({
      payloadId,
      node,
      index: result.firstIndex + k,
      term: result.term,
      proposedAtUs: this.nowUsValue,
      state: 'pending',
      committedAtUs: -1,
    }));
    for (const proposal of proposals) {
      host.pending.set(proposal.index, proposal);
      this.proposals.push(proposal);
    }
    this.stats.proposalsAccepted += count;
    this.note(node, `accepted proposal${count > 1 ? 's' : ''} #${payloadIds[0]}${count > 1 ? `..#${payloadIds[count - 1]}` : ''} at ${result.firstIndex}${count > 1 ? `..${result.lastIndex}` : ''}/t${result.term}`);
    this.afterEvent(host);
    return { ok: true, proposals };
  }

  transferLeadership(from: NodeId, to: NodeId): TransferResult {
    const host = this.host(from);
    if (host.core === null) return { ok: false, reason: 'not-leader' };
    const result = host.core.transferLeadership(to);
    this.note(from, `transfer leadership to ${to}: ${result.ok ? 'started' : result.reason}`);
    this.afterEvent(host);
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // What the driver may look at.
  // -------------------------------------------------------------------------------------------

  /** True while the node's fsync for its current Ready is in flight (a crash now loses writes). */
  isSyncing(node: NodeId): boolean {
    const host = this.host(node);
    return host.up && host.disk.hasUnsyncedWrites;
  }

  /** What the node's disk holds durably (what a restart would read). */
  durableState(node: NodeId): DiskState {
    return this.host(node).disk.durableState();
  }

  isUp(node: NodeId): boolean {
    return this.host(node).up;
  }

  /** The live node that is leader in the highest term, or 0. */
  leader(): NodeId {
    let best: NodeHost | null = null;
    for (const host of this.hosts) {
      if (host.up && host.role === 'leader' && (best === null || host.term > best.term)) best = host;
    }
    return best === null ? 0 : best.id;
  }

  /** Live nodes that believe they lead (in any term). */
  leaders(): NodeId[] {
    return this.hosts.filter((host) => host.up && host.role === 'leader').map((host) => host.id);
  }

  nodeView(node: NodeId): NodeView {
    const host = this.host(node);
    return { up: host.up, role: host.role, term: host.term, commit: host.commit, applied: host.stateMachine.appliedIndex, lastIndex: host.lastIndex, snapshotIndex: host.snapshotIndex };
  }

  /** The entry a live node holds at `index` (undefined if compacted, beyond its log, or down). */
  entryAt(node: NodeId, index: number): Entry | undefined {
    return this.host(node).core?.entryAt(index);
  }

  hasApplied(node: NodeId, payloadId: number): boolean {
    return this.host(node).stateMachine.has(payloadId);
  }

  appliedPayloadCount(node: NodeId): number {
    return this.host(node).stateMachine.payloadCount;
  }

  acknowledged(): Proposal[] {
    return this.proposals.filter((proposal) => proposal.state === 'committed');
  }

  /** Every payload a client saw committed must be in the applied state of every live node. */
  checkAcknowledgedEverywhere(): void {
    for (const proposal of this.proposals) {
      if (proposal.state !== 'committed') continue;
      for (const host of this.hosts) {
        if (!host.up) continue;
        if (!host.stateMachine.has(proposal.payloadId)) {
          throw new InvariantViolation(
            'durability',
            [host.id, proposal.node],
            `proposal #${proposal.payloadId}, acknowledged as committed by node ${proposal.node} at ${proposal.index}/t${proposal.term}, ` +
              `is missing from node ${host.id}'s applied state (applied to ${host.stateMachine.appliedIndex})`,
          );
        }
      }
    }
  }

  describe(): string {
    return this.hosts
      .map((host) =>
        host.up
          ? `n${host.id} ${host.role} t${host.term} commit ${host.commit} applied ${host.stateMachine.appliedIndex} last ${host.lastIndex} snap ${host.snapshotIndex}${host.readyInFlight !== null ? ' (syncing)' : ''}`
          : `n${host.id} DOWN`,
      )
      .join('; ') + (this.network.partitioned ? '; some links cut' : '') + this.describeLeaderProgress();
  }

  private describeLeaderProgress(): string {
    const leader = this.leader();
    const progress = leader === 0 ? null : this.host(leader).core!.status().progress;
    if (progress === null) return '';
    const peers = [...progress.entries()].sort(([a], [b]) => a - b);
    return `; leader ${leader} progress: ${peers
      .map(([peer, p]) => `${peer}:${p.state} match ${p.matchIndex} next ${p.nextIndex} inflight ${p.inflight}${p.recentActive ? '' : ' inactive'}`)
      .join(', ')}`;
  }

  recentTrace(): TraceRecord[] {
    return this.trace.recent();
  }

  note(node: NodeId, text: string): void {
    this.trace.add({ kind: 'note', timeUs: this.nowUsValue, node, text });
  }

  private host(node: NodeId): NodeHost {
    const host = this.hosts[node - 1];
    if (host === undefined || host.id !== node) throw new RangeError(`no node ${node} in a cluster of ${this.hosts.length}`);
    return host;
  }
}

function readyFits(shape: ReadyShape, target: SyncCrashTarget): boolean {
  switch (target) {
    case 'any':
      return true;
    case 'hard-state':
      return shape.hardState;
    case 'entries':
      return shape.entries;
    case 'term-and-entries':
      return shape.termAndEntries;
  }
}

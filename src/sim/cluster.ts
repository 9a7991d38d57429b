// A deterministic cluster of real nodes in one process, driven by one seed. Every node is the host
// loop users run (src/server/node.ts: KvNode, with the real write-ahead log and snapshot files on a
// simulated, fault-injecting disk, and the real KV state machine), with a drifting clock; a
// simulated network carries its messages. One event queue orders everything; no wall clock, no
// Math.random, no real I/O — so a seed replays exactly.
//
// The nodes' code is promise-based (the storage layer is), so after every event the loop lets the
// promises it settled run to completion (`settle`) before the next event — in the same order every
// run, since nothing but this queue ever resolves them.
//
// After every event the checkers see the node the event belonged to; hooks on the nodes report
// what they write, make durable, apply, snapshot and restore. A broken invariant throws at the first
// wrong state and ends the run with the seed's replay command.

import { ClusterInvariants, type NodeObservation } from '../check/cluster-invariants.js';
import { InvariantViolation } from '../check/violation.js';
import { createPrng, type Prng } from '../random/prng.js';
import type { Message, MessageType, NodeId, Ready, Role, TransferResult } from '../raft/types.js';
import { KvNode, type NodeObserver, type NodeReply } from '../server/node.js';
import { resolveNodeOptions, type NodeOptions } from '../server/node-options.js';
import type { TransportHandler } from '../transport/transport.js';
import { encodedMessageBytes } from '../transport/codec.js';
import { ApplyTracker, encodePayload } from './apply-tracker.js';
import type { ClusterOptions } from './cluster-options.js';
import { describeShape, readyFits, readyShape, SYNC_CRASH_TRAPS_MAX, type ReadyShape, type SyncCrashPlan, type SyncCrashTrap } from './crash-traps.js';
import { EventQueue } from './event-queue.js';
import { describeFileSystemCrashOutcome, SimFileSystem, type FileSystemCrashCut } from './file-system.js';
import { SimNetwork, type NetworkFaults } from './network.js';
import { SimNodeRuntime, type SimEventLoop } from './runtime.js';
import { Trace, type TraceRecord } from './trace.js';
import { SimTransport, type SimWire } from './transport.js';

export type { SyncCrashPlan, SyncCrashTarget } from './crash-traps.js';

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

/** One scenario proposal accepted by a leader. */
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

export type ProposeRefusal = { readonly ok: false; readonly reason: 'not-leader' | 'no-leader' | 'overloaded' | 'down' | 'refused'; readonly leader: NodeId };
export type ProposeOutcome = { readonly ok: true; readonly proposal: Proposal } | ProposeRefusal;
export type BatchProposeOutcome = { readonly ok: true; readonly proposals: readonly Proposal[] } | ProposeRefusal;

export interface ClusterStats {
  events: number;
  readies: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesByType: Record<MessageType, number>;
  appendRejections: number;
  appendsWithEntries: number;
  entriesAppended: number;
  proposalsAccepted: number;
  proposalsRejected: number;
  crashes: number;
  restarts: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  storageFailures: number;
  faultsInjected: number;
  /** Crashes that hit a node while a sync of its disk was in flight. */
  crashesDuringSync: number;
  /** Restarts whose disk had lost entries the node had handed to its storage (unsynced at the crash). */
  restartsAfterLostWrites: number;
  /** …of which recovered entries of a term above the recovered hard state's (a Ready torn between its entries and its hard state). */
  restartsFromTornTerm: number;
  leaseReads: number;
  firstLeaderAtUs: number | null;
}

interface SimEvent {
  readonly node: NodeId;
  readonly run: () => void;
}

type HostState = 'starting' | 'up' | 'down';

class NodeHost implements NodeObservation {
  readonly fs: SimFileSystem;
  readonly rate: number;
  readonly faultPrng: Prng;
  state: HostState = 'down';
  incarnation = 0;
  node: KvNode | null = null;
  runtime: SimNodeRuntime | null = null;
  transport: SimTransport | null = null;
  handler: TransportHandler | null = null;
  readonly pending = new Map<number, Proposal>();
  /** The term of the last hard state handed to storage (for telling a Ready's shape). */
  writtenTerm = 0;
  /** A crash trap aimed at this node's next sync: fires inside it. */
  armedTrap: { readonly trap: SyncCrashTrap; readonly shape: ReadyShape } | null = null;
  /** The highest index this incarnation applied (restart must recover a log that holds it). */
  appliedBeforeCrash = 0;
  /** The last index handed to storage (written or not). */
  handedOutLastIndex = 0;
  /** What the last start recovered: hard state term and the log's last entry. */
  lastRecovered: { readonly hardStateTerm: number; readonly lastIndex: number; readonly lastTerm: number } | null = null;
  // NodeObservation, refreshed after every event of this node.
  role: Role = 'follower';
  term = 0;
  commit = 0;
  snapshotIndex = 0;
  snapshotTerm = 0;
  lastIndex = 0;

  constructor(
    readonly id: NodeId,
    fs: SimFileSystem,
    rate: number,
    faultPrng: Prng,
  ) {
    this.fs = fs;
    this.rate = rate;
    this.faultPrng = faultPrng;
  }

  termAt(index: number): number | undefined {
    return this.node?.termAt(index);
  }

  get up(): boolean {
    return this.state === 'up';
  }
}

/**
 * Bound on events pending at once: an honest run keeps a few thousand; a message storm fails here
 * within seconds instead of minutes.
 */
const PENDING_EVENTS_MAX = 400_000;
/** Bound on events within one millisecond of simulated time (honest runs stay in the hundreds). */
const EVENTS_PER_MS_MAX = 50_000;
/** Promise hops let run between two events; chains longer than this continue after the next event (still deterministic). */
const SETTLE_HOPS = 8;

/**
 * Resolves once every queued microtask has run (a macrotask turn comes only after the microtask
 * queue is empty). Deterministic as long as nothing in the simulation waits on real I/O.
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class SimCluster implements SimEventLoop, SimWire {
  readonly options: ClusterOptions;
  readonly nodeIds: readonly NodeId[];
  readonly invariants = new ClusterInvariants();
  readonly tracker: ApplyTracker;
  readonly network: SimNetwork;
  readonly trace: Trace;
  /** A stream for whoever drives the cluster (scenario scripts, random fault schedules). */
  readonly schedulePrng: Prng;
  readonly stats: ClusterStats;
  readonly proposals: Proposal[] = [];
  private readonly queue = new EventQueue<SimEvent>(PENDING_EVENTS_MAX);
  private readonly hosts: NodeHost[];
  private readonly faultPrng: Prng;
  private readonly traps: SyncCrashTrap[] = [];
  private syncCrashEpoch = 0;
  private nowUsValue = 0;
  private burstStartUs = 0;
  private burstEvents = 0;
  private nextPayloadId = 1;
  /** A failure raised inside a node's promise chain: thrown from the run loop after the event. */
  private failure: Error | null = null;
  private readonly checkQuorumCutOffSince = new Map<NodeId, number>();
  private readonly termFirstCommit = new Map<number, { readonly node: NodeId; readonly atUs: number }>();

  private constructor(options: ClusterOptions) {
    if (!Number.isSafeInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > 15) {
      throw new RangeError(`nodeCount must be an integer in [1, 15], got ${options.nodeCount}`);
    }
    if (!Number.isSafeInteger(options.tickUs) || options.tickUs < 100) throw new RangeError(`tickUs must be an integer ≥ 100, got ${options.tickUs}`);
    if (!(options.clockDriftMax >= 0 && options.clockDriftMax < 0.5)) throw new RangeError(`clockDriftMax must be in [0, 0.5), got ${options.clockDriftMax}`);
    if (!(options.fsyncUsMin >= 0 && options.fsyncUsMax >= options.fsyncUsMin)) {
      throw new RangeError(`fsync latency bounds must satisfy 0 ≤ fsyncUsMin ≤ fsyncUsMax, got ${options.fsyncUsMin}..${options.fsyncUsMax}`);
    }
    this.options = options;
    this.nodeIds = Array.from({ length: options.nodeCount }, (_, k) => k + 1);
    this.tracker = new ApplyTracker(this.invariants);
    const root = createPrng(options.seed);
    this.network = new SimNetwork(root.fork(), this.nodeIds, options.network);
    this.faultPrng = root.fork();
    this.schedulePrng = root.fork();
    this.hosts = this.nodeIds.map((id) => {
      const nodePrng = root.fork();
      const drift = (nodePrng.nextFloat() * 2 - 1) * options.clockDriftMax;
      const fs = new SimFileSystem({ scheduler: { nowUs: () => this.nowUsValue, after: (delayUs, run) => this.schedule(id, delayUs, run) }, prng: nodePrng.fork(), syncLatencyUsMin: options.fsyncUsMin, syncLatencyUsMax: options.fsyncUsMax });
      return new NodeHost(id, fs, 1 + drift, nodePrng.fork());
    });
    this.trace = new Trace(options.traceCapacity, options.verbose);
    this.stats = {
      events: 0,
      readies: 0,
      messagesSent: 0,
      messagesDelivered: 0,
      messagesByType: { PreVote: 0, PreVoteResponse: 0, Vote: 0, VoteResponse: 0, AppendEntries: 0, AppendEntriesResponse: 0, Heartbeat: 0, HeartbeatResponse: 0, InstallSnapshot: 0, InstallSnapshotResponse: 0, TimeoutNow: 0, ReadIndex: 0, ReadIndexResponse: 0 },
      appendRejections: 0,
      appendsWithEntries: 0,
      entriesAppended: 0,
      proposalsAccepted: 0,
      proposalsRejected: 0,
      crashes: 0,
      restarts: 0,
      snapshotsTaken: 0,
      snapshotsInstalled: 0,
      storageFailures: 0,
      faultsInjected: 0,
      crashesDuringSync: 0,
      restartsAfterLostWrites: 0,
      restartsFromTornTerm: 0,
      leaseReads: 0,
      firstLeaderAtUs: null,
    };
  }

  /** Builds the cluster and starts every node (their storage opens on the simulated disks). */
  static async create(options: ClusterOptions): Promise<SimCluster> {
    const cluster = new SimCluster(options);
    for (const host of cluster.hosts) {
      cluster.note(host.id, `clock rate ${host.rate.toFixed(4)}`);
      cluster.startHost(host);
    }
    if (!(await cluster.runUntil(() => cluster.hosts.every((host) => host.up), 1_000_000))) {
      throw new Error(`the nodes did not start within 1 s of simulated time: ${cluster.describe()}`);
    }
    return cluster;
  }

  get nowUs(): number {
    return this.nowUsValue;
  }

  // -------------------------------------------------------------------------------------------
  // The event loop.
  // -------------------------------------------------------------------------------------------

  schedule(node: NodeId, delayUs: number, run: () => void): void {
    this.queue.push(this.nowUsValue + Math.max(0, Math.round(delayUs)), { node, run });
  }

  /** Process events up to `nowUs + durationUs`; the clock ends there. */
  async runFor(durationUs: number): Promise<void> {
    await this.runUntil(() => false, durationUs);
  }

  /**
   * Process events until `done()` holds (checked after every event) or `maxUs` passed. Returns
   * whether `done()` held. The clock stops at the event that satisfied it.
   */
  async runUntil(done: () => boolean, maxUs: number): Promise<boolean> {
    if (!(maxUs >= 0)) throw new RangeError(`runUntil: maxUs must be ≥ 0, got ${maxUs}`);
    const limitUs = this.nowUsValue + Math.floor(maxUs);
    await this.settle();
    this.throwFailure();
    if (done()) return true;
    for (;;) {
      let nextUs = this.queue.peekTimeUs();
      if (nextUs === undefined || nextUs > limitUs) {
        // Nothing is due: a long promise chain (every node opening its storage after a crash of
        // all) may still be running past the settle hops. Drain it fully before the clock jumps.
        await drainMicrotasks();
        this.throwFailure();
        if (done()) return true;
        nextUs = this.queue.peekTimeUs();
        if (nextUs === undefined || nextUs > limitUs) break;
      }
      await this.processEvent();
      if (done()) return true;
    }
    this.nowUsValue = limitUs;
    return false;
  }

  private async processEvent(): Promise<void> {
    const event = this.queue.pop()!;
    this.nowUsValue = event.timeUs;
    this.stats.events++;
    if (event.timeUs - this.burstStartUs >= 1000) {
      this.burstStartUs = event.timeUs;
      this.burstEvents = 0;
    } else if (++this.burstEvents > EVENTS_PER_MS_MAX) {
      throw new Error(`event storm: more than ${EVENTS_PER_MS_MAX} events within 1 ms of simulated time (from ${(this.burstStartUs / 1000).toFixed(3)} ms)`);
    }
    event.payload.run();
    await this.settle();
    this.throwFailure();
    const node = event.payload.node;
    if (node !== 0) this.observe(this.host(node));
  }

  /** Lets the promises the last event settled run (deterministically: nothing else resolves them). */
  private async settle(): Promise<void> {
    for (let hop = 0; hop < SETTLE_HOPS; hop++) await null;
  }

  private throwFailure(): void {
    if (this.failure === null) return;
    const failure = this.failure;
    this.failure = null;
    throw failure;
  }

  private fail(error: Error): void {
    if (this.failure === null) this.failure = error;
  }

  /** Refresh the host's view of its node and let the checkers see it. */
  private observe(host: NodeHost): void {
    const node = host.node;
    if (node === null || host.state !== 'up') return;
    const status = node.status();
    if (status === null) return;
    const becameLeader = status.role === 'leader' && (host.role !== 'leader' || host.term !== status.term);
    if (status.role !== host.role || status.term !== host.term) {
      this.note(host.id, `${status.role} in term ${status.term}${status.leader !== 0 && status.role !== 'leader' ? ` (leader ${status.leader})` : ''}`);
    }
    host.role = status.role;
    host.term = status.term;
    host.commit = status.commit;
    host.snapshotIndex = status.snapshotIndex;
    host.snapshotTerm = status.snapshotTerm;
    host.lastIndex = status.lastIndex;
    if (becameLeader && this.stats.firstLeaderAtUs === null) this.stats.firstLeaderAtUs = this.nowUsValue;
    this.invariants.observeNode(host.id, host);
    this.recordTermCommit(host);
    this.checkQuorumStepDown(host);
  }

  // -------------------------------------------------------------------------------------------
  // Nodes: start, crash, restart.
  // -------------------------------------------------------------------------------------------

  private nodeOptions(host: NodeHost): NodeOptions {
    const options = this.options;
    return resolveNodeOptions({
      id: host.id,
      voters: this.nodeIds,
      dataDir: `/node-${host.id}`,
      seed: options.seed * 31 + host.id,
      tickMs: options.tickUs / 1000,
      raft: options.raft,
      storage: {
        fsync: options.fsync,
        allowUnsafe: options.fsync === 'none',
        fileOps: host.fs,
        clock: host.fs.clock(),
        logCodec: options.logCodec,
        snapshotCodec: options.snapshotCodec,
        segmentSizeBytes: options.segmentSizeBytes,
        onWarning: (warning) => this.note(host.id, `storage ${warning.kind}: ${warning.message}`),
      },
      proposalBatchEntriesMax: options.proposalBatchEntriesMax,
      sendBeforePersist: options.sendBeforePersist,
      readiesInFlightMax: options.readiesInFlightMax,
      snapshotEntries: options.snapshotEntries,
      snapshotChunkBytes: 4096,
      readMode: 'read-index',
      unsafeReadsAllowed: true,
      kvLock: options.kvLock,
      readerThreads: 0,
      kvSegmentBytes: 64 * 1024,
      requestTimeoutMs: options.requestTimeoutMs,
      storageRecoveryMs: options.storageRecoveryMs,
      testOnlyAcknowledgeBeforePersist: options.unsafeSendBeforePersist,
    });
  }

  private startHost(host: NodeHost): void {
    host.incarnation += 1;
    const incarnation = host.incarnation;
    const runtime = new SimNodeRuntime(this, host.id, host.rate);
    const transport = new SimTransport(this, host.id);
    host.runtime = runtime;
    host.transport = transport;
    host.handler = null;
    host.state = 'starting';
    host.role = 'follower';
    const node = new KvNode(this.nodeOptions(host), transport, runtime, this.observerFor(host, incarnation));
    host.node = node;
    node.start().then(
      () => {
        // A disk fault while opening leaves it recovering (the storageFailed hook watches it).
        if (host.incarnation === incarnation && node.running) host.state = 'up';
      },
      (error: unknown) => {
        if (host.incarnation === incarnation) this.fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  private observerFor(host: NodeHost, incarnation: number): NodeObserver {
    const live = (): boolean => host.incarnation === incarnation;
    const guard = (check: () => void): void => {
      if (!live()) return;
      try {
        check();
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    };
    return {
      started: (recovered, stateMachine) =>
        guard(() => {
          const snapshotIndex = recovered.snapshot?.index ?? 0;
          const lastIndex = snapshotIndex + recovered.entries.length;
          // Whatever this node applied before it crashed was durable, so its log must still hold it.
          if (lastIndex < host.appliedBeforeCrash) {
            throw new InvariantViolation('durability', [host.id], `node ${host.id} applied index ${host.appliedBeforeCrash} before its crash, but its disk recovered a log ending at ${lastIndex}`);
          }
          const lastEntry = recovered.entries[recovered.entries.length - 1];
          host.lastRecovered = { hardStateTerm: recovered.hardState.term, lastIndex, lastTerm: lastEntry?.term ?? recovered.snapshot?.term ?? 0 };
          if (lastIndex < host.handedOutLastIndex) this.stats.restartsAfterLostWrites++;
          if (lastEntry !== undefined && lastEntry.term > recovered.hardState.term) this.stats.restartsFromTornTerm++;
          host.handedOutLastIndex = lastIndex;
          const hash = this.invariants.stateMachineSafety.prefixHashAt(snapshotIndex) ?? 0;
          this.invariants.nodeStarted(host.id, { index: snapshotIndex, term: recovered.snapshot?.term ?? 0, hash }, recovered.entries, Math.max(recovered.hardState.commit, snapshotIndex), snapshotIndex);
          this.tracker.started(host.id, snapshotIndex, stateMachine);
          host.writtenTerm = recovered.hardState.term;
        }),
      ready: (ready) => guard(() => this.readyHandedOut(host, ready)),
      persisted: (ready, hardStateDurable) =>
        guard(() => {
          if (ready.hardState !== null && hardStateDurable) this.invariants.durableCommit(host.id, ready.hardState.commit);
        }),
      applied: (_results, entries) =>
        guard(() => {
          this.tracker.applied(host.id, entries);
          host.appliedBeforeCrash = Math.max(host.appliedBeforeCrash, entries[entries.length - 1]!.index);
          for (const entry of entries) this.settleProposal(host, entry.index, entry.term);
        }),
      snapshotStarted: (meta, stateMachine) => guard(() => this.tracker.snapshotStarted(host.id, meta, stateMachine)),
      snapshotTaken: (meta) =>
        guard(() => {
          this.stats.snapshotsTaken++;
          this.note(host.id, `snapshot and compaction through ${meta.index}/t${meta.term}`);
        }),
      restored: (meta, stateMachine) =>
        guard(() => {
          this.stats.snapshotsInstalled++;
          this.tracker.restored(host.id, meta, stateMachine);
          host.appliedBeforeCrash = Math.max(host.appliedBeforeCrash, meta.index);
          this.note(host.id, `installed snapshot ${meta.index}/t${meta.term}`);
        }),
      leaseRead: (term) => guard(() => this.leaseReadGranted(host, term)),
      storageFailed: (error) =>
        guard(() => {
          this.stats.storageFailures++;
          host.state = 'starting';
          this.note(host.id, `STORAGE FAILED: ${error.message}; recovering`);
          // The node reopens its storage itself after storageRecoveryMs (KvNode.failStorage).
          this.schedule(host.id, this.options.storageRecoveryMs * 1000 + 1, () => this.watchRecovery(host, incarnation));
        }),
      fatal: (error) => {
        if (live()) this.fail(error);
      },
    };
  }

  /** After a storage failure the node restarts itself; note when it is back. */
  private watchRecovery(host: NodeHost, incarnation: number): void {
    if (host.incarnation !== incarnation || host.node === null) return;
    if (host.node.running) {
      host.state = 'up';
      this.note(host.id, 'storage recovered, node back');
      return;
    }
    this.schedule(host.id, this.options.tickUs, () => this.watchRecovery(host, incarnation));
  }

  private readyHandedOut(host: NodeHost, ready: Ready): void {
    this.stats.readies++;
    if (ready.snapshot !== null) {
      const hash = this.invariants.stateMachineSafety.prefixHashAt(ready.snapshot.index) ?? 0;
      this.invariants.snapshotWritten(host.id, { index: ready.snapshot.index, term: ready.snapshot.term, hash });
    }
    if (ready.snapshot !== null) host.handedOutLastIndex = ready.snapshot.index;
    if (ready.entries.length > 0) {
      this.invariants.logWritten(host.id, ready.entries);
      host.handedOutLastIndex = ready.entries[ready.entries.length - 1]!.index;
    }
    const shape = readyShape(ready, host.writtenTerm);
    if (ready.hardState !== null) host.writtenTerm = ready.hardState.term;
    if (shape !== null && this.traps.length > 0) this.armTrapFor(host, shape);
  }

  // -------------------------------------------------------------------------------------------
  // The wire (SimWire).
  // -------------------------------------------------------------------------------------------

  handlerOf(node: NodeId): TransportHandler | null {
    const host = this.host(node);
    return host.state === 'down' ? null : host.handler;
  }

  register(node: NodeId, transport: SimTransport, handler: TransportHandler): void {
    const host = this.host(node);
    if (host.transport === transport) host.handler = handler;
  }

  sent(message: Message, copies: number): void {
    // A vote counts once its answer leaves the node (after the vote is durable), not before.
    if (message.type === 'VoteResponse' && message.granted) this.invariants.voteGranted(message.from, message.term, message.to);
    this.stats.messagesSent++;
    this.stats.messagesByType[message.type]++;
    if (message.type === 'AppendEntriesResponse' && !message.success) this.stats.appendRejections++;
    if (message.type === 'AppendEntries' && message.entries.length > 0) {
      this.stats.appendsWithEntries++;
      this.stats.entriesAppended += message.entries.length;
    }
    this.trace.add({ kind: 'send', timeUs: this.nowUsValue, message, copies, afterPersist: message.type === 'VoteResponse' || message.type === 'AppendEntriesResponse' || message.type === 'Vote' });
  }

  delivered(message: Message): void {
    this.stats.messagesDelivered++;
    this.trace.add({ kind: 'deliver', timeUs: this.nowUsValue, message });
  }

  sizeOf(message: Message): number {
    return encodedMessageBytes(message);
  }

  // -------------------------------------------------------------------------------------------
  // Crashes.
  // -------------------------------------------------------------------------------------------

  /** Crash `node` now: its process is gone; its disk keeps what the seeded cut decides. */
  crash(node: NodeId, cut?: FileSystemCrashCut, why = ''): void {
    const host = this.host(node);
    if (host.state === 'down') return;
    const syncing = host.fs.syncsInFlight > 0;
    host.runtime?.kill();
    host.transport?.kill();
    host.incarnation += 1;
    host.state = 'down';
    host.node = null;
    host.handler = null;
    host.armedTrap = null;
    this.checkQuorumCutOffSince.delete(node);
    for (const proposal of host.pending.values()) proposal.state = 'unknown';
    host.pending.clear();
    const outcome = host.fs.crash(this.faultPrng, cut ?? { kind: 'seeded', tornProbability: this.options.tornWriteProbability });
    this.stats.crashes++;
    this.stats.faultsInjected++;
    if (syncing) this.stats.crashesDuringSync++;
    this.note(node, `CRASH${why === '' ? '' : ` ${why}`}: ${describeFileSystemCrashOutcome(outcome)}`);
  }

  /** Start a crashed node from what its disk holds durably. */
  restart(node: NodeId): void {
    const host = this.host(node);
    if (host.state === 'starting') return; // already coming back
    if (host.state !== 'down') throw new Error(`restart: node ${node} is not down`);
    this.stats.restarts++;
    this.note(node, 'RESTART from disk');
    this.startHost(host);
  }

  private scheduleRestart(host: NodeHost, afterUs: number): void {
    const incarnation = host.incarnation;
    this.schedule(0, afterUs, () => {
      if (host.state === 'down' && host.incarnation === incarnation) this.restart(host.id);
    });
  }

  /**
   * Crash nodes between writing a Ready and its sync completing. A trap waits up to
   * `plan.withinUs` for a node to hand its storage a Ready of the wanted shape, then crashes it at
   * a seeded instant inside the next sync its disk starts.
   */
  crashDuringSync(plan: SyncCrashPlan): { readonly armed: boolean } {
    const nodes = (plan.nodes ?? this.nodeIds).filter((node) => this.nodeIds.includes(node));
    const trap: SyncCrashTrap = {
      nodes,
      target: plan.target,
      expiresAtUs: this.nowUsValue + Math.max(0, Math.floor(plan.withinUs)),
      cut: plan.cut ?? { kind: 'seeded', tornProbability: this.options.tornWriteProbability },
      restartAfterUs: plan.restartAfterUs ?? null,
      thenCrash: plan.thenCrash ?? null,
      remaining: Math.max(1, plan.crashes ?? 1),
      taken: [],
    };
    this.traps.push(trap);
    if (this.traps.length > SYNC_CRASH_TRAPS_MAX) this.traps.shift();
    this.note(0, `armed crash during sync: ${trap.remaining} of nodes ${nodes.join(',')} syncing ${trap.target}, for ${(plan.withinUs / 1000).toFixed(1)} ms`);
    return { armed: true };
  }

  /** A node handed storage a Ready of this shape: the first fitting trap aims at its next sync. */
  private armTrapFor(host: NodeHost, shape: ReadyShape): void {
    if (host.armedTrap !== null) return;
    const traps = this.traps;
    for (let k = traps.length - 1; k >= 0; k--) if (traps[k]!.expiresAtUs < this.nowUsValue || traps[k]!.remaining === 0) traps.splice(k, 1);
    const trap = traps.find((candidate) => candidate.nodes.includes(host.id) && !candidate.taken.includes(host.id) && readyFits(shape, candidate.target));
    if (trap === undefined) return;
    trap.taken.push(host.id);
    trap.remaining--;
    host.armedTrap = { trap, shape };
    const epoch = this.syncCrashEpoch;
    const incarnation = host.incarnation;
    host.fs.onSyncStarted = (latencyUs: number) => {
      host.fs.onSyncStarted = null;
      const armed = host.armedTrap;
      host.armedTrap = null;
      if (armed === null || host.incarnation !== incarnation) return;
      const delayUs = latencyUs === 0 ? 0 : this.faultPrng.nextInt(0, latencyUs);
      this.fireTrap(armed.trap, host, delayUs, armed.shape, epoch);
    };
  }

  private fireTrap(trap: SyncCrashTrap, host: NodeHost, delayUs: number, shape: ReadyShape, epoch: number): void {
    const incarnation = host.incarnation;
    if (trap.taken.length === 1 && trap.thenCrash !== null) {
      const target = this.host(trap.thenCrash.node);
      const targetIncarnation = target.incarnation;
      this.schedule(0, delayUs + trap.thenCrash.afterUs, () => {
        if (epoch === this.syncCrashEpoch && target.incarnation === targetIncarnation) this.crash(target.id, undefined, `(follows the crash of node ${host.id} during sync)`);
      });
    }
    this.schedule(0, delayUs, () => {
      if (epoch !== this.syncCrashEpoch || host.incarnation !== incarnation) return;
      this.crash(host.id, trap.cut, `during the sync of a Ready with ${describeShape(shape)}`);
      if (trap.restartAfterUs !== null) this.scheduleRestart(host, trap.restartAfterUs);
    });
  }

  /** Stop every crash during sync: armed traps and crashes already scheduled. For heal phases. */
  disarmSyncCrashes(): void {
    this.traps.length = 0;
    this.syncCrashEpoch++;
    for (const host of this.hosts) {
      host.armedTrap = null;
      host.fs.onSyncStarted = null;
    }
  }

  /**
   * Ends the run: every node's incarnation is retired, so promise chains still in flight (a
   * settle is bounded) change nothing any more, not even the counters.
   */
  dispose(): void {
    for (const host of this.hosts) {
      host.runtime?.kill();
      host.transport?.kill();
      host.incarnation += 1;
      host.state = 'down';
      host.node = null;
      host.handler = null;
    }
  }

  /** Fail the next `count` calls of `operation` on `node`'s disk with `code` (ENOSPC, EIO). */
  injectDiskFault(node: NodeId, operation: 'write' | 'datasync', code: 'ENOSPC' | 'EIO', count = 1): void {
    this.host(node).fs.armFault({ operation, code, failCalls: count });
    this.stats.faultsInjected++;
    this.note(node, `disk fault armed: the next ${count} ${operation} call(s) fail with ${code}`);
  }

  clearDiskFaults(): void {
    for (const host of this.hosts) host.fs.clearArmedFaults();
  }

  /** The node starts a snapshot of its applied state (and compacts once it is saved); false if there is nothing new. */
  compact(node: NodeId): boolean {
    const host = this.host(node);
    return host.up && host.node !== null && host.node.requestSnapshot();
  }

  /** compact(), then run until the snapshot is saved and the log compacted (or `withinUs` passed). */
  async compactNow(node: NodeId, withinUs = 1_000_000): Promise<boolean> {
    const host = this.host(node);
    const target = this.tracker.appliedIndex(node);
    if (!this.compact(node)) return false;
    return this.runUntil(() => !host.up || (host.node?.status()?.snapshotIndex ?? 0) >= target, withinUs);
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

  /** Submit one scenario proposal (a fresh unique payload) to `node`; resolves once accepted or refused. */
  async propose(node: NodeId): Promise<ProposeOutcome> {
    const outcome = await this.proposeBatch(node, 1);
    return outcome.ok ? { ok: true, proposal: outcome.proposals[0]! } : outcome;
  }

  /**
   * Submit `count` proposals to `node`; they reach the core together (one turn, one propose
   * call, up to the node's proposal batch). Resolves once all are accepted or one is refused.
   */
  async proposeBatch(node: NodeId, count: number): Promise<BatchProposeOutcome> {
    const host = this.host(node);
    if (!host.up || host.node === null) return { ok: false, reason: 'down', leader: 0 };
    const kvNode = host.node;
    const proposals: Proposal[] = [];
    let refusal: ProposeRefusal | null = null;
    for (let k = 0; k < count; k++) {
      const payloadId = this.nextPayloadId++;
      const proposedAtUs = this.nowUsValue;
      let proposal: Proposal | null = null;
      void kvNode
        .submit(encodePayload(payloadId), (index, term) => {
          proposal = { payloadId, node, index, term, proposedAtUs, state: 'pending', committedAtUs: -1 };
          host.pending.set(index, proposal);
          this.proposals.push(proposal);
          proposals.push(proposal);
        })
        .then((reply: NodeReply) => {
          if (proposal === null) {
            if (!reply.ok && refusal === null) refusal = { ok: false, reason: refusalReason(reply), leader: reply.leader };
            return;
          }
          const settled = proposal as Proposal;
          if (reply.ok) return; // settled as committed by the apply hook
          settled.state = reply.outcome === 'not-applied' ? 'lost' : 'unknown';
        });
    }
    await this.runUntil(() => proposals.length === count || refusal !== null || !host.up, 0);
    if (proposals.length === count) {
      this.stats.proposalsAccepted += count;
      this.note(node, `accepted ${count} proposal${count > 1 ? 's' : ''} at ${proposals[0]!.index}${count > 1 ? `..${proposals[count - 1]!.index}` : ''}/t${proposals[0]!.term}`);
      return { ok: true, proposals };
    }
    this.stats.proposalsRejected += count;
    return refusal ?? { ok: false, reason: 'down', leader: 0 };
  }

  private settleProposal(host: NodeHost, index: number, term: number): void {
    const proposal = host.pending.get(index);
    if (proposal === undefined) return;
    host.pending.delete(index);
    if (proposal.term === term) {
      proposal.state = 'committed';
      proposal.committedAtUs = this.nowUsValue;
    } else {
      proposal.state = 'lost';
    }
  }

  transferLeadership(from: NodeId, to: NodeId): TransferResult {
    const host = this.host(from);
    if (!host.up || host.node === null) return { ok: false, reason: 'not-leader' };
    const ok = host.node.transferLeadership(to);
    this.note(from, `transfer leadership to ${to}: ${ok ? 'started' : 'refused'}`);
    return ok ? { ok: true } : { ok: false, reason: 'not-leader' };
  }

  // -------------------------------------------------------------------------------------------
  // Lease and check-quorum checkers (they need true time, which only the simulation has).
  // -------------------------------------------------------------------------------------------

  /**
   * A leader of `term` granted a lease read now, at its commit index. It is stale if a leader of
   * any newer term has already committed something in its own term (that commit could be a write
   * this read misses). The check is in true time, which only the simulation has; a lease that is
   * honest about its clocks never lets that happen. (The answer goes out later, once the index is
   * applied; what matters is the instant the lease was relied on.)
   */
  private leaseReadGranted(host: NodeHost, term: number): void {
    this.stats.leaseReads++;
    for (const [newerTerm, firstCommit] of this.termFirstCommit) {
      if (newerTerm > term) {
        throw new InvariantViolation(
          'lease safety',
          [host.id, firstCommit.node],
          `node ${host.id} granted a lease read in term ${term} at ${(this.nowUsValue / 1000).toFixed(3)} ms, after node ${firstCommit.node} committed in term ${newerTerm} at ${(firstCommit.atUs / 1000).toFixed(3)} ms`,
        );
      }
    }
  }

  /** The first commit of each term, in true time (for the lease check). */
  private recordTermCommit(host: NodeHost): void {
    if (host.role !== 'leader' || this.termFirstCommit.has(host.term) || host.node === null) return;
    if (host.node.termAt(host.commit) === host.term) this.termFirstCommit.set(host.term, { node: host.id, atUs: this.nowUsValue });
  }

  /**
   * With check-quorum on, a leader cut off from every quorum must step down within two of its
   * election timeouts (it checks once per election timeout; the round in progress may still count
   * a peer heard before the cut) — plus a tick, an fsync and the longest delay a message sent
   * before the cut may still arrive with (a reordered reply heard after the cut renews the round).
   */
  private checkQuorumStepDown(host: NodeHost): void {
    if (!this.options.raft.checkQuorum) return;
    if (host.role !== 'leader') {
      this.checkQuorumCutOffSince.delete(host.id);
      return;
    }
    let reachable = 1;
    for (const other of this.hosts) {
      if (other !== host && other.state !== 'down' && this.network.canReach(host.id, other.id) && this.network.canReach(other.id, host.id)) reachable++;
    }
    if (reachable >= Math.floor(this.nodeIds.length / 2) + 1) {
      this.checkQuorumCutOffSince.delete(host.id);
      return;
    }
    const since = this.checkQuorumCutOffSince.get(host.id);
    if (since === undefined) {
      this.checkQuorumCutOffSince.set(host.id, this.nowUsValue);
      return;
    }
    const boundUs = Math.ceil(((2 * this.options.raft.electionTicks + 1) * this.options.tickUs) / host.rate) + this.network.delayUsMax + this.options.fsyncUsMax;
    if (this.nowUsValue - since > boundUs) {
      throw new InvariantViolation('check-quorum', [host.id], `node ${host.id} still leads term ${host.term} ${((this.nowUsValue - since) / 1000).toFixed(1)} ms after it lost every quorum (bound ${(boundUs / 1000).toFixed(1)} ms)`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // What the driver may look at.
  // -------------------------------------------------------------------------------------------

  /** True while a sync of the node's disk is in flight (a crash now loses unsynced writes). */
  isSyncing(node: NodeId): boolean {
    const host = this.host(node);
    return host.up && host.fs.syncsInFlight > 0;
  }

  isUp(node: NodeId): boolean {
    return this.host(node).up;
  }

  /** Starting, or recovering from a storage failure (it comes back by itself). */
  isStarting(node: NodeId): boolean {
    return this.host(node).state === 'starting';
  }

  /** The live node that is leader in the highest term, or 0. */
  leader(): NodeId {
    let best: NodeHost | null = null;
    for (const host of this.hosts) {
      if (host.up && host.role === 'leader' && (best === null || host.term > best.term)) best = host;
    }
    return best === null ? 0 : best.id;
  }

  leaders(): NodeId[] {
    return this.hosts.filter((host) => host.up && host.role === 'leader').map((host) => host.id);
  }

  nodeView(node: NodeId): NodeView {
    const host = this.host(node);
    return {
      up: host.up,
      role: host.role,
      term: host.term,
      commit: host.commit,
      applied: this.tracker.appliedIndex(node),
      lastIndex: host.lastIndex,
      snapshotIndex: host.snapshotIndex,
    };
  }

  /** What the node's last start recovered from its disk (null before any). */
  lastRecovered(node: NodeId): { readonly hardStateTerm: number; readonly lastIndex: number; readonly lastTerm: number } | null {
    return this.host(node).lastRecovered;
  }

  /** The running node object, for tests that drive it directly (null when down). */
  kvNode(node: NodeId): KvNode | null {
    const host = this.host(node);
    return host.up ? host.node : null;
  }

  hasApplied(node: NodeId, payloadId: number): boolean {
    return this.tracker.hasApplied(node, payloadId);
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
        if (!this.tracker.hasApplied(host.id, proposal.payloadId)) {
          throw new InvariantViolation(
            'durability',
            [host.id, proposal.node],
            `proposal #${proposal.payloadId}, acknowledged as committed by node ${proposal.node} at ${proposal.index}/t${proposal.term}, ` +
              `is missing from node ${host.id}'s applied state (applied to ${this.tracker.appliedIndex(host.id)})`,
          );
        }
      }
    }
  }

  /** Every live node that has applied up to the same index holds the same KV state. */
  checkReplicasAgree(): void {
    const digests = new Map<number, { node: NodeId; digest: number }>();
    for (const host of this.hosts) {
      const kv = host.up ? host.node?.kv : null;
      if (kv === null || kv === undefined) continue;
      const applied = kv.lastAppliedIndex;
      const digest = kv.contentDigest();
      const known = digests.get(applied);
      if (known === undefined) digests.set(applied, { node: host.id, digest });
      else if (known.digest !== digest) {
        throw new InvariantViolation('state-machine safety', [known.node, host.id], `nodes ${known.node} and ${host.id} both applied up to ${applied} but hold different KV states`);
      }
    }
  }

  describe(): string {
    return (
      this.hosts
        .map((host) =>
          host.up
            ? `n${host.id} ${host.role} t${host.term} commit ${host.commit} applied ${this.tracker.appliedIndex(host.id)} last ${host.lastIndex} snap ${host.snapshotIndex}${host.fs.syncsInFlight > 0 ? ' (syncing)' : ''}`
            : `n${host.id} ${host.state.toUpperCase()}`,
        )
        .join('; ') +
      (this.network.partitioned ? '; some links cut' : '') +
      this.describeLeaderProgress()
    );
  }

  private describeLeaderProgress(): string {
    const leader = this.leader();
    const progress = leader === 0 ? null : (this.host(leader).node?.status()?.progress ?? null);
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

function refusalReason(reply: Extract<NodeReply, { ok: false }>): ProposeRefusal['reason'] {
  switch (reply.error) {
    case 'not-leader':
      return 'not-leader';
    case 'no-leader':
      return 'no-leader';
    case 'overloaded':
      return 'overloaded';
    case 'refused':
      return 'refused';
    default:
      return 'down';
  }
}

// One node: the host loop. It is THE host of the Raft core — the embedded cluster, the processes
// of a deployed cluster and the deterministic simulation all run this class, with the real storage
// layer (over real files, or the simulation's fault-injecting disk through the FileOps seam) and
// the real KV state machine. It obeys the contract stated at the head of src/raft/raft.ts:
//
//   a loop turn:  step what arrived · propose the commands collected since the last turn, as one
//                 batch · ask for the reads collected · take every Ready the core has (several may
//                 be in flight, up to readiesInFlightMax)
//   per Ready:    send `messages` at once (a leader's appends go out while its own write is in
//                 flight, unless sendBeforePersist is off) · persist snapshot, entries, hard state
//                 through Storage (the WAL queues appends in call order and, under 'batched', one
//                 fsync covers every append queued — across Readies) · once durable, in Ready
//                 order: send `messagesAfterPersist`, restore a received snapshot, apply the
//                 committed entries (one write-lock hold per batch on a shared skip list), answer
//                 the proposals they settle and the reads they make servable, advance()
//
// Time comes from a NodeRuntime (real or simulated); ticks missed while the loop was stalled are
// delivered before anything that depends on the clock (a lease read) is decided.
//
// A storage failure (ENOSPC, EIO) stops the node's participation, not the process: pending
// requests fail with 'storage-failed', and after storageRecoveryMs the node reopens its storage
// (which re-scans the log) and rejoins as if restarted.

import type { InstallSnapshotRequest, Message, NodeId, HardState, RaftConfig, RaftStatus, ReadState, Ready, SnapshotMeta } from '../raft/types.js';
import { RaftNode } from '../raft/raft.js';
import { createPrng } from '../random/prng.js';
import { appendSyncNeeded, Storage, type RecoveredState } from '../storage/storage.js';
import type { SnapshotInfo } from '../storage/snapshot-store.js';
import type { StorageCountersSnapshot } from '../storage/counters.js';
import { StorageCorruptionError, StorageFormatError, StorageIoError } from '../storage/errors.js';
import { KvStateMachine, type ApplyResult } from '../kv/state-machine.js';
import { SkipList } from '../kv/skiplist.js';
import { SharedSkipList } from '../kv/shared/shared-skip-list.js';
import { ReaderPool } from '../kv/shared/reader-pool.js';
import { encodeResponse, type KvReadCommand, type KvResponse } from '../kv/commands.js';
import type { OrderedMap } from '../kv/ordered-map.js';
import type { Transport, TransportCountersSnapshot, TransportHandler } from '../transport/transport.js';
import type { NodeRuntime, Timer } from './runtime.js';
import { UNSAFE_READ_MODES, type NodeOptions, type ReadMode } from './node-options.js';

/** Why a request failed, and whether its effect may still happen. */
export type NodeErrorKind =
  /** Not the leader (or, for leader-only reads, not leading): ask `leader`. Nothing was applied. */
  | 'not-leader'
  /** No leader known right now: retry later. Nothing was applied. */
  | 'no-leader'
  /** Backpressure (uncommitted log full, too many requests waiting): retry later. Nothing was applied. */
  | 'overloaded'
  /** The entry was overwritten by a new leader: it will never be applied. Safe to retry. */
  | 'lost'
  /** A read's leader changed before it was confirmed: retry. */
  | 'leader-changed'
  /** No answer in time: a write may or may not be applied (the client's session makes a retry safe). */
  | 'timeout'
  /** The node's storage failed; a write may or may not be applied. */
  | 'storage-failed'
  /** The node is stopping or stopped; a write may or may not be applied. */
  | 'stopped'
  /** The request is not allowed here (an unsafe read mode not enabled). */
  | 'refused';

export type Outcome = 'not-applied' | 'unknown';

export type NodeReply =
  | { readonly ok: true; readonly response: Uint8Array; readonly index: number }
  | { readonly ok: false; readonly error: NodeErrorKind; readonly reason: string; readonly leader: NodeId; readonly outcome: Outcome };

export interface NodeCountersSnapshot {
  readonly proposals: number;
  /** propose() calls that carried them: proposals / proposeCalls = entries per proposal batch. */
  readonly proposeCalls: number;
  readonly proposalsRefused: number;
  readonly readies: number;
  /** AppendEntries this node sent that carried entries, and the entries they carried. */
  readonly appendsSent: number;
  readonly entriesSent: number;
  readonly entriesApplied: number;
  readonly applyBatches: number;
  readonly readsServed: Readonly<Record<ReadMode, number>>;
  readonly readsLease: number;
  readonly snapshotsTaken: number;
  readonly snapshotsInstalled: number;
  readonly snapshotsSent: number;
  readonly snapshotBytesRaw: number;
  readonly snapshotBytesStored: number;
  readonly storageFailures: number;
  readonly storage: StorageCountersSnapshot | null;
  readonly transport: TransportCountersSnapshot;
}

/** Hooks the simulation uses to watch the node (checkers); no-ops elsewhere. */
export interface NodeObserver {
  readonly ready?: (ready: Ready) => void;
  /**
   * The Ready's writes are durable (called before its messagesAfterPersist go out) — all but a
   * hard state that only moved the commit index, which is written unsynced (`hardStateDurable`
   * false; see appendSyncNeeded).
   */
  readonly persisted?: (ready: Ready, hardStateDurable: boolean) => void;
  /**
   * The core granted a read from its lease just now, as leader of `term` (the read's index is
   * fixed now; it is answered once that index is applied).
   */
  readonly leaseRead?: (term: number) => void;
  readonly applied?: (results: readonly ApplyResult[], entries: Ready['committedEntries']) => void;
  readonly restored?: (meta: SnapshotMeta, stateMachine: KvStateMachine) => void;
  /** A snapshot as of `meta` starts streaming from the state machine (the state is as of meta.index now). */
  readonly snapshotStarted?: (meta: SnapshotMeta, stateMachine: KvStateMachine) => void;
  readonly snapshotTaken?: (meta: SnapshotMeta) => void;
  readonly storageFailed?: (error: Error) => void;
  /**
   * A bug, not a fault: a broken invariant in the core or the host. The node stops. Without this
   * hook the error is rethrown on its own (an uncaught exception ends the process loudly).
   */
  readonly fatal?: (error: Error) => void;
  readonly started?: (recovered: RecoveredState, stateMachine: KvStateMachine) => void;
}

interface ProposalWaiter {
  readonly data: Uint8Array;
  readonly resolve: (reply: NodeReply) => void;
  readonly accepted: ((index: number, term: number) => void) | null;
  timer: Timer | null;
  index: number;
  term: number;
}

interface ReadWaiter {
  readonly command: KvReadCommand;
  readonly mode: ReadMode;
  readonly resolve: (reply: NodeReply) => void;
  timer: Timer | null;
  /** Set when a ReadState arrives: serve once applied reaches it. */
  index: number;
  via: ReadState['via'] | null;
}

interface StagedSnapshot {
  readonly meta: SnapshotMeta;
  readonly body: readonly Uint8Array[];
}

type NodeState = 'created' | 'running' | 'failed' | 'stopped';

const READ_MODES_ZERO: Record<ReadMode, number> = { log: 0, 'read-index': 0, lease: 0, 'follower-read-index': 0, stale: 0 };

export class KvNode {
  readonly id: NodeId;
  private state: NodeState = 'created';
  private core: RaftNode | null = null;
  private storage: Storage | null = null;
  private stateMachine: KvStateMachine | null = null;
  private map: OrderedMap | null = null;
  private readerPool: ReaderPool | null = null;
  /** Bumped on every (re)start: callbacks of an earlier incarnation see a stale value and stop. */
  private incarnation = 0;

  private turnScheduled = false;
  private tickTimer: Timer | null = null;
  private ticksStartMs = 0;
  private ticksDelivered = 0;

  private pendingProposals: ProposalWaiter[] = [];
  private readonly proposalsByIndex = new Map<number, ProposalWaiter>();
  private pendingReads: { readonly context: number; readonly waiter: ReadWaiter }[] = [];
  private readonly readsByContext = new Map<number, ReadWaiter>();
  /** Reads with an index, waiting for apply to reach it, in index order. */
  private readsAwaitingApply: ReadWaiter[] = [];
  private nextReadContext = 1;

  private readiesInFlight = 0;
  /** Resolves once the previous Ready is durable: Readies with nothing to write wait on it. */
  private lastPersisted: Promise<void> = Promise.resolve();
  /** The hard state of the last Ready handed to storage (to tell a commit-only change). */
  private lastHardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** Completion (apply, advance) of Readies, chained in Ready order. */
  private completionChain: Promise<void> = Promise.resolve();
  private stagedSnapshot: StagedSnapshot | null = null;
  private snapshotInProgress = false;
  /**
   * While a snapshot is being saved (taken here or received), later writes wait for it: storage
   * must see writes in Ready order, and a snapshot's save is asynchronous before its log marker.
   */
  private writeBarrier: Promise<void> | null = null;
  private lastSnapshotIndex = 0;
  private leaderHint: NodeId = 0;

  private readonly counters = {
    proposals: 0,
    proposeCalls: 0,
    proposalsRefused: 0,
    readies: 0,
    appendsSent: 0,
    entriesSent: 0,
    entriesApplied: 0,
    applyBatches: 0,
    readsServed: { ...READ_MODES_ZERO },
    readsLease: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    snapshotsSent: 0,
    snapshotBytesRaw: 0,
    snapshotBytesStored: 0,
    storageFailures: 0,
  };

  constructor(
    readonly options: NodeOptions,
    private readonly transport: Transport,
    private readonly runtime: NodeRuntime,
    private readonly observer: NodeObserver = {},
  ) {
    this.id = options.id;
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle.
  // -------------------------------------------------------------------------------------------

  /**
   * Opens storage, restores the state machine from the newest snapshot, builds the core, starts
   * ticking. A disk fault while opening (full, failing) does not throw: the node stays down and
   * retries after storageRecoveryMs, as after a fault while running. Anything else throws.
   */
  async start(): Promise<void> {
    if (this.state === 'running') throw new Error(`node ${this.id} is already running`);
    this.incarnation += 1;
    const incarnation = this.incarnation;
    const options = this.options;
    let opened: Awaited<ReturnType<typeof Storage.open>>;
    try {
      opened = await Storage.open(options.dataDir, options.storage);
    } catch (error) {
      if (!(error instanceof Error) || !isStorageFault(error) || incarnation !== this.incarnation) throw error;
      this.state = 'running';
      this.failStorage(error);
      return;
    }
    const { storage, recovered } = opened;
    if (incarnation !== this.incarnation) {
      await storage.close().catch(() => undefined);
      return;
    }
    this.storage = storage;
    this.map = this.createMap();
    this.stateMachine = new KvStateMachine(this.map);
    if (recovered.snapshot !== null) {
      // restore() checks that the data is as of the index the snapshot's metadata says.
      await this.stateMachine.restore(storage.readSnapshotBody(), recovered.snapshot.index);
    }
    this.lastSnapshotIndex = recovered.snapshot?.index ?? 0;
    if (options.kvLock !== 'none' && options.readerThreads > 0) {
      this.readerPool = await ReaderPool.create({ map: this.map as SharedSkipList, lock: options.kvLock, threads: options.readerThreads });
    }
    this.core = new RaftNode(
      this.raftConfig(),
      { hardState: recovered.hardState, snapshot: recovered.snapshot, entries: recovered.entries, applied: recovered.snapshot?.index ?? 0 },
      storage,
    );
    this.observer.started?.(recovered, this.stateMachine);
    this.readiesInFlight = 0;
    this.lastPersisted = Promise.resolve();
    this.lastHardState = recovered.hardState;
    this.completionChain = Promise.resolve();
    this.stagedSnapshot = null;
    this.snapshotInProgress = false;
    this.writeBarrier = null;
    this.state = 'running';
    this.transport.start(this.transportHandler(incarnation));
    this.ticksStartMs = this.runtime.nowMs();
    this.ticksDelivered = 0;
    this.scheduleTick(incarnation);
    this.scheduleTurn();
  }

  /** Stops: fails what is pending, waits for the Readies in flight, closes storage and reader threads. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    this.incarnation += 1;
    this.tickTimer?.cancel();
    this.failEverything('stopped', 'the node is stopping');
    if (wasRunning) await this.completionChain.catch(() => undefined);
    await this.closeResources();
    await this.transport.close();
  }

  get running(): boolean {
    return this.state === 'running';
  }

  status(): RaftStatus | null {
    return this.core?.status() ?? null;
  }

  /** The leader as this node knows it (0: none). */
  get leader(): NodeId {
    return this.core?.status().leader ?? 0;
  }

  counterSnapshot(): NodeCountersSnapshot {
    return { ...this.counters, readsServed: { ...this.counters.readsServed }, storage: this.storage?.counters() ?? null, transport: this.transport.counters() };
  }

  /** The state machine, for checks and tests (read-only use). */
  get kv(): KvStateMachine | null {
    return this.stateMachine;
  }

  // -------------------------------------------------------------------------------------------
  // Client requests.
  // -------------------------------------------------------------------------------------------

  /**
   * Proposes one encoded KV request (src/kv/commands.ts) and answers with the response its apply
   * produced. Requests that arrive before the next loop turn are proposed together.
   */
  submit(request: Uint8Array, accepted: ((index: number, term: number) => void) | null = null): Promise<NodeReply> {
    return new Promise((resolve) => {
      const refusal = this.refuseIfUnavailable();
      if (refusal !== null) return resolve(refusal);
      if (this.pendingProposals.length + this.pendingReads.length >= this.options.pendingRequestsMax) {
        return resolve(this.failure('overloaded', `${this.options.pendingRequestsMax} requests already wait for the next loop turn`, 'not-applied'));
      }
      const waiter: ProposalWaiter = { data: request, resolve, accepted, timer: null, index: 0, term: 0 };
      waiter.timer = this.runtime.setTimer(this.options.requestTimeoutMs, () => this.expireProposal(waiter));
      this.pendingProposals.push(waiter);
      this.scheduleTurn();
    });
  }

  /**
   * A read outside the log, in `mode` (default: the node's). 'log' reads are proposed like writes
   * (the client sends them through submit, with its session). 'read-index' and 'lease' are served
   * by the leader; 'follower-read-index' by any node (it asks the leader for the index); 'stale'
   * answers from local state at once (unsafe: only when allowed).
   */
  read(command: KvReadCommand, mode: ReadMode = this.options.readMode): Promise<NodeReply> {
    return new Promise((resolve) => {
      const refusal = this.refuseIfUnavailable();
      if (refusal !== null) return resolve(refusal);
      if (mode === 'log') return resolve(this.failure('refused', "'log' reads go through the log: submit them as requests", 'not-applied'));
      if (UNSAFE_READ_MODES.includes(mode) && !this.options.unsafeReadsAllowed) {
        return resolve(this.failure('refused', `read mode '${mode}' can return stale data and is not enabled on this node`, 'not-applied'));
      }
      if (mode === 'lease' && this.options.raft.leaseTicks === 0) return resolve(this.failure('refused', "read mode 'lease' needs leaseTicks > 0", 'not-applied'));
      const waiter: ReadWaiter = { command, mode, resolve, timer: null, index: 0, via: null };
      if (mode === 'stale') {
        this.serveRead(waiter);
        return;
      }
      if (this.pendingProposals.length + this.pendingReads.length >= this.options.pendingRequestsMax) {
        return resolve(this.failure('overloaded', `${this.options.pendingRequestsMax} requests already wait for the next loop turn`, 'not-applied'));
      }
      waiter.timer = this.runtime.setTimer(this.options.requestTimeoutMs, () => this.expireRead(waiter));
      this.pendingReads.push({ context: this.nextReadContext++, waiter });
      this.scheduleTurn();
    });
  }

  /** Takes a snapshot now (if anything was applied since the last one), as the threshold would. */
  requestSnapshot(): boolean {
    if (this.state !== 'running' || this.snapshotInProgress) return false;
    const applied = this.stateMachine?.lastAppliedIndex ?? 0;
    if (applied <= this.lastSnapshotIndex) return false;
    this.maybeSnapshot(true);
    return true;
  }

  /** The term of the entry at `index` as this node's core knows it (for checkers). */
  termAt(index: number): number | undefined {
    return this.core?.termAt(index);
  }

  /** Asks the core to hand leadership to `to`. */
  transferLeadership(to: NodeId): boolean {
    const result = this.core?.transferLeadership(to);
    this.scheduleTurn();
    return result?.ok === true;
  }

  // -------------------------------------------------------------------------------------------
  // The loop.
  // -------------------------------------------------------------------------------------------

  private transportHandler(incarnation: number): TransportHandler {
    return {
      message: (message: Message) => {
        if (incarnation !== this.incarnation || this.core === null || this.state !== 'running') return;
        this.core.step(message);
        this.scheduleTurn();
      },
      snapshot: (message: InstallSnapshotRequest, body: readonly Uint8Array[]) => {
        if (incarnation !== this.incarnation || this.core === null || this.state !== 'running') return;
        // The core only asks to install a snapshot the host holds: stage its body first.
        this.stagedSnapshot = { meta: message.snapshot, body };
        this.core.step(message);
        this.scheduleTurn();
      },
      unreachable: (peer: NodeId) => {
        if (incarnation !== this.incarnation || this.core === null || this.state !== 'running') return;
        this.core.reportUnreachable(peer);
        this.scheduleTurn();
      },
    };
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.state !== 'running') return;
    this.turnScheduled = true;
    this.runtime.defer(() => {
      this.turnScheduled = false;
      this.turn();
    });
  }

  private scheduleTick(incarnation: number): void {
    const tickMs = this.options.tickMs;
    const nextDueMs = this.ticksStartMs + (this.ticksDelivered + 1) * tickMs;
    this.tickTimer = this.runtime.setTimer(Math.max(0, nextDueMs - this.runtime.nowMs()), () => {
      if (incarnation !== this.incarnation || this.state !== 'running') return;
      this.catchUpTicks();
      this.scheduleTurn();
      this.scheduleTick(incarnation);
    });
  }

  /**
   * Delivers every tick due by the clock. After a stall (a long GC pause, a busy loop) several are
   * due at once; delivering them before a lease read is what keeps the leader's lease clock from
   * running slow (src/raft/read-only.ts).
   */
  private catchUpTicks(): void {
    const core = this.core;
    if (core === null) return;
    const due = Math.floor((this.runtime.nowMs() - this.ticksStartMs) / this.options.tickMs);
    while (this.ticksDelivered < due) {
      this.ticksDelivered += 1;
      core.tick();
    }
  }

  private turn(): void {
    const core = this.core;
    if (core === null || this.state !== 'running') return;
    this.proposePending(core);
    this.requestPendingReads(core);
    while (this.readiesInFlight < this.options.readiesInFlightMax && core.hasReady()) {
      this.handleReady(core.ready());
      if (this.state !== 'running') return;
    }
  }

  private proposePending(core: RaftNode): void {
    while (this.pendingProposals.length > 0) {
      const batch = this.pendingProposals.splice(0, this.options.proposalBatchEntriesMax);
      const result = core.propose(batch.map((waiter) => waiter.data));
      if (!result.ok) {
        this.counters.proposalsRefused += batch.length;
        const error = result.reason === 'uncommitted-full' ? 'overloaded' : result.reason === 'not-leader' ? (result.leader === 0 ? 'no-leader' : 'not-leader') : 'overloaded';
        const reason =
          result.reason === 'uncommitted-full'
            ? `the leader's uncommitted log is full (${result.uncommittedEntries} entries, ${result.uncommittedBytes} bytes)`
            : result.reason === 'transferring'
              ? 'leadership is being transferred'
              : result.leader === 0
                ? 'no leader is known'
                : `node ${this.id} is not the leader`;
        for (const waiter of batch) this.settleProposal(waiter, this.failure(error, reason, 'not-applied', result.leader));
        continue;
      }
      this.counters.proposals += batch.length;
      this.counters.proposeCalls += 1;
      batch.forEach((waiter, k) => {
        waiter.index = result.firstIndex + k;
        waiter.term = result.term;
        this.proposalsByIndex.set(waiter.index, waiter);
        waiter.accepted?.(waiter.index, waiter.term);
      });
    }
  }

  private requestPendingReads(core: RaftNode): void {
    if (this.pendingReads.length === 0) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    if (reads.some(({ waiter }) => waiter.mode === 'lease')) this.catchUpTicks();
    for (const { context, waiter } of reads) {
      const result = waiter.mode === 'lease' ? core.leaseRead(context) : waiter.mode === 'read-index' && core.status().role !== 'leader' ? null : core.readIndex(context);
      if (result === null) {
        const leader = core.status().leader;
        this.settleRead(waiter, this.failure(leader === 0 ? 'no-leader' : 'not-leader', `read mode '${waiter.mode}' is served by the leader`, 'not-applied', leader));
        continue;
      }
      if (!result.ok) {
        const error = result.reason === 'reads-full' ? 'overloaded' : result.reason === 'no-leader' || result.leader === 0 ? 'no-leader' : 'not-leader';
        this.settleRead(waiter, this.failure(error, `read refused: ${result.reason}`, 'not-applied', result.leader));
        continue;
      }
      if (result.via === 'lease') this.observer.leaseRead?.(core.status().term);
      this.readsByContext.set(context, waiter);
    }
  }

  private handleReady(ready: Ready): void {
    const storage = this.storage!;
    const incarnation = this.incarnation;
    this.readiesInFlight += 1;
    this.counters.readies += 1;
    this.observer.ready?.(ready);
    if (ready.softState !== null) this.leaderHint = ready.softState.leader;
    const holdMessages = !this.options.sendBeforePersist && this.core!.status().role === 'leader';
    if (!holdMessages) this.sendAll(ready.messages);
    // A deliberately broken host, for proving the simulation's checkers (never set elsewhere).
    if (this.options.testOnlyAcknowledgeBeforePersist) this.sendAll(ready.messagesAfterPersist);

    let persisted: Promise<void>;
    let staged: StagedSnapshot | null = null;
    let hardStateDurable = true;
    if (ready.snapshot !== null) {
      const meta = ready.snapshot;
      staged = this.stagedSnapshot;
      this.stagedSnapshot = null;
      if (staged === null || staged.meta.index !== meta.index || staged.meta.term !== meta.term) {
        this.failed(new Error(`node ${this.id}: the core asks to install snapshot ${meta.index}/t${meta.term} but the host holds ${staged === null ? 'none' : `${staged.meta.index}/t${staged.meta.term}`}`));
        return;
      }
      const body = staged.body;
      persisted = this.saveSnapshotInOrder(meta, () => iterate(body)).then((info) => {
        if (info !== null) {
          this.counters.snapshotBytesRaw += info.bodyRawBytes;
          this.counters.snapshotBytesStored += info.bodyStoredBytes;
        }
        return ready.entries.length > 0 || ready.hardState !== null ? storage.append(ready.entries, ready.hardState) : undefined;
      });
    } else if (ready.entries.length > 0 || ready.hardState !== null) {
      const written = this.writeBarrier === null ? storage.append(ready.entries, ready.hardState) : this.writeBarrier.then(() => storage.append(ready.entries, ready.hardState));
      if (appendSyncNeeded(ready.entries.length, ready.hardState, this.lastHardState)) {
        persisted = written;
      } else {
        // Only the commit index moved: storage writes it without a sync of its own, and nothing
        // here waits for it (waiting would put a whole fsync between commit and apply). A
        // failure still takes the node down for storage recovery.
        persisted = this.lastPersisted;
        hardStateDurable = false;
        written.catch((error: unknown) => {
          if (incarnation === this.incarnation) this.failed(error);
        });
      }
    } else {
      persisted = this.lastPersisted;
    }
    this.lastPersisted = persisted;
    if (ready.hardState !== null) this.lastHardState = ready.hardState;
    // Nothing below may run before the Readies before this one completed (advance order).
    this.completionChain = this.completionChain
      .then(() => persisted)
      .then(
        () => (incarnation === this.incarnation ? this.completeReady(ready, holdMessages, staged, hardStateDurable) : undefined),
        (error: unknown) => {
          if (incarnation === this.incarnation) this.failed(error);
        },
      );
  }

  /** Storage faults take the node down for a while; anything else is a bug and stops it for good. */
  private failed(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (isStorageFault(failure)) {
      this.failStorage(failure);
      return;
    }
    this.state = 'failed';
    this.incarnation += 1;
    this.tickTimer?.cancel();
    this.failEverything('stopped', `node ${this.id} stopped on a bug: ${failure.message}`);
    void this.closeResources();
    if (this.observer.fatal !== undefined) this.observer.fatal(failure);
    else
      queueMicrotask(() => {
        throw failure;
      });
  }

  /**
   * Saves a snapshot after every write issued before it, and holds later writes until it is saved.
   * Resolves with null (nothing saved) if storage already holds a snapshot as new: one received
   * from the leader overtook one this node was taking.
   */
  private saveSnapshotInOrder(meta: SnapshotMeta, body: () => AsyncIterable<Uint8Array> & { return?: (value?: undefined) => unknown }): Promise<SnapshotInfo | null> {
    const storage = this.storage!;
    const save = (): Promise<SnapshotInfo | null> => {
      const newest = storage.newestSnapshot();
      const stream = body();
      if (newest !== null && newest.meta.index >= meta.index) {
        void stream.return?.();
        return Promise.resolve(null);
      }
      return storage.saveSnapshot(meta, stream);
    };
    const saving = this.writeBarrier === null ? save() : this.writeBarrier.then(save);
    const barrier = saving.then(
      () => undefined,
      () => undefined,
    );
    this.writeBarrier = barrier;
    void barrier.then(() => {
      if (this.writeBarrier === barrier) this.writeBarrier = null;
    });
    return saving;
  }

  private async completeReady(ready: Ready, sendMessagesNow: boolean, staged: StagedSnapshot | null, hardStateDurable: boolean): Promise<void> {
    const core = this.core!;
    const incarnation = this.incarnation;
    this.observer.persisted?.(ready, hardStateDurable);
    if (sendMessagesNow) this.sendAll(ready.messages);
    this.sendAll(this.options.testOnlyAcknowledgeBeforePersist ? [] : ready.messagesAfterPersist);
    if (ready.snapshot !== null && staged !== null) {
      await this.stateMachine!.restore(staged.body, ready.snapshot.index);
      if (incarnation !== this.incarnation) return;
      this.lastSnapshotIndex = ready.snapshot.index;
      this.counters.snapshotsInstalled += 1;
      this.observer.restored?.(ready.snapshot, this.stateMachine!);
      // Waiting proposals at or below it are settled by the snapshot: their outcome is unknown here.
      for (const [index, waiter] of this.proposalsByIndex) {
        if (index <= ready.snapshot.index) this.settleProposal(waiter, this.failure('lost', 'a snapshot from the leader replaced the log before this entry applied here', 'unknown'));
      }
    }
    if (ready.committedEntries.length > 0) this.applyCommitted(ready.committedEntries);
    for (const read of ready.readStates) this.readConfirmed(read);
    for (const failed of ready.failedReads) {
      const waiter = this.readsByContext.get(failed.context);
      if (waiter === undefined) continue;
      this.readsByContext.delete(failed.context);
      this.settleRead(waiter, this.failure(failed.reason === 'not-leader' ? (failed.leader === 0 ? 'no-leader' : 'not-leader') : 'leader-changed', `read failed: ${failed.reason}`, 'not-applied', failed.leader));
    }
    this.serveAppliedReads();
    core.advance(ready);
    this.readiesInFlight -= 1;
    this.maybeSnapshot();
    this.scheduleTurn();
  }

  private applyCommitted(entries: Ready['committedEntries']): void {
    // One write-lock hold for the whole batch on a shared skip list (applyBatch).
    const results = this.stateMachine!.applyBatch(entries);
    this.counters.entriesApplied += entries.length;
    this.counters.applyBatches += 1;
    this.observer.applied?.(results, entries);
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k]!;
      const waiter = this.proposalsByIndex.get(entry.index);
      if (waiter === undefined) continue;
      this.proposalsByIndex.delete(entry.index);
      const result = results[k]!;
      if (entry.term !== waiter.term) {
        this.settleProposal(waiter, this.failure('lost', `a new leader overwrote index ${entry.index}: the request was not applied`, 'not-applied'));
      } else if (result.type === 'response') {
        this.settleProposal(waiter, { ok: true, response: result.response, index: entry.index });
      } else {
        this.settleProposal(waiter, { ok: true, response: new Uint8Array(0), index: entry.index });
      }
    }
  }

  private readConfirmed(read: ReadState): void {
    const waiter = this.readsByContext.get(read.context);
    if (waiter === undefined) return;
    this.readsByContext.delete(read.context);
    waiter.index = read.index;
    waiter.via = read.via;
    if (read.via === 'lease') this.counters.readsLease += 1;
    // Kept in index order: reads confirmed later never have a lower index on one leader.
    const list = this.readsAwaitingApply;
    let position = list.length;
    while (position > 0 && list[position - 1]!.index > read.index) position--;
    list.splice(position, 0, waiter);
  }

  private serveAppliedReads(): void {
    const applied = this.stateMachine?.lastAppliedIndex ?? 0;
    let served = 0;
    while (served < this.readsAwaitingApply.length && this.readsAwaitingApply[served]!.index <= applied) served++;
    if (served === 0) return;
    const ready = this.readsAwaitingApply.splice(0, served);
    for (const waiter of ready) this.serveRead(waiter);
  }

  /** Answers a read from local state: on a reader thread when the node has a pool, else here. */
  private serveRead(waiter: ReadWaiter): void {
    const stateMachine = this.stateMachine!;
    const index = stateMachine.lastAppliedIndex;
    const done = (response: KvResponse): void => {
      this.counters.readsServed[waiter.mode] += 1;
      this.settleRead(waiter, { ok: true, response: encodeResponse(response), index });
    };
    const pool = this.readerPool;
    if (pool === null) {
      done(stateMachine.read(waiter.command));
      return;
    }
    // The limits checks are the state machine's; the pool only does the lookup.
    const command = waiter.command;
    const checked = stateMachine.checkRead(command);
    if (checked !== null) {
      done(checked);
      return;
    }
    const lookup: Promise<KvResponse> =
      command.type === 'get'
        ? pool.get(command.key).then((found) => (found === undefined ? { type: 'not-found' } : { type: 'value', value: found.value, version: found.version }))
        : pool.scan(command.start, command.end, command.limit + 1).then((items) => ({ type: 'scan', items: items.slice(0, command.limit), hasMore: items.length > command.limit }));
    lookup.then(done, (error: unknown) => this.settleRead(waiter, this.failure('overloaded', `reader pool: ${error instanceof Error ? error.message : String(error)}`, 'not-applied')));
  }

  private sendAll(messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.type === 'InstallSnapshot') {
        this.sendSnapshot(message);
        continue;
      }
      if (message.type === 'AppendEntries' && message.entries.length > 0) {
        this.counters.appendsSent += 1;
        this.counters.entriesSent += message.entries.length;
      }
      this.transport.send(message);
    }
  }

  private sendSnapshot(message: InstallSnapshotRequest): void {
    const storage = this.storage!;
    const core = this.core!;
    const incarnation = this.incarnation;
    const info = storage.snapshotFiles().find((file) => file.meta.index === message.snapshot.index && file.meta.term === message.snapshot.term);
    if (info === undefined) {
      core.reportSnapshot(message.to, 'failed');
      return;
    }
    const release = storage.pinSnapshot(info);
    this.counters.snapshotsSent += 1;
    this.transport
      .sendSnapshot(message, storage.readSnapshotBody(info))
      .then(
        () => (incarnation === this.incarnation ? this.core?.reportSnapshot(message.to, 'finished') : undefined),
        () => (incarnation === this.incarnation ? this.core?.reportSnapshot(message.to, 'failed') : undefined),
      )
      .finally(() => {
        release();
        this.scheduleTurn();
      });
  }

  /** Snapshot and compact once enough was applied; one at a time, streamed while applies go on. */
  private maybeSnapshot(now = false): void {
    const stateMachine = this.stateMachine!;
    const applied = stateMachine.lastAppliedIndex;
    if (this.snapshotInProgress || applied <= this.lastSnapshotIndex || (!now && applied - this.lastSnapshotIndex < this.options.snapshotEntries)) return;
    const core = this.core!;
    const term = core.termAt(applied);
    if (term === undefined) return;
    const meta: SnapshotMeta = { index: applied, term, config: { voters: [...this.options.voters] } };
    const storage = this.storage!;
    const incarnation = this.incarnation;
    this.snapshotInProgress = true;
    this.observer.snapshotStarted?.(meta, stateMachine);
    // The stream is opened now, so it holds the state as of meta.index even if its save waits.
    const stream = stateMachine.snapshot(this.options.snapshotChunkBytes);
    this.saveSnapshotInOrder(meta, () => stream)
      .then(async (info) => {
        if (incarnation !== this.incarnation || info === null) return;
        this.counters.snapshotsTaken += 1;
        this.counters.snapshotBytesRaw += info.bodyRawBytes;
        this.counters.snapshotBytesStored += info.bodyStoredBytes;
        this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, meta.index);
        core.compact(meta);
        this.observer.snapshotTaken?.(meta);
        await storage.compact(meta.index);
      })
      .then(
        () => {
          this.snapshotInProgress = false;
        },
        (error: unknown) => {
          this.snapshotInProgress = false;
          if (incarnation === this.incarnation) this.failed(error);
        },
      );
  }

  // -------------------------------------------------------------------------------------------
  // Settling requests, failures.
  // -------------------------------------------------------------------------------------------

  private settleProposal(waiter: ProposalWaiter, reply: NodeReply): void {
    waiter.timer?.cancel();
    waiter.timer = null;
    waiter.resolve(reply);
  }

  private settleRead(waiter: ReadWaiter, reply: NodeReply): void {
    waiter.timer?.cancel();
    waiter.timer = null;
    waiter.resolve(reply);
  }

  private expireProposal(waiter: ProposalWaiter): void {
    const queued = this.pendingProposals.indexOf(waiter);
    if (queued >= 0) {
      this.pendingProposals.splice(queued, 1);
      this.settleProposal(waiter, this.failure('timeout', `not proposed within ${this.options.requestTimeoutMs} ms`, 'not-applied'));
      return;
    }
    if (this.proposalsByIndex.get(waiter.index) === waiter) this.proposalsByIndex.delete(waiter.index);
    this.settleProposal(waiter, this.failure('timeout', `not applied within ${this.options.requestTimeoutMs} ms: it may still be`, 'unknown'));
  }

  private expireRead(waiter: ReadWaiter): void {
    for (const [context, candidate] of this.readsByContext) if (candidate === waiter) this.readsByContext.delete(context);
    this.pendingReads = this.pendingReads.filter((pending) => pending.waiter !== waiter);
    this.readsAwaitingApply = this.readsAwaitingApply.filter((candidate) => candidate !== waiter);
    this.settleRead(waiter, this.failure('timeout', `read not served within ${this.options.requestTimeoutMs} ms`, 'not-applied'));
  }

  private refuseIfUnavailable(): NodeReply | null {
    if (this.state === 'running') return null;
    if (this.state === 'failed') return this.failure('storage-failed', `node ${this.id}'s storage failed; it rejoins after recovery`, 'not-applied');
    return this.failure('stopped', `node ${this.id} is not running`, 'not-applied');
  }

  private failure(error: NodeErrorKind, reason: string, outcome: Outcome, leader: NodeId = this.leaderHint): NodeReply {
    return { ok: false, error, reason, leader, outcome };
  }

  private failEverything(error: NodeErrorKind, reason: string): void {
    for (const waiter of this.pendingProposals) this.settleProposal(waiter, this.failure(error, reason, 'not-applied'));
    this.pendingProposals = [];
    for (const waiter of this.proposalsByIndex.values()) this.settleProposal(waiter, this.failure(error, reason, 'unknown'));
    this.proposalsByIndex.clear();
    for (const { waiter } of this.pendingReads) this.settleRead(waiter, this.failure(error, reason, 'not-applied'));
    this.pendingReads = [];
    for (const waiter of this.readsByContext.values()) this.settleRead(waiter, this.failure(error, reason, 'not-applied'));
    this.readsByContext.clear();
    for (const waiter of this.readsAwaitingApply) this.settleRead(waiter, this.failure(error, reason, 'not-applied'));
    this.readsAwaitingApply = [];
  }

  /**
   * The storage failed (or the host found its contract broken): stop participating — the core
   * could otherwise promise what the disk no longer keeps — fail every request, and reopen later.
   */
  private failStorage(error: Error): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.incarnation += 1;
    this.counters.storageFailures += 1;
    this.tickTimer?.cancel();
    this.observer.storageFailed?.(error);
    this.failEverything('storage-failed', `node ${this.id}'s storage failed: ${error.message}`);
    const recoveryMs = this.options.storageRecoveryMs;
    void this.closeResources().then(() => {
      if (recoveryMs === 0 || this.state !== 'failed') return;
      const incarnation = this.incarnation;
      this.runtime.setTimer(recoveryMs, () => {
        if (this.state !== 'failed' || incarnation !== this.incarnation) return;
        this.start().catch((restartError: unknown) => {
          this.state = 'running';
          this.failed(restartError);
        });
      });
    });
  }

  private async closeResources(): Promise<void> {
    const storage = this.storage;
    const pool = this.readerPool;
    this.core = null;
    this.storage = null;
    this.readerPool = null;
    if (pool !== null) await pool.close().catch(() => undefined);
    if (storage !== null) await storage.close().catch(() => undefined);
  }

  private createMap(): OrderedMap {
    const prng = createPrng(this.options.seed ^ 0x5eed);
    if (this.options.kvLock === 'none') return new SkipList(prng);
    return SharedSkipList.create({ lock: this.options.kvLock, prng, segmentSizeBytes: this.options.kvSegmentBytes, segmentsMax: Math.max(64, Math.ceil((1024 * 1024 * 1024) / this.options.kvSegmentBytes)) });
  }

  private raftConfig(): RaftConfig {
    const raft = this.options.raft;
    return {
      id: this.id,
      voters: this.options.voters,
      electionTicks: raft.electionTicks,
      heartbeatTicks: raft.heartbeatTicks,
      preVote: raft.preVote,
      checkQuorum: raft.checkQuorum,
      inflightMax: raft.inflightMax,
      batchEntriesMax: raft.batchEntriesMax,
      batchBytesMax: raft.batchBytesMax,
      uncommittedEntriesMax: raft.uncommittedEntriesMax,
      uncommittedBytesMax: raft.uncommittedBytesMax,
      leaseTicks: raft.leaseTicks,
      clockDriftMax: raft.clockDriftMax,
      leaseUnsafe: raft.leaseUnsafe,
      logCacheBytesMax: raft.logCacheBytesMax,
      prng: createPrng(this.options.seed * 7919 + this.incarnation),
    };
  }
}

/** Errors of the disk (full, failing, damaged) rather than of the program. */
function isStorageFault(error: Error): boolean {
  return error instanceof StorageIoError || error instanceof StorageCorruptionError || error instanceof StorageFormatError || typeof (error as NodeJS.ErrnoException).code === 'string';
}

async function* iterate(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

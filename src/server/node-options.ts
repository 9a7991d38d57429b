// Everything one node is started with: the Raft core's switches, the storage switches, the host
// loop's own switches (proposal batching, sending before the leader's fsync, pipelined Readies,
// snapshots, reads, timing). Resolved with defaults and checked with errors that name the field;
// a profile file (src/bench/profile.ts) is turned into these.

import type { NodeId } from '../raft/types.js';
import type { StorageOptionsInput } from '../storage/options.js';

export type ReadMode = 'log' | 'read-index' | 'lease' | 'follower-read-index' | 'stale';
export const READ_MODES: readonly ReadMode[] = ['log', 'read-index', 'lease', 'follower-read-index', 'stale'];
/** Read modes that may return stale data: they run only when asked, and every report marks them. */
export const UNSAFE_READ_MODES: readonly ReadMode[] = ['stale'];

export type KvLock = 'none' | 'mutex' | 'rwlock';

export interface RaftSwitches {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly inflightMax: number;
  readonly batchEntriesMax: number;
  readonly batchBytesMax: number;
  readonly uncommittedEntriesMax: number;
  readonly uncommittedBytesMax: number;
  /** 0: no lease reads. */
  readonly leaseTicks: number;
  readonly clockDriftMax: number;
  readonly leaseUnsafe: boolean;
  readonly logCacheBytesMax: number;
}

export interface NodeOptions {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly dataDir: string;
  readonly tickMs: number;
  readonly raft: RaftSwitches;
  readonly storage: StorageOptionsInput;
  /** Client commands per propose() call (1: every command is proposed alone — no proposal batching). */
  readonly proposalBatchEntriesMax: number;
  /** Leader: send appends to followers while its own write is in flight (Raft thesis §10.2.1), or only once it is durable. */
  readonly sendBeforePersist: boolean;
  /** Readies in flight at once (1: persist one at a time, so group commit cannot group across Readies). */
  readonly readiesInFlightMax: number;
  /** Take a snapshot (and compact the log) once this many entries were applied since the last one. */
  readonly snapshotEntries: number;
  readonly snapshotChunkBytes: number;
  /** The read mode used when a request names none. */
  readonly readMode: ReadMode;
  /** Allow `stale` reads (unsafe): refused otherwise. */
  readonly unsafeReadsAllowed: boolean;
  readonly kvLock: KvLock;
  /** Reader worker threads serving reads from the shared skip list (mutex / rwlock only; 0: the main thread reads). */
  readonly readerThreads: number;
  /** The shared skip list grows by segments of this size (a power of two, 64 KiB … 1 GiB; default 16 MiB). */
  readonly kvSegmentBytes: number;
  /** A request not answered within this long is answered 'timeout' (its outcome unknown for writes). */
  readonly requestTimeoutMs: number;
  /** Proposals and reads waiting for the next loop turn, at most; beyond it a request is refused 'overloaded'. */
  readonly pendingRequestsMax: number;
  /** After a storage failure, reopen the storage and rejoin after this long (0: stay down). */
  readonly storageRecoveryMs: number;
  /** The seed of the core's election jitter and the skip list's levels. */
  readonly seed: number;
  /**
   * A deliberately BROKEN host that sends votes and acknowledgements before they are durable —
   * only for showing that the simulation's checkers catch the lost writes this causes.
   */
  readonly testOnlyAcknowledgeBeforePersist: boolean;
}

export class NodeOptionsError extends Error {
  override readonly name = 'NodeOptionsError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid node option ${field}: ${reason}`);
  }
}

export const DEFAULT_RAFT_SWITCHES: RaftSwitches = {
  electionTicks: 20,
  heartbeatTicks: 2,
  preVote: true,
  checkQuorum: true,
  inflightMax: 64,
  batchEntriesMax: 4096,
  batchBytesMax: 4 * 1024 * 1024,
  uncommittedEntriesMax: 65_536,
  uncommittedBytesMax: 64 * 1024 * 1024,
  leaseTicks: 0,
  clockDriftMax: 0.05,
  leaseUnsafe: false,
  logCacheBytesMax: 64 * 1024 * 1024,
};

export type NodeOptionsInput = Pick<NodeOptions, 'id' | 'voters' | 'dataDir'> & Partial<Omit<NodeOptions, 'id' | 'voters' | 'dataDir' | 'raft'>> & { readonly raft?: Partial<RaftSwitches> };

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new NodeOptionsError(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}

export function resolveNodeOptions(input: NodeOptionsInput): NodeOptions {
  const options: NodeOptions = {
    id: input.id,
    voters: input.voters,
    dataDir: input.dataDir,
    tickMs: input.tickMs ?? 10,
    raft: { ...DEFAULT_RAFT_SWITCHES, ...input.raft },
    storage: input.storage ?? { fsync: 'batched' },
    proposalBatchEntriesMax: input.proposalBatchEntriesMax ?? 1024,
    sendBeforePersist: input.sendBeforePersist ?? true,
    readiesInFlightMax: input.readiesInFlightMax ?? 64,
    snapshotEntries: input.snapshotEntries ?? 100_000,
    snapshotChunkBytes: input.snapshotChunkBytes ?? 256 * 1024,
    readMode: input.readMode ?? 'read-index',
    unsafeReadsAllowed: input.unsafeReadsAllowed ?? false,
    kvLock: input.kvLock ?? 'none',
    readerThreads: input.readerThreads ?? 0,
    kvSegmentBytes: input.kvSegmentBytes ?? 16 * 1024 * 1024,
    requestTimeoutMs: input.requestTimeoutMs ?? 5_000,
    pendingRequestsMax: input.pendingRequestsMax ?? 65_536,
    storageRecoveryMs: input.storageRecoveryMs ?? 1_000,
    seed: input.seed ?? input.id,
    testOnlyAcknowledgeBeforePersist: input.testOnlyAcknowledgeBeforePersist ?? false,
  };
  integerIn('id', options.id, 1, Number.MAX_SAFE_INTEGER);
  if (!options.voters.includes(options.id)) throw new NodeOptionsError('voters', `must include the node's own id ${options.id}`);
  if (!(options.tickMs >= 0.1 && options.tickMs <= 10_000)) throw new NodeOptionsError('timing.tickMs', `must be from 0.1 to 10000, got ${options.tickMs}`);
  integerIn('proposalBatchEntriesMax', options.proposalBatchEntriesMax, 1, 1_000_000);
  integerIn('readiesInFlightMax', options.readiesInFlightMax, 1, 65_536);
  integerIn('snapshotEntries', options.snapshotEntries, 1, Number.MAX_SAFE_INTEGER);
  integerIn('snapshotChunkBytes', options.snapshotChunkBytes, 1024, 64 * 1024 * 1024);
  integerIn('readerThreads', options.readerThreads, 0, 64);
  integerIn('requestTimeoutMs', options.requestTimeoutMs, 1, 3_600_000);
  integerIn('pendingRequestsMax', options.pendingRequestsMax, 1, 10_000_000);
  integerIn('storageRecoveryMs', options.storageRecoveryMs, 0, 3_600_000);
  if (!READ_MODES.includes(options.readMode)) throw new NodeOptionsError('reads.mode', `unknown mode '${String(options.readMode)}'; valid: ${READ_MODES.join(', ')}`);
  if (UNSAFE_READ_MODES.includes(options.readMode) && !options.unsafeReadsAllowed) {
    throw new NodeOptionsError('reads.mode', `'${options.readMode}' can return stale data; allow it explicitly (the run is then labelled unsafe)`);
  }
  if (options.readMode === 'lease' && options.raft.leaseTicks === 0) throw new NodeOptionsError('reads.mode', "'lease' needs a lease: set timing.leaseTicks > 0");
  if (options.readerThreads > 0 && options.kvLock === 'none') throw new NodeOptionsError('kv.readerThreads', "reader threads need the shared skip list: set kv.lock to 'mutex' or 'rwlock'");
  return options;
}

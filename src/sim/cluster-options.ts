// The knobs of a simulated cluster: the switches its nodes run with (the same ones a profile sets)
// and the simulated hardware (clock, network, disk) around them. Defaults use realistic timing:
// 10 ms ticks, elections after 10–20 ticks, heartbeats every tick, 0.1–2 ms network latency,
// fsyncs of 0.1–3 ms.

import { DEFAULT_RAFT_SWITCHES, type KvLock, type RaftSwitches } from '../server/node-options.js';
import type { FsyncPolicy } from '../storage/options.js';
import { RELIABLE_NETWORK, type NetworkFaults } from './network.js';

export type { RaftSwitches } from '../server/node-options.js';

export const DEFAULT_SWITCHES: RaftSwitches = {
  ...DEFAULT_RAFT_SWITCHES,
  electionTicks: 10,
  heartbeatTicks: 1,
  inflightMax: 4,
  batchEntriesMax: 64,
  batchBytesMax: 64 * 1024,
};

export interface ClusterOptions {
  readonly seed: number;
  readonly nodeCount: number;
  readonly raft: RaftSwitches;
  /** Nominal tick period; each node's clock runs at rate 1 + drift, |drift| ≤ clockDriftMax. */
  readonly tickUs: number;
  readonly clockDriftMax: number;
  readonly network: NetworkFaults;
  /** Every sync of a simulated disk takes a seeded latency in [fsyncUsMin, fsyncUsMax]. */
  readonly fsyncUsMin: number;
  readonly fsyncUsMax: number;
  /** On a crash, the probability that a seeded prefix of the unsynced writes survives (possibly torn). */
  readonly tornWriteProbability: number;
  readonly fsync: FsyncPolicy;
  /** 'none' or 'lz4' (small buffers compress synchronously; zstd would leave the event order). */
  readonly logCodec: 'none' | 'lz4';
  readonly snapshotCodec: 'none' | 'lz4';
  readonly segmentSizeBytes: number;
  readonly proposalBatchEntriesMax: number;
  readonly sendBeforePersist: boolean;
  readonly readiesInFlightMax: number;
  /** A node snapshots and compacts after this many applied entries. */
  readonly snapshotEntries: number;
  readonly kvLock: KvLock;
  readonly requestTimeoutMs: number;
  readonly storageRecoveryMs: number;
  /** How many recent trace records a failure report shows. */
  readonly traceCapacity: number;
  /** Print every trace record as it happens (a verbose replay), or null. */
  readonly verbose: ((line: string) => void) | null;
  /**
   * A deliberately broken host, for showing that the checkers catch real violations: it sends
   * `messagesAfterPersist` (votes, append acknowledgements) before the write is durable, so a
   * crash can lose what they promised. Never set outside tests of the checkers.
   */
  readonly unsafeSendBeforePersist: boolean;
}

export const DEFAULT_CLUSTER_OPTIONS: Omit<ClusterOptions, 'seed'> = {
  nodeCount: 3,
  raft: DEFAULT_SWITCHES,
  tickUs: 10_000,
  clockDriftMax: 0.02,
  network: RELIABLE_NETWORK,
  fsyncUsMin: 100,
  fsyncUsMax: 3_000,
  tornWriteProbability: 0.5,
  fsync: 'batched',
  logCodec: 'none',
  snapshotCodec: 'none',
  segmentSizeBytes: 64 * 1024,
  proposalBatchEntriesMax: 64,
  sendBeforePersist: true,
  readiesInFlightMax: 8,
  snapshotEntries: 1_000_000,
  kvLock: 'none',
  requestTimeoutMs: 2_000,
  storageRecoveryMs: 200,
  traceCapacity: 40,
  verbose: null,
  unsafeSendBeforePersist: false,
};

export function clusterOptions(seed: number, overrides: Partial<Omit<ClusterOptions, 'seed'>> = {}): ClusterOptions {
  return { ...DEFAULT_CLUSTER_OPTIONS, ...overrides, seed };
}

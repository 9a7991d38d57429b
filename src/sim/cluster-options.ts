// The knobs of a simulated cluster: the Raft switches its cores run with, and the simulated
// hardware (clock, network, disk) and bookkeeping around them. Defaults use realistic timing:
// 10 ms ticks, elections after 10–20 ticks, heartbeats every tick, 0.1–2 ms network latency.

import { RELIABLE_NETWORK, type NetworkFaults } from './network.js';
import type { RaftConfig } from '../raft/types.js';

/** The Raft switches a simulated cluster runs with (RaftConfig minus id, voters and prng). */
export type RaftSwitches = Omit<RaftConfig, 'id' | 'voters' | 'prng'>;

export const DEFAULT_SWITCHES: RaftSwitches = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  inflightMax: 4,
  batchEntriesMax: 64,
  batchBytesMax: 64 * 1024,
};

export interface ClusterOptions {
  readonly seed: number;
  readonly nodeCount: number;
  readonly raft: RaftSwitches;
  /** Nominal tick period; each node's clock runs at tickUs · (1 + drift), |drift| ≤ clockDriftMax. */
  readonly tickUs: number;
  readonly clockDriftMax: number;
  readonly network: NetworkFaults;
  readonly fsyncUsMin: number;
  readonly fsyncUsMax: number;
  /** On a crash, the probability that a seeded prefix of the unsynced writes survives. */
  readonly tornWriteProbability: number;
  /** After a Ready that applied entries, the probability that the node snapshots and compacts. */
  readonly compactionProbability: number;
  /** …and only once at least this many entries were applied since its last snapshot. */
  readonly compactionMinEntries: number;
  /** How many recent trace records a failure report shows. */
  readonly traceCapacity: number;
  /** Print every trace record as it happens (a verbose replay), or null. */
  readonly verbose: ((line: string) => void) | null;
  /**
   * A deliberately broken host, for showing that the checkers catch real violations: it sends
   * `messagesAfterPersist` (votes, append acknowledgements) before the fsync completes, so a
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
  compactionProbability: 0,
  compactionMinEntries: 20,
  traceCapacity: 40,
  verbose: null,
  unsafeSendBeforePersist: false,
};

export function clusterOptions(seed: number, overrides: Partial<Omit<ClusterOptions, 'seed'>> = {}): ClusterOptions {
  return { ...DEFAULT_CLUSTER_OPTIONS, ...overrides, seed };
}

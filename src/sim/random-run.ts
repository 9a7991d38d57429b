// One random simulation run per seed: the seed picks the cluster's switches (size, pre-vote,
// check-quorum, inflight window, batch limits, fsync latency, torn writes, compaction) and a fault
// schedule (partitions, one-way cuts, loss, duplication, reordering, crashes, restarts, leadership
// transfers, compactions) run while clients propose. Then every fault stops, every node restarts,
// and the run must reach liveness: a leader, a committed probe, every node converged, and every
// acknowledged proposal in every node's applied state.

import { createPrng, type Prng } from '../random/prng.js';
import type { NodeId } from '../raft/types.js';
import { SimCluster, type ClusterStats, type SyncCrashTarget } from './cluster.js';
import { clusterOptions, DEFAULT_SWITCHES, type RaftSwitches } from './cluster-options.js';
import type { KvLock, ReadMode } from '../server/node-options.js';
import { leaseTicksSafeMax } from '../raft/read-only.js';
import { InvariantViolation } from '../check/violation.js';
import { SimKvClients } from './clients.js';
import { awaitConvergence, awaitLeaderAndCommit } from './liveness.js';
import { RELIABLE_NETWORK, type NetworkFaults } from './network.js';
import { formatRecord } from './trace.js';

export const DEFAULT_FAULT_TICKS = 300;

export interface RandomRunSettings {
  readonly seed: number;
  /** Override the seeded cluster size. */
  readonly nodes?: number;
  /** Length of the fault phase, in ticks. */
  readonly faultTicks?: number;
  /** Print every event (a verbose replay). */
  readonly verbose?: ((line: string) => void) | null;
  /** Run a deliberately broken host (see ClusterOptions.unsafeSendBeforePersist): for testing the checkers. */
  readonly unsafeSendBeforePersist?: boolean;
  /** Override the seeded read mode of the clients ('stale' is unsafe: for showing the checker catches it). */
  readonly readMode?: ReadMode;
  /** Override the simulated clocks' real drift bound (the nodes still assume 5 %): above it a lease is unsafe. */
  readonly clockDriftMax?: number;
}

export interface RandomRunConfig {
  readonly nodes: number;
  readonly raft: RaftSwitches;
  readonly fsync: 'always' | 'batched';
  readonly fsyncUsMax: number;
  readonly tornWriteProbability: number;
  readonly logCodec: 'none' | 'lz4';
  readonly snapshotCodec: 'none' | 'lz4';
  readonly readiesInFlightMax: number;
  readonly proposalBatchEntriesMax: number;
  readonly sendBeforePersist: boolean;
  readonly kvLock: KvLock;
  /** A node snapshots and compacts after this many applied entries. */
  readonly snapshotEntries: number;
  /** How the KV clients read (leases: raft.leaseTicks > 0). */
  readonly readMode: ReadMode;
  readonly clients: number;
  /** Chance per schedule step (≈ 10 ms) that a fault is injected. */
  readonly faultChance: number;
}

export interface RandomRunResult {
  readonly seed: number;
  readonly config: RandomRunConfig;
  readonly stats: ClusterStats;
  readonly elections: number;
  readonly entriesCommitted: number;
  readonly acknowledged: number;
  readonly firstLeaderUs: number | null;
  readonly healToLeaderUs: number;
  readonly healToCommitUs: number;
  readonly simulatedUs: number;
  readonly digest: string;
  /** The KV clients' history: operations recorded, answered, unknown; whether the checker decided it. */
  readonly history: { readonly operations: number; readonly issued: number; readonly answered: number; readonly unknown: number; readonly failed: number; readonly checked: boolean };
}

export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';
  constructor(
    readonly seed: number,
    readonly replayCommand: string,
    readonly reason: string,
    readonly state: string,
    readonly traceLines: readonly string[],
    readonly config: RandomRunConfig,
    /** Digest of every event up to the failure: equal digests mean an exact reproduction. */
    readonly digest: string,
  ) {
    super(`seed ${seed} failed: ${reason}\nreplay: ${replayCommand}`);
  }

  /** The full report: violation, replay command, configuration, state and the last events. */
  report(): string {
    return [
      `FAILED seed ${this.seed}: ${this.reason}`,
      `replay with: ${this.replayCommand}`,
      `config: ${describeConfig(this.config)}`,
      `state: ${this.state}`,
      `last ${this.traceLines.length} events:`,
      ...this.traceLines.map((line) => `  ${line}`),
    ].join('\n');
  }
}

// The config stream is derived from the seed but apart from the cluster's own streams.
const CONFIG_STREAM_OFFSET = 2 ** 40;
export const SEED_MAX = 2 ** 52;

function pick<T>(prng: Prng, options: readonly T[]): T {
  return options[prng.nextInt(0, options.length)]!;
}

export function randomRunConfig(seed: number, nodesOverride?: number, readModeOverride?: ReadMode): RandomRunConfig {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= SEED_MAX) throw new RangeError(`seed must be an integer in [0, 2^52), got ${seed}`);
  const prng = createPrng(seed + CONFIG_STREAM_OFFSET);
  const nodes = pick(prng, [3, 3, 5, 5, 7]);
  const raft: RaftSwitches = {
    ...DEFAULT_SWITCHES,
    heartbeatTicks: pick(prng, [1, 1, 2, 3]),
    preVote: prng.chance(0.5),
    checkQuorum: prng.chance(0.5),
    inflightMax: prng.nextInt(1, 9),
    batchEntriesMax: prng.nextInt(1, 65),
    // Payloads are 8 bytes: 8 bytes forces one entry per append, 64 allows eight.
    batchBytesMax: pick(prng, [8, 64, 512, 64 * 1024]),
    uncommittedEntriesMax: pick(prng, [64, 1024, 65_536]),
    logCacheBytesMax: pick(prng, [0, 256, 64 * 1024 * 1024]),
  };
  const readMode = readModeOverride ?? pick<ReadMode>(prng, ['log', 'read-index', 'read-index', 'lease', 'lease', 'follower-read-index']);
  // The longest lease the nodes' assumed drift bound (5 %) allows: ⌊(E−1)(1−ρ)/(1+ρ)⌋.
  const leased: RaftSwitches = readMode === 'lease' ? { ...raft, leaseTicks: leaseTicksSafeMax(raft.electionTicks, raft.clockDriftMax) } : raft;
  return {
    nodes: nodesOverride ?? nodes,
    raft: leased,
    fsync: pick(prng, ['batched', 'batched', 'always'] as const),
    fsyncUsMax: pick(prng, [500, 3_000, 15_000]),
    tornWriteProbability: pick(prng, [0, 0.5, 1]),
    logCodec: pick(prng, ['none', 'none', 'lz4'] as const),
    snapshotCodec: pick(prng, ['none', 'lz4'] as const),
    readiesInFlightMax: pick(prng, [1, 4, 16]),
    proposalBatchEntriesMax: pick(prng, [1, 8, 64]),
    sendBeforePersist: prng.chance(0.7),
    kvLock: pick(prng, ['none', 'none', 'mutex', 'rwlock'] as const),
    snapshotEntries: pick(prng, [8, 20, 40, 1_000_000]),
    readMode,
    clients: prng.nextInt(2, 5),
    faultChance: pick(prng, [0.05, 0.1, 0.2, 0.4]),
  };
}

export function describeConfig(config: RandomRunConfig): string {
  const raft = config.raft;
  return (
    `${config.nodes} nodes, preVote ${raft.preVote ? 'on' : 'off'}, checkQuorum ${raft.checkQuorum ? 'on' : 'off'}, ` +
    `heartbeat ${raft.heartbeatTicks}/${raft.electionTicks} ticks, inflight ${raft.inflightMax}, batch ${raft.batchEntriesMax} entries / ${raft.batchBytesMax} B, ` +
    `fsync ${config.fsync} ≤ ${config.fsyncUsMax / 1000} ms ×${config.readiesInFlightMax} in flight, torn writes ${config.tornWriteProbability}, ` +
    `codecs ${config.logCodec}/${config.snapshotCodec}, proposals ${config.proposalBatchEntriesMax} per batch${config.sendBeforePersist ? ', send before persist' : ''}, ` +
    `kv ${config.kvLock}, uncommitted ≤ ${raft.uncommittedEntriesMax}, log cache ${raft.logCacheBytesMax} B, snapshot every ${config.snapshotEntries}, ` +
    `${config.clients} clients reading by ${config.readMode}${raft.leaseTicks > 0 ? ` (lease ${raft.leaseTicks} ticks)` : ''}, fault chance ${config.faultChance}`
  );
}

export function replayCommand(settings: RandomRunSettings): string {
  const extra = `${settings.nodes !== undefined ? ` --nodes ${settings.nodes}` : ''}${
    settings.faultTicks !== undefined && settings.faultTicks !== DEFAULT_FAULT_TICKS ? ` --ticks ${settings.faultTicks}` : ''
  }${settings.readMode !== undefined ? ` --read-mode ${settings.readMode}` : ''}${settings.clockDriftMax !== undefined ? ` --clock-drift ${settings.clockDriftMax}` : ''}${
    settings.unsafeSendBeforePersist === true ? ' --broken-host' : ''
  }`;
  return `npm run sim -- --seed ${settings.seed}${extra}`;
}

// injectFault rolls in [0, FAULT_ROLLS): 0..99 the general faults, then crashes during sync
// (SYNC_CRASH_ROLLS) and lost-acknowledged-write crashes (the rest).
const SYNC_CRASH_ROLLS = 10;
const FAULT_ROLLS = 124;

class FaultSchedule {
  constructor(
    private readonly cluster: SimCluster,
    private readonly prng: Prng,
  ) {}

  private randomNode(filter: (node: NodeId) => boolean = () => true): NodeId | 0 {
    const nodes = this.cluster.nodeIds.filter(filter);
    return nodes.length === 0 ? 0 : nodes[this.prng.nextInt(0, nodes.length)]!;
  }

  /**
   * Crash one node between writing a Ready and its fsync completing, preferring Readys that
   * change the hard state and/or carry entries, often torn, often with a quick reboot (which is
   * what turns a lost vote into a second vote in the same term).
   */
  private crashDuringSync(): void {
    const prng = this.prng;
    const target = pick<SyncCrashTarget>(prng, ['term-and-entries', 'term-and-entries', 'hard-state', 'entries', 'entries', 'any']);
    this.cluster.crashDuringSync({
      target,
      withinUs: prng.nextInt(20, 400) * 1000,
      cut: prng.chance(0.4) ? { kind: 'drop-last-write' } : { kind: 'seeded', tornProbability: pick(prng, [0.5, 1]) },
      restartAfterUs: prng.chance(0.6) ? prng.nextInt(0, 50_000) : null,
    });
  }

  /**
   * Crash a quorum of the leader's followers, each while it syncs appended entries, and then the
   * leader: the pattern that loses an acknowledged write when anyone acknowledges before its
   * fsync (the followers come back quickly and can elect a leader without the entries; the old
   * leader stays down until the schedule or the heal phase restarts it).
   */
  private loseAcknowledgedWrite(): void {
    const cluster = this.cluster;
    const prng = this.prng;
    const leader = cluster.leader();
    if (leader === 0) return;
    const followers = cluster.nodeIds.filter((node) => node !== leader && cluster.isUp(node));
    if (followers.length === 0) return;
    const quorum = Math.floor(cluster.nodeIds.length / 2) + 1;
    const fsyncUsMax = cluster.options.fsyncUsMax;
    cluster.crashDuringSync({
      nodes: followers,
      target: 'entries',
      withinUs: prng.nextInt(5, 60) * 1000,
      crashes: prng.chance(0.7) ? Math.min(quorum, followers.length) : prng.nextInt(1, followers.length + 1),
      cut: prng.chance(0.3) ? { kind: 'seeded', tornProbability: 1 } : { kind: 'seeded', tornProbability: 0 },
      restartAfterUs: prng.nextInt(1_000, 40_000),
      // Late enough, usually, for the leader to have counted the acknowledgements and committed.
      thenCrash: prng.chance(0.8) ? { node: leader, afterUs: prng.nextInt(fsyncUsMax / 2, 2 * fsyncUsMax + 5_000) } : null,
    });
  }

  async proposeSome(): Promise<void> {
    const cluster = this.cluster;
    const count = this.prng.nextInt(0, 3);
    for (let k = 0; k < count; k++) {
      const leader = cluster.leader();
      // Mostly to the believed leader; sometimes anywhere, to exercise not-leader answers.
      const target = leader !== 0 && this.prng.chance(0.8) ? leader : this.randomNode((node) => cluster.isUp(node));
      if (target !== 0) await cluster.proposeBatch(target, this.prng.nextInt(1, 4));
    }
  }

  injectFault(): void {
    const cluster = this.cluster;
    const prng = this.prng;
    const nodes = cluster.nodeIds;
    const up = (node: NodeId): boolean => cluster.isUp(node);
    const roll = prng.nextInt(0, FAULT_ROLLS);
    if (roll >= 100) {
      if (roll < 100 + SYNC_CRASH_ROLLS) this.crashDuringSync();
      else this.loseAcknowledgedWrite();
    } else if (roll < 14) {
      if (nodes.length < 2) return;
      // Split into two (sometimes three) random groups.
      const shuffled = nodes.slice();
      for (let k = shuffled.length - 1; k > 0; k--) {
        const j = prng.nextInt(0, k + 1);
        [shuffled[k], shuffled[j]] = [shuffled[j]!, shuffled[k]!];
      }
      const cut1 = prng.nextInt(1, shuffled.length);
      const groups = prng.chance(0.3) && cut1 < shuffled.length - 1
        ? (() => {
            const cut2 = prng.nextInt(cut1 + 1, shuffled.length);
            return [shuffled.slice(0, cut1), shuffled.slice(cut1, cut2), shuffled.slice(cut2)];
          })()
        : [shuffled.slice(0, cut1), shuffled.slice(cut1)];
      cluster.partition(groups);
    } else if (roll < 24) {
      const leader = cluster.leader();
      const node = leader !== 0 && prng.chance(0.5) ? leader : this.randomNode();
      if (node !== 0) cluster.isolate(node);
    } else if (roll < 32) {
      const from = this.randomNode();
      const to = this.randomNode((node) => node !== from);
      if (from !== 0 && to !== 0) cluster.cut(from, to);
    } else if (roll < 46) {
      cluster.heal();
    } else if (roll < 60) {
      // Crashes aimed at nodes whose fsync is in flight are the ones that lose writes.
      const leader = cluster.leader();
      const syncing = this.randomNode((node) => cluster.isSyncing(node));
      const node = syncing !== 0 && prng.chance(0.5) ? syncing : leader !== 0 && prng.chance(0.4) ? leader : this.randomNode(up);
      if (node !== 0) cluster.crash(node);
    } else if (roll < 74) {
      const node = this.randomNode((candidate) => !up(candidate));
      if (node !== 0) cluster.restart(node);
    } else if (roll < 84) {
      const faults: NetworkFaults = prng.chance(0.3)
        ? RELIABLE_NETWORK
        : {
            ...RELIABLE_NETWORK,
            lossProbability: pick(prng, [0, 0.01, 0.05, 0.2]),
            duplicateProbability: pick(prng, [0, 0.01, 0.1]),
            reorderProbability: pick(prng, [0, 0.02, 0.1, 0.3]),
            reorderDelayUsMax: pick(prng, [5_000, 30_000, 100_000]),
          };
      cluster.setNetworkFaults(faults);
    } else if (roll < 92) {
      const leader = cluster.leader();
      const target = this.randomNode((node) => node !== leader);
      if (leader !== 0 && target !== 0) cluster.transferLeadership(leader, target);
    } else if (roll < 97) {
      const node = this.randomNode(up);
      if (node !== 0) cluster.compact(node);
    } else {
      // A full or failing disk: the node's writes fail, it stays alive, reopens its storage later.
      const node = this.randomNode(up);
      if (node !== 0) cluster.injectDiskFault(node, prng.chance(0.5) ? 'write' : 'datasync', prng.chance(0.5) ? 'ENOSPC' : 'EIO', prng.nextInt(1, 4));
    }
  }
}

/** Run one seed; throws SimulationFailure (with the replay command and the last events) on any failure. */
export async function runRandomSeed(settings: RandomRunSettings): Promise<RandomRunResult> {
  const config = randomRunConfig(settings.seed, settings.nodes, settings.readMode);
  const faultTicks = settings.faultTicks ?? DEFAULT_FAULT_TICKS;
  let cluster: SimCluster | null = null;
  try {
    const built = await SimCluster.create(
      clusterOptions(settings.seed, {
        nodeCount: config.nodes,
        raft: config.raft,
        fsync: config.fsync,
        fsyncUsMax: config.fsyncUsMax,
        tornWriteProbability: config.tornWriteProbability,
        logCodec: config.logCodec,
        snapshotCodec: config.snapshotCodec,
        readiesInFlightMax: config.readiesInFlightMax,
        proposalBatchEntriesMax: config.proposalBatchEntriesMax,
        sendBeforePersist: config.sendBeforePersist,
        kvLock: config.kvLock,
        snapshotEntries: config.snapshotEntries,
        ...(settings.clockDriftMax === undefined ? {} : { clockDriftMax: settings.clockDriftMax }),
        verbose: settings.verbose ?? null,
        unsafeSendBeforePersist: settings.unsafeSendBeforePersist ?? false,
      }),
    );
    cluster = built;
    const tickUs = built.options.tickUs;
    const schedule = new FaultSchedule(built, built.schedulePrng);
    const clients = new SimKvClients(built, built.schedulePrng.fork(), { clients: config.clients, keys: 3, readMode: config.readMode, thinkUsMax: 8_000, requestTimeoutMs: 1_000 });
    clients.start();
    const faultEndUs = faultTicks * tickUs;
    for (let step = 0; built.nowUs < faultEndUs && step < faultTicks * 4; step++) {
      await schedule.proposeSome();
      if (built.schedulePrng.chance(config.faultChance)) schedule.injectFault();
      await built.runFor(built.schedulePrng.nextInt(tickUs / 4, 2 * tickUs));
    }
    // Heal: every fault stops and every node comes back; now liveness is due.
    built.note(0, 'HEAL PHASE: network healed and reliable, disks healthy, every node restarted');
    built.disarmSyncCrashes();
    built.clearDiskFaults();
    built.heal();
    built.setNetworkFaults(RELIABLE_NETWORK);
    for (const node of built.nodeIds) if (built.nodeView(node).up === false && !built.isStarting(node)) built.restart(node);
    clients.stop();
    const liveness = await awaitLeaderAndCommit(built);
    await awaitConvergence(built, liveness.probe.index);
    await built.runUntil(() => clients.idle, 5_000_000);
    built.dispose();
    const linearizable = clients.check();
    if (linearizable.ok === false) {
      throw new InvariantViolation('linearizability', [], `key ${linearizable.key} (${config.readMode} reads): ${linearizable.explanation}`);
    }
    if (linearizable.ok === 'unknown') built.note(0, `linearizability of key ${linearizable.key} undecided: ${linearizable.reason}`);
    return {
      seed: settings.seed,
      config,
      stats: structuredClone(built.stats),
      elections: built.invariants.electionSafety.electionsWon,
      entriesCommitted: built.invariants.stateMachineSafety.highestApplied,
      acknowledged: built.acknowledged().length,
      firstLeaderUs: built.stats.firstLeaderAtUs,
      healToLeaderUs: liveness.leaderAfterUs,
      healToCommitUs: liveness.commitAfterUs,
      simulatedUs: built.nowUs,
      digest: built.trace.digest,
      history: { operations: clients.operations().length, ...clients.counts, checked: linearizable.ok === true },
    };
  } catch (error) {
    cluster?.dispose();
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new SimulationFailure(
      settings.seed,
      replayCommand(settings),
      reason,
      cluster === null ? '(cluster not built)' : `at ${(cluster.nowUs / 1000).toFixed(3)} ms: ${cluster.describe()}`,
      cluster === null ? [] : cluster.recentTrace().map(formatRecord),
      config,
      cluster === null ? '' : cluster.trace.digest,
    );
  }
}

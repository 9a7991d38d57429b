// Liveness once faults stop. The bound, in election timeouts T (= electionTicks ticks):
//   - A follower campaigns after a randomised timeout in [T, 2T) ticks, so every election round
//     (pre-vote, vote, and the new leader's first append) finishes within 2T ticks plus a few ms of
//     network and fsync latency, which are far below one tick (10 ms) here.
//   - A round fails only if two candidates' timeouts fall so close that they split the vote, or a
//     candidate with a stale log times out first and is refused; the jitter spreads timeouts over
//     T ticks, so a round fails with probability well under 1/2 even among 7 nodes.
//   - Nodes that come back from a partition may first have to step down a stale leader or adopt a
//     higher term (one extra round each).
// LIVENESS_BOUND_ELECTIONS = 25 timeouts allows ~10 consecutive failed rounds plus the probe's
// commit (one round trip and an fsync on a quorum); needing more is a liveness bug, not bad luck.
// On top comes the backlog: entries accepted during the faults (by leaders that could not commit
// them) must reach a quorum before the probe commits behind them, and lagging nodes must catch
// up; the bound adds one round (two worst-case latencies, two worst-case fsyncs and a tick for
// a heartbeat-driven retry) per append batch of the backlog, as if stop-and-wait.
// The same bound then applies, again, to every live node catching up (possibly by snapshot).

import { LivenessDeadline } from '../check/liveness.js';
import type { NodeId } from '../raft/types.js';
import type { Proposal, SimCluster } from './cluster.js';
import { PAYLOAD_BYTES } from './apply-tracker.js';

export const LIVENESS_BOUND_ELECTIONS = 25;

export function livenessBoundUs(cluster: SimCluster): number {
  const { raft, tickUs, clockDriftMax, fsyncUsMax } = cluster.options;
  const electionsUs = LIVENESS_BOUND_ELECTIONS * raft.electionTicks * tickUs * (1 + clockDriftMax);
  let lastIndex = 0;
  let lowestApplied = Number.MAX_SAFE_INTEGER;
  for (const node of cluster.nodeIds) {
    if (!cluster.isUp(node)) continue;
    const view = cluster.nodeView(node);
    lastIndex = Math.max(lastIndex, view.lastIndex);
    lowestApplied = Math.min(lowestApplied, view.applied);
  }
  const backlogEntries = Math.max(0, lastIndex - lowestApplied);
  const entriesPerAppend = Math.max(1, Math.min(raft.batchEntriesMax, Math.floor(raft.batchBytesMax / PAYLOAD_BYTES)));
  const roundUs = 2 * cluster.network.currentFaults.latencyUsMax + 2 * fsyncUsMax + tickUs;
  return Math.ceil(electionsUs + Math.ceil(backlogEntries / entriesPerAppend) * roundUs);
}

export interface LivenessOutcome {
  /** Simulated time from the start of the wait to the first leader (µs). */
  readonly leaderAfterUs: number;
  /** …and to the probe proposal's commit on the leader that accepted it. */
  readonly commitAfterUs: number;
  readonly probe: Proposal;
}

/**
 * Run until a leader is elected and a probe proposal (re-proposed to the current leader whenever
 * the last one was lost or is older than two election timeouts) commits. Throws InvariantViolation
 * ('liveness') if that takes longer than `boundUs`.
 */
export async function awaitLeaderAndCommit(cluster: SimCluster, boundUs: number = livenessBoundUs(cluster)): Promise<LivenessOutcome> {
  const startUs = cluster.nowUs;
  const deadline = new LivenessDeadline('after healing, a leader is elected and a probe proposal commits', startUs, boundUs);
  const { raft, tickUs } = cluster.options;
  const retryAfterUs = 2 * raft.electionTicks * tickUs;
  const probes: Proposal[] = [];
  let leaderAfterUs = -1;
  let lastProposeUs = -Infinity;
  const committed = (): Proposal | undefined => probes.find((probe) => probe.state === 'committed');
  for (let guard = 0; guard < 1_000_000; guard++) {
    deadline.check(cluster.nowUs, committed() !== undefined, () => cluster.describe());
    const done = committed();
    if (done !== undefined) {
      return { leaderAfterUs, commitAfterUs: cluster.nowUs - startUs, probe: done };
    }
    const leader = cluster.leader();
    if (leader !== 0) {
      if (leaderAfterUs < 0) leaderAfterUs = cluster.nowUs - startUs;
      const latest = probes[probes.length - 1];
      const stale = latest === undefined || latest.state !== 'pending' || cluster.nowUs - lastProposeUs > retryAfterUs;
      if (stale) {
        const outcome = await cluster.propose(leader);
        lastProposeUs = cluster.nowUs;
        if (outcome.ok) probes.push(outcome.proposal);
      }
    }
    await cluster.runUntil(() => committed() !== undefined || (leaderAfterUs < 0 && cluster.leader() !== 0), tickUs);
  }
  throw new Error('awaitLeaderAndCommit: loop bound reached');
}

/**
 * Run until every live node has applied at least `index` and every index any live node knows
 * committed (by log or by snapshot), then check that
 * every acknowledged proposal is in every live node's applied state.
 */
export async function awaitConvergence(cluster: SimCluster, index: number, boundUs: number = livenessBoundUs(cluster)): Promise<number> {
  const startUs = cluster.nowUs;
  const deadline = new LivenessDeadline(`every live node applies through index ${index} and every index any live node knows committed`, startUs, boundUs);
  const converged = (): boolean => {
    // Acknowledged proposals may sit above `index` (an earlier probe can commit below a later one).
    let target = index;
    for (const node of cluster.nodeIds) if (cluster.isUp(node)) target = Math.max(target, cluster.nodeView(node).commit);
    return cluster.nodeIds.every((node: NodeId) => !cluster.isUp(node) || cluster.nodeView(node).applied >= target);
  };
  for (let guard = 0; guard < 1_000_000; guard++) {
    deadline.check(cluster.nowUs, converged(), () => cluster.describe());
    if (deadline.satisfied) {
      cluster.checkAcknowledgedEverywhere();
      cluster.checkReplicasAgree();
      return cluster.nowUs - startUs;
    }
    await cluster.runUntil(converged, cluster.options.tickUs);
  }
  throw new Error('awaitConvergence: loop bound reached');
}

// The liveness checks in a real simulated cluster: met when a quorum can form, a violation (with
// the cluster's state in the message) when it cannot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantViolation } from '../../src/check/violation.js';
import { SimCluster } from '../../src/sim/cluster.js';
import { clusterOptions } from '../../src/sim/cluster-options.js';
import { awaitConvergence, awaitLeaderAndCommit, livenessBoundUs } from '../../src/sim/liveness.js';

test('liveness: a healed cluster elects, commits a probe and converges within the bound', async () => {
  const cluster = await SimCluster.create(clusterOptions(61, { nodeCount: 5 }));
  const bound = livenessBoundUs(cluster);
  const outcome = await awaitLeaderAndCommit(cluster);
  assert.ok(outcome.leaderAfterUs >= 0 && outcome.leaderAfterUs <= outcome.commitAfterUs && outcome.commitAfterUs <= bound);
  assert.equal(outcome.probe.state, 'committed');
  await awaitConvergence(cluster, outcome.probe.index);
  for (const node of cluster.nodeIds) assert.ok(cluster.hasApplied(node, outcome.probe.payloadId));
});

test('liveness: without a quorum the deadline passes and the violation says what state the cluster is in', async () => {
  const cluster = await SimCluster.create(clusterOptions(62, { nodeCount: 3 }));
  cluster.isolate(1);
  cluster.isolate(2);
  await assert.rejects(
    () => awaitLeaderAndCommit(cluster, 2_000_000),
    (error: unknown) =>
      error instanceof InvariantViolation &&
      error.invariant === 'liveness' &&
      /a leader is elected and a probe proposal commits did not happen within 2000 ms .*n1 .*n2 .*n3 .*some links cut/.test(error.message),
  );
});

test('liveness: a node that cannot catch up fails convergence', async () => {
  const cluster = await SimCluster.create(clusterOptions(63, { nodeCount: 3 }));
  const outcome = await awaitLeaderAndCommit(cluster);
  const follower = cluster.nodeIds.find((node) => node !== outcome.probe.node)!;
  cluster.isolate(follower);
  for (let k = 0; k < 5; k++) await cluster.propose(cluster.leader());
  await cluster.runFor(100_000);
  await assert.rejects(() => awaitConvergence(cluster, outcome.probe.index + 5, 1_000_000), /liveness violated: every live node applies through index/);
});

// Leader churn in the setting of the Raft paper's Figure 8: leaders crash (or are cut off) soon
// after proposing, so entries of older terms sit on some nodes uncommitted while new leaders come
// and go. The checkers (leader completeness, state-machine safety) run after every event, and the
// final row checks every acknowledged value is on every node.
//
// What these random rounds do NOT prove: the commit rule itself. With the rule planted away (a
// leader commits an old-term entry by counting replicas), they still pass — the real node's new
// leader appends an entry of its own term at once, and that entry usually travels with the old one,
// so the exact Figure 8 interleaving almost never arises by chance. The forced sequence lives in
// scenarios-figure8.test.ts (real nodes, a message rewrite that lets only old-term entries move)
// and, on the bare core, in test/raft/replication.test.ts; both fail when the rule is planted away.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

for (const { preVote, checkQuorum, seed } of [
  { preVote: true, checkQuorum: true, seed: 8 },
  { preVote: false, checkQuorum: false, seed: 18 },
]) {
  test(`leader churn (preVote ${preVote ? 'on' : 'off'}, checkQuorum ${checkQuorum ? 'on' : 'off'}): 1000 rounds of leader crashes soon after proposing; no committed entry is lost`, async () => {
    const result = await runScenario('leader churn', { seed, nodes: 5, raft: { preVote, checkQuorum }, cluster: { tornWriteProbability: 0.5 } }, [
      { do: 'expect-leader', withinMs: 1_000 },
      {
        do: 'repeat',
        times: 1_000,
        steps: [
          // Every live node is offered a value; the leader among them accepts it (named P).
          { do: 'propose', count: 1, tag: 'fig8', via: 'each-up', acceptedAs: 'P' },
          { do: 'run-random', minMs: 0, maxMs: 13, longChance: 0.1, longMaxMs: 100 },
          { do: 'crash', node: 'P' },
          { do: 'restart-until-majority' },
        ],
      },
      { do: 'expect-agreement' },
    ]);
    const acknowledged = result.cluster.acknowledged().length;
    assert.ok(result.stats.crashes >= 50, `leaders crashed ${result.stats.crashes} times`);
    assert.ok(acknowledged >= 20, `only ${acknowledged} proposals were acknowledged: the scenario exercised too little`);
  });
}

test('leader churn on an unreliable network: loss, duplication and long reordering, leaders cut off', async () => {
  const result = await runScenario(
    'leader churn unreliable',
    { seed: 9, nodes: 5, network: { lossProbability: 0.1, duplicateProbability: 0.05, reorderProbability: 0.1, reorderDelayUsMax: 200_000 } },
    [
      {
        do: 'repeat',
        times: 1_000,
        steps: [
          { do: 'propose', count: 1, tag: 'fig8', via: 'each-up', acceptedAs: 'P' },
          { do: 'run-random', minMs: 0, maxMs: 13, longChance: 0.1, longMaxMs: 100 },
          { do: 'maybe', chance: 0.5, steps: [{ do: 'isolate', node: 'P' }] },
          { do: 'reconnect-until-majority' },
        ],
      },
      { do: 'expect-agreement' },
    ],
  );
  assert.ok(result.cluster.network.counters.reordered > 100 && result.cluster.network.counters.lost > 100);
  assert.ok(result.cluster.acknowledged().length >= 20, `only ${result.cluster.acknowledged().length} acknowledged`);
});

test('churn: random disconnects, crashes and restarts while clients propose; every acknowledged value survives', async () => {
  const result = await runScenario('churn', { seed: 30, nodes: 5, cluster: { snapshotEntries: 10 } }, [
    {
      do: 'repeat',
      times: 300,
      steps: [
        { do: 'propose', count: 1, tag: 'churn', via: 'random' },
        { do: 'propose', count: 2, tag: 'churn', via: 'leader', required: false },
        { do: 'maybe', chance: 0.2, steps: [{ do: 'isolate', node: 'random' }] },
        { do: 'maybe', chance: 0.5, steps: [{ do: 'reconnect', node: 'random-isolated' }] },
        { do: 'maybe', chance: 0.1, steps: [{ do: 'crash', node: 'random-up' }] },
        { do: 'maybe', chance: 0.3, steps: [{ do: 'restart', node: 'random-down' }] },
        { do: 'run-random', minMs: 0, maxMs: 70 },
      ],
    },
    { do: 'expect-agreement' },
  ]);
  const stats = result.stats;
  assert.ok(stats.crashes >= 10 && stats.snapshotsTaken >= 5, `crashes ${stats.crashes}, snapshots ${stats.snapshotsTaken}`);
  assert.ok(result.cluster.acknowledged().length >= 100, `only ${result.cluster.acknowledged().length} acknowledged`);
});

// Leader election, as scenario scripts: each row is one step of the story.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

test('initial election: three nodes elect one leader and keep it on a reliable network', async () => {
  const result = await runScenario('initial election', { seed: 1, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'run', ms: 50 },
    { do: 'expect', that: 'every node is in the leader\'s term', holds: (view) => view.cluster.nodeIds.every((node) => view.cluster.nodeView(node).term === view.cluster.nodeView(view.node('L')).term) },
    { do: 'expect-stable-leader', forMs: 2_000 },
    { do: 'expect-leader', withinMs: 0, is: 'L' },
  ]);
  assert.equal(result.cluster.invariants.electionSafety.electionsWon, 1);
});

test('re-election after the leader is cut off, and no leader without a quorum', async () => {
  await runScenario('re-election', { seed: 2, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'isolate', node: 'L1' },
    { do: 'expect-leader', withinMs: 1_000, not: 'L1', as: 'L2' },
    // The old leader rejoins; it must not disturb the new one, and follows it.
    { do: 'reconnect', node: 'L1' },
    { do: 'run', ms: 500 },
    { do: 'expect-leader', withinMs: 0, is: 'L2' },
    { do: 'expect', that: 'the old leader follows', holds: (view) => view.cluster.nodeView(view.node('L1')).role === 'follower' },
    // Leader and one follower gone: the last node alone must never become leader.
    { do: 'pick', as: ['F', 'G'], except: ['L2'] },
    { do: 'isolate', node: 'L2' },
    { do: 'isolate', node: 'F' },
    { do: 'expect-no-leader', among: ['G', 'F'], forMs: 2_000 },
    // A quorum again: a leader among the two.
    { do: 'reconnect', node: 'F' },
    { do: 'expect-leader', withinMs: 1_000, among: ['F', 'G'] },
    { do: 'reconnect', node: 'L2' },
    { do: 'run', ms: 500 },
    { do: 'expect-leader', withinMs: 1_000, among: ['F', 'G'] },
  ]);
});

test('many elections: 7 nodes, 10 rounds of 3 random nodes cut off; the majority always elects', async () => {
  const result = await runScenario('many elections', { seed: 3, nodes: 7 }, [
    { do: 'expect-leader', withinMs: 1_000 },
    {
      do: 'repeat',
      times: 10,
      steps: [
        { do: 'pick', as: ['A', 'B', 'C'] },
        { do: 'isolate', node: 'A' },
        { do: 'isolate', node: 'B' },
        { do: 'isolate', node: 'C' },
        { do: 'expect-leader', withinMs: 2_000, not: ['A', 'B', 'C'] },
        { do: 'reconnect', node: 'A' },
        { do: 'reconnect', node: 'B' },
        { do: 'reconnect', node: 'C' },
      ],
    },
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'propose', count: 1, tag: 'final' },
    { do: 'expect-committed', tag: 'final', withinMs: 1_000 },
  ]);
  assert.ok(result.cluster.invariants.electionSafety.electionsWon >= 2, 'some rounds cut off the leader and forced an election');
});

test('pre-vote: a node cut off and rejoining does not depose a healthy leader', async () => {
  await runScenario('pre-vote keeps a partitioned node from disrupting', { seed: 4, nodes: 3, raft: { preVote: true, checkQuorum: true } }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'pick', as: ['F'], except: ['L'] },
    { do: 'isolate', node: 'F' },
    { do: 'run', ms: 2_000 },
    { do: 'expect', that: 'the isolated node did not inflate its term', holds: (view) => view.cluster.nodeView(view.node('F')).term === view.cluster.nodeView(view.node('L')).term },
    { do: 'reconnect', node: 'F' },
    { do: 'expect-stable-leader', forMs: 1_000 },
  ]);
});

test('check-quorum: a leader that stops hearing from a majority steps down; a one-way cut cannot keep it in power', async () => {
  await runScenario('check quorum', { seed: 5, nodes: 3, raft: { preVote: true, checkQuorum: true } }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'pick', as: ['F', 'G'], except: ['L1'] },
    // The leader still reaches its followers, but their answers never come back.
    { do: 'cut', from: 'F', to: 'L1' },
    { do: 'cut', from: 'G', to: 'L1' },
    { do: 'run', ms: 500 },
    { do: 'expect', that: 'the deaf leader stepped down', holds: (view) => view.cluster.nodeView(view.node('L1')).role !== 'leader' },
    { do: 'expect-leader', withinMs: 2_000, among: ['F', 'G'], as: 'L2' },
    { do: 'propose', count: 3, tag: 'new-leader', via: 'L2' },
    { do: 'expect-committed', tag: 'new-leader', withinMs: 500, on: ['F', 'G'] },
    { do: 'heal' },
    { do: 'expect-agreement' },
  ]);
});

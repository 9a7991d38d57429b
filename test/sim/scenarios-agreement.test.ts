// Log agreement, as scenario scripts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

test('basic agreement: each proposal commits on every node, at consecutive indexes', async () => {
  await runScenario('basic agreement', { seed: 10, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'propose', count: 1, tag: 'v1' },
    { do: 'expect-committed', tag: 'v1', withinMs: 200 },
    { do: 'propose', count: 1, tag: 'v2' },
    { do: 'expect-committed', tag: 'v2', withinMs: 200 },
    { do: 'propose', count: 1, tag: 'v3' },
    { do: 'expect-committed', tag: 'v3', withinMs: 200 },
    // Index 1 is the new leader's no-op.
    { do: 'expect', that: 'v1, v2, v3 sit at indexes 2, 3, 4', holds: (view) => ['v1', 'v2', 'v3'].every((tag, k) => view.proposals(tag)[0]!.index === k + 2) },
  ]);
});

test('agreement despite a failed follower, which catches up when it returns', async () => {
  await runScenario('fail agree', { seed: 11, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'propose', count: 1, tag: 'before' },
    { do: 'expect-committed', tag: 'before', withinMs: 200 },
    { do: 'pick', as: ['F', 'G'], except: ['L'] },
    { do: 'isolate', node: 'F' },
    { do: 'propose', count: 3, tag: 'without-f' },
    { do: 'expect-committed', tag: 'without-f', withinMs: 500, on: ['L', 'G'] },
    { do: 'run', ms: 300 },
    { do: 'reconnect', node: 'F' },
    { do: 'propose', count: 2, tag: 'after', via: 'leader' },
    { do: 'expect-committed', tag: 'after', withinMs: 1_000 },
    { do: 'expect-committed', tag: 'without-f', withinMs: 0 },
  ]);
});

test('no agreement without a quorum: 3 of 5 cut off, the leader accepts but cannot commit', async () => {
  await runScenario('fail no agree', { seed: 12, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'pick', as: ['A', 'B', 'C'], except: ['L'] },
    { do: 'isolate', node: 'A' },
    { do: 'isolate', node: 'B' },
    { do: 'isolate', node: 'C' },
    { do: 'propose', count: 1, tag: 'lonely', via: 'L' },
    { do: 'run', ms: 1_000 },
    { do: 'expect-not-applied', tag: 'lonely' },
    { do: 'expect', that: 'the proposal is still not acknowledged', holds: (view) => view.proposals('lonely')[0]!.state !== 'committed' },
    { do: 'reconnect', node: 'A' },
    { do: 'reconnect', node: 'B' },
    { do: 'reconnect', node: 'C' },
    { do: 'expect-leader', withinMs: 2_000 },
    { do: 'propose', count: 3, tag: 'healed' },
    { do: 'expect-committed', tag: 'healed', withinMs: 1_000 },
  ]);
});

test('concurrent proposals: 50 at once all commit, each at its own index, in order', async () => {
  await runScenario('concurrent proposals', { seed: 13, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'propose', count: 50, tag: 'burst' },
    { do: 'expect-committed', tag: 'burst', withinMs: 1_000 },
    {
      do: 'expect',
      that: 'the 50 proposals hold 50 consecutive indexes',
      holds: (view) => view.proposals('burst').every((proposal, k, all) => proposal.index === all[0]!.index + k && proposal.state === 'committed'),
    },
  ]);
});

test('a partitioned old leader: its uncommitted entries are overwritten when it rejoins', async () => {
  const result = await runScenario('rejoin', { seed: 14, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'propose', count: 1, tag: 'first' },
    { do: 'expect-committed', tag: 'first', withinMs: 200 },
    { do: 'isolate', node: 'L1' },
    // The cut-off leader still accepts proposals it can never commit.
    { do: 'propose', count: 3, tag: 'stale', via: 'L1' },
    { do: 'expect-leader', withinMs: 1_000, not: 'L1', as: 'L2' },
    { do: 'propose', count: 1, tag: 'second', via: 'L2' },
    { do: 'expect-committed', tag: 'second', withinMs: 500, on: ['L2'] },
    { do: 'isolate', node: 'L2' },
    { do: 'reconnect', node: 'L1' },
    { do: 'expect-leader', withinMs: 1_000, not: ['L1', 'L2'], as: 'L3' },
    { do: 'propose', count: 1, tag: 'third', via: 'L3' },
    { do: 'expect-committed', tag: 'third', withinMs: 500, on: ['L1', 'L3'] },
    { do: 'expect-agreement' },
    { do: 'expect-not-applied', tag: 'stale' },
    { do: 'expect-committed', tag: 'first', withinMs: 0 },
    { do: 'expect-committed', tag: 'second', withinMs: 0 },
    { do: 'expect-committed', tag: 'third', withinMs: 0 },
  ]);
  assert.ok(result.cluster.proposals.filter((proposal) => proposal.state === 'lost').length >= 1, 'the stale proposals were seen overwritten');
});

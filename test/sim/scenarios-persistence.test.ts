// Crashes and restarts, as scenario scripts. A crash loses everything not yet fsynced (with torn
// writes); a restart rebuilds the node from its disk and re-applies from its snapshot on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, type Step } from '../../src/sim/scenario.js';

test('persistence: crash and restart of all nodes keeps every committed entry', async () => {
  const result = await runScenario('crash all', { seed: 20, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'propose', count: 5, tag: 'a' },
    { do: 'expect-committed', tag: 'a', withinMs: 500 },
    { do: 'crash', node: 'all' },
    { do: 'run', ms: 100 },
    { do: 'restart', node: 'all' },
    { do: 'expect-leader', withinMs: 1_000 },
    // Restarted nodes re-apply their logs from the start: the values are back.
    { do: 'expect-committed', tag: 'a', withinMs: 500 },
    { do: 'propose', count: 5, tag: 'b' },
    { do: 'expect-committed', tag: 'b', withinMs: 500 },
    { do: 'crash', node: 'all' },
    { do: 'restart', node: 'all' },
    { do: 'expect-agreement' },
    { do: 'expect-committed', tag: 'a', withinMs: 0 },
    { do: 'expect-committed', tag: 'b', withinMs: 0 },
  ]);
  assert.equal(result.stats.restarts, 6);
});

test('persistence: the leader crashes, a new one takes over, the old one returns and catches up', async () => {
  await runScenario('crash leader', { seed: 21, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'propose', count: 3, tag: 'a' },
    { do: 'expect-committed', tag: 'a', withinMs: 500 },
    { do: 'crash', node: 'L1' },
    { do: 'expect-leader', withinMs: 1_000, not: 'L1', as: 'L2' },
    { do: 'propose', count: 3, tag: 'b' },
    { do: 'expect-committed', tag: 'b', withinMs: 500 },
    { do: 'restart', node: 'L1' },
    { do: 'expect-committed', tag: 'b', withinMs: 1_000, on: ['L1'] },
    { do: 'crash', node: 'L2' },
    { do: 'expect-leader', withinMs: 1_000, not: 'L2' },
    { do: 'propose', count: 3, tag: 'c' },
    { do: 'expect-committed', tag: 'c', withinMs: 500 },
    { do: 'restart', node: 'L2' },
    { do: 'expect-agreement' },
  ]);
});

test('persistence: a minority crashes again and again while clients propose', async () => {
  const round: Step[] = [
    { do: 'pick', as: ['X', 'Y'] },
    { do: 'crash', node: 'X' },
    { do: 'crash', node: 'Y' },
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'propose', count: 3, tag: 'during' },
    { do: 'expect-committed', tag: 'during', withinMs: 1_000 },
    { do: 'restart', node: 'X' },
    { do: 'restart', node: 'Y' },
    { do: 'run-random', minMs: 0, maxMs: 200 },
  ];
  await runScenario('crash minority', { seed: 22, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'repeat', times: 8, steps: round },
    { do: 'expect-agreement' },
    { do: 'expect-committed', tag: 'during', withinMs: 0 },
  ]);
});

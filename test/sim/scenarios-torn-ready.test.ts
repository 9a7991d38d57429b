// A Ready torn between its entries and its hard state (sim bug 2, seed 21093): a follower adopts a
// new term and receives entries of that term in one Ready, and loses power after the entries reach
// the disk but before the hard state does. Its disk then holds entries of a term above its hard
// state's term; nothing in that Ready was promised to anyone (acknowledgements wait for the fsync),
// so the node must restart from it and rejoin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

test('torn Ready: a follower crashed between the entries and the hard state of a new term restarts and rejoins', () => {
  let tornDisk = '';
  const result = runScenario(
    'torn Ready restart',
    // A fixed 10 ms fsync: C's Vote goes out only after C persists its new term, which leaves time
    // to heal F's link before C, now leader, sends F its first append.
    { seed: 31, nodes: 3, cluster: { fsyncUsMin: 10_000, fsyncUsMax: 10_000 } },
    [
      { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
      { do: 'propose', count: 3, tag: 'before' },
      { do: 'expect-committed', tag: 'before', withinMs: 500 },
      { do: 'pick', as: ['C', 'F'], except: ['L1'] },
      // F never sees C's Vote, so the first message of the new term it gets is C's append of
      // the new leader's no-op entry: new term and entries in one Ready.
      { do: 'cut', from: 'C', to: 'F' },
      { do: 'crash-during-sync', node: 'F', target: 'term-and-entries', cut: 'drop-hard-state', withinMs: 500 },
      { do: 'transfer', to: 'C' },
      { do: 'run', ms: 15 },
      { do: 'heal' },
      { do: 'expect-leader', withinMs: 500, is: 'C' },
      { do: 'expect-down', node: 'F', withinMs: 200 },
      {
        do: 'expect',
        that: "F's disk holds entries of a term above its hard state's term",
        holds: (view) => {
          const durable = view.cluster.durableState(view.node('F'));
          const last = durable.entries[durable.entries.length - 1];
          tornDisk = `hard state t${durable.hardState.term}, last entry ${last?.index}/t${last?.term}`;
          return last !== undefined && last.term > durable.hardState.term;
        },
      },
      { do: 'restart', node: 'F' },
      { do: 'propose', count: 3, tag: 'after' },
      // F rejoined: it applies what the new leader commits.
      { do: 'expect-committed', tag: 'after', withinMs: 1_000, on: ['F', 'C', 'L1'] },
      {
        do: 'expect',
        that: 'F follows C in C\'s term',
        holds: (view) => view.cluster.nodeView(view.node('F')).term === view.cluster.nodeView(view.node('C')).term && view.cluster.nodeView(view.node('F')).role === 'follower',
      },
      { do: 'expect-agreement' },
    ],
  );
  assert.equal(result.stats.tornTermAndEntries, 1, tornDisk);
  assert.equal(result.stats.crashesDuringSync, 1);
});

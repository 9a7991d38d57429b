// Raft paper Figure 8, forced, on real nodes in the simulation (real WAL on the simulated disk):
// an entry of an old term reaches a majority under a later leader, and the commit rule must not
// count it. The sequence does not arise by chance on the real node (a new leader's own-term entry
// usually travels with the old one), so this scenario forces it: while the strip rule is on, every
// AppendEntries arrives without the entries of its sender's current term (an emptied one still
// arrives, as a probe), so only old-term entries move.
//   (a) L1 leads (term t1); cut off with B, it accepts X, which reaches B only.
//   (b) C, D, E elect L2 (term t2); L2's own-term entry at X's index stays on L2 alone. L2 crashes.
//   (c) The partition heals; L1 or B wins term t3 and replicates X (term t1) alone: X is on a
//       majority — committing it by counting is the bug.
//   (d) L1 and B crash; L2 restarts and wins (its last term t2 beats X's t1), and overwrites X.
// With the rule right X was never committed and the overwrite is legal; with the rule planted
// away X is applied and then replaced, and the state-machine safety checker fails the run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

test('Figure 8, forced: an old-term entry on a majority is not committed by counting, so the next leader may overwrite it', async () => {
  let xOnMajority = false;
  const result = await runScenario('figure 8 forced', { seed: 8, nodes: 5, raft: { preVote: false, checkQuorum: false, batchEntriesMax: 1 } }, [
    { do: 'expect-leader', withinMs: 2_000, as: 'L1' },
    { do: 'pick', as: ['B'], except: ['L1'] },
    { do: 'pick', as: ['C', 'D', 'E'], except: ['L1', 'B'] },
    { do: 'partition', groups: [['L1', 'B'], ['C', 'D', 'E']] },
    { do: 'propose', count: 1, tag: 'x', via: 'L1' },
    { do: 'run', ms: 30 },
    { do: 'strip-own-term-entries', on: true },
    { do: 'expect-leader', withinMs: 3_000, among: ['C', 'D', 'E'], as: 'L2' },
    { do: 'run', ms: 30 },
    { do: 'crash', node: 'L2' },
    { do: 'heal' },
    // L1 still believes it leads term t1 until it hears a later term: give the election time.
    { do: 'run', ms: 800 },
    { do: 'expect-leader', withinMs: 3_000, among: ['L1', 'B'], as: 'L3' },
    { do: 'run', ms: 300 },
    {
      do: 'expect',
      that: 'X (term t1) is on a majority while the term-t3 leader leads: the Figure 8 (c) state',
      holds: (view) => {
        const [x] = view.proposals('x');
        if (x === undefined) return false;
        const holders = view.cluster.nodeIds.filter((node) => view.cluster.kvNode(node)?.termAt(x.index) === x.term).length;
        xOnMajority = holders >= 3;
        return xOnMajority;
      },
    },
    { do: 'crash', node: 'L1' },
    { do: 'crash', node: 'B' },
    { do: 'strip-own-term-entries', on: false },
    { do: 'restart', node: 'L2' },
    { do: 'expect-leader', withinMs: 3_000, is: 'L2' },
    { do: 'run', ms: 300 },
    {
      do: 'expect',
      that: "X is overwritten on the live nodes: the Figure 8 (d) step happened",
      holds: (view) => {
        const [x] = view.proposals('x');
        return x !== undefined && ['C', 'D', 'E'].map((ref) => view.node(ref)).filter((node) => view.cluster.isUp(node)).every((node) => view.cluster.kvNode(node)?.termAt(x.index) !== x.term);
      },
    },
    { do: 'restart', node: 'L1' },
    { do: 'restart', node: 'B' },
    { do: 'expect-agreement' },
  ]);
  assert.ok(xOnMajority);
  assert.ok(result.stats.crashes >= 3);
});

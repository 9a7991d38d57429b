// Crashes that tear a Ready: under fsync 'always' every entry is its own record and the hard state
// rides with the last (src/storage/wal.ts), so a crash inside a multi-entry Ready's writes leaves a
// prefix of its entries without its hard state — the shape of sim bug 2 (seed 21093), where a
// follower adopting a new term kept entries of that term beside an older hard state. Nothing in
// the torn Ready was promised to anyone (acknowledgements wait for the sync), so the node must
// restart from whatever prefix survived and rejoin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

test("torn Ready: followers crashed inside the per-entry writes of a batch restart from a prefix of it and rejoin ('always')", async () => {
  const result = await runScenario(
    'torn Ready restart',
    { seed: 31, nodes: 3, cluster: { fsync: 'always', fsyncUsMin: 2_000, fsyncUsMax: 4_000, proposalBatchEntriesMax: 16 } },
    [
      { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
      { do: 'propose', count: 3, tag: 'before' },
      { do: 'expect-committed', tag: 'before', withinMs: 500 },
      {
        do: 'repeat',
        times: 6,
        steps: [
          { do: 'pick', as: ['F'], except: ['leader'] },
          // F crashes inside one of the syncs of the next batch it writes, keeping what was
          // written before the last write of it.
          { do: 'crash-during-sync', node: 'F', target: 'entries', cut: 'drop-hard-state', withinMs: 500 },
          { do: 'propose', count: 8, tag: 'batch', batch: true },
          { do: 'expect-down', node: 'F', withinMs: 500 },
          { do: 'restart', node: 'F' },
          { do: 'run', ms: 300 },
        ],
      },
      { do: 'propose', count: 3, tag: 'after' },
      { do: 'expect-committed', tag: 'after', withinMs: 2_000 },
      { do: 'expect-agreement' },
    ],
  );
  assert.equal(result.stats.crashesDuringSync, 6);
  assert.ok(result.stats.restartsAfterLostWrites >= 3, `restarts that lost unsynced entries: ${result.stats.restartsAfterLostWrites}`);
});

// Snapshots and leadership transfer, as scenario scripts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

test('snapshot install: a follower that missed entries the others compacted away catches up by snapshot', async () => {
  const result = await runScenario('snapshot install', { seed: 40, nodes: 3 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'pick', as: ['F', 'G'], except: ['L'] },
    { do: 'isolate', node: 'F' },
    { do: 'propose', count: 100, tag: 'while-away' },
    { do: 'expect-committed', tag: 'while-away', withinMs: 1_000, on: ['L', 'G'] },
    { do: 'run', ms: 50 },
    { do: 'compact', node: 'L' },
    { do: 'compact', node: 'G' },
    { do: 'expect', that: 'the leader compacted past what F holds', holds: (view) => view.cluster.nodeView(view.node('L')).snapshotIndex > view.cluster.nodeView(view.node('F')).lastIndex },
    { do: 'propose', count: 5, tag: 'more' },
    { do: 'reconnect', node: 'F' },
    { do: 'expect-committed', tag: 'while-away', withinMs: 2_000 },
    { do: 'expect-committed', tag: 'more', withinMs: 1_000 },
    { do: 'expect', that: 'F holds the leader\'s snapshot', holds: (view) => view.cluster.nodeView(view.node('F')).snapshotIndex > 0 },
    // After a crash F restarts from its installed snapshot plus the log after it.
    { do: 'crash', node: 'F' },
    { do: 'restart', node: 'F' },
    { do: 'expect-agreement' },
  ]);
  assert.ok(result.stats.messagesByType.InstallSnapshot >= 1);
  assert.ok(result.stats.snapshotsInstalled >= 1);
});

test('a follower whose whole inflight window was lost, and whose entries were then compacted, recovers by snapshot (sim bug 1)', async () => {
  await runScenario('lost window then compaction', { seed: 42, nodes: 3, raft: { inflightMax: 2, batchEntriesMax: 1 } }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'pick', as: ['F', 'G'], except: ['L'] },
    { do: 'propose', count: 3, tag: 'warm-up' },
    { do: 'expect-committed', tag: 'warm-up', withinMs: 500 },
    // F is in replicate state; cut only the leader → F link, so the appends streamed to it vanish.
    { do: 'cut', from: 'L', to: 'F' },
    { do: 'propose', count: 20, tag: 'lost-to-f' },
    { do: 'expect-committed', tag: 'lost-to-f', withinMs: 1_000, on: ['L', 'G'] },
    { do: 'run', ms: 50 },
    { do: 'compact', node: 'L' },
    { do: 'heal' },
    { do: 'expect-committed', tag: 'lost-to-f', withinMs: 2_000, on: ['F'] },
  ]);
});

test('leadership transfer under load: the target takes over, nothing acknowledged is lost', async () => {
  const result = await runScenario('transfer under load', { seed: 41, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'pick', as: ['T'], except: ['L1'] },
    { do: 'repeat', times: 10, steps: [{ do: 'propose', count: 5, tag: 'before' }, { do: 'run', ms: 2 }] },
    { do: 'transfer', to: 'T' },
    // Clients keep proposing to whoever leads; during the hand-over the old leader refuses.
    { do: 'repeat', times: 30, steps: [{ do: 'propose', count: 2, tag: 'during', required: false }, { do: 'run', ms: 5 }] },
    { do: 'expect-leader', withinMs: 500, is: 'T' },
    { do: 'propose', count: 20, tag: 'after' },
    { do: 'expect-committed', tag: 'before', withinMs: 1_000 },
    { do: 'expect-committed', tag: 'during', withinMs: 1_000 },
    { do: 'expect-committed', tag: 'after', withinMs: 1_000 },
    { do: 'expect-agreement' },
  ]);
  assert.ok(result.stats.messagesByType.TimeoutNow >= 1, 'the transfer went through TimeoutNow');
  assert.ok(result.stats.proposalsRejected >= 0);
});

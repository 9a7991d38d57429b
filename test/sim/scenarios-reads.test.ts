// The read path against the real node, as scenario scripts: reads that must be served, reads that
// must not be, and every answer checked for linearizability with the writes around it. The lease
// checker in the simulation (SimCluster.checkLeaseSafety) runs after every event too: no leader
// may commit in a new term while an older lease is still valid in true time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../../src/sim/scenario.js';

// 10 ms ticks, elections after 10–20 ticks; a lease of 8 ticks is the safe maximum for the 5 %
// drift bound the nodes assume (the simulated clocks drift at most 2 %).
const LEASES = { leaseTicks: 8, checkQuorum: true, preVote: true } as const;

test('a deposed leader cut off from its quorum serves lease reads until its lease runs out, then none; the new leader commits only after', async () => {
  const result = await runScenario('deposed leader, lease', { seed: 70, nodes: 3, raft: LEASES }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'kv-put', key: 'k', withinMs: 500 },
    { do: 'run', ms: 40 },
    { do: 'mark', name: 'cut' },
    { do: 'isolate', node: 'L' },
    // Inside its lease the old leader still answers, with no message: nobody else can commit yet.
    { do: 'kv-get', via: 'L', mode: 'lease', key: 'k', expect: 'served', withinMs: 5 },
    { do: 'expect-lease-reads', since: 'cut', atLeast: 1 },
    { do: 'expect-leader', withinMs: 2_000, not: 'L', as: 'N' },
    { do: 'kv-put', key: 'k', withinMs: 2_000 },
    // By now its lease has run out: it must not answer (its fallback round cannot be confirmed).
    { do: 'kv-get', via: 'L', mode: 'lease', key: 'k', expect: 'not-served', withinMs: 100 },
    // A few heartbeat rounds later N holds a lease of its own and answers from it.
    { do: 'run', ms: 50 },
    { do: 'mark', name: 'new lease' },
    { do: 'kv-get', via: 'N', mode: 'lease', key: 'k', expect: 'served', withinMs: 5 },
    { do: 'expect-lease-reads', since: 'new lease', atLeast: 1 },
    { do: 'expect-linearizable' },
    { do: 'expect-agreement' },
  ]);
  assert.ok(result.stats.leaseReads >= 2);
});

test('a deposed leader cut off from its quorum serves no ReadIndex read; the new leader does', async () => {
  await runScenario('deposed leader, read index', { seed: 71, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'kv-put', key: 'k', withinMs: 500 },
    { do: 'isolate', node: 'L' },
    { do: 'kv-get', via: 'L', mode: 'read-index', key: 'k', expect: 'not-served', withinMs: 300 },
    { do: 'expect-leader', withinMs: 2_000, not: 'L', as: 'N' },
    { do: 'kv-put', key: 'k', withinMs: 2_000 },
    { do: 'kv-get', via: 'N', mode: 'read-index', key: 'k', expect: 'served', withinMs: 500 },
    { do: 'expect-linearizable' },
    { do: 'expect-agreement' },
  ]);
});

test('a new leader cut off before its first commit serves no read', async () => {
  await runScenario('new leader before its first commit', { seed: 72, nodes: 5, raft: LEASES }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'kv-put', key: 'k', withinMs: 500 },
    { do: 'isolate', node: 'L1' },
    { do: 'expect-leader', withinMs: 2_000, not: 'L1', as: 'N' },
    // Cut at once: the no-op of N's term is still in flight and is lost with the links.
    { do: 'isolate', node: 'N' },
    { do: 'kv-get', via: 'N', mode: 'read-index', key: 'k', expect: 'not-served', withinMs: 200 },
    { do: 'kv-get', via: 'N', mode: 'lease', key: 'k', expect: 'not-served', withinMs: 200 },
    { do: 'heal' },
    { do: 'kv-put', key: 'k', withinMs: 3_000 },
    { do: 'kv-get', via: 'leader', mode: 'read-index', key: 'k', expect: 'served', withinMs: 500 },
    { do: 'expect-linearizable' },
    { do: 'expect-agreement' },
  ]);
});

test('a leadership transfer ends the lease: the old leader answers no read from its lease after it starts one', async () => {
  await runScenario('transfer during lease', { seed: 73, nodes: 3, raft: LEASES }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'kv-put', key: 'k', withinMs: 500 },
    { do: 'run', ms: 40 },
    { do: 'mark', name: 'before' },
    { do: 'kv-get', via: 'L', mode: 'lease', key: 'k', expect: 'served', withinMs: 5 },
    { do: 'expect-lease-reads', since: 'before', atLeast: 1 },
    { do: 'pick', as: ['T'], except: ['L'] },
    { do: 'mark', name: 'transfer' },
    { do: 'transfer', to: 'T' },
    // Not from its lease: it may still be answered by a heartbeat round (ReadIndex) before T wins.
    { do: 'kv-get', via: 'L', mode: 'lease', key: 'k', expect: 'either', withinMs: 1 },
    { do: 'expect-leader', withinMs: 1_000, is: 'T' },
    { do: 'kv-put', key: 'k', withinMs: 1_000 },
    { do: 'run', ms: 100 },
    { do: 'expect-lease-reads', since: 'transfer', atMost: 0 },
    { do: 'expect-linearizable' },
    { do: 'expect-agreement' },
  ]);
});

test('a follower read index racing a leader change: the read fails or is answered at an index a current leader gave; never stale', async () => {
  await runScenario('follower read index vs leader change', { seed: 74, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L' },
    { do: 'kv-put', key: 'k', withinMs: 500 },
    { do: 'pick', as: ['F'], except: ['L'] },
    { do: 'isolate', node: 'L' },
    // F still thinks L leads: its request to L is lost; it must fail once F follows a new leader.
    { do: 'kv-get', via: 'F', mode: 'follower-read-index', key: 'k', expect: 'not-served', withinMs: 50 },
    { do: 'expect-leader', withinMs: 2_000, not: 'L', as: 'N' },
    { do: 'kv-put', key: 'k', withinMs: 2_000 },
    { do: 'kv-get', via: 'F', mode: 'follower-read-index', key: 'k', expect: 'served', withinMs: 500 },
    { do: 'heal' },
    // L learns the new term from the leader's heartbeats (a direct read does not retry: wait).
    { do: 'run', ms: 300 },
    { do: 'kv-get', via: 'L', mode: 'follower-read-index', key: 'k', expect: 'served', withinMs: 2_000 },
    { do: 'expect-linearizable' },
    { do: 'expect-agreement' },
  ]);
});

// The unsafe settings, run on purpose: the checkers must catch what they allow. (Each is the bug
// a scenario above would plant; these prove the simulation notices it without being told.)

test('unsafe: a lease longer than the election timeout lets a deposed leader answer after a new leader committed; the lease checker catches it', async () => {
  // 10 s: long enough to outlast the client's failed attempt on L before it finds N.
  const unsafeLease = { leaseTicks: 1_000, leaseUnsafe: true, checkQuorum: false, preVote: true } as const;
  await assert.rejects(
    runScenario('unsafe lease', { seed: 75, nodes: 3, raft: unsafeLease }, [
      { do: 'expect-leader', withinMs: 1_000, as: 'L' },
      { do: 'kv-put', key: 'k', withinMs: 500 },
      { do: 'run', ms: 40 },
      { do: 'isolate', node: 'L' },
      { do: 'expect-leader', withinMs: 2_000, not: 'L', as: 'N' },
      { do: 'kv-put', key: 'k', via: 'N', withinMs: 2_000 },
      // Still inside its lease: L answers from it, missing N's write.
      { do: 'kv-get', via: 'L', mode: 'lease', key: 'k', expect: 'served', withinMs: 5 },
    ]),
    (error: unknown) => error instanceof Error && /lease safety violated: node \d granted a lease read in term \d+/.test(error.message),
  );
});

test('unsafe: a stale read from a cut-off node misses an acknowledged write; the linearizability checker catches it', async () => {
  await assert.rejects(
    runScenario('stale read', { seed: 76, nodes: 3 }, [
      { do: 'expect-leader', withinMs: 1_000, as: 'L' },
      { do: 'kv-put', key: 'k', withinMs: 500 },
      { do: 'pick', as: ['F'], except: ['L'] },
      { do: 'run', ms: 100 },
      { do: 'isolate', node: 'F' },
      { do: 'kv-put', key: 'k', withinMs: 500 },
      // Strictly after the put's answer (at the same instant they would count as concurrent).
      { do: 'run', ms: 1 },
      { do: 'kv-get', via: 'F', mode: 'stale', key: 'k', expect: 'served', withinMs: 5 },
      { do: 'expect-linearizable' },
    ]),
    (error: unknown) => error instanceof Error && /not linearizable/.test(error.message),
  );
});

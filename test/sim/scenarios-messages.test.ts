// How many messages the protocol spends: bounds asserted, measured counts reported (t.diagnostic).
// The bounds are derived from the protocol, not from a measurement:
//   elect        — one campaign costs a PreVote round and a Vote round: 4·(N−1) messages;
//                  allow two campaigns (one split or refused round).
//   commit 10    — ten proposals in ten calls: at worst each entry costs one AppendEntries and
//                  one response per follower, 2·(N−1)·10; batching and pipelining may only lower it.
//   batch of 64  — one propose call with 64 commands: everything proposed before a Ready goes to
//                  each follower in one AppendEntries, so committing it costs exactly one append
//                  with entries and one acknowledgement per follower (the commit index then rides
//                  on the next append or heartbeat, never on a round of its own).
//   idle second  — one heartbeat and one response per follower every heartbeatTicks ticks, with
//                  a clock up to 2 % fast: 2·(N−1)·ceil(1000 ms / (tick · 0.98 · heartbeatTicks)).
//   fast backup  — with the follower's conflict hint the leader skips a whole term per round
//                  trip, so a stale follower whose 50 conflicting entries are of one term costs at
//                  most 4 rejections, not 50: one if its log is shorter than the leader's probe,
//                  one for its one conflicting term, and each of those two probes repeated once
//                  when a heartbeat answer arrives while it is in flight (a rejection waits for
//                  the follower's fsync, so a round trip can span a heartbeat).
const REJECTIONS_PER_STALE_FOLLOWER = 4;

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CLUSTER_OPTIONS, DEFAULT_SWITCHES } from '../../src/sim/cluster-options.js';
import { runScenario } from '../../src/sim/scenario.js';

const NODES = 5;
const FOLLOWERS = NODES - 1;
const TICK_MS = DEFAULT_CLUSTER_OPTIONS.tickUs / 1000;
const IDLE_SECOND_BOUND = 2 * FOLLOWERS * Math.ceil(1000 / (TICK_MS * (1 - DEFAULT_CLUSTER_OPTIONS.clockDriftMax) * DEFAULT_SWITCHES.heartbeatTicks));

test('message counts: to elect a leader, to commit 10 entries, per idle second', async (t) => {
  const result = await runScenario('message counts', { seed: 50, nodes: NODES }, [
    { do: 'mark', name: 'start' },
    { do: 'expect-leader', withinMs: 1_000 },
    { do: 'expect-messages', since: 'start', types: ['PreVote', 'PreVoteResponse', 'Vote', 'VoteResponse'], atMost: 2 * 4 * FOLLOWERS, label: 'elect' },
    { do: 'run', ms: 100 },
    { do: 'mark', name: 'ten' },
    { do: 'propose', count: 10, tag: 'ten' },
    { do: 'expect-committed', tag: 'ten', withinMs: 500 },
    { do: 'expect-messages', since: 'ten', types: ['AppendEntries', 'AppendEntriesResponse'], atMost: 2 * FOLLOWERS * 10, label: 'commit 10 (appends + responses)' },
    { do: 'expect-messages', since: 'ten', atMost: 2 * FOLLOWERS * 10 + 2 * FOLLOWERS * 2, label: 'commit 10 (all messages)' },
    { do: 'run', ms: 100 },
    { do: 'mark', name: 'batch' },
    { do: 'propose', count: 64, tag: 'batch', batch: true },
    { do: 'expect-committed', tag: 'batch', withinMs: 500 },
    { do: 'expect-appends', since: 'batch', atMost: FOLLOWERS, label: 'commit a batch of 64 (appends with entries)' },
    { do: 'expect-messages', since: 'batch', types: ['AppendEntriesResponse'], atMost: FOLLOWERS, label: 'commit a batch of 64 (acknowledgements)' },
    { do: 'run', ms: 100 },
    { do: 'mark', name: 'idle' },
    { do: 'run', ms: 1_000 },
    { do: 'expect-messages', since: 'idle', atMost: IDLE_SECOND_BOUND, label: 'idle second' },
  ]);
  for (const [label, count] of result.measurements) t.diagnostic(`${label}: ${count}${label.endsWith('(entries per append)') ? '' : ' messages'} (${NODES} nodes)`);
  assert.ok(result.measurements.get('idle second')! >= 2 * FOLLOWERS * 50, 'heartbeats flow while idle');
  assert.equal(result.measurements.get('commit a batch of 64 (appends with entries) (entries per append)'), 64, 'the whole batch in one append per follower');
});

test('fast backup: two stale partitions with 50 uncommitted entries each are repaired with few rejections', async (t) => {
  const result = await runScenario('fast backup', { seed: 51, nodes: 5 }, [
    { do: 'expect-leader', withinMs: 1_000, as: 'L1' },
    { do: 'propose', count: 1, tag: 'warm-up' },
    { do: 'expect-committed', tag: 'warm-up', withinMs: 500 },
    // Stale partition 1: the leader and one follower accept 50 entries they cannot commit.
    { do: 'pick', as: ['P', 'A', 'B', 'C'], except: ['L1'] },
    { do: 'partition', groups: [['L1', 'P'], ['A', 'B', 'C']] },
    { do: 'propose', count: 50, tag: 'stale-1', via: 'L1' },
    { do: 'expect-leader', withinMs: 1_000, among: ['A', 'B', 'C'], as: 'L2' },
    { do: 'propose', count: 50, tag: 'ok-1', via: 'L2' },
    { do: 'expect-committed', tag: 'ok-1', withinMs: 1_000, on: ['A', 'B', 'C'] },
    // Stale partition 2: the new leader and one follower accept 50 more they cannot commit.
    { do: 'pick', as: ['O', 'Q'], except: ['L1', 'P', 'L2'] },
    { do: 'partition', groups: [['L2', 'O'], ['L1', 'P', 'Q']] },
    { do: 'propose', count: 50, tag: 'stale-2', via: 'L2' },
    // Let L2's appends to O settle first (their reorderings cost rejections that are not repairs).
    { do: 'run', ms: 50 },
    { do: 'mark', name: 'repair-1' },
    // Q holds the committed entries, so it leads; L1 and P must drop their 50 stale entries.
    { do: 'expect-leader', withinMs: 2_000, among: ['L1', 'P', 'Q'], as: 'L3' },
    { do: 'propose', count: 50, tag: 'ok-2', via: 'L3' },
    { do: 'expect-committed', tag: 'ok-2', withinMs: 1_000, on: ['L1', 'P', 'Q'] },
    { do: 'expect-append-rejections', since: 'repair-1', atMost: 2 * REJECTIONS_PER_STALE_FOLLOWER, label: 'rejections repairing L1 and P' },
    { do: 'expect-messages', since: 'repair-1', types: ['AppendEntries'], atMost: 2 * 2 + 2 * 10 + 2 * 50, label: 'AppendEntries while repairing L1 and P' },
    // Everyone back: L2 and O must drop their 50 stale entries.
    { do: 'mark', name: 'repair-2' },
    { do: 'heal' },
    { do: 'expect-committed', tag: 'ok-1', withinMs: 1_000 },
    { do: 'expect-committed', tag: 'ok-2', withinMs: 1_000 },
    { do: 'expect-append-rejections', since: 'repair-2', atMost: 2 * REJECTIONS_PER_STALE_FOLLOWER, label: 'rejections repairing L2 and O' },
    { do: 'expect-not-applied', tag: 'stale-1' },
    { do: 'expect-not-applied', tag: 'stale-2' },
    { do: 'expect-agreement' },
  ]);
  for (const [label, count] of result.measurements) t.diagnostic(`${label}: ${count}`);
});

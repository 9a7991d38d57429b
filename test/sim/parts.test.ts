// The simulation's parts on their own: the event queue's order, the network's fault model and
// the disk's volatile/durable split under crashes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../src/random/prng.js';
import type { Entry } from '../../src/raft/types.js';
import { SimDisk } from '../../src/sim/disk.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { RELIABLE_NETWORK, SimNetwork } from '../../src/sim/network.js';
import { encodePayload, SimStateMachine } from '../../src/sim/state-machine.js';

test('event queue: pops by time, ties in insertion order, matching a stable sort', () => {
  const prng = createPrng(3);
  const queue = new EventQueue<number>();
  const pushed: { timeUs: number; id: number }[] = [];
  for (let id = 0; id < 2_000; id++) {
    const timeUs = prng.nextInt(0, 50);
    queue.push(timeUs, id);
    pushed.push({ timeUs, id });
  }
  const expected = pushed.slice().sort((a, b) => a.timeUs - b.timeUs || a.id - b.id).map((event) => event.id);
  const popped: number[] = [];
  for (let event = queue.pop(); event !== undefined; event = queue.pop()) popped.push(event.payload);
  assert.deepEqual(popped, expected);
});

test('event queue: bounded, and rejects bad times', () => {
  const queue = new EventQueue<string>(2);
  queue.push(1, 'a');
  queue.push(1, 'b');
  assert.throws(() => queue.push(2, 'c'), /over its bound of 2 events/);
  assert.throws(() => new EventQueue<string>().push(-1, 'x'), /non-negative integer/);
  assert.throws(() => new EventQueue<string>().push(1.5, 'x'), /non-negative integer/);
});

test('network: partitions, one-way cuts and healing', () => {
  const network = new SimNetwork(createPrng(1), [1, 2, 3, 4, 5]);
  network.partition([[1, 2], [3, 4]]);
  assert.ok(network.canReach(1, 2) && network.canReach(3, 4));
  assert.ok(!network.canReach(1, 3) && !network.canReach(4, 2));
  assert.ok(!network.canReach(5, 1) && !network.canReach(1, 5), 'unnamed nodes form their own group');
  network.heal();
  network.cut(1, 2);
  assert.ok(!network.canReach(1, 2) && network.canReach(2, 1), 'a cut is one-way');
  assert.deepEqual(network.route(1, 2), []);
  assert.equal(network.counters.cut, 1);
  network.heal();
  network.isolate(3);
  assert.ok(!network.canReach(3, 1) && !network.canReach(2, 3) && network.canReach(1, 2));
  assert.ok(network.partitioned);
  network.heal();
  assert.ok(!network.partitioned);
  assert.throws(() => network.route(1, 9), /unknown node 9/);
});

test('network: latency stays in bounds; loss, duplication and reordering happen at about their rates', () => {
  const network = new SimNetwork(createPrng(7), [1, 2], {
    latencyUsMin: 100,
    latencyUsMax: 2_000,
    lossProbability: 0.1,
    duplicateProbability: 0.2,
    reorderProbability: 0.05,
    reorderDelayUsMax: 50_000,
  });
  let delivered = 0;
  let long = 0;
  const sends = 20_000;
  for (let k = 0; k < sends; k++) {
    for (const delayUs of network.route(1, 2)) {
      delivered++;
      assert.ok(delayUs >= 100, `delay ${delayUs} below the minimum`);
      if (delayUs > 2_000) long++;
      assert.ok(delayUs <= 52_000, `delay ${delayUs} above the maximum`);
    }
  }
  const { lost, duplicated, reordered } = network.counters;
  assert.ok(Math.abs(lost / sends - 0.1) < 0.015, `loss rate ${lost / sends}`);
  assert.ok(Math.abs(duplicated / (sends - lost) - 0.2) < 0.02, `duplication rate ${duplicated / (sends - lost)}`);
  assert.ok(Math.abs(reordered / delivered - 0.05) < 0.01, `reorder rate ${reordered / delivered}`);
  assert.equal(delivered, sends - lost + duplicated);
  assert.ok(long > 0 && long <= reordered);
});

test('network: the same seed makes the same decisions; bad fault settings are rejected by name', () => {
  const decide = (seed: number) => {
    const network = new SimNetwork(createPrng(seed), [1, 2], { ...RELIABLE_NETWORK, lossProbability: 0.3, duplicateProbability: 0.3 });
    return Array.from({ length: 200 }, () => network.route(1, 2).join('/'));
  };
  assert.deepEqual(decide(11), decide(11));
  assert.notDeepEqual(decide(11), decide(12));
  assert.throws(() => new SimNetwork(createPrng(1), [1, 2], { ...RELIABLE_NETWORK, lossProbability: 2 }), /lossProbability must be in \[0, 1\]/);
  assert.throws(() => new SimNetwork(createPrng(1), [1, 2], { ...RELIABLE_NETWORK, latencyUsMin: 5_000 }), /latencyUsMax \(2000\) is below latencyUsMin/);
});

function entries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, k) => ({ index: from + k, term, data: encodePayload(from + k) }));
}

test('disk: a crash keeps synced writes and loses unsynced ones', () => {
  const disk = new SimDisk('node 1');
  disk.write({ kind: 'entries', entries: entries(1, 3, 1) });
  disk.write({ kind: 'hardState', hardState: { term: 1, vote: 1, commit: 2 } });
  disk.sync();
  disk.write({ kind: 'entries', entries: entries(4, 6, 1) });
  disk.write({ kind: 'hardState', hardState: { term: 2, vote: 2, commit: 5 } });
  assert.equal(disk.lastIndex, 6);
  disk.crash(createPrng(1), { kind: 'seeded', tornProbability: 0 });
  const state = disk.durableState();
  assert.deepEqual(state.hardState, { term: 1, vote: 1, commit: 2 });
  assert.deepEqual(state.entries.map((entry) => entry.index), [1, 2, 3]);
  assert.equal(disk.lastIndex, 3);
  assert.equal(disk.durableTermAt(3), 1);
  assert.equal(disk.durableTermAt(4), undefined);
  assert.equal(disk.counters.lostWrites, 2);
});

test('disk: a torn crash keeps a prefix of the unsynced writes, possibly inside an entries batch', () => {
  const outcomes = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const disk = new SimDisk('node 1');
    disk.write({ kind: 'entries', entries: entries(1, 2, 1) });
    disk.sync();
    disk.write({ kind: 'entries', entries: entries(3, 6, 2) });
    disk.write({ kind: 'hardState', hardState: { term: 2, vote: 1, commit: 6 } });
    disk.crash(createPrng(seed), { kind: 'seeded', tornProbability: 1 });
    const state = disk.durableState();
    const last = state.entries.length;
    // Order is kept: the hard state survives only with every entry written before it.
    if (state.hardState.term === 2) assert.equal(last, 6);
    assert.deepEqual(state.entries.map((entry) => entry.index), Array.from({ length: last }, (_, k) => k + 1));
    outcomes.add(`${last}/${state.hardState.term}`);
  }
  assert.ok(outcomes.has('2/0') || outcomes.has('3/0'), `outcomes: ${[...outcomes].join(' ')}`);
  assert.ok([...outcomes].some((outcome) => outcome.startsWith('4/') || outcome.startsWith('5/')), 'a batch torn in the middle');
  assert.ok(outcomes.has('6/0') || outcomes.has('6/2'));
});

test('disk: a crash cut "drop-hard-state" keeps a Ready\'s entries and loses its hard state', () => {
  const disk = new SimDisk('node 1');
  disk.write({ kind: 'entries', entries: entries(1, 2, 4) });
  disk.write({ kind: 'hardState', hardState: { term: 4, vote: 2, commit: 2 } });
  disk.sync();
  // One Ready: a new term and entries of it.
  disk.write({ kind: 'entries', entries: entries(3, 5, 5) });
  disk.write({ kind: 'hardState', hardState: { term: 5, vote: 0, commit: 2 } });
  const outcome = disk.crash(createPrng(1), { kind: 'drop-hard-state' });
  assert.deepEqual(outcome, { unsyncedWrites: 2, keptWrites: 1, tornEntries: null });
  const state = disk.durableState();
  assert.deepEqual(state.hardState, { term: 4, vote: 2, commit: 2 });
  assert.deepEqual(state.entries.map((entry) => `${entry.index}/t${entry.term}`), ['1/t4', '2/t4', '3/t5', '4/t5', '5/t5']);
  assert.equal(disk.counters.tornWrites, 1);
  assert.equal(disk.counters.lostWrites, 1);
});

test('disk: entries overwrite the stored suffix; a snapshot replaces the log; compaction drops the prefix', () => {
  const disk = new SimDisk('node 2');
  disk.write({ kind: 'entries', entries: entries(1, 5, 1) });
  disk.write({ kind: 'entries', entries: entries(3, 3, 2) });
  disk.sync();
  assert.deepEqual(disk.durableState().entries.map((entry) => `${entry.index}/${entry.term}`), ['1/1', '2/1', '3/2']);
  assert.throws(() => disk.write({ kind: 'entries', entries: entries(5, 5, 2) }), /node 2: entries from index 5 do not attach/);
  const machine = new SimStateMachine();
  for (const entry of disk.durableState().entries) machine.apply(entry, 'test');
  const snapshot = { meta: { index: 2, term: 1, config: { voters: [1, 2, 3] } }, data: new Uint8Array() };
  disk.compact(snapshot);
  assert.deepEqual(disk.durableState().entries.map((entry) => entry.index), [3]);
  assert.equal(disk.latestSnapshot(), snapshot);
  disk.write({ kind: 'snapshot', snapshot: { meta: { index: 9, term: 3, config: { voters: [1, 2, 3] } }, data: new Uint8Array() } });
  disk.sync();
  assert.deepEqual(disk.durableState().entries, []);
  assert.equal(disk.lastIndex, 9);
  assert.throws(() => disk.compact(snapshot), /compaction to 2 is behind the stored snapshot 9/);
});

test('state machine: snapshots round-trip through bytes, and a payload applied twice is caught', () => {
  const machine = new SimStateMachine();
  for (const entry of entries(1, 4, 1)) machine.apply(entry, 'node 1');
  machine.apply({ index: 5, term: 2, data: new Uint8Array() }, 'node 1');
  const bytes = machine.snapshot();
  const copy = new SimStateMachine();
  copy.restore(bytes, { index: 5, term: 2, config: { voters: [1] } }, 'node 2');
  assert.equal(copy.hash, machine.hash);
  assert.equal(copy.payloadCount, 4);
  assert.ok(copy.has(3) && !copy.has(5));
  assert.throws(() => copy.restore(bytes, { index: 6, term: 2, config: { voters: [1] } }, 'node 2'), /metadata says index 6/);
  assert.throws(() => machine.apply({ index: 6, term: 2, data: encodePayload(2) }, 'node 1'), /payload 2 applied twice/);
  assert.throws(() => machine.apply({ index: 8, term: 2, data: encodePayload(9) }, 'node 1'), /applying index 8 after 5/);
});

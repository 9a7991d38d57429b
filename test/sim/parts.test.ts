// The simulation's parts on their own: the event queue's order, the network's fault model, the
// scenario payloads. (The simulated disk has its own tests: file-system.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../src/random/prng.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { RELIABLE_NETWORK, SimNetwork } from '../../src/sim/network.js';
import { decodePayload, encodePayload } from '../../src/sim/apply-tracker.js';

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

test('scenario payloads: round trip; anything else (a no-op, a KV request) is no payload', () => {
  assert.equal(decodePayload(encodePayload(123_456)), 123_456);
  assert.equal(decodePayload(new Uint8Array(0)), null);
  assert.equal(decodePayload(new Uint8Array(8)), null);
  assert.equal(decodePayload(new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0])), null);
});

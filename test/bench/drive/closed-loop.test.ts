// The closed-loop driver: N operations in flight, latency from the send, stop by count, drain
// timeout, abort against a target that never yields, and a failing source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runClosedLoop } from '../../../src/bench/drive/closed-loop.js';
import { createSystemClock } from '../../../src/bench/drive/clock.js';
import { OUTCOME_OK, type KvTarget } from '../../../src/bench/drive/target.js';
import { VirtualClock } from '../../../src/bench/drive/virtual-clock.js';
import { StallingServer, constantSource } from './stalling-server.js';

test('N clients keep N operations in flight; latency counts from the actual send', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  const server = new StallingServer(clock, { serviceUs: 1_000, stallEveryUs: 1e12, stallUs: 0, stallPhaseUs: 1e12 });
  const result = await clock.run(runClosedLoop({ target: server, source: constantSource(), clock, clients: 3, durationMs: 1000 }));
  assert.equal(result.inFlightPeak, 3);
  assert.equal(result.stoppedBy, 'duration');
  // A 1 ms server with 3 waiting: each operation spends 3 ms (2 in the queue, 1 in service),
  // except the first two, which found the queue shorter.
  assert.ok(Math.abs(result.recording.total.latencyUs.p50 - 3_000) <= 3);
  assert.equal(result.recording.total.latencyUs.min, 1_000);
  // 1000 operations a second; the last ones started before 1 s finish in the drain.
  assert.ok(Math.abs(result.recording.total.count - 1000) <= 3, `count ${result.recording.total.count}`);
  assert.equal(result.unfinished, 0);
});

test('an operation count stops the clients; a drain timeout records what never came back', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  let calls = 0;
  const target: KvTarget = {
    // The 50th call never answers.
    execute: () => new Promise((resolve) => (++calls === 50 ? undefined : clock.at(clock.nowUs() + 100, () => resolve(OUTCOME_OK)))),
  };
  const result = await clock.run(runClosedLoop({ target, source: constantSource(), clock, clients: 2, operationsMax: 100, drainTimeoutMs: 10 }));
  assert.equal(result.stoppedBy, 'operations');
  assert.equal(result.issued, 100);
  assert.equal(result.unfinished, 1);
  assert.equal(result.recording.total.count, 99);
  assert.deepEqual(result.recording.total.errors, { unfinished: 1 });
});

test('an abort stops a closed loop even when the target answers from resolved promises', { timeout: 30_000 }, async () => {
  // Without the periodic yield the clients would spin in microtasks and the timer never fire.
  const target: KvTarget = { execute: () => Promise.resolve(OUTCOME_OK) };
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const result = await runClosedLoop({ target, source: constantSource(), clock: createSystemClock(), clients: 4, durationMs: 20_000, signal: controller.signal });
  assert.equal(result.stoppedBy, 'signal');
  assert.ok(result.recording.total.count > 0);
  assert.equal(result.recording.total.count, result.issued);
  assert.ok(result.elapsedUs < 10_000_000, `took ${result.elapsedUs} µs to stop`);
});

test('a source that throws fails the run after the drain', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  let n = 0;
  const source = { next: () => { if (++n === 5) throw new Error('workload broke'); return { type: 'get' }; } };
  const target: KvTarget = { execute: () => new Promise((resolve) => clock.at(clock.nowUs() + 10, () => resolve(OUTCOME_OK))) };
  await assert.rejects(clock.run(runClosedLoop({ target, source, clock, clients: 2, durationMs: 1000 })), /workload broke/);
  await assert.rejects(runClosedLoop({ target, source, clock, clients: 0, durationMs: 1 }), /clients/);
});

test('one source per client: client i draws only from source i', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  const drawn = [0, 0, 0];
  const sources = drawn.map((_, index) => ({ next: () => (drawn[index]!++, { type: `client-${index}` }) }));
  const target: KvTarget = { execute: () => new Promise((resolve) => clock.at(clock.nowUs() + 100, () => resolve(OUTCOME_OK))) };
  const result = await clock.run(runClosedLoop({ target, source: sources, clock, clients: 3, operationsMax: 300 }));
  assert.deepEqual(drawn, [100, 100, 100]);
  assert.deepEqual(Object.keys(result.recording.byType), ['client-0', 'client-1', 'client-2']);
  await assert.rejects(runClosedLoop({ target, source: sources, clock, clients: 2, durationMs: 1 }), /3 sources for 2 clients/);
});

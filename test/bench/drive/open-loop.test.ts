// The open-loop driver's bookkeeping on the virtual clock: drops past outstandingMax, drain and
// unfinished, warm-up, stop by count and by signal, exceptions, per-type results, arrivals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createArrivalSchedule } from '../../../src/bench/drive/arrivals.js';
import { runOpenLoop } from '../../../src/bench/drive/open-loop.js';
import { OUTCOME_OK, type KvTarget, type OperationOutcome } from '../../../src/bench/drive/target.js';
import { VirtualClock } from '../../../src/bench/drive/virtual-clock.js';
import { createSystemClock } from '../../../src/bench/drive/clock.js';
import { StallingServer, constantSource } from './stalling-server.js';

/** Answers after a fixed virtual delay, or never when the delay is Infinity. */
function delayedTarget(clock: VirtualClock, delayUs: number): KvTarget {
  return {
    execute: () =>
      new Promise<OperationOutcome>((resolve) => {
        if (Number.isFinite(delayUs)) clock.at(clock.nowUs() + delayUs, () => resolve(OUTCOME_OK));
      }),
  };
}

test('beyond outstandingMax an operation is dropped and recorded; what never answers is recorded as unfinished', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  const result = await clock.run(
    runOpenLoop({ target: delayedTarget(clock, Number.POSITIVE_INFINITY), source: constantSource(), clock, ratePerSecond: 1000, durationMs: 100, outstandingMax: 5, drainTimeoutMs: 50 }),
  );
  assert.equal(result.issued, 100);
  assert.equal(result.dropped, 95);
  assert.equal(result.unfinished, 5);
  assert.equal(result.inFlightPeak, 5);
  assert.deepEqual(result.recording.total.errors, { 'dropped-overload': 95, unfinished: 5 });
  assert.equal(result.recording.total.count, 0);
  // The drain waited its 50 ms after the last operation (due at 99 ms), no longer.
  assert.equal(result.elapsedUs, 99_000 + 50_000);
});

test('warm-up: operations due in the first warmupMs run but are not recorded', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  const result = await clock.run(
    runOpenLoop({ target: delayedTarget(clock, 300), source: constantSource(), clock, ratePerSecond: 1000, durationMs: 1000, warmupMs: 200 }),
  );
  assert.equal(result.issued, 1000);
  assert.equal(result.recording.warmupDiscarded, 200);
  assert.equal(result.recording.total.count, 800);
  assert.equal(result.recording.windowUs, 800_000);
  assert.equal(result.recording.total.throughputPerSecond, 1000);
  assert.ok(Math.abs(result.recording.total.latencyUs.p50 - 300) <= 1);
});

test('an operation count stops the run; so does an abort signal, keeping what finished', { timeout: 30_000 }, async () => {
  const counted = new VirtualClock();
  const byCount = await counted.run(runOpenLoop({ target: delayedTarget(counted, 10), source: constantSource(), clock: counted, ratePerSecond: 1000, operationsMax: 250 }));
  assert.equal(byCount.stoppedBy, 'operations');
  assert.equal(byCount.issued, 250);
  assert.equal(byCount.recording.total.count, 250);

  const clock = new VirtualClock();
  const controller = new AbortController();
  clock.at(500_000, () => controller.abort());
  const server = new StallingServer(clock, { serviceUs: 2_000, stallEveryUs: 1e12, stallUs: 0, stallPhaseUs: 1e12 });
  const aborted = await clock.run(
    runOpenLoop({ target: server, source: constantSource(), clock, ratePerSecond: 400, durationMs: 60_000, signal: controller.signal }),
  );
  assert.equal(aborted.stoppedBy, 'signal');
  // Due at 0, 2.5, … 497.5 ms: 200 sent, all finished within the drain.
  assert.equal(aborted.issued, 200);
  assert.equal(aborted.recording.total.count, 200);
  assert.equal(aborted.unfinished, 0);
  assert.equal(aborted.recording.windowUs, 500_000);
});

test('a target that throws or rejects is recorded as an exception, and the first one is kept', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  let calls = 0;
  const target: KvTarget = {
    execute() {
      calls++;
      if (calls % 10 === 0) throw new Error('boom');
      if (calls % 10 === 5) return Promise.reject(new TypeError('bad'));
      if (calls % 10 === 7) return Promise.resolve({ ok: false, error: 'unavailable' });
      return Promise.resolve(OUTCOME_OK);
    },
  };
  const result = await clock.run(runOpenLoop({ target, source: constantSource(), clock, ratePerSecond: 1000, durationMs: 100 }));
  assert.deepEqual(result.recording.total.errors, { exception: 20, unavailable: 10 });
  assert.equal(result.recording.total.count, 70);
  assert.equal(result.firstException, 'TypeError: bad');
});

test('per-type results: the source decides the type', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  let i = 0;
  const source = { next: () => ({ type: i++ % 4 === 0 ? 'put' : 'get' }) };
  const result = await clock.run(runOpenLoop({ target: delayedTarget(clock, 100), source, clock, ratePerSecond: 1000, durationMs: 1000 }));
  assert.equal(result.recording.byType['put']!.count, 250);
  assert.equal(result.recording.byType['get']!.count, 750);
});

test('Poisson arrivals: the seed fixes the schedule, the mean gap is 1 / rate, gaps vary like an exponential', () => {
  const gaps = (seed: number): number[] => {
    const schedule = createArrivalSchedule({ ratePerSecond: 1000, process: 'poisson', startUs: 0, seed });
    const result: number[] = [];
    let previous = 0;
    for (let i = 0; i < 20_000; i++) {
      result.push(schedule.nextUs - previous);
      previous = schedule.nextUs;
      schedule.advance();
    }
    return result;
  };
  const first = gaps(5);
  assert.deepEqual(first, gaps(5));
  assert.notDeepEqual(first.slice(0, 10), gaps(6).slice(0, 10));
  const mean = first.reduce((sum, gap) => sum + gap, 0) / first.length;
  const variance = first.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / first.length;
  // Mean 1000 µs ± 3 standard errors (1000 / √20000 ≈ 7 µs); an exponential's σ equals its mean.
  assert.ok(Math.abs(mean - 1000) < 25, `mean gap ${mean}`);
  assert.ok(Math.abs(Math.sqrt(variance) / mean - 1) < 0.05, `coefficient of variation ${Math.sqrt(variance) / mean}`);
  const uniform = createArrivalSchedule({ ratePerSecond: 3, process: 'uniform', startUs: 10, seed: 1 });
  uniform.advance();
  uniform.advance();
  assert.equal(uniform.nextUs, 10 + 2 * (1e6 / 3));
});

test('the same seed replays the same open-loop run exactly', { timeout: 30_000 }, async () => {
  const once = async () => {
    const clock = new VirtualClock();
    const server = new StallingServer(clock, { serviceUs: 700, stallEveryUs: 300_000, stallUs: 20_000, stallPhaseUs: 50_000 });
    return clock.run(runOpenLoop({ target: server, source: constantSource(), clock, ratePerSecond: 1000, arrivals: 'poisson', seed: 9, durationMs: 2000 }));
  };
  assert.deepEqual(await once(), await once());
});

for (const wake of ['precise', 'frugal'] as const) {
  test(`on the system clock (${wake}) every operation due in the run is sent, however the machine is loaded`, { timeout: 30_000 }, async () => {
    let executed = 0;
    const target: KvTarget = { execute: () => (executed++, Promise.resolve(OUTCOME_OK)) };
    const result = await runOpenLoop({ target, source: constantSource(), clock: createSystemClock({ wake }), ratePerSecond: 2000, durationMs: 300 });
    assert.equal(result.issued, 600);
    assert.equal(executed, 600);
    assert.equal(result.recording.total.count, 600);
    assert.equal(result.stoppedBy, 'duration');
    // Sent no earlier than due: the lag is never negative, and latency from the due time covers it.
    assert.ok(result.schedulerLagUs!.min >= 0);
    assert.ok(result.recording.total.latencyUs.p50 >= result.schedulerLagUs!.p50 - 1);
  });
}

test('bad options are rejected naming the field', async () => {
  const clock = new VirtualClock();
  const base = { target: delayedTarget(clock, 1), source: constantSource(), clock };
  await assert.rejects(runOpenLoop({ ...base, ratePerSecond: 0, durationMs: 1 }), /ratePerSecond/);
  await assert.rejects(runOpenLoop({ ...base, ratePerSecond: 1 }), /durationMs or operationsMax/);
  await assert.rejects(runOpenLoop({ ...base, ratePerSecond: 1, durationMs: -1 }), /durationMs/);
  await assert.rejects(runOpenLoop({ ...base, ratePerSecond: 1, durationMs: 1, outstandingMax: 0 }), /outstandingMax/);
});

// The reader pool's API: answers equal the writer's own reads, readers really wait for the lock,
// queues are bounded, close is graceful, bad arguments are named — and a reader worker that dies
// holding the read lock (process.exit, terminate) is released by the reaper, its unanswered
// requests fail with a retryable error, the writer goes on and a replacement serves reads.
//
// Bounded throughout: every test has a timeout, every pool round trip has a deadline (within),
// pools are closed with closeWithin (terminating them past the deadline), the main thread writes
// after readers only once the lock is idle, and a watchdog kills the process with the lock's
// state if the main thread (the writer) is ever stuck inside the lock.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createPrng } from '../../../src/random/prng.js';
import { SharedSkipList } from '../../../src/kv/shared/shared-skip-list.js';
import { ReaderPool, ReaderPoolClosedError, ReaderPoolOverloadedError, ReaderWorkerDiedError } from '../../../src/kv/shared/reader-pool.js';
import { LOCK_KINDS, inspectLock } from '../../../src/kv/shared/lock.js';
import { describeLock, until, untilLockIdle, watchMainThread, within } from './bounded.js';

const TEST_TIMEOUT_MS = 30_000;
/** One pool round trip (a get, a scan, a batch of them) on a loaded 2-core machine. */
const ROUND_TRIP_MS = 10_000;

const watchdog = watchMainThread();
after(() => watchdog.stop());

function key(i: number): Uint8Array {
  return new Uint8Array(Buffer.from(`key-${String(i).padStart(6, '0')}`));
}

function filledMap(lock: 'mutex' | 'rwlock', count: number): SharedSkipList {
  const map = SharedSkipList.create({ lock, prng: createPrng(17), segmentSizeBytes: 1 << 16, segmentsMax: 256 });
  watchdog.watch(map.lock.descriptor());
  for (let i = 0; i < count; i++) map.put(key(i), new Uint8Array(Buffer.from(`value-${i}-`.repeat((i % 5) + 1))), i + 1);
  return map;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** `promise` within a round trip's deadline, the message naming `what` and the lock's state. */
function answered<T>(promise: Promise<T>, what: string, map: SharedSkipList): Promise<T> {
  return within(promise, ROUND_TRIP_MS, `${what} was not answered`, () => describeLock(map.lock.descriptor()));
}

/** Closes gracefully within `timeoutMs`; past it, terminates the pool and fails. */
async function closeWithin(pool: ReaderPool, map: SharedSkipList, timeoutMs = ROUND_TRIP_MS): Promise<void> {
  try {
    await within(pool.close(), timeoutMs, 'the reader pool did not close', () => describeLock(map.lock.descriptor()));
  } catch (error) {
    await pool.terminate();
    throw error;
  }
}

for (const lock of LOCK_KINDS) {
  describe(`ReaderPool (${lock})`, () => {
    test('gets and scans from worker threads equal the writer’s own reads', { timeout: TEST_TIMEOUT_MS }, async () => {
      const map = filledMap(lock, 2000);
      const pool = await within(ReaderPool.create({ map, threads: 2 }), ROUND_TRIP_MS, 'the pool did not start');
      try {
        assert.equal(pool.lockKind, lock);
        const prng = createPrng(5);
        const probes = Array.from({ length: 400 }, () => prng.nextInt(0, 2200));
        const answers = await answered(Promise.all(probes.map((i) => pool.get(key(i)))), '400 gets', map);
        answers.forEach((answer, n) => {
          const expected = map.get(key(probes[n]!));
          assert.equal(answer?.version, expected?.version);
          assert.equal(answer === undefined ? undefined : hex(answer.value), expected === undefined ? undefined : hex(expected.value));
        });
        const scans = await answered(Promise.all([pool.scan(key(100), key(120), 50), pool.scan(key(1990), null, 50), pool.scan(key(5), key(5), 10), pool.scan(key(0), null, 0)]), '4 scans', map);
        assert.deepEqual(scans.map((s) => s.map((e) => [hex(e.key), hex(e.value), e.version])), [
          map.scan(key(100), key(120), 50).map((e) => [hex(e.key), hex(e.value), e.version]),
          map.scan(key(1990), null, 50).map((e) => [hex(e.key), hex(e.value), e.version]),
          [],
          [],
        ]);
        assert.equal(scans[0]!.length, 20);
      } finally {
        await closeWithin(pool, map);
      }
    });

    test('a reader waits while the writer holds the lock, and answers once it is released', { timeout: TEST_TIMEOUT_MS }, async () => {
      const map = filledMap(lock, 10);
      const pool = await within(ReaderPool.create({ map, threads: 1 }), ROUND_TRIP_MS, 'the pool did not start');
      try {
        await untilLockIdle(map.lock.descriptor(), 'before the writer takes the lock');
        map.lock.writeLock();
        let answered_ = false;
        const pending = pool.get(key(3)).then((answer) => {
          answered_ = true;
          return answer;
        });
        // Long enough for the batch to reach the worker and block on the lock.
        await delay(100);
        assert.equal(answered_, false, 'the reader answered while the writer held the lock');
        map.lock.writeUnlock();
        assert.equal((await answered(pending, 'the get after the writer released', map))?.version, 4);
      } finally {
        await closeWithin(pool, map);
      }
    });

    test('the request queue is bounded: past queuedRequestsMax, requests are refused at once', { timeout: TEST_TIMEOUT_MS }, async () => {
      const map = filledMap(lock, 10);
      const pool = await within(ReaderPool.create({ map, threads: 1, queuedRequestsMax: 8 }), ROUND_TRIP_MS, 'the pool did not start');
      try {
        const accepted = Array.from({ length: 8 }, (_, i) => pool.get(key(i)));
        await assert.rejects(pool.get(key(9)), ReaderPoolOverloadedError);
        await assert.rejects(pool.scan(key(0), null, 1), /8 requests already queued/);
        assert.deepEqual((await answered(Promise.all(accepted), '8 accepted gets', map)).map((a) => a?.version), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.equal(pool.queuedRequestCount, 0);
        assert.equal((await answered(pool.get(key(9)), 'a get after the queue drained', map))?.version, 10, 'space frees up as answers return');
      } finally {
        await closeWithin(pool, map);
      }
    });
  });

  describe(`ReaderPool (${lock}): a reader worker that dies holding the read lock`, () => {
    // The dying worker's read hold must be released (by the reaper thread: the main thread may
    // be asleep in writeLock), requests it had been sent fail with a retryable error, the writer
    // goes on, and a replacement serves reads.
    test('process.exit inside the lock: its requests fail as retryable, the writer goes on, a replacement answers the retries', { timeout: TEST_TIMEOUT_MS }, async () => {
      const map = filledMap(lock, 100);
      const pool = await within(ReaderPool.create({ map, threads: 1 }), ROUND_TRIP_MS, 'the pool did not start');
      try {
        const death = pool.injectReaderDeath(0, 'exit');
        // Queued behind the fault in the worker's port: sent to the worker, never answered.
        const doomed = Promise.allSettled(Array.from({ length: 5 }, (_, i) => pool.get(key(i))));
        const released = await within(death.released, ROUND_TRIP_MS, 'the dead reader was not released', () => describeLock(map.lock.descriptor()));
        assert.deepEqual(released, lock === 'rwlock' ? { readHolds: 1, mutexHeld: false } : { readHolds: 0, mutexHeld: true }, 'the worker did not die holding the lock');
        const outcomes = await answered(doomed, 'the requests sent to the dead worker', map);
        for (const outcome of outcomes) {
          assert.equal(outcome.status, 'rejected');
          const reason = (outcome as PromiseRejectedResult).reason as ReaderWorkerDiedError;
          assert.ok(reason instanceof ReaderWorkerDiedError && reason.retryable, String(reason));
          assert.match(reason.message, /reader worker 0 exited \(code 70\) with 5 request\(s\) in flight; they were not answered and may be retried/);
        }
        // The writer goes on: the lock is free again, and a write completes.
        await untilLockIdle(map.lock.descriptor(), 'after the dead reader was released');
        map.put(key(1), new Uint8Array([7]), 1000);
        // The retries are served by the replacement.
        const retried = await answered(Promise.all(Array.from({ length: 5 }, (_, i) => pool.get(key(i)))), 'the retried gets', map);
        assert.deepEqual(retried.map((answer) => answer?.version), [1, 1000, 3, 4, 5]);
        assert.deepEqual(pool.stats, lock === 'rwlock' ? { workerRestarts: 1, readHoldsReleased: 1, mutexHoldsReleased: 0 } : { workerRestarts: 1, readHoldsReleased: 0, mutexHoldsReleased: 1 });
      } finally {
        await closeWithin(pool, map);
      }
    });

    for (const how of ['terminate', 'exit'] as const) {
      const title =
        how === 'exit'
          ? 'exits holding the lock while the writer is asleep in writeLock: the write completes once the reaper releases it'
          : 'is terminated holding the lock just as the writer asks for it: the write completes once the reaper releases it';
      test(title, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const map = filledMap(lock, 100);
        const pool = await within(ReaderPool.create({ map, threads: 2 }), ROUND_TRIP_MS, 'the pool did not start');
        try {
          // 'exit' holds the lock 200 ms before exiting, so the main thread is surely asleep in
          // writeLock by then; 'terminate' is called just before the main thread blocks.
          const death = pool.injectReaderDeath(1, how, 200);
          await within(death.holding, ROUND_TRIP_MS, 'the worker did not take the read lock', () => describeLock(map.lock.descriptor()));
          const startedMs = performance.now();
          // Blocks this thread until the reaper releases the dead worker (the watchdog turns a
          // hang here into a failure with the lock's state).
          map.put(key(2), new Uint8Array([9]), 2000);
          const blockedMs = performance.now() - startedMs;
          t.diagnostic(`the write waited ${blockedMs.toFixed(0)} ms for the dead reader to be released`);
          assert.equal(map.get(key(2))?.version, 2000);
          await within(death.released, ROUND_TRIP_MS, 'the reaper did not report the release');
          await until('the replacement worker', () => pool.stats.workerRestarts === 1, ROUND_TRIP_MS, () => JSON.stringify(pool.stats));
          // Both positions serve reads again, and see the write.
          const answers = await answered(Promise.all(Array.from({ length: 50 }, () => pool.get(key(2)))), '50 gets after the death', map);
          assert.ok(answers.every((answer) => answer?.version === 2000));
        } finally {
          await closeWithin(pool, map);
        }
      });
    }

    test('past restartsMax the pool stops replacing workers and refuses requests, naming the limit', { timeout: TEST_TIMEOUT_MS }, async () => {
      const map = filledMap(lock, 10);
      const pool = await within(ReaderPool.create({ map, threads: 1, restartsMax: 1 }), ROUND_TRIP_MS, 'the pool did not start');
      try {
        await within(pool.injectReaderDeath(0, 'terminate').released, ROUND_TRIP_MS, 'the first death was not released');
        await until('the replacement ready', () => pool.stats.workerRestarts === 1, ROUND_TRIP_MS);
        assert.equal((await answered(pool.get(key(3)), 'a get from the replacement', map))?.version, 4);
        await within(pool.injectReaderDeath(0, 'exit').released, ROUND_TRIP_MS, 'the second death was not released');
        // The pool learns of the death from the worker's 'exit' event, which may come a little
        // after the reaper's report: poll (bounded) until it refuses.
        const deadline = Date.now() + ROUND_TRIP_MS;
        let refusal: Error | null = null;
        while (refusal === null && Date.now() < deadline) {
          refusal = await answered(pool.get(key(3)), 'a get after the second death', map).then(
            () => null,
            (error: unknown) => (error instanceof ReaderPoolClosedError ? error : null),
          );
          if (refusal === null) await delay(5);
        }
        assert.match(String(refusal), /1 workers were already replaced \(restartsMax\); refusing requests/);
        await untilLockIdle(map.lock.descriptor(), 'after the second death');
        map.put(key(3), new Uint8Array([1]), 99);
      } finally {
        await closeWithin(pool, map);
      }
    });
  });
}

describe('SharedSkipList.writeBatch seen from reader threads', () => {
  test('readers see a batch whole: two keys written in one batch always carry the same version', { timeout: TEST_TIMEOUT_MS }, async () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(23), segmentSizeBytes: 1 << 16, segmentsMax: 64 });
    watchdog.watch(map.lock.descriptor());
    const left = key(1);
    const right = key(2);
    let version = 1;
    map.writeBatch(() => {
      map.put(left, new Uint8Array([1]), version);
      map.put(right, new Uint8Array([1]), version);
    });
    const pool = await within(ReaderPool.create({ map, threads: 2 }), ROUND_TRIP_MS, 'the pool did not start');
    try {
      const scans: Promise<void>[] = [];
      // Bounded: 300 batches, each followed by a few scans that may land between later batches.
      for (let round = 0; round < 300; round++) {
        version++;
        map.writeBatch(() => {
          map.put(left, new Uint8Array(version % 200), version);
          map.delete(key(3));
          map.put(right, new Uint8Array(version % 200), version);
        });
        for (let s = 0; s < 3; s++) {
          scans.push(
            pool.scan(left, key(3), 10).then((pair) => {
              assert.equal(pair.length, 2);
              assert.equal(pair[0]!.version, pair[1]!.version, `a reader saw half a batch: ${pair[0]!.version} vs ${pair[1]!.version}`);
            }),
          );
        }
        if (round % 10 === 0) await delay(1);
      }
      await answered(Promise.all(scans), '900 scans', map);
    } finally {
      await closeWithin(pool, map);
    }
  });

  test('a batch that throws still releases the lock, and its earlier writes stay applied', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = filledMap('mutex', 3);
    assert.throws(
      () =>
        map.writeBatch(() => {
          map.put(key(0), new Uint8Array([9]), 100);
          throw new Error('apply failed');
        }),
      /apply failed/,
    );
    assert.equal(map.get(key(0))?.version, 100);
    const state = inspectLock(map.lock.descriptor());
    assert.ok(state.kind === 'mutex' && !state.held, `the lock is still held: ${JSON.stringify(state)}`);
    map.put(key(1), new Uint8Array([9]), 101);
    assert.equal(map.get(key(1))?.version, 101);
  });
});

describe('ReaderPool lifecycle and arguments', () => {
  test('close answers what was accepted, then refuses; closing twice is fine', { timeout: TEST_TIMEOUT_MS }, async () => {
    const map = filledMap('rwlock', 100);
    const pool = await within(ReaderPool.create({ map, threads: 2 }), ROUND_TRIP_MS, 'the pool did not start');
    const accepted = Array.from({ length: 50 }, (_, i) => pool.get(key(i)));
    const closed = closeWithin(pool, map);
    await assert.rejects(pool.get(key(1)), ReaderPoolClosedError);
    await closed;
    assert.deepEqual((await answered(Promise.all(accepted), '50 gets accepted before close', map)).map((a) => a?.version), Array.from({ length: 50 }, (_, i) => i + 1));
    await closeWithin(pool, map);
    // The workers' lock slots were released, and the writer is not left blocked.
    const state = inspectLock(map.lock.descriptor());
    assert.ok(state.kind === 'rwlock' && state.participants === 1 && state.readersInsideOrWaiting === 0, describeLock(map.lock.descriptor()));
    map.put(key(1), new Uint8Array([1]), 500);
    assert.equal(map.get(key(1))?.version, 500);
  });

  test('terminate fails what was not answered and leaves the lock free', { timeout: TEST_TIMEOUT_MS }, async () => {
    const map = filledMap('mutex', 100);
    const pool = await within(ReaderPool.create({ map, threads: 2 }), ROUND_TRIP_MS, 'the pool did not start');
    const death = pool.injectReaderDeath(0, 'exit', 60_000); // holds the lock until terminated
    await within(death.holding, ROUND_TRIP_MS, 'the worker did not take the lock');
    const stuck = pool.get(key(1)).then(
      () => null,
      (error: unknown) => error,
    );
    await within(pool.terminate(), ROUND_TRIP_MS, 'terminate did not finish');
    assert.match(String(await stuck), /reader pool: terminated/);
    await assert.rejects(pool.get(key(1)), ReaderPoolClosedError);
    await untilLockIdle(map.lock.descriptor(), 'after terminate');
    const state = inspectLock(map.lock.descriptor());
    assert.ok(state.kind === 'mutex' && state.participants === 1, describeLock(map.lock.descriptor()));
    map.put(key(1), new Uint8Array([1]), 500);
  });

  test('bad arguments are rejected with the field named', { timeout: TEST_TIMEOUT_MS }, async () => {
    const map = filledMap('mutex', 10);
    await assert.rejects(ReaderPool.create({ map, threads: 0 }), /threads must be an integer in \[1, 64\], got 0/);
    await assert.rejects(ReaderPool.create({ map, threads: 1, batchRequestsMax: 0 }), /batchRequestsMax must be an integer/);
    await assert.rejects(ReaderPool.create({ map, threads: 1, restartsMax: -1 }), /restartsMax must be an integer in \[0, 1000\], got -1/);
    await assert.rejects(ReaderPool.create({ map, threads: 1, lock: 'rwlock' }), /lock is 'rwlock' but the map was created with 'mutex'/);
    const pool = await within(ReaderPool.create({ map, threads: 1, scanLimitMax: 100 }), ROUND_TRIP_MS, 'the pool did not start');
    try {
      await assert.rejects(pool.scan(key(0), null, 101), /scan: limit must be an integer in \[0, 100\], got 101/);
      await assert.rejects(pool.get(new Uint8Array(70000)), /get key is 70000 bytes, the limit is 65535/);
      await assert.rejects(pool.runReadLoop({ keys: [], durationMs: 10, seed: 1 }), /keys must not be empty/);
      assert.throws(() => pool.injectReaderDeath(1, 'exit'), /worker 1 is not a ready worker of this pool \(threads 1\)/);
    } finally {
      await closeWithin(pool, map);
    }
  });

  test('runReadLoop: every worker reads existing keys straight from shared memory', { timeout: TEST_TIMEOUT_MS }, async () => {
    const map = filledMap('rwlock', 500);
    const pool = await within(ReaderPool.create({ map, threads: 2 }), ROUND_TRIP_MS, 'the pool did not start');
    try {
      const keys = Array.from({ length: 500 }, (_, i) => key(i));
      const summary = await answered(pool.runReadLoop({ keys, durationMs: 50, seed: 3, getsPerWorkerMax: 20000 }), 'a 50 ms read loop', map);
      assert.equal(summary.perWorker.length, 2);
      assert.ok(summary.totalGets > 0);
      assert.equal(summary.totalFound, summary.totalGets, 'every key exists, so every get must find it');
      for (const worker of summary.perWorker) assert.ok(worker.gets <= 20000);
    } finally {
      await closeWithin(pool, map);
    }
  });
});

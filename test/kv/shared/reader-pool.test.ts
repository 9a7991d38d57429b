// The reader pool's API: answers equal the writer's own reads, readers really wait for the lock,
// queues are bounded, close is graceful, and bad arguments are named.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createPrng } from '../../../src/random/prng.js';
import { SharedSkipList } from '../../../src/kv/shared/shared-skip-list.js';
import { ReaderPool, ReaderPoolClosedError, ReaderPoolOverloadedError } from '../../../src/kv/shared/reader-pool.js';
import { LOCK_KINDS } from '../../../src/kv/shared/lock.js';

function key(i: number): Uint8Array {
  return new Uint8Array(Buffer.from(`key-${String(i).padStart(6, '0')}`));
}

function filledMap(lock: 'mutex' | 'rwlock', count: number): SharedSkipList {
  const map = SharedSkipList.create({ lock, prng: createPrng(17), segmentSizeBytes: 1 << 16, segmentsMax: 256 });
  for (let i = 0; i < count; i++) map.put(key(i), new Uint8Array(Buffer.from(`value-${i}-`.repeat((i % 5) + 1))), i + 1);
  return map;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

for (const lock of LOCK_KINDS) {
  describe(`ReaderPool (${lock})`, () => {
    test('gets and scans from worker threads equal the writer’s own reads', async () => {
      const map = filledMap(lock, 2000);
      const pool = await ReaderPool.create({ map, threads: 2 });
      try {
        assert.equal(pool.lockKind, lock);
        const prng = createPrng(5);
        const probes = Array.from({ length: 400 }, () => prng.nextInt(0, 2200));
        const answers = await Promise.all(probes.map((i) => pool.get(key(i))));
        answers.forEach((answer, n) => {
          const expected = map.get(key(probes[n]!));
          assert.equal(answer?.version, expected?.version);
          assert.equal(answer === undefined ? undefined : hex(answer.value), expected === undefined ? undefined : hex(expected.value));
        });
        const scans = await Promise.all([pool.scan(key(100), key(120), 50), pool.scan(key(1990), null, 50), pool.scan(key(5), key(5), 10), pool.scan(key(0), null, 0)]);
        assert.deepEqual(scans.map((s) => s.map((e) => [hex(e.key), hex(e.value), e.version])), [
          map.scan(key(100), key(120), 50).map((e) => [hex(e.key), hex(e.value), e.version]),
          map.scan(key(1990), null, 50).map((e) => [hex(e.key), hex(e.value), e.version]),
          [],
          [],
        ]);
        assert.equal(scans[0]!.length, 20);
      } finally {
        await pool.close();
      }
    });

    test('a reader waits while the writer holds the lock, and answers once it is released', async () => {
      const map = filledMap(lock, 10);
      const pool = await ReaderPool.create({ map, threads: 1 });
      try {
        map.lock.writeLock();
        let answered = false;
        const pending = pool.get(key(3)).then((answer) => {
          answered = true;
          return answer;
        });
        // Long enough for the batch to reach the worker and block on the lock.
        await delay(100);
        assert.equal(answered, false, 'the reader answered while the writer held the lock');
        map.lock.writeUnlock();
        assert.equal((await pending)?.version, 4);
      } finally {
        await pool.close();
      }
    });

    test('the request queue is bounded: past queuedRequestsMax, requests are refused at once', async () => {
      const map = filledMap(lock, 10);
      const pool = await ReaderPool.create({ map, threads: 1, queuedRequestsMax: 8 });
      try {
        const accepted = Array.from({ length: 8 }, (_, i) => pool.get(key(i)));
        await assert.rejects(pool.get(key(9)), ReaderPoolOverloadedError);
        await assert.rejects(pool.scan(key(0), null, 1), /8 requests already queued/);
        assert.deepEqual((await Promise.all(accepted)).map((a) => a?.version), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.equal(pool.queuedRequestCount, 0);
        assert.equal((await pool.get(key(9)))?.version, 10, 'space frees up as answers return');
      } finally {
        await pool.close();
      }
    });
  });
}

describe('SharedSkipList.writeBatch seen from reader threads', () => {
  test('readers see a batch whole: two keys written in one batch always carry the same version', async () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(23), segmentSizeBytes: 1 << 16, segmentsMax: 64 });
    const left = key(1);
    const right = key(2);
    let version = 1;
    map.writeBatch(() => {
      map.put(left, new Uint8Array([1]), version);
      map.put(right, new Uint8Array([1]), version);
    });
    const pool = await ReaderPool.create({ map, threads: 2 });
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
      await Promise.all(scans);
    } finally {
      await pool.close();
    }
  });

  test('a batch that throws still releases the lock, and its earlier writes stay applied', () => {
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
    map.put(key(1), new Uint8Array([9]), 101); // would deadlock if the lock were still held
    assert.equal(map.get(key(1))?.version, 101);
  });
});

describe('ReaderPool lifecycle and arguments', () => {
  test('close answers what was accepted, then refuses; closing twice is fine', async () => {
    const map = filledMap('rwlock', 100);
    const pool = await ReaderPool.create({ map, threads: 2 });
    const accepted = Array.from({ length: 50 }, (_, i) => pool.get(key(i)));
    const closed = pool.close();
    await assert.rejects(pool.get(key(1)), ReaderPoolClosedError);
    await closed;
    assert.deepEqual((await Promise.all(accepted)).map((a) => a?.version), Array.from({ length: 50 }, (_, i) => i + 1));
    await pool.close();
    // The writer is not left blocked by a worker that exited holding the lock.
    map.put(key(1), new Uint8Array([1]), 500);
    assert.equal(map.get(key(1))?.version, 500);
  });

  test('bad arguments are rejected with the field named', async () => {
    const map = filledMap('mutex', 10);
    await assert.rejects(ReaderPool.create({ map, threads: 0 }), /threads must be an integer in \[1, 64\], got 0/);
    await assert.rejects(ReaderPool.create({ map, threads: 1, batchRequestsMax: 0 }), /batchRequestsMax must be an integer/);
    await assert.rejects(ReaderPool.create({ map, threads: 1, lock: 'rwlock' }), /lock is 'rwlock' but the map was created with 'mutex'/);
    const pool = await ReaderPool.create({ map, threads: 1, scanLimitMax: 100 });
    try {
      await assert.rejects(pool.scan(key(0), null, 101), /scan: limit must be an integer in \[0, 100\], got 101/);
      await assert.rejects(pool.get(new Uint8Array(70000)), /get key is 70000 bytes, the limit is 65535/);
      await assert.rejects(pool.runReadLoop({ keys: [], durationMs: 10, seed: 1 }), /keys must not be empty/);
    } finally {
      await pool.close();
    }
  });

  test('runReadLoop: every worker reads existing keys straight from shared memory', async () => {
    const map = filledMap('rwlock', 500);
    const pool = await ReaderPool.create({ map, threads: 2 });
    try {
      const keys = Array.from({ length: 500 }, (_, i) => key(i));
      const summary = await pool.runReadLoop({ keys, durationMs: 50, seed: 3, getsPerWorkerMax: 20000 });
      assert.equal(summary.perWorker.length, 2);
      assert.ok(summary.totalGets > 0);
      assert.equal(summary.totalFound, summary.totalGets, 'every key exists, so every get must find it');
      for (const worker of summary.perWorker) assert.ok(worker.gets <= 20000);
    } finally {
      await pool.close();
    }
  });
});

// The shared-memory skip list as an OrderedMap (the same contract suite as the heap skip list),
// plus what only it has: the arena (growth by segments, a clean error when full, reuse of freed
// blocks), determinism from the seeded Prng, and a reader view attached through a descriptor.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { orderedMapContract } from '../ordered-map-contract.js';
import { ABSENT } from '../../../src/kv/ordered-map.js';
import { createPrng } from '../../../src/random/prng.js';
import { ArenaFullError } from '../../../src/kv/shared/arena.js';
import { SharedSkipList, SharedSkipListReader } from '../../../src/kv/shared/shared-skip-list.js';
import { LOCK_KINDS } from '../../../src/kv/shared/lock.js';
import { SizeClasses } from '../../../src/kv/shared/size-classes.js';

const SMALL_SEGMENT_BYTES = 64 * 1024;
/** Per test (and per contract suite): single-threaded work, bounded so that a regression fails. */
const TEST_TIMEOUT_MS = 30_000;

for (const lock of LOCK_KINDS) {
  let seed = 1;
  describe(`contract (${lock})`, { timeout: TEST_TIMEOUT_MS }, () => {
    orderedMapContract(`SharedSkipList (${lock})`, () => SharedSkipList.create({ lock, prng: createPrng(seed++), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 256 }), {
      numRuns: 60,
    });
  });
}

function key(i: number): Uint8Array {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(12, i);
  bytes.fill(0x6b, 0, 4);
  return bytes;
}

function value(i: number, length: number): Uint8Array {
  return new Uint8Array(length).fill(i & 0xff);
}

describe('SharedSkipList arena', () => {
  test('grows by segments and keeps every key readable across them', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(7), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 64 });
    const count = 5000;
    for (let i = 0; i < count; i++) map.put(key(i), value(i, 100), i + 1);
    const stats = map.arenaStats();
    assert.ok(stats.segmentCount > 5, `expected several segments, got ${stats.segmentCount}`);
    assert.equal(map.size, count);
    for (let i = 0; i < count; i += 97) {
      const got = map.get(key(i));
      assert.equal(got?.version, i + 1);
      assert.deepEqual(got?.value, value(i, 100));
    }
    let expected = 0;
    for (const entry of map.entries()) {
      assert.deepEqual(entry.key, key(expected));
      expected++;
    }
    assert.equal(expected, count);
  });

  test('a full arena throws ArenaFullError and leaves the map exactly as it was', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'mutex', prng: createPrng(3), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 2 });
    let inserted = 0;
    let failure: unknown = null;
    // Bounded: two 64 KiB segments hold well under 2000 entries of this size.
    for (let i = 0; i < 2000 && failure === null; i++) {
      try {
        map.put(key(i), value(i, 200), i + 1);
        inserted++;
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure instanceof ArenaFullError, `expected ArenaFullError, got ${String(failure)}`);
    assert.match((failure as Error).message, /shared arena full: cannot allocate \d+ bytes; all 2 segments of 65536 bytes/);
    assert.equal(map.size, inserted);
    assert.equal(map.get(key(inserted)), undefined);
    // A replace that cannot allocate its new value also changes nothing.
    assert.throws(() => map.put(key(0), value(9, 60000), 999), ArenaFullError);
    assert.equal(map.get(key(0))?.version, 1);
    assert.deepEqual(map.get(key(0))?.value, value(0, 200));
    // Deleting frees blocks that the same sizes then reuse.
    for (let i = 0; i < 10; i++) assert.notEqual(map.delete(key(i)), ABSENT);
    for (let i = 0; i < 10; i++) map.put(key(10000 + i), value(i, 200), 5000 + i);
    assert.equal(map.size, inserted);
  });

  test('churn of puts, replaces and deletes reuses freed blocks: the fragmentation bound holds', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(11), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 64 });
    const prng = createPrng(12);
    const keys = 400;
    let version = 1;
    for (let round = 0; round < 25000; round++) {
      const i = prng.nextInt(0, keys);
      if (prng.chance(0.3)) map.delete(key(i));
      else map.put(key(i), value(i, prng.nextInt(50, 300)), version++);
      if (round % 1000 === 999) {
        const stats = map.arenaStats();
        // Freed blocks are reused before new space is carved, so carving never outruns the
        // per-class peaks (plus segment tails handed to the free lists).
        assert.ok(
          stats.carvedBytes <= stats.peakLiveBytesSumOverClasses + stats.tailCarvedBytes,
          `round ${round}: carved ${stats.carvedBytes} > peaks ${stats.peakLiveBytesSumOverClasses} + tails ${stats.tailCarvedBytes}`,
        );
        assert.equal(stats.carvedBytes, stats.liveBytes + stats.freeListBytes);
      }
    }
    // 400 keys of ≤ 300 B values need well under 1 MiB live; churn of 25 000 writes stays near it.
    assert.ok(map.arenaStats().carvedBytes < 2 * 400 * (300 + 120), `carved ${map.arenaStats().carvedBytes}`);
  });

  test('clear returns all space: the same contents fit again without growing', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'mutex', prng: createPrng(5), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 8 });
    const fill = (): void => {
      for (let i = 0; i < 1500; i++) map.put(key(i), value(i, 100), i + 1);
    };
    fill();
    const segmentsAfterFirst = map.arenaStats().segmentCount;
    map.clear();
    assert.equal(map.size, 0);
    assert.equal(map.arenaStats().liveBytes, map.arenaStats().carvedBytes - map.arenaStats().freeListBytes);
    fill();
    fill();
    assert.equal(map.arenaStats().segmentCount, segmentsAfterFirst);
    assert.equal(map.size, 1500);
  });

  test('the same seed and operations build byte-identical arenas (levels come from the Prng)', { timeout: TEST_TIMEOUT_MS }, () => {
    const build = (seed: number): Uint8Array[] => {
      const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(seed), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 8 });
      for (let i = 0; i < 800; i++) map.put(key((i * 7919) % 1000), value(i, 40), i + 1);
      for (let i = 0; i < 200; i++) map.delete(key(i * 3));
      return map.descriptor().arena.segments.map((s) => new Uint8Array(s));
    };
    const first = build(42);
    assert.deepEqual(build(42), first);
    assert.notDeepEqual(build(43), first);
  });

  test('bad input is rejected with the field named', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(1), segmentSizeBytes: SMALL_SEGMENT_BYTES });
    assert.throws(() => map.put(new Uint8Array(70000), value(1, 1), 1), /put: key is 70000 bytes, the limit is 65535/);
    assert.throws(() => map.put(key(1), value(1, 1), 0), /version must be a positive safe integer, got 0/);
    assert.throws(() => map.put(key(1), value(1, 1), 2 ** 53), /version must be a positive safe integer/);
    assert.throws(() => map.scan(key(1), null, -1), /limit must be a non-negative integer/);
    assert.throws(() => SharedSkipList.create({ lock: 'rwlock', prng: createPrng(1), segmentSizeBytes: 1000 }), /segmentSizeBytes must be a power of two/);
    assert.throws(() => SharedSkipList.create({ lock: 'rwlock', prng: createPrng(1), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 0 }), /segmentsMax must be an integer/);
  });

  test('entries() refuses to continue after the map changed under it', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'mutex', prng: createPrng(1), segmentSizeBytes: SMALL_SEGMENT_BYTES });
    for (let i = 0; i < 5; i++) map.put(key(i), value(i, 3), i + 1);
    const iterator = map.entries();
    iterator.next();
    map.put(key(9), value(9, 3), 10);
    assert.throws(() => iterator.next(), /modified while iterating/);
  });

  test('size classes bound the padding: < 8 bytes up to 64 B, < 20 % above', { timeout: TEST_TIMEOUT_MS }, () => {
    const classes = new SizeClasses(1 << 20);
    for (let size = 1; size <= 1 << 20; size = size < 4096 ? size + 1 : size + 997) {
      const block = classes.blockBytes[classes.classFor(size)]!;
      assert.ok(block >= size, `class for ${size} too small: ${block}`);
      assert.equal(block % 8, 0);
      if (size > 64) assert.ok((block - size) / block < 0.2, `size ${size} wastes ${block - size} of ${block}`);
      else assert.ok(block - Math.max(size, 16) < 8);
    }
  });
});

describe('SharedSkipListReader (same thread, through a descriptor and a segment port)', () => {
  test('reads what the writer wrote, including keys in segments added after attaching', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'rwlock', prng: createPrng(9), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 64 });
    map.put(key(1), value(1, 10), 1);
    const attachment = map.attachReader();
    const reader = new SharedSkipListReader(attachment.descriptor, attachment.segmentPort);
    try {
      assert.equal(reader.get(key(1))?.version, 1);
      const segmentsBefore = map.arenaStats().segmentCount;
      for (let i = 2; i < 3000; i++) map.put(key(i), value(i, 100), i);
      assert.ok(map.arenaStats().segmentCount > segmentsBefore);
      assert.equal(reader.get(key(2999))?.version, 2999);
      assert.deepEqual(reader.get(key(2999))?.value, value(2999, 100));
      assert.deepEqual(
        reader.scan(key(10), key(13), 10).map((e) => e.version),
        [10, 11, 12],
      );
      assert.equal(reader.size, 2999);
    } finally {
      attachment.detach();
      attachment.segmentPort.close();
    }
  });

  test('a reader without the segment port fails loudly instead of reading a segment it cannot see', { timeout: TEST_TIMEOUT_MS }, () => {
    const map = SharedSkipList.create({ lock: 'mutex', prng: createPrng(9), segmentSizeBytes: SMALL_SEGMENT_BYTES, segmentsMax: 64 });
    const reader = new SharedSkipListReader(map.descriptor(), null);
    for (let i = 0; i < 3000; i++) map.put(key(i), value(i, 100), i + 1);
    assert.throws(() => reader.get(key(5)), /segment 1 is published but was not announced/);
  });
});

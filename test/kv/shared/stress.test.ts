// Multi-threaded stress: the main thread (the only writer, like the apply path) puts, replaces,
// deletes and occasionally clears, while reader workers serve gets and scans from shared memory.
//
// What is checked, and why it is sound:
//   - No torn or half-written value: every value encodes its own key, version and length and ends
//     in a checksum of the rest, and the version the map reports must equal the one inside the
//     value. A reader that saw a node mid-write (new version, old value, or half-copied bytes)
//     fails the check.
//   - Each read saw a state that was current at some point during the read. Versions are the
//     writer's sequence numbers (log indices), one per write, so "the state after write j" is
//     well defined. A request is issued when the writer's sequence is s0 and its answer arrives
//     when it is s1; the worker read between those two moments, and since the writer is the
//     single main thread, the map then held exactly the state after some write j, s0 ≤ j ≤ s1.
//     So a get's answer must equal key k's state after some such j, and a scan (which holds the
//     read lock for its whole walk, so it is one snapshot) must equal the whole range's state
//     after one single such j. The check enumerates the candidate j's (s0 and every write to the
//     range within the window) against the writer's per-key history.
//   - The final state equals a single-threaded model's, read both by the writer and through the
//     pool.
// Bounded by time and write count; every wait on the pool has a deadline, the pool is always
// closed (terminated past its deadline) in finally, and a watchdog turns a main thread stuck in
// the lock (it is the writer) into a failure that shows the lock's state.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createPrng } from '../../../src/random/prng.js';
import { SharedSkipList } from '../../../src/kv/shared/shared-skip-list.js';
import { ReaderPool } from '../../../src/kv/shared/reader-pool.js';
import { LOCK_KINDS } from '../../../src/kv/shared/lock.js';
import { ABSENT, type KeyValueVersion, type VersionedValue } from '../../../src/kv/ordered-map.js';
import { describeLock, watchMainThread, within } from './bounded.js';

/** Waiting for the reads in flight, the final reads, closing: each on a loaded 2-core machine. */
const ROUND_TRIP_MS = 15_000;
const watchdog = watchMainThread();
after(() => watchdog.stop());

const KEY_COUNT = 300;
const KEY_PREFIX = 0x6b;
const ALL_KEYS = -2;

function keyOf(index: number): Uint8Array {
  const key = new Uint8Array(16);
  key.fill(KEY_PREFIX, 0, 12);
  new DataView(key.buffer).setUint32(12, index);
  return key;
}

function indexOfKey(key: Uint8Array): number {
  if (key.length !== 16) throw new Error(`key of ${key.length} bytes`);
  for (let i = 0; i < 12; i++) if (key[i] !== KEY_PREFIX) throw new Error(`key with a bad prefix byte at ${i}`);
  return new DataView(key.buffer, key.byteOffset, 16).getUint32(12);
}

function checksum(bytes: Uint8Array, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/** [version u32 ×2][key index u32][length u32][filler][checksum u32] */
function valueOf(keyIndex: number, version: number, fillerBytes: number): Uint8Array {
  const length = 16 + fillerBytes + 4;
  const value = new Uint8Array(length);
  const view = new DataView(value.buffer);
  view.setUint32(0, version % 2 ** 32, true);
  view.setUint32(4, Math.floor(version / 2 ** 32), true);
  view.setUint32(8, keyIndex, true);
  view.setUint32(12, length, true);
  for (let i = 0; i < fillerBytes; i++) value[16 + i] = (version * 31 + i * 7 + keyIndex) & 0xff;
  view.setUint32(length - 4, checksum(value, length - 4), true);
  return value;
}

/** Throws unless the value is whole and belongs to (keyIndex, version). */
function checkValue(keyIndex: number, result: VersionedValue, where: string): void {
  const value = result.value;
  if (value.length < 20) throw new Error(`${where}: value of ${value.length} bytes is too short to be whole`);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const length = view.getUint32(12, true);
  if (length !== value.length) throw new Error(`${where}: torn value: says ${length} bytes, has ${value.length}`);
  if (view.getUint32(length - 4, true) !== checksum(value, length - 4)) throw new Error(`${where}: torn value: checksum mismatch`);
  const version = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (version !== result.version) throw new Error(`${where}: value carries version ${version}, map reported ${result.version}`);
  if (view.getUint32(8, true) !== keyIndex) throw new Error(`${where}: value belongs to key ${view.getUint32(8, true)}`);
}

/** Per key, every write in order: the sequence number and whether it left the key present. */
class History {
  private readonly seqs: number[][] = Array.from({ length: KEY_COUNT }, () => [0]);
  private readonly present: boolean[][] = Array.from({ length: KEY_COUNT }, () => [false]);
  /** Writes in sequence order, for finding the writes inside a window. */
  private readonly writtenKey: number[] = [-1];

  record(seq: number, keyIndex: number, presentAfter: boolean): void {
    this.seqs[keyIndex]!.push(seq);
    this.present[keyIndex]!.push(presentAfter);
    while (this.writtenKey.length < seq) this.writtenKey.push(-1);
    // A clear writes many keys at one sequence number: mark it as touching every key.
    const earlier = this.writtenKey[seq];
    this.writtenKey[seq] = earlier === undefined || earlier === -1 || earlier === keyIndex ? keyIndex : ALL_KEYS;
  }

  /** Key's state after write j: its version (= the seq that set it) or 0 if absent. */
  stateAt(keyIndex: number, j: number): number {
    const seqs = this.seqs[keyIndex]!;
    let low = 0;
    let high = seqs.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (seqs[middle]! <= j) low = middle;
      else high = middle - 1;
    }
    return this.present[keyIndex]![low]! ? seqs[low]! : 0;
  }

  /** s0 and every write in (s0, s1] to a key in [firstIndex, endIndex). */
  candidates(s0: number, s1: number, firstIndex: number, endIndex: number): number[] {
    const result = [s0];
    for (let j = s0 + 1; j <= s1; j++) {
      const k = this.writtenKey[j];
      if (k === ALL_KEYS || (k !== undefined && k >= firstIndex && k < endIndex)) result.push(j);
    }
    return result;
  }
}

interface Counters {
  gets: number;
  scans: number;
  writes: number;
  clears: number;
}

async function stress(lock: 'mutex' | 'rwlock', durationMs: number, writesMax: number): Promise<Counters & { segments: number }> {
  const map = SharedSkipList.create({ lock, prng: createPrng(lock === 'mutex' ? 101 : 202), segmentSizeBytes: 64 * 1024, segmentsMax: 512 });
  watchdog.watch(map.lock.descriptor());
  const describeRun = (): string => `${counters.writes} writes, ${inFlight.size} reads in flight, ${describeLock(map.lock.descriptor())}`;
  const prng = createPrng(lock === 'mutex' ? 303 : 404);
  const history = new History();
  const model = new Map<number, number>(); // key index → version
  const counters: Counters = { gets: 0, scans: 0, writes: 0, clears: 0 };
  let seq = 0;
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const inFlightMax = 150;

  const write = (): void => {
    if (prng.chance(0.0008) && seq > 0) {
      map.clear();
      seq++;
      for (const k of model.keys()) history.record(seq, k, false);
      model.clear();
      counters.clears++;
      return;
    }
    const k = prng.nextInt(0, KEY_COUNT);
    seq++;
    if (prng.chance(0.25)) {
      const existed = map.delete(keyOf(k)) !== ABSENT;
      if (existed !== model.has(k)) failures.push(`delete(${k}) returned ${existed}, model ${model.has(k)}`);
      model.delete(k);
      history.record(seq, k, false);
    } else {
      // Filler sizes span many size classes, so blocks are freed and reused across classes.
      map.put(keyOf(k), valueOf(k, seq, prng.nextInt(0, 380)), seq);
      model.set(k, seq);
      history.record(seq, k, true);
    }
    counters.writes++;
  };

  const checkGet = (k: number, s0: number, result: VersionedValue | undefined): void => {
    const s1 = seq;
    const where = `${lock} get(key ${k}) window [${s0}, ${s1}]`;
    if (result !== undefined) checkValue(k, result, where);
    const seen = result === undefined ? 0 : result.version;
    const ok = history.candidates(s0, s1, k, k + 1).some((j) => history.stateAt(k, j) === seen);
    if (!ok) throw new Error(`${where}: saw ${seen === 0 ? 'absent' : `version ${seen}`}, never current in the window`);
  };

  const checkScan = (first: number, end: number, limit: number, s0: number, result: KeyValueVersion[]): void => {
    const s1 = seq;
    const where = `${lock} scan([${first}, ${end}) limit ${limit}) window [${s0}, ${s1}]`;
    const seen = result.map((entry, i) => {
      const k = indexOfKey(entry.key);
      checkValue(k, entry, `${where} entry ${i}`);
      return [k, entry.version] as const;
    });
    const matchesAt = (j: number): boolean => {
      let i = 0;
      for (let k = first; k < end && i < limit; k++) {
        const version = history.stateAt(k, j);
        if (version === 0) continue;
        const entry = seen[i];
        if (entry === undefined || entry[0] !== k || entry[1] !== version) return false;
        i++;
      }
      return i === seen.length;
    };
    if (!history.candidates(s0, s1, first, end).some(matchesAt)) {
      throw new Error(`${where}: ${JSON.stringify(seen)} is not the range's state after any single write in the window`);
    }
  };

  const track = (promise: Promise<void>): void => {
    const tracked = promise.catch((error: unknown) => {
      failures.push(error instanceof Error ? error.message : String(error));
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  };

  const pool = await within(ReaderPool.create({ map, threads: 3, batchRequestsMax: 32 }), ROUND_TRIP_MS, 'the reader pool did not start');
  try {
    const deadline = Date.now() + durationMs;
    // Bounded by the deadline and writesMax.
    while (Date.now() < deadline && counters.writes < writesMax && failures.length === 0) {
      const writes = prng.nextInt(1, 40);
      for (let w = 0; w < writes; w++) write();
      // Reads issued now may be answered after later writes: that is the point.
      for (let r = 0; r < 30 && inFlight.size < inFlightMax; r++) {
        const s0 = seq;
        if (prng.chance(0.8)) {
          const k = prng.nextInt(0, KEY_COUNT);
          counters.gets++;
          track(pool.get(keyOf(k)).then((result) => checkGet(k, s0, result)));
        } else {
          const first = prng.nextInt(0, KEY_COUNT);
          const end = Math.min(KEY_COUNT, first + prng.nextInt(1, 30));
          const limit = prng.nextInt(1, 25);
          counters.scans++;
          track(pool.scan(keyOf(first), end === KEY_COUNT ? null : keyOf(end), limit).then((result) => checkScan(first, end, limit, s0, result)));
        }
      }
      await yieldToEventLoop();
    }
    await within(Promise.all(inFlight), ROUND_TRIP_MS, 'the reads in flight were not answered', describeRun);
    assert.deepEqual(failures.slice(0, 5), []);

    // Final state: the writer's view, and every key read through the pool, equal the model.
    const expected = [...model.entries()].sort((a, b) => a[0] - b[0]);
    assert.deepEqual(
      [...map.entries()].map((e) => [indexOfKey(e.key), e.version]),
      expected,
    );
    assert.equal(map.size, model.size);
    const finalReads = await within(Promise.all(Array.from({ length: KEY_COUNT }, (_, k) => pool.get(keyOf(k)))), ROUND_TRIP_MS, 'the final reads were not answered', describeRun);
    finalReads.forEach((result, k) => {
      assert.equal(result?.version, model.get(k), `final read of key ${k}`);
      if (result !== undefined) checkValue(k, result, `final read of key ${k}`);
    });
    const fullScan = await within(pool.scan(new Uint8Array(0), null, KEY_COUNT), ROUND_TRIP_MS, 'the final scan was not answered', describeRun);
    assert.deepEqual(fullScan.map((e) => [indexOfKey(e.key), e.version]), expected);
  } finally {
    await within(pool.close(), ROUND_TRIP_MS, 'the reader pool did not close', describeRun).catch(async (error: unknown) => {
      await pool.terminate();
      throw error;
    });
  }
  return { ...counters, segments: map.arenaStats().segmentCount };
}

describe('shared skip list under concurrent readers and a writer', () => {
  for (const lock of LOCK_KINDS) {
    test(`${lock}: no torn values, every read current within its window, final state equals the model`, { timeout: 60_000 }, async () => {
      const counters = await stress(lock, 3000, 60000);
      // The run must have done enough of everything for the checks above to mean something.
      assert.ok(counters.writes >= 2000, `only ${counters.writes} writes`);
      assert.ok(counters.gets >= 1000 && counters.scans >= 200, `only ${counters.gets} gets and ${counters.scans} scans`);
      // The map started empty in one 64 KiB segment: readers had to attach segments mid-run.
      assert.ok(counters.segments >= 2, `the arena never grew (${counters.segments} segment)`);
    });
  }
});

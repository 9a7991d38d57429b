// The streamed snapshot (state-machine.ts snapshot(), snapshot-cursor.ts): pairs are read from the
// live map as the stream is consumed, while entries keep being applied, and the stream must still
// be exactly the state as of the moment snapshot() was called. The reference for "exactly" is a
// second machine that applies the same log but never has a stream open while it is written to,
// snapshotted at the same index: the two streams must be equal byte for byte, and a machine
// restored from the streamed one must snapshot to the same bytes again.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../../src/raft/types.js';
import { createPrng } from '../../src/random/prng.js';
import { SkipList } from '../../src/kv/skiplist.js';
import { ABSENT, type KeyValueVersion, type OrderedMap, type VersionedValue } from '../../src/kv/ordered-map.js';
import { KvStateMachine, type KvLimits } from '../../src/kv/state-machine.js';
import type { KvCommand } from '../../src/kv/commands.js';
import { SNAPSHOT_SCAN_BATCH_PAIRS, SnapshotCursorClosedError } from '../../src/kv/snapshot-cursor.js';
import { decodeSnapshot } from '../../src/kv/snapshot-format.js';
import { collect, hex, registerEntry, requestEntry, streamOf, text } from './kv-test-support.js';

const LIMITS: Partial<KvLimits> = { keyBytesMax: 4, valueBytesMax: 32, dataBytesMax: 1 << 20 };
const READ_LIMITS = { keyBytesMax: 4, valueBytesMax: 32, responseBytesMax: 1 << 16, responsesPerSessionMax: 1024 };

/** One client session (registered at index 1) through which every write goes. */
class Writer {
  private sequence = 0;
  constructor(private readonly machines: readonly KvStateMachine[]) {
    for (const machine of machines) machine.apply(registerEntry(1));
  }
  get index(): number {
    return this.machines[0]!.lastAppliedIndex;
  }
  apply(command: KvCommand): void {
    const sequence = ++this.sequence;
    const entry = requestEntry(this.index + 1, 1, sequence, command);
    for (const machine of this.machines) machine.apply(entry);
  }
}

async function allBytes(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  return hex(Buffer.concat(await collect(chunks)));
}

/** A machine restored from `bytes` (whose index is `index`) snapshots to exactly `bytes` again. */
async function assertRestoresTo(bytes: string, index: number, batchPairs = 3): Promise<void> {
  const restored = new KvStateMachine(new SkipList(createPrng(99)), { limits: LIMITS, snapshotScanBatchPairs: batchPairs });
  await restored.restore(streamOf([Buffer.from(bytes, 'hex')]), index);
  assert.equal(await allBytes(restored.snapshot(97)), bytes);
}

// Keys from a small space (49 keys: writes mostly meet keys that exist, before and after a
// stream's position), including the empty key and keys that are prefixes of one another.
const keyArbitrary = fc.oneof(
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 15 }).map((n) => Uint8Array.of(n)) },
  { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 1 })).map(([a, b]) => Uint8Array.of(a, b)) },
);
const writeArbitrary: fc.Arbitrary<KvCommand> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArbitrary, value: fc.uint8Array({ maxLength: 20 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('delete' as const), key: keyArbitrary }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('cas' as const), key: keyArbitrary, value: fc.uint8Array({ maxLength: 20 }), expectedVersion: fc.integer({ min: 0, max: 60 }) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('get' as const), key: keyArbitrary }) },
);
type StreamStep =
  | { kind: 'write'; command: KvCommand }
  | { kind: 'open'; chunkBytes: number }
  | { kind: 'pull'; stream: number; chunks: number }
  | { kind: 'abandon'; stream: number };
const stepArbitrary: fc.Arbitrary<StreamStep> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('write' as const), command: writeArbitrary }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('open' as const), chunkBytes: fc.integer({ min: 64, max: 128 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('pull' as const), stream: fc.nat(), chunks: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abandon' as const), stream: fc.nat() }) },
);

interface OpenStream {
  readonly iterator: AsyncIterator<Uint8Array>;
  readonly chunks: Uint8Array[];
  readonly expected: string;
  readonly index: number;
}

describe('streamed snapshots', () => {
  test('model-based: writes interleaved with pulling chunks from up to three open streams; each stream is exactly the state when it was taken', async () => {
    await fc.assert(
      fc.asyncProperty(
        // A prefix of puts fills the map, so that streams take several chunks and writes meet keys they have not reached.
        fc.array(fc.record({ type: fc.constant('put' as const), key: keyArbitrary, value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 60, size: 'max' }),
        fc.array(stepArbitrary, { maxLength: 80, size: 'max' }),
        fc.integer({ min: 1, max: 5 }),
        async (prefix, steps, batchPairs) => {
          const machine = new KvStateMachine(new SkipList(createPrng(1)), { limits: LIMITS, snapshotScanBatchPairs: batchPairs, snapshotStreamsMax: 3 });
          // The reference applies the same log and is snapshotted only while nothing is written.
          const reference = new KvStateMachine(new SkipList(createPrng(2)), { limits: LIMITS });
          const writer = new Writer([machine, reference]);
          for (const command of prefix) writer.apply(command);
          const open: OpenStream[] = [];
          const finish = async (stream: OpenStream): Promise<void> => {
            const bytes = hex(Buffer.concat(stream.chunks));
            assert.equal(bytes, stream.expected, `stream taken at index ${stream.index}, finished at ${writer.index}`);
            await assertRestoresTo(bytes, stream.index);
          };
          for (const step of steps) {
            if (step.kind === 'write') {
              writer.apply(step.command);
            } else if (step.kind === 'open') {
              if (open.length === 3) continue;
              const stream = machine.snapshot(step.chunkBytes);
              open.push({ iterator: stream[Symbol.asyncIterator](), chunks: [], expected: await allBytes(reference.snapshot(step.chunkBytes)), index: writer.index });
            } else if (open.length > 0) {
              const at = step.stream % open.length;
              const stream = open[at]!;
              if (step.kind === 'abandon') {
                await stream.iterator.return!();
                open.splice(at, 1);
                continue;
              }
              for (let pulled = 0; pulled < step.chunks; pulled++) {
                const next = await stream.iterator.next();
                if (next.done === true) {
                  open.splice(at, 1);
                  await finish(stream);
                  break;
                }
                stream.chunks.push(next.value);
              }
            }
            assert.equal(machine.openSnapshotStreams, open.length);
          }
          for (const stream of open.splice(0)) {
            for (let next = await stream.iterator.next(); next.done !== true; next = await stream.iterator.next()) stream.chunks.push(next.value);
            await finish(stream);
          }
          assert.equal(machine.openSnapshotStreams, 0);
          assert.equal(machine.snapshotPreImageCount, 0);
          assert.equal(await allBytes(machine.snapshot()), await allBytes(reference.snapshot()));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a write to a key the stream has not reached keeps its pre-image; a key already passed, a new key or a second write costs nothing', async () => {
    const machine = new KvStateMachine(new SkipList(createPrng(1)), { limits: LIMITS, snapshotScanBatchPairs: 2 });
    const writer = new Writer([machine]);
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) writer.apply({ type: 'put', key: text(key), value: text(`${key}0`) });
    const taken = writer.index;
    const stream = machine.snapshot(64)[Symbol.asyncIterator]();
    assert.equal(machine.snapshotPreImageCount, 0);
    const chunks: Uint8Array[] = [];
    // Two chunks: the first holds the header and the session, the second ends inside the second batch (c, d).
    while (chunks.length < 2) chunks.push(((await stream.next()) as IteratorYieldResult<Uint8Array>).value);
    writer.apply({ type: 'put', key: text('a'), value: text('a1') }); // passed: nothing kept
    assert.equal(machine.snapshotPreImageCount, 0);
    writer.apply({ type: 'put', key: text('e'), value: text('e1') }); // not reached: pre-image kept
    writer.apply({ type: 'put', key: text('e'), value: text('e2') }); // a second write: nothing more
    writer.apply({ type: 'delete', key: text('f') }); // not reached: pre-image kept
    writer.apply({ type: 'put', key: text('ee'), value: text('new') }); // absent then: nothing kept, skipped by version
    assert.equal(machine.snapshotPreImageCount, 2);
    for (let next = await stream.next(); next.done !== true; next = await stream.next()) chunks.push(next.value);
    assert.equal(machine.snapshotPreImageCount, 0, 'pre-images are dropped as the stream passes them');
    const decoded = await decodeSnapshot(streamOf(chunks), READ_LIMITS);
    assert.equal(decoded.lastAppliedIndex, taken);
    assert.deepEqual(
      decoded.pairs.map((p) => `${Buffer.from(p.key).toString()}=${Buffer.from(p.value).toString()}@${p.version}`),
      ['a=a0@2', 'b=b0@3', 'c=c0@4', 'd=d0@5', 'e=e0@6', 'f=f0@7'],
    );
  });

  test('two streams open at once, taken at different indexes, each get their own state', async () => {
    const machine = new KvStateMachine(new SkipList(createPrng(1)), { limits: LIMITS, snapshotScanBatchPairs: 1 });
    const reference = new KvStateMachine(new SkipList(createPrng(2)), { limits: LIMITS });
    const writer = new Writer([machine, reference]);
    for (let i = 0; i < 20; i++) writer.apply({ type: 'put', key: Uint8Array.of(i), value: Uint8Array.of(i) });
    const first = machine.snapshot(64)[Symbol.asyncIterator]();
    const firstExpected = await allBytes(reference.snapshot(64));
    const firstChunks = [((await first.next()) as IteratorYieldResult<Uint8Array>).value];
    for (let i = 0; i < 20; i += 2) writer.apply({ type: 'put', key: Uint8Array.of(i), value: text('second') });
    const second = machine.snapshot(64)[Symbol.asyncIterator]();
    const secondExpected = await allBytes(reference.snapshot(64));
    assert.equal(machine.openSnapshotStreams, 2);
    const secondChunks: Uint8Array[] = [];
    // Alternate: a chunk from each, a write in between.
    for (let round = 0; ; round++) {
      writer.apply(round % 2 === 0 ? { type: 'delete', key: Uint8Array.of(round % 20) } : { type: 'put', key: Uint8Array.of(round % 25), value: text('later') });
      const a = await first.next();
      const b = await second.next();
      if (a.done !== true) firstChunks.push(a.value);
      if (b.done !== true) secondChunks.push(b.value);
      if (a.done === true && b.done === true) break;
    }
    assert.equal(hex(Buffer.concat(firstChunks)), firstExpected);
    assert.equal(hex(Buffer.concat(secondChunks)), secondExpected);
    assert.notEqual(firstExpected, secondExpected);
    assert.equal(machine.openSnapshotStreams, 0);
  });

  test('abandoning a stream releases its side table: return() before or after pulling, or leaving a for-await early', async () => {
    const machine = new KvStateMachine(new SkipList(createPrng(1)), { limits: LIMITS, snapshotScanBatchPairs: 2, snapshotStreamsMax: 1 });
    const writer = new Writer([machine]);
    for (let i = 0; i < 10; i++) writer.apply({ type: 'put', key: Uint8Array.of(i), value: Uint8Array.of(i) });

    // Never pulled: the stream is open from snapshot() on, and return() closes it.
    const untouched = machine.snapshot();
    writer.apply({ type: 'put', key: Uint8Array.of(9), value: text('x') });
    assert.equal(machine.snapshotPreImageCount, 1);
    assert.throws(() => machine.snapshot(), /1 streams are open already \(snapshotStreamsMax 1\)/);
    await untouched.return();
    assert.equal(machine.openSnapshotStreams, 0);
    assert.equal(machine.snapshotPreImageCount, 0);

    // Part-way through, with pre-images held.
    const partial = machine.snapshot(64);
    const iterator = partial[Symbol.asyncIterator]();
    await iterator.next();
    writer.apply({ type: 'delete', key: Uint8Array.of(8) });
    assert.equal(machine.snapshotPreImageCount, 1);
    await iterator.return!();
    assert.equal(machine.openSnapshotStreams, 0);
    assert.equal(machine.snapshotPreImageCount, 0);
    writer.apply({ type: 'delete', key: Uint8Array.of(7) });
    assert.equal(machine.snapshotPreImageCount, 0, 'a closed stream keeps nothing');

    // A for-await loop left early calls return() itself.
    for await (const chunk of machine.snapshot(64)) {
      assert.ok(chunk.length > 0);
      break;
    }
    assert.equal(machine.openSnapshotStreams, 0);
    // And a stream read to its end releases itself.
    await collect(machine.snapshot(64));
    assert.equal(machine.openSnapshotStreams, 0);
  });

  test('restoring while a stream is open makes that stream fail with the reason, not emit a mix of two states', async () => {
    const machine = new KvStateMachine(new SkipList(createPrng(1)), { limits: LIMITS, snapshotScanBatchPairs: 1 });
    const writer = new Writer([machine]);
    for (let i = 0; i < 10; i++) writer.apply({ type: 'put', key: Uint8Array.of(i), value: Uint8Array.of(i) });
    const other = new KvStateMachine(new SkipList(createPrng(2)), { limits: LIMITS });
    new Writer([other]).apply({ type: 'put', key: text('z'), value: text('z') });
    const stream = machine.snapshot(64)[Symbol.asyncIterator]();
    await stream.next();
    await machine.restore(other.snapshot(), 2);
    assert.equal(machine.openSnapshotStreams, 0);
    await assert.rejects(
      async () => {
        for (let next = await stream.next(); next.done !== true; next = await stream.next());
      },
      (error: unknown) => error instanceof SnapshotCursorClosedError && /restored to index 2 while this snapshot of index 11 streamed/.test(error.message),
    );
  });

  test('a 1 M-key map: snapshot() reads no pair, the first chunk reads what fits in it plus at most one batch, the whole stream each pair once', async () => {
    const keyCount = 1_000_000;
    const map = new SyntheticMap();
    const machine = new KvStateMachine(map);
    new Writer([machine]).apply({ type: 'get', key: text('k') });
    map.grow(keyCount);
    const chunkBytes = 64 * 1024;
    const stream = machine.snapshot(chunkBytes);
    assert.equal(map.pairsRead, 0, 'taking the snapshot read nothing from the map');
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.ok(first.done !== true && first.value.length === chunkBytes);
    const pairsPerChunkMax = Math.ceil(chunkBytes / SyntheticMap.PAIR_RECORD_BYTES);
    assert.ok(map.pairsRead > 0 && map.pairsRead <= pairsPerChunkMax + SNAPSHOT_SCAN_BATCH_PAIRS + 1, `first chunk read ${map.pairsRead} pairs`);
    assert.ok(map.pairsRead < keyCount / 100);
    let streamBytes = first.value.length;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) streamBytes += next.value.length;
    // Header, one session with its response, every pair, the end record.
    assert.equal(streamBytes, 20 + 29 + 13 + 2 + keyCount * SyntheticMap.PAIR_RECORD_BYTES + 21);
    // Each batch after the first starts at the key the previous one ended with.
    const batches = Math.ceil(keyCount / SNAPSHOT_SCAN_BATCH_PAIRS);
    assert.ok(map.pairsRead >= keyCount && map.pairsRead <= keyCount + batches, `whole stream read ${map.pairsRead} pairs`);
    assert.equal(machine.openSnapshotStreams, 0);
  });
});

/**
 * A read-only OrderedMap of `size` keys that computes its pairs instead of storing them (key i is i
 * as 4 big-endian bytes, its value i as 8 bytes, its version 1), and counts the pairs it hands
 * out. A million real keys would cost this 2-core test machine ~0.5 GB and seconds to build; the
 * snapshot's *work* does not depend on how the map stores its pairs. It starts empty (the state
 * machine insists) and grows behind the machine's back, which only the snapshot reads.
 */
class SyntheticMap implements OrderedMap {
  static readonly PAIR_RECORD_BYTES = 1 + 8 + 4 + 4 + 4 + 8;
  size = 0;
  pairsRead = 0;

  grow(size: number): void {
    this.size = size;
  }
  private pair(i: number): KeyValueVersion {
    const key = Buffer.allocUnsafe(4);
    key.writeUInt32BE(i);
    const value = Buffer.alloc(8);
    value.writeUInt32BE(i, 4);
    return { key, value, version: 1 };
  }
  /** The position of the first key ≥ `key`. */
  private lowerBound(key: Uint8Array): number {
    const padded = Buffer.alloc(4);
    padded.set(key.subarray(0, 4));
    const prefix = padded.readUInt32BE(0);
    return Math.min(this.size, key.length > 4 ? prefix + 1 : prefix);
  }
  get(key: Uint8Array): VersionedValue | undefined {
    const i = this.lowerBound(key);
    return key.length === 4 && i < this.size ? this.pair(i) : undefined;
  }
  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[] {
    const pairs: KeyValueVersion[] = [];
    const end = endExclusive === null ? this.size : this.lowerBound(endExclusive);
    for (let i = this.lowerBound(startInclusive); i < end && pairs.length < limit; i++) pairs.push(this.pair(i));
    this.pairsRead += pairs.length;
    return pairs;
  }
  *entries(): IterableIterator<KeyValueVersion> {
    for (let i = 0; i < this.size; i++) {
      this.pairsRead++;
      yield this.pair(i);
    }
  }
  put(): number {
    throw new Error('synthetic map: read-only');
  }
  delete(): number {
    return ABSENT;
  }
  clear(): void {
    this.size = 0;
  }
}

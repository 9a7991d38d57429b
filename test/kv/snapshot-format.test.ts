import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPrng } from '../../src/random/prng.js';
import { SkipList } from '../../src/kv/skiplist.js';
import { KvStateMachine } from '../../src/kv/state-machine.js';
import { SnapshotFormatError, decodeSnapshot, encodeSnapshot, type SnapshotContents } from '../../src/kv/snapshot-format.js';
import { collect, hex, plain, requestEntry, splitAt, streamOf, text } from './kv-test-support.js';

const READ_LIMITS = { keyBytesMax: 1024, valueBytesMax: 1 << 20, responseBytesMax: 2 << 20 };

const contentsArbitrary: fc.Arbitrary<SnapshotContents> = fc
  .record({
    pairs: fc.uniqueArray(fc.record({ key: fc.uint8Array({ maxLength: 12 }), value: fc.uint8Array({ maxLength: 300 }) }), {
      maxLength: 30,
      selector: (p) => hex(p.key),
    }),
    sessions: fc.uniqueArray(fc.record({ clientId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), sequence: fc.integer({ min: 1, max: 1e6 }), response: fc.uint8Array({ maxLength: 40 }) }), {
      maxLength: 8,
      selector: (s) => s.clientId,
    }),
    lastAppliedIndex: fc.integer({ min: 1000, max: Number.MAX_SAFE_INTEGER }),
  })
  .map(({ pairs, sessions, lastAppliedIndex }) => ({
    lastAppliedIndex,
    pairs: pairs.sort((a, b) => Buffer.compare(a.key, b.key)).map((p, i) => ({ ...p, version: (i % 999) + 1 })),
    sessions: sessions.map((s, i) => ({ ...s, lastUsedIndex: i + 1 })),
  }));

async function encodeAll(contents: SnapshotContents, chunkBytes?: number): Promise<Uint8Array[]> {
  return collect(encodeSnapshot(contents, chunkBytes));
}

async function formatError(run: () => Promise<unknown>): Promise<SnapshotFormatError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof SnapshotFormatError, `expected SnapshotFormatError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a SnapshotFormatError, but the stream was accepted');
}

async function sampleMachine(): Promise<KvStateMachine> {
  const machine = new KvStateMachine(new SkipList(createPrng(5)));
  for (let i = 1; i <= 50; i++) machine.apply(requestEntry(i, (i % 3) + 1, i, { type: 'put', key: text(`key-${i}`), value: new Uint8Array(i * 10).fill(i) }));
  return machine;
}

describe('snapshot stream format', () => {
  test('encode → decode round-trips, for any chunk size and any re-chunking of the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(contentsArbitrary, fc.integer({ min: 64, max: 2048 }), fc.array(fc.nat(), { maxLength: 6 }), async (contents, chunkBytes, cuts) => {
        const chunks = await encodeAll(contents, chunkBytes);
        chunks.slice(0, -1).forEach((chunk) => assert.equal(chunk.length, chunkBytes));
        assert.ok(chunks.every((chunk) => chunk.length > 0 && chunk.length <= chunkBytes));
        const decoded = await decodeSnapshot(streamOf(splitAt(Buffer.concat(chunks), cuts)), READ_LIMITS);
        assert.deepEqual(plain(decoded), plain(contents));
      }),
      { numRuns: 150 },
    );
  });

  test('every truncation is refused as truncated (naming where the stream ended)', async () => {
    const bytes = Buffer.concat(await encodeAll(await sampleContents(), 512));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), async (length) => {
        const error = await formatError(() => decodeSnapshot(streamOf([bytes.subarray(0, length)]), READ_LIMITS));
        assert.equal(error.field, 'end');
        assert.equal(error.offset, length);
        assert.match(error.message, /stream truncated after \d+ bytes/);
      }),
      { numRuns: 200 },
    );
  });

  test('any single corrupted byte is detected', async () => {
    const bytes = Buffer.concat(await encodeAll(await sampleContents(), 256));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const corrupt = Buffer.from(bytes);
        corrupt[at] = corrupt[at]! ^ flip;
        await formatError(() => decodeSnapshot(streamOf([corrupt]), READ_LIMITS));
      }),
      { numRuns: 300 },
    );
  });

  test('specific faults name their field and byte offset', async () => {
    const bytes = Buffer.concat(await encodeAll(await sampleContents()));
    const withByte = (at: number, value: number): Buffer => {
      const copy = Buffer.from(bytes);
      copy[at] = value;
      return copy;
    };
    let error = await formatError(() => decodeSnapshot([withByte(0, 0x41)], READ_LIMITS));
    assert.deepEqual([error.field, error.offset], ['magic', 0]);
    error = await formatError(() => decodeSnapshot([withByte(8, 9)], READ_LIMITS));
    assert.deepEqual([error.field, error.offset], ['format version', 8]);
    assert.match(error.message, /unsupported version 9/);
    error = await formatError(() => decodeSnapshot([withByte(20, 7)], READ_LIMITS));
    assert.deepEqual([error.field, error.offset], ['record tag (record 0)', 20]);
    error = await formatError(() => decodeSnapshot([Buffer.concat([bytes, Uint8Array.of(0)])], READ_LIMITS));
    assert.deepEqual([error.field, error.offset], ['end', bytes.length]);
    error = await formatError(() => decodeSnapshot([bytes, Uint8Array.of(0)], READ_LIMITS));
    assert.deepEqual([error.field, error.offset], ['end', bytes.length]);
    // A key length beyond the reader's limit is refused before waiting for that many bytes.
    error = await formatError(() => decodeSnapshot([bytes], { ...READ_LIMITS, keyBytesMax: 0 }));
    assert.deepEqual([error.field, error.offset], ['pairs[0].key length', 29]);
  });

  test('a state machine restores exactly what it snapshotted, through 64 KiB chunks and values larger than a chunk', async () => {
    const machine = new KvStateMachine(new SkipList(createPrng(1)));
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    machine.apply(requestEntry(1, 1, 1, { type: 'put', key: text('big'), value: big }));
    for (let i = 2; i <= 2000; i++) machine.apply(requestEntry(i, (i % 17) + 1, i, { type: 'put', key: text(`k${i}`), value: new Uint8Array(100).fill(i & 0xff) }));
    machine.apply(requestEntry(2001, 99, 1, { type: 'get', key: text('big') })); // a 200 KB remembered response
    const chunks = await collect(machine.snapshot());
    assert.ok(chunks.length > 5);
    assert.ok(chunks.every((c) => c.length <= 64 * 1024));
    const restored = new KvStateMachine(new SkipList(createPrng(2)));
    await restored.restore(streamOf(chunks));
    assert.equal(restored.lastAppliedIndex, 2001);
    assert.equal(restored.keyCount, 2000);
    assert.equal(restored.sessionCount, machine.sessionCount);
    assert.equal(hex(Buffer.concat(await collect(restored.snapshot()))), hex(Buffer.concat(chunks)));
  });

  test('a snapshot is a point-in-time view: entries applied while it streams are not in it', async () => {
    const machine = await sampleMachine();
    const stream = machine.snapshot(128)[Symbol.asyncIterator]();
    const first = await stream.next();
    machine.apply(requestEntry(51, 1, 100, { type: 'put', key: text('key-1'), value: text('changed') }));
    machine.apply(requestEntry(52, 1, 101, { type: 'delete', key: text('key-2') }));
    const chunks: Uint8Array[] = first.done === true ? [] : [first.value];
    for (let next = await stream.next(); next.done !== true; next = await stream.next()) chunks.push(next.value);
    const before = await sampleMachine();
    assert.equal(hex(Buffer.concat(chunks)), hex(Buffer.concat(await collect(before.snapshot(128)))));
  });

  test('a failed restore leaves the state as it was', async () => {
    const machine = await sampleMachine();
    const original = hex(Buffer.concat(await collect(machine.snapshot())));
    const other = new KvStateMachine(new SkipList(createPrng(9)));
    other.apply(requestEntry(1, 1, 1, { type: 'put', key: text('x'), value: text('y') }));
    const bytes = Buffer.concat(await collect(other.snapshot()));
    await formatError(() => machine.restore(streamOf([bytes.subarray(0, bytes.length - 3)])));
    assert.equal(hex(Buffer.concat(await collect(machine.snapshot()))), original);
    assert.equal(machine.lastAppliedIndex, 50);
  });
});

async function sampleContents(): Promise<SnapshotContents> {
  return {
    lastAppliedIndex: 60,
    pairs: [
      { key: text('a'), value: text('alpha'), version: 3 },
      { key: text('b'), value: new Uint8Array(700).fill(7), version: 60 },
      { key: text('c'), value: new Uint8Array(0), version: 1 },
    ],
    sessions: [
      { clientId: 5, sequence: 2, response: Uint8Array.of(1, 1, 3, 0, 0, 0, 0, 0, 0, 0), lastUsedIndex: 10 },
      { clientId: 2 ** 40, sequence: 9, response: Uint8Array.of(1, 3), lastUsedIndex: 60 },
    ],
  };
}

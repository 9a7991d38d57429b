import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPrng } from '../../src/random/prng.js';
import { SkipList } from '../../src/kv/skiplist.js';
import { KvStateMachine } from '../../src/kv/state-machine.js';
import { SnapshotFormatError, SnapshotIndexMismatchError, decodeSnapshot, encodeSnapshot, type SnapshotContents } from '../../src/kv/snapshot-format.js';
import { collect, hex, plain, registerEntry, requestEntry, splitAt, streamOf, text } from './kv-test-support.js';

const READ_LIMITS = { keyBytesMax: 1024, valueBytesMax: 1 << 20, responseBytesMax: 2 << 20, responsesPerSessionMax: 16 };

const contentsArbitrary: fc.Arbitrary<SnapshotContents> = fc
  .record({
    pairs: fc.uniqueArray(fc.record({ key: fc.uint8Array({ maxLength: 12 }), value: fc.uint8Array({ maxLength: 300 }) }), {
      maxLength: 30,
      selector: (p) => hex(p.key),
    }),
    sessions: fc.uniqueArray(
      fc.record({
        sessionId: fc.integer({ min: 1, max: 999 }),
        lowestUnacknowledged: fc.oneof(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 2000 })),
        responses: fc.uniqueArray(fc.record({ offset: fc.integer({ min: 0, max: 1000 }), response: fc.uint8Array({ maxLength: 40 }) }), {
          maxLength: 5,
          selector: (r) => r.offset,
        }),
      }),
      { maxLength: 8, selector: (s) => s.sessionId },
    ),
    lastAppliedIndex: fc.integer({ min: 1010, max: Number.MAX_SAFE_INTEGER }),
  })
  .map(({ pairs, sessions, lastAppliedIndex }) => ({
    lastAppliedIndex,
    pairs: pairs.sort((a, b) => Buffer.compare(a.key, b.key)).map((p, i) => ({ ...p, version: (i % 999) + 1 })),
    sessions: sessions.map((s, i) => ({
      sessionId: s.sessionId,
      lastUsedIndex: 1000 + i,
      lowestUnacknowledged: s.lowestUnacknowledged,
      responses: s.responses
        .sort((a, b) => a.offset - b.offset)
        .map((r) => ({ sequence: s.lowestUnacknowledged + r.offset, response: r.response })),
    })),
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

/** 50 entries: sessions registered at 1-3, then puts through them. */
async function sampleMachine(): Promise<KvStateMachine> {
  const machine = new KvStateMachine(new SkipList(createPrng(5)));
  for (let i = 1; i <= 3; i++) machine.apply(registerEntry(i));
  for (let i = 4; i <= 50; i++) machine.apply(requestEntry(i, (i % 3) + 1, i, { type: 'put', key: text(`key-${i}`), value: new Uint8Array(i * 10).fill(i) }));
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
    // sampleContents: header 0-19; session 0 at 20 (29 B), its responses at 49 (23 B) and 72
    // (15 B); session 1 at 87 (29 B); pair 0 at 116 (its key length at 125).
    const bytes = Buffer.concat(await encodeAll(await sampleContents()));
    const withByte = (at: number, value: number): Buffer => {
      const copy = Buffer.from(bytes);
      copy[at] = value;
      return copy;
    };
    const expectFault = async (stream: Uint8Array[], field: string, offset: number, limits = READ_LIMITS): Promise<SnapshotFormatError> => {
      const error = await formatError(() => decodeSnapshot(stream, limits));
      assert.deepEqual([error.field, error.offset], [field, offset], error.message);
      return error;
    };
    await expectFault([withByte(0, 0x41)], 'magic', 0);
    const version = await expectFault([withByte(8, 9)], 'format version', 8);
    assert.match(version.message, /unsupported version 9/);
    await expectFault([withByte(20, 7)], 'record tag (record 0)', 20);
    await expectFault([Buffer.concat([bytes, Uint8Array.of(0)])], 'end', bytes.length);
    await expectFault([bytes, Uint8Array.of(0)], 'end', bytes.length);
    // A key length beyond the reader's limit is refused before waiting for that many bytes.
    await expectFault([bytes], 'pairs[0].key length', 125, { ...READ_LIMITS, keyBytesMax: 0 });
    await expectFault([bytes], 'sessions[0].responseCount', 45, { ...READ_LIMITS, responsesPerSessionMax: 1 });
    // Fields checked against each other (the checksum would catch these too, but later and vaguer).
    await expectFault([withByte(21, 61)], 'sessions[0].sessionId', 21); // 61 > lastAppliedIndex 60
    await expectFault([withByte(29, 4)], 'sessions[0].lastUsedIndex', 29); // 4 < its sessionId 5
    await expectFault([withByte(88, 5)], 'sessions[1].sessionId', 88); // session 5 twice
    await expectFault([withByte(96, 9)], 'sessions[1].lastUsedIndex', 96); // 9 < session 0's 10: not LRU order
    await expectFault([withByte(50, 1)], 'sessions[0].responses[0].sequence', 50); // 1 < lowestUnacknowledged 2
    await expectFault([withByte(73, 2)], 'sessions[0].responses[1].sequence', 73); // 2 after 2
    await expectFault([withByte(45, 3)], 'sessions[0].responses[2] tag', 87); // announces 3, carries 2
    await expectFault([withByte(45, 1)], 'record tag (record 2)', 72); // announces 1, carries 2
    const late = Buffer.concat([bytes.subarray(0, 87), bytes.subarray(116, 116 + 13 + 1 + 4 + 5), bytes.subarray(87)]);
    await expectFault([late], 'sessions[1] tag', 87 + 23); // a session after a pair
  });

  test('a version-1 stream is refused, naming the version', async () => {
    const bytes = Buffer.concat(await encodeAll(await sampleContents()));
    bytes.writeUInt32LE(1, 8);
    const error = await formatError(() => decodeSnapshot([bytes], READ_LIMITS));
    assert.deepEqual([error.field, error.offset], ['format version', 8]);
    assert.match(error.message, /unsupported version 1 .*this build reads 2/);
  });

  test('a stream of another index than the Raft snapshot metadata says is refused at its header, naming both', async () => {
    const bytes = Buffer.concat(await encodeAll(await sampleContents()));
    let chunksRead = 0;
    const counted = function* (): Generator<Uint8Array> {
      for (let at = 0; at < bytes.length; at += 16) {
        chunksRead++;
        yield bytes.subarray(at, at + 16);
      }
    };
    await assert.rejects(
      () => decodeSnapshot(counted(), READ_LIMITS, { expectedLastAppliedIndex: 61 }),
      (error: unknown) => {
        assert.ok(error instanceof SnapshotIndexMismatchError);
        assert.equal(error.snapshotIndex, 60);
        assert.equal(error.expectedIndex, 61);
        assert.match(error.message, /state as of index 60, but the Raft snapshot metadata says index 61/);
        return true;
      },
    );
    assert.equal(chunksRead, 2, 'refused once the 20-byte header was in, not at the end of the stream');
    const decoded = await decodeSnapshot([bytes], READ_LIMITS, { expectedLastAppliedIndex: 60 });
    assert.equal(decoded.lastAppliedIndex, 60);
  });

  test('a state machine restores exactly what it snapshotted, through 64 KiB chunks and values larger than a chunk', async () => {
    const machine = new KvStateMachine(new SkipList(createPrng(1)));
    for (let i = 1; i <= 17; i++) machine.apply(registerEntry(i));
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    machine.apply(requestEntry(18, 1, 1, { type: 'put', key: text('big'), value: big }));
    // Session 2 keeps many requests unacknowledged; the others acknowledge as they go.
    for (let i = 19; i <= 2000; i++) {
      const session = (i % 17) + 1;
      const sequence = Math.floor(i / 17);
      machine.apply(requestEntry(i, session, sequence, { type: 'put', key: text(`k${i}`), value: new Uint8Array(100).fill(i & 0xff) }, session === 2 ? 1 : sequence));
    }
    machine.apply(requestEntry(2001, 3, 1000, { type: 'get', key: text('big') })); // a 200 KB remembered response
    const chunks = await collect(machine.snapshot());
    assert.ok(chunks.length > 5);
    assert.ok(chunks.every((c) => c.length <= 64 * 1024));
    const restored = new KvStateMachine(new SkipList(createPrng(2)));
    await restored.restore(streamOf(chunks), 2001);
    assert.equal(restored.lastAppliedIndex, 2001);
    assert.equal(restored.keyCount, 1983);
    assert.equal(restored.sessionCount, 17);
    assert.equal(restored.sessionResponseBytes, machine.sessionResponseBytes);
    assert.equal(hex(Buffer.concat(await collect(restored.snapshot()))), hex(Buffer.concat(chunks)));
    const decoded = await decodeSnapshot(streamOf(chunks), { ...READ_LIMITS, responsesPerSessionMax: 1024 });
    assert.equal(decoded.sessions.find((s) => s.sessionId === 2)?.responses.length, 116, 'session 2 remembers every unacknowledged response');
  });

  test('a snapshot is a point-in-time view: entries applied while it streams are not in it', async () => {
    const machine = await sampleMachine();
    const stream = machine.snapshot(128)[Symbol.asyncIterator]();
    const first = await stream.next();
    machine.apply(requestEntry(51, 1, 100, { type: 'put', key: text('key-40'), value: text('changed') }));
    machine.apply(requestEntry(52, 1, 101, { type: 'delete', key: text('key-5') }));
    machine.apply(requestEntry(53, 1, 102, { type: 'put', key: text('key-0'), value: text('new') }));
    const chunks: Uint8Array[] = first.done === true ? [] : [first.value];
    for (let next = await stream.next(); next.done !== true; next = await stream.next()) chunks.push(next.value);
    const before = await sampleMachine();
    assert.equal(hex(Buffer.concat(chunks)), hex(Buffer.concat(await collect(before.snapshot(128)))));
  });

  test('a failed restore leaves the state as it was', async () => {
    const machine = await sampleMachine();
    const original = hex(Buffer.concat(await collect(machine.snapshot())));
    const other = new KvStateMachine(new SkipList(createPrng(9)));
    other.apply(registerEntry(1));
    other.apply(requestEntry(2, 1, 1, { type: 'put', key: text('x'), value: text('y') }));
    const bytes = Buffer.concat(await collect(other.snapshot()));
    await formatError(() => machine.restore(streamOf([bytes.subarray(0, bytes.length - 3)]), 2));
    await assert.rejects(() => machine.restore(streamOf([bytes]), 3), SnapshotIndexMismatchError);
    assert.equal(hex(Buffer.concat(await collect(machine.snapshot()))), original);
    assert.equal(machine.lastAppliedIndex, 50);
  });
});

async function sampleContents(): Promise<SnapshotContents> {
  return {
    lastAppliedIndex: 60,
    sessions: [
      {
        sessionId: 5,
        lastUsedIndex: 10,
        lowestUnacknowledged: 2,
        responses: [
          { sequence: 2, response: Uint8Array.of(2, 1, 3, 0, 0, 0, 0, 0, 0, 0) },
          { sequence: 4, response: Uint8Array.of(2, 3) },
        ],
      },
      { sessionId: 40, lastUsedIndex: 60, lowestUnacknowledged: 9, responses: [] },
    ],
    pairs: [
      { key: text('a'), value: text('alpha'), version: 3 },
      { key: text('b'), value: new Uint8Array(700).fill(7), version: 60 },
      { key: text('c'), value: new Uint8Array(0), version: 1 },
    ],
  };
}

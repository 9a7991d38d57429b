import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compressSync as lz4CompressSync } from 'lz4-napi';
import { MessageValidationError } from '../../src/raft/errors.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { validateMessage } from '../../src/raft/validate.js';
import type { CodecSpec } from '../../src/storage/codec.js';
import {
  MESSAGE_HEADER_BYTES,
  MessageDecodeError,
  decodeMessage,
  decodeMessageAsync,
  encodeMessage,
  encodeMessageAsync,
  encodedMessageBytes,
} from '../../src/transport/codec.js';
import { MESSAGE_ARBITRARIES, MESSAGE_TYPES, appendEntriesArbitrary, fillData, messageArbitrary, plain } from './message-arbitraries.js';

const NONE: CodecSpec = { kind: 'none' };
const LZ4: CodecSpec = { kind: 'lz4' };
const ZSTD: CodecSpec = { kind: 'zstd', level: 3 };
/** Where an AppendEntries' entries codec byte sits (see the table at the top of codec.ts). */
const ENTRIES_CODEC_OFFSET = 54;
const RAW_LENGTH_OFFSET = 55;
const STORED_OFFSET = 63;

const bigAppendEntries = appendEntriesArbitrary({ countMax: 200, dataBytesMax: 4096 });

/** The MessageDecodeError `run` throws (failing the test if it throws anything else, or nothing). */
function decodeError(run: () => unknown): MessageDecodeError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof MessageDecodeError, `expected MessageDecodeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a MessageDecodeError, but decoding succeeded');
}

async function asyncDecodeError(run: () => Promise<unknown>): Promise<MessageDecodeError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof MessageDecodeError, `expected MessageDecodeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a MessageDecodeError, but decoding succeeded');
}

function appendEntries(entries: readonly Entry[], overrides: Partial<Message & { type: 'AppendEntries' }> = {}): Message {
  return { type: 'AppendEntries', from: 1, to: 2, term: 9, prevLogIndex: 10, prevLogTerm: 3, entries, commit: 8, ...overrides } as Message;
}

function entriesOf(sizes: readonly number[], kind: 'random' | 'text' | 'zeros', terms: readonly number[] = sizes.map(() => 5)): Entry[] {
  return sizes.map((size, i) => ({ term: terms[i]!, index: 11 + i, data: fillData(size, kind, i) }));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

describe('transport codec: Raft messages as bytes', () => {
  for (const type of MESSAGE_TYPES) {
    test(`${type} round-trips with random field values, and encodedMessageBytes is its exact size`, () => {
      fc.assert(
        fc.property(MESSAGE_ARBITRARIES[type], (message) => {
          const bytes = encodeMessage(message);
          assert.equal(encodedMessageBytes(message), bytes.byteLength);
          assert.deepEqual(plain(decodeMessage(bytes)), plain(message));
        }),
        { numRuns: 150 },
      );
    });
  }

  test('AppendEntries of 0 … 200 entries of 0 … 4 KiB with varied terms round-trips under none and lz4, synchronously', () => {
    fc.assert(
      fc.property(bigAppendEntries, (message) => {
        const plainBytes = encodeMessage(message);
        assert.equal(encodedMessageBytes(message), plainBytes.byteLength);
        assert.deepEqual(plain(decodeMessage(plainBytes)), plain(message));
        const lz4Bytes = encodeMessage(message, { codec: LZ4 });
        assert.ok(lz4Bytes.byteLength <= plainBytes.byteLength, 'compression is kept only when it helps');
        assert.deepEqual(plain(decodeMessage(lz4Bytes)), plain(message));
      }),
      { numRuns: 40 },
    );
  });

  test('AppendEntries round-trips under none, lz4 and zstd through the async pair', async () => {
    await fc.assert(
      fc.asyncProperty(bigAppendEntries, fc.constantFrom(NONE, LZ4, ZSTD, { kind: 'zstd', level: 1 } as CodecSpec), async (message, codec) => {
        const bytes = await encodeMessageAsync(message, { codec });
        assert.deepEqual(plain(await decodeMessageAsync(bytes)), plain(message));
        if (codec.kind !== 'zstd') assert.deepEqual(plain(decodeMessage(bytes)), plain(message), 'the sync decoder reads what the async encoder wrote');
      }),
      { numRuns: 40 },
    );
  });

  test('the layout is as documented: a heartbeat, and an AppendEntries with two term runs', () => {
    const heartbeat: Message = { type: 'Heartbeat', from: 1, to: 0x0102030405, term: 7, commit: 9, round: 2 };
    assert.equal(
      hex(encodeMessage(heartbeat)),
      '01' + '07' + '0100000000000000' + '0504030201000000' + '0700000000000000' + '0900000000000000' + '0200000000000000',
    );
    const message = appendEntries([
      { term: 4, index: 11, data: Uint8Array.of(0xaa) },
      { term: 4, index: 12, data: new Uint8Array(0) },
      { term: 9, index: 13, data: Uint8Array.of(0xbb, 0xcc) },
    ]);
    const block = '02000000' + '0400000000000000' + '02000000' + '0900000000000000' + '01000000' + '01000000' + '00000000' + '02000000' + 'aa' + 'bbcc';
    assert.equal(
      hex(encodeMessage(message)),
      '01' + '05' + '0100000000000000' + '0200000000000000' + '0900000000000000' +
        '0a00000000000000' + '0300000000000000' + '0800000000000000' + '03000000' +
        '00' + '2b000000' + '2b000000' + block,
    );
  });

  test('decoded entry data are views into the input when the block is not compressed (zero copy)', () => {
    const bytes = encodeMessage(appendEntries(entriesOf([3, 0, 40], 'random')));
    const decoded = decodeMessage(bytes);
    assert.equal(decoded.type, 'AppendEntries');
    if (decoded.type !== 'AppendEntries') return;
    for (const entry of decoded.entries) {
      assert.equal(entry.data.buffer, bytes.buffer, 'entry data must share the input buffer');
      assert.equal(Object.getPrototypeOf(entry.data), Uint8Array.prototype, 'a plain Uint8Array, whatever the input type');
    }
    assert.equal(decoded.entries[2]!.data.byteOffset, bytes.byteOffset + bytes.byteLength - 40);
  });

  test('every truncation of a valid encoding is a MessageDecodeError naming a field at an offset inside the input', () => {
    fc.assert(
      fc.property(messageArbitrary, fc.constantFrom(NONE, LZ4), (message, codec) => {
        const bytes = encodeMessage(message, { codec, compressBytesMin: 0 });
        for (let length = 0; length < bytes.length; length++) {
          const error = decodeError(() => decodeMessage(bytes.subarray(0, length)));
          assert.ok(error.field.length > 0);
          assert.ok(error.offset <= length, `offset ${error.offset} beyond the ${length} input bytes (${error.message})`);
          assert.match(error.message, /^malformed message: .+ at byte \d+: /);
          assert.ok(!(error.cause instanceof MessageValidationError), `a truncation slipped past the decoder's own checks: ${error.message}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('random byte flips either decode to a message that passes validation or throw MessageDecodeError from the decoder itself', () => {
    const flipsArbitrary = fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 });
    let decoded = 0;
    let refused = 0;
    fc.assert(
      fc.property(messageArbitrary, fc.constantFrom(NONE, LZ4), flipsArbitrary, (message, codec, flips) => {
        const bytes = Buffer.from(encodeMessage(message, { codec, compressBytesMin: 0 }));
        for (const flip of flips) bytes[flip.at % bytes.length] = flip.value;
        let result: Message;
        try {
          result = decodeMessage(bytes);
        } catch (error) {
          assert.ok(error instanceof MessageDecodeError, `expected MessageDecodeError, got ${String(error)}`);
          // The validation guard is a second line: the decoder's own checks must have caught it first.
          assert.ok(!(error.cause instanceof MessageValidationError), `only the validation guard caught: ${error.message}`);
          refused++;
          return;
        }
        validateMessage(result);
        decoded++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(decoded > 0 && refused > 0, `both outcomes should occur (decoded ${decoded}, refused ${refused})`);
  });

  test('random byte flips in zstd-compressed entries are refused with MessageDecodeError or decode to a valid message', async () => {
    const message = appendEntries(entriesOf([300, 0, 900, 50], 'text', [3, 4, 4, 9]));
    const valid = await encodeMessageAsync(message, { codec: ZSTD });
    assert.equal(valid[ENTRIES_CODEC_OFFSET], 2);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 255 }), async (at, value) => {
        const bytes = Buffer.from(valid);
        bytes[at % bytes.length] = value;
        try {
          validateMessage(await decodeMessageAsync(bytes));
        } catch (error) {
          assert.ok(error instanceof MessageDecodeError, `expected MessageDecodeError, got ${String(error)}`);
          assert.ok(!(error.cause instanceof MessageValidationError), `only the validation guard caught: ${error.message}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('trailing bytes are refused at the byte where they start', () => {
    for (const message of [
      { type: 'TimeoutNow', from: 1, to: 2, term: 3 } as Message,
      appendEntries(entriesOf([5], 'random')),
      appendEntries([]),
    ]) {
      const bytes = encodeMessage(message);
      const error = decodeError(() => decodeMessage(Buffer.concat([bytes, Uint8Array.of(0)])));
      assert.equal(error.field, 'end');
      assert.equal(error.offset, bytes.length);
    }
  });

  test('specific malformations are refused naming their field and offset', () => {
    const vote = Buffer.from(encodeMessage({ type: 'Vote', from: 1, to: 2, term: 5, lastLogIndex: 7, lastLogTerm: 5, transfer: false }));
    const appendBytes = Buffer.from(encodeMessage(appendEntries(entriesOf([2, 2, 2], 'random', [4, 4, 6]))));
    const snapshot = Buffer.from(encodeMessage({ type: 'InstallSnapshot', from: 1, to: 2, term: 5, snapshot: { index: 9, term: 4, config: { voters: [1, 2] } } }));
    const cases: { name: string; bytes: Buffer; at: number; write: (b: Buffer, at: number) => void; field: string; offset: number }[] = [
      { name: 'version', bytes: vote, at: 0, write: (b, at) => (b[at] = 2), field: 'format version', offset: 0 },
      { name: 'type 0', bytes: vote, at: 1, write: (b, at) => (b[at] = 0), field: 'type', offset: 1 },
      { name: 'type 14', bytes: vote, at: 1, write: (b, at) => (b[at] = 14), field: 'type', offset: 1 },
      { name: 'from 0', bytes: vote, at: 2, write: (b, at) => b.fill(0, at, at + 8), field: 'from', offset: 2 },
      { name: 'term ≥ 2^53', bytes: vote, at: 18, write: (b, at) => b.writeUInt32LE(0x200000, at + 4), field: 'term', offset: 18 },
      { name: 'lastLogTerm > term', bytes: vote, at: 34, write: (b, at) => (b[at] = 6), field: 'lastLogTerm', offset: 34 },
      { name: 'lastLogIndex 0 with a term', bytes: vote, at: 26, write: (b, at) => (b[at] = 0), field: 'lastLogTerm', offset: 34 },
      { name: 'boolean 2', bytes: vote, at: 42, write: (b, at) => (b[at] = 2), field: 'transfer', offset: 42 },
      { name: 'prevLogTerm > term', bytes: appendBytes, at: 34, write: (b, at) => (b[at] = 10), field: 'prevLogTerm', offset: 34 },
      { name: 'entry count beyond prevLogIndex + 2^53', bytes: appendBytes, at: 26, write: (b, at) => (b.writeUInt32LE(0xfffffffe, at), b.writeUInt32LE(0x1fffff, at + 4)), field: 'entries count', offset: 50 },
      { name: 'codec 3', bytes: appendBytes, at: ENTRIES_CODEC_OFFSET, write: (b, at) => (b[at] = 3), field: 'entries codec', offset: 54 },
      { name: 'raw ≠ stored length', bytes: appendBytes, at: RAW_LENGTH_OFFSET, write: (b, at) => (b[at] = b[at]! + 1), field: 'entries raw length', offset: 55 },
      { name: 'stored length past the end', bytes: appendBytes, at: 59, write: (b, at) => (b[at] = b[at]! + 1), field: 'entries stored length', offset: 59 },
      { name: 'more entries than the block can hold', bytes: appendBytes, at: 50, write: (b, at) => b.writeUInt32LE(1_000_000, at), field: 'entries count', offset: 50 },
      { name: 'run count 0', bytes: appendBytes, at: STORED_OFFSET, write: (b, at) => (b[at] = 0), field: 'entries run count', offset: 63 },
      { name: 'run count above entry count', bytes: appendBytes, at: STORED_OFFSET, write: (b, at) => (b[at] = 4), field: 'entries run count', offset: 63 },
      { name: 'decreasing run terms', bytes: appendBytes, at: STORED_OFFSET + 16, write: (b, at) => (b[at] = 2), field: 'entries run term', offset: 79 },
      { name: 'run term below prevLogTerm', bytes: appendBytes, at: STORED_OFFSET + 4, write: (b, at) => (b[at] = 2), field: 'entries run term', offset: 67 },
      { name: 'run term above the message term', bytes: appendBytes, at: STORED_OFFSET + 16, write: (b, at) => (b[at] = 10), field: 'entries run term', offset: 79 },
      { name: 'run lengths short of the count', bytes: appendBytes, at: STORED_OFFSET + 24, write: (b, at) => (b[at] = 0), field: 'entries run length', offset: 87 },
      { name: 'data length past the block', bytes: appendBytes, at: STORED_OFFSET + 28 + 4, write: (b, at) => (b[at] = 200), field: 'entries data length', offset: 95 },
      { name: 'snapshot index 0', bytes: snapshot, at: 26, write: (b, at) => b.fill(0, at, at + 8), field: 'snapshot.index', offset: 26 },
      { name: 'no voters', bytes: snapshot, at: 42, write: (b, at) => b.writeUInt32LE(0, at), field: 'snapshot.config.voters count', offset: 42 },
      { name: '4 billion voters', bytes: snapshot, at: 42, write: (b, at) => b.writeUInt32LE(0xffffffff, at), field: 'snapshot.config.voters count', offset: 42 },
      { name: 'voter 0', bytes: snapshot, at: 54, write: (b, at) => b.fill(0, at, at + 8), field: 'snapshot.config.voters', offset: 54 },
    ];
    // Sanity: the unmodified encodings decode.
    for (const bytes of [vote, appendBytes, snapshot]) decodeMessage(bytes);
    for (const { name, bytes, at, write, field, offset } of cases) {
      const copy = Buffer.from(bytes);
      write(copy, at);
      let error: MessageDecodeError;
      try {
        decodeMessage(copy);
        assert.fail(`${name}: decoded without error`);
      } catch (caught) {
        assert.ok(caught instanceof MessageDecodeError, `${name}: expected MessageDecodeError, got ${String(caught)}`);
        error = caught;
      }
      assert.equal(error.field, field, `${name}: ${error.message}`);
      assert.equal(error.offset, offset, `${name}: ${error.message}`);
      assert.ok(!(error.cause instanceof MessageValidationError), `${name}: only the validation guard caught it`);
    }
  });

  test('errors inside a compressed block point at the stored block and say where in the decompressed bytes', () => {
    const plainBytes = Buffer.from(encodeMessage(appendEntries(entriesOf([600], 'text', [9]))));
    plainBytes[STORED_OFFSET + 4] = 10; // the run's term, now above the message term 9
    const uncompressedError = decodeError(() => decodeMessage(plainBytes));
    assert.equal(uncompressedError.field, 'entries run term');
    assert.equal(uncompressedError.offset, STORED_OFFSET + 4);
    // The same tampered block, compressed with lz4 and spliced in.
    const compressed = lz4CompressSync(Buffer.from(plainBytes.subarray(STORED_OFFSET)));
    const bytes = Buffer.concat([plainBytes.subarray(0, STORED_OFFSET), compressed]);
    bytes[ENTRIES_CODEC_OFFSET] = 1;
    bytes.writeUInt32LE(compressed.length, STORED_OFFSET - 4);
    const error = decodeError(() => decodeMessage(bytes));
    assert.equal(error.field, 'entries run term');
    assert.equal(error.offset, STORED_OFFSET);
    assert.match(error.reason, /above the message term 9 \(at byte 4 of the lz4-decompressed entries block\)$/);
  });

  test('compression is skipped below compressBytesMin and when it does not shrink the block, and used when it helps', () => {
    const small = appendEntries(entriesOf([100], 'text'));
    assert.equal(encodeMessage(small, { codec: LZ4 })[ENTRIES_CODEC_OFFSET], 0, 'a block below the 256-byte default stays raw');
    assert.equal(encodeMessage(small, { codec: LZ4, compressBytesMin: 0 })[ENTRIES_CODEC_OFFSET], 1);
    const incompressible = appendEntries(entriesOf([4096, 4096], 'random'));
    const incompressibleBytes = encodeMessage(incompressible, { codec: LZ4 });
    assert.equal(incompressibleBytes[ENTRIES_CODEC_OFFSET], 0, 'random data: lz4 was tried and not kept');
    assert.equal(incompressibleBytes.byteLength, encodedMessageBytes(incompressible));
    // 64 random 256-byte values: lz4 saves ~1 % (the zero bytes of the length fields), not worth the receiver's time.
    const marginal = appendEntries(entriesOf(Array.from({ length: 64 }, () => 256), 'random'));
    assert.equal(encodeMessage(marginal, { codec: LZ4 })[ENTRIES_CODEC_OFFSET], 0, 'a saving under 1/16 is not kept');
    const text = appendEntries(entriesOf(Array.from({ length: 64 }, () => 256), 'text'));
    const textBytes = encodeMessage(text, { codec: LZ4 });
    assert.equal(textBytes[ENTRIES_CODEC_OFFSET], 1);
    assert.ok(textBytes.byteLength < encodedMessageBytes(text) / 4, `text should compress well: ${textBytes.byteLength} of ${encodedMessageBytes(text)}`);
    // Messages without entries are never compressed, whatever the codec.
    const heartbeat: Message = { type: 'Heartbeat', from: 1, to: 2, term: 3, commit: 4, round: 5 };
    assert.deepEqual(encodeMessage(heartbeat, { codec: LZ4 }), encodeMessage(heartbeat));
  });

  test('zstd: the sync encoder refuses it with a clear error, the sync decoder refuses zstd entries naming the field, the async pair handles it', async () => {
    const message = appendEntries(entriesOf([2000], 'text'));
    assert.throws(() => encodeMessage(message, { codec: ZSTD }), /zstd:3 cannot compress synchronously .* use encodeMessageAsync/);
    assert.throws(() => encodeMessage({ type: 'TimeoutNow', from: 1, to: 2, term: 3 }, { codec: ZSTD }), /use encodeMessageAsync/, 'refused even with nothing to compress');
    const bytes = await encodeMessageAsync(message, { codec: ZSTD });
    assert.equal(bytes[ENTRIES_CODEC_OFFSET], 2);
    const error = decodeError(() => decodeMessage(bytes));
    assert.equal(error.field, 'entries codec');
    assert.equal(error.offset, ENTRIES_CODEC_OFFSET);
    assert.match(error.message, /use decodeMessageAsync/);
    assert.deepEqual(plain(await decodeMessageAsync(bytes)), plain(message));
  });

  test('an lz4 block is refused before decompressing when its size prefix disagrees with the raw length or the raw length is over the limit', () => {
    const message = appendEntries(entriesOf([2000], 'text'));
    const valid = Buffer.from(encodeMessage(message, { codec: LZ4 }));
    assert.equal(valid[ENTRIES_CODEC_OFFSET], 1);
    const lyingPrefix = Buffer.from(valid);
    lyingPrefix.writeUInt32LE(1 << 30, STORED_OFFSET); // lz4-napi would allocate this much
    const prefixError = decodeError(() => decodeMessage(lyingPrefix));
    assert.equal(prefixError.field, 'entries stored block');
    assert.match(prefixError.reason, /lz4 size prefix 1073741824 differs from the raw length/);
    const huge = Buffer.from(lyingPrefix);
    huge.writeUInt32LE(1 << 30, RAW_LENGTH_OFFSET);
    const limitError = decodeError(() => decodeMessage(huge));
    assert.equal(limitError.field, 'entries raw length');
    assert.match(limitError.reason, /exceeds the block limit of 67108864 bytes/);
  });

  test('a zstd frame that could decode past blockBytesMax is refused before decompressing, whatever raw length it declares', async () => {
    // 4 MiB of zeros compresses to a few hundred bytes: a decompression bomb in miniature.
    const message = appendEntries(entriesOf(Array.from({ length: 64 }, () => 65536), 'zeros'));
    const bytes = Buffer.from(await encodeMessageAsync(message, { codec: ZSTD }));
    assert.equal(bytes[ENTRIES_CODEC_OFFSET], 2);
    assert.ok(bytes.length < 4096, `expected a tiny zstd frame, got ${bytes.length} bytes`);
    const limit = { blockBytesMax: 1 << 20 };
    const honest = await asyncDecodeError(() => decodeMessageAsync(bytes, limit));
    assert.equal(honest.field, 'entries raw length');
    // The same frame declaring a small raw length: only the frame's block headers give it away.
    const lying = Buffer.from(bytes);
    lying.writeUInt32LE(4 + 12 + 4 * 64, RAW_LENGTH_OFFSET);
    const bomb = await asyncDecodeError(() => decodeMessageAsync(lying, limit));
    assert.equal(bomb.field, 'entries stored block');
    assert.match(bomb.reason, /zstd frame may decode to \d+ bytes, over the block limit of 1048576/);
    // Within the limit but lying about its length: refused after decompressing, not misread.
    const mismatch = await asyncDecodeError(() => decodeMessageAsync(lying));
    assert.match(mismatch.reason, /decompressed to 4194576 bytes, not the raw length 272/);
    assert.deepEqual(plain(await decodeMessageAsync(bytes)), plain(message));
  });

  test('a zstd block holding a second frame, a dictionary, or garbage is refused naming the stored block', async () => {
    const message = appendEntries(entriesOf([3000], 'text'));
    const bytes = Buffer.from(await encodeMessageAsync(message, { codec: ZSTD }));
    const frame = bytes.subarray(STORED_OFFSET);
    const twoFrames = Buffer.concat([bytes, frame]);
    twoFrames.writeUInt32LE(frame.length * 2, 59);
    twoFrames.writeUInt32LE(bytes.readUInt32LE(RAW_LENGTH_OFFSET) * 2, RAW_LENGTH_OFFSET);
    assert.match((await asyncDecodeError(() => decodeMessageAsync(twoFrames))).reason, /exactly one frame is allowed/);
    const dictionary = Buffer.from(bytes);
    dictionary[STORED_OFFSET + 4] = dictionary[STORED_OFFSET + 4]! | 0x01;
    assert.match((await asyncDecodeError(() => decodeMessageAsync(dictionary))).reason, /dictionary/);
    const garbage = Buffer.from(bytes);
    garbage[STORED_OFFSET] = 0;
    assert.match((await asyncDecodeError(() => decodeMessageAsync(garbage))).reason, /bad magic number/);
  });

  test('encoding refuses out-of-range fields with a RangeError naming the field', () => {
    assert.throws(() => encodeMessage({ type: 'Heartbeat', from: 1, to: 2, term: -1, commit: 0, round: 0 }), /term must be a non-negative safe integer, got -1/);
    assert.throws(() => encodeMessage({ type: 'Heartbeat', from: 1, to: 2, term: 1, commit: 1.5, round: 0 }), /commit must be a non-negative safe integer, got 1.5/);
    assert.throws(() => encodeMessage({ type: 'HeartbeatResponse', from: 1, to: 2, term: 1, round: 2 ** 53 }), /round must be a non-negative safe integer/);
  });

  test('the largest safe integers survive the round trip in every u64 field', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const message: Message = { type: 'AppendEntriesResponse', from: max, to: max, term: max, success: true, matchIndex: max, hintIndex: max - 1, hintTerm: 2 ** 32 };
    assert.deepEqual(decodeMessage(encodeMessage(message)), message);
    const bytes = Buffer.from(encodeMessage(message));
    assert.equal(bytes.readUInt32LE(MESSAGE_HEADER_BYTES - 8 + 4), 0x1fffff, 'the high word of 2^53-1');
  });
});

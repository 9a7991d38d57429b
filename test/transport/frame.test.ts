import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.js';
import {
  FRAME_BYTES_MAX_DEFAULT,
  FRAME_HEADER_BYTES,
  FrameDecodeError,
  FrameDecoder,
  encodeFrame,
  encodeFrameParts,
  type Frame,
} from '../../src/transport/frame.js';
import { fillData, messageArbitrary, nodeIdArbitrary, plain } from './message-arbitraries.js';

const frameArbitrary: fc.Arbitrary<Frame> = fc.oneof(
  messageArbitrary.map((message): Frame => ({ kind: 'message', payload: encodeMessage(message) })),
  fc
    .record({
      transferId: fc.oneof(fc.nat(10), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
      sequence: fc.oneof(fc.nat(10), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
      last: fc.boolean(),
      size: fc.nat(3000),
      seed: fc.nat(),
    })
    .map(({ size, seed, ...rest }): Frame => ({ kind: 'snapshot-chunk', ...rest, data: fillData(size, 'random', seed) })),
  fc
    .record({
      protocolVersion: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      // Up to 60 code points of any plane: at most 240 bytes of UTF-8, under the 255-byte limit.
      clusterId: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
      nodeId: nodeIdArbitrary,
    })
    .map((hello): Frame => ({ kind: 'hello', ...hello })),
);

/** Cuts `bytes` at the given fractions of its length (in any order, duplicates allowed). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function pushAll(decoder: FrameDecoder, chunks: readonly Uint8Array[]): { frames: Frame[]; error: FrameDecodeError | null } {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    frames.push(...result.frames);
    if (result.error !== null) return { frames, error: result.error };
  }
  return { frames, error: null };
}

function header(length: number, version = 1, kind = 1): Buffer {
  const bytes = Buffer.alloc(FRAME_HEADER_BYTES);
  bytes.writeUInt32LE(length, 0);
  bytes[4] = version;
  bytes[5] = kind;
  return bytes;
}

describe('transport frames on a byte stream', () => {
  test('any sequence of frames survives any chunking of the stream', () => {
    fc.assert(
      fc.property(fc.array(frameArbitrary, { maxLength: 12 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((frame) => encodeFrame(frame)));
        const decoder = new FrameDecoder();
        const result = pushAll(decoder, split(stream, cuts));
        assert.equal(result.error, null);
        assert.deepEqual(plain(result.frames), plain(frames));
        assert.equal(decoder.bufferedBytes, 0);
        assert.equal(decoder.end(), null);
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time works too, and a message frame carries a decodable message', () => {
    const message = encodeMessage({ type: 'Heartbeat', from: 1, to: 2, term: 3, commit: 4, round: 5 });
    const stream = Buffer.concat([
      encodeFrame({ kind: 'hello', protocolVersion: 1, clusterId: 'bench-cluster-ü', nodeId: 3 }),
      encodeFrame({ kind: 'message', payload: message }),
    ]);
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    for (let i = 0; i < stream.length; i++) {
      const result = decoder.push(stream.subarray(i, i + 1));
      assert.equal(result.error, null);
      frames.push(...result.frames);
    }
    assert.deepEqual(frames[0], { kind: 'hello', protocolVersion: 1, clusterId: 'bench-cluster-ü', nodeId: 3 });
    const second = frames[1];
    assert.equal(second?.kind, 'message');
    if (second?.kind !== 'message') return;
    assert.deepEqual(decodeMessage(second.payload), { type: 'Heartbeat', from: 1, to: 2, term: 3, commit: 4, round: 5 });
  });

  test('the layout is as documented: length of the rest, version, kind, then the kind\'s fields', () => {
    const chunk = encodeFrame({ kind: 'snapshot-chunk', transferId: 0x0102030405, sequence: 7, last: true, data: Uint8Array.of(0xee) });
    assert.equal(Buffer.from(chunk).toString('hex'), '10000000' + '01' + '02' + '0504030201000000' + '07000000' + '01' + 'ee');
    const hello = encodeFrame({ kind: 'hello', protocolVersion: 2, clusterId: 'ab', nodeId: 9 });
    assert.equal(Buffer.from(hello).toString('hex'), '11000000' + '01' + '03' + '02000000' + '0900000000000000' + '02' + '6162');
  });

  test('an oversized length prefix is refused as soon as its 4 bytes arrive, before the body is buffered or allocated', () => {
    const frameBytesMax = 1 << 20;
    const decoder = new FrameDecoder({ frameBytesMax });
    const claimed = 256 * 1024 * 1024;
    const before = process.memoryUsage().arrayBuffers;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(claimed, 0);
    assert.deepEqual(decoder.push(prefix.subarray(0, 3)), { frames: [], error: null }, 'three bytes are not yet a length');
    const result = decoder.push(prefix.subarray(3));
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(result.error instanceof FrameDecodeError);
    assert.equal(result.error.field, 'length');
    assert.equal(result.error.offset, 0);
    assert.match(result.error.message, /a 268435460-byte frame exceeds frameBytesMax 1048576/);
    assert.ok(grown < 16 * 1024 * 1024, `the decoder allocated ${grown} bytes for a refused frame`);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('a frame of exactly frameBytesMax is accepted and one byte more is refused', () => {
    const frameBytesMax = 4096;
    const exact = encodeFrame({ kind: 'message', payload: new Uint8Array(frameBytesMax - FRAME_HEADER_BYTES).fill(1) }, { frameBytesMax });
    assert.equal(exact.length, frameBytesMax);
    const accepted = new FrameDecoder({ frameBytesMax }).push(exact);
    assert.equal(accepted.error, null);
    assert.equal(accepted.frames.length, 1);
    const tooBig = new FrameDecoder({ frameBytesMax: frameBytesMax - 1 }).push(exact.subarray(0, 4));
    assert.equal(tooBig.error?.field, 'length');
    assert.throws(() => encodeFrame({ kind: 'message', payload: new Uint8Array(frameBytesMax) }, { frameBytesMax }), /exceeds frameBytesMax 4096/);
    assert.equal(new FrameDecoder().push(header(FRAME_BYTES_MAX_DEFAULT - 4 + 1)).error?.field, 'length', 'the default limit applies');
  });

  test('garbage is refused at its first bytes: an HTTP request, a bad version, an unknown kind, a short length', () => {
    const http = new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(http.error?.field, 'length');
    const version = new FrameDecoder().push(header(100, 2, 1));
    assert.equal(version.error?.field, 'frame version');
    assert.equal(version.error?.offset, 4);
    const kind = new FrameDecoder().push(header(100, 1, 9));
    assert.equal(kind.error?.field, 'kind');
    assert.equal(kind.error?.offset, 5);
    const short = new FrameDecoder().push(Buffer.from([1, 0, 0, 0]));
    assert.equal(short.error?.field, 'length');
    assert.match(short.error?.reason ?? '', /must be ≥ 2/);
  });

  test('malformed payloads are refused naming the field and the stream offset', () => {
    const good = encodeFrame({ kind: 'hello', protocolVersion: 1, clusterId: 'c', nodeId: 1 });
    const hello = (mutate: (bytes: Buffer) => void): FrameDecodeError | null => {
      const bytes = Buffer.concat([good, good]);
      mutate(bytes.subarray(good.length));
      const result = new FrameDecoder().push(bytes);
      assert.equal(result.frames.length, 1, 'the intact frame before the bad one is still returned');
      return result.error;
    };
    const offset = good.length;
    assert.deepEqual([hello((b) => (b[19] = 0xff))?.field, hello((b) => (b[19] = 0xff))?.offset], ['clusterId', offset + 19]);
    assert.equal(hello((b) => b.fill(0, 10, 18))?.field, 'nodeId');
    assert.equal(hello((b) => b.writeUInt32LE(0, 6))?.field, 'protocolVersion');
    assert.equal(hello((b) => (b[18] = 2))?.field, 'clusterId length');
    assert.equal(hello((b) => b.writeUInt32LE(0x200000, 14))?.field, 'nodeId');

    const chunk = Buffer.from(encodeFrame({ kind: 'snapshot-chunk', transferId: 1, sequence: 0, last: false, data: Uint8Array.of(1) }));
    chunk[18] = 2;
    assert.equal(new FrameDecoder().push(chunk).error?.field, 'snapshot chunk flags');
    assert.equal(new FrameDecoder().push(header(2 + 5, 1, 2)).error, null, 'waits for the body');
    assert.equal(new FrameDecoder().push(Buffer.concat([header(2 + 5, 1, 2), Buffer.alloc(5)])).error?.field, 'snapshot chunk header');
    assert.equal(new FrameDecoder().push(header(2, 1, 1)).error?.field, 'message payload');
  });

  test('after an error the decoder stays closed: every later push returns the same error and no frames', () => {
    const decoder = new FrameDecoder();
    const first = decoder.push(header(100, 7, 1));
    assert.ok(first.error !== null);
    const valid = encodeFrame({ kind: 'message', payload: Uint8Array.of(1) });
    const later = decoder.push(valid);
    assert.equal(later.error, first.error);
    assert.deepEqual(later.frames, []);
    assert.equal(decoder.end(), first.error);
  });

  test('end() reports a stream that stopped inside a frame, and nothing at a frame boundary', () => {
    const bytes = encodeFrame({ kind: 'message', payload: new Uint8Array(50) });
    const clean = new FrameDecoder();
    clean.push(bytes);
    assert.equal(clean.end(), null);
    const cut = new FrameDecoder();
    cut.push(bytes.subarray(0, 20));
    const error = cut.end();
    assert.equal(error?.field, 'end of stream');
    assert.match(error?.reason ?? '', /ended 20 bytes into a 56-byte frame/);
    const cutInPrefix = new FrameDecoder();
    cutInPrefix.push(bytes.subarray(0, 2));
    assert.match(cutInPrefix.end()?.reason ?? '', /ended 2 bytes into a length prefix/);
  });

  test('a frame inside one chunk is a view of it (zero copy); a frame split across chunks is copied once', () => {
    const payload = new Uint8Array(100).fill(7);
    const bytes = encodeFrame({ kind: 'message', payload });
    const whole = new FrameDecoder().push(bytes).frames[0];
    assert.ok(whole?.kind === 'message');
    assert.equal(whole.payload.buffer, bytes.buffer);
    const decoder = new FrameDecoder();
    decoder.push(bytes.subarray(0, 30));
    const joined = decoder.push(bytes.subarray(30)).frames[0];
    assert.ok(joined?.kind === 'message');
    assert.notEqual(joined.payload.buffer, bytes.buffer);
    assert.deepEqual(joined.payload, payload);
  });

  test('encodeFrameParts leaves the bulk bytes uncopied, and encoding refuses out-of-range fields', () => {
    const data = new Uint8Array(1000);
    const parts = encodeFrameParts({ kind: 'snapshot-chunk', transferId: 5, sequence: 1, last: false, data });
    assert.equal(parts.body, data);
    assert.deepEqual(Buffer.concat([parts.head, parts.body]), Buffer.from(encodeFrame({ kind: 'snapshot-chunk', transferId: 5, sequence: 1, last: false, data })));
    assert.throws(() => encodeFrame({ kind: 'hello', protocolVersion: 1, clusterId: '', nodeId: 1 }), /clusterId must be 1 … 255 bytes/);
    assert.throws(() => encodeFrame({ kind: 'hello', protocolVersion: 1, clusterId: 'x'.repeat(256), nodeId: 1 }), /clusterId must be 1 … 255 bytes/);
    assert.throws(() => encodeFrame({ kind: 'hello', protocolVersion: 1, clusterId: 'x', nodeId: 0 }), /nodeId must be a safe integer ≥ 1/);
    assert.throws(() => encodeFrame({ kind: 'snapshot-chunk', transferId: 1, sequence: 2 ** 32, last: false, data }), /sequence must be an integer in \[0, 2\^32\)/);
    assert.throws(() => encodeFrame({ kind: 'message', payload: new Uint8Array(0) }), /non-empty payload/);
    assert.throws(() => new FrameDecoder({ frameBytesMax: 3 }), /frameBytesMax must be an integer/);
  });
});

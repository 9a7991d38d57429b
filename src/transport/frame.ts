// Frames on a byte stream (TCP between node processes): length-prefixed and versioned, so a
// receiver can cut the stream into frames whatever the chunk boundaries, and refuse garbage (a
// stray HTTP client, a peer of another version) at the first bytes. Integers are little-endian; a
// u64 carries a safe integer only.
//
// Frame (frame version 1):
//   offset 0   u32  length L of the rest of the frame (version, kind, payload): L ≥ 2 and
//                   4 + L ≤ frameBytesMax
//          4   u8   frame version (1)
//          5   u8   kind: 1 message · 2 snapshot chunk · 3 hello
//          6   payload, L − 2 bytes, by kind:
//     message         one encoded Raft message (codec.ts), at least 1 byte. Left for the caller
//                     to decode: its entries may be zstd-compressed, which decodes asynchronously.
//     snapshot chunk  u64 transferId, u32 sequence (0, 1, 2, … within a transfer),
//                     u8 flags (bit 0: the transfer's last chunk; the other bits 0),
//                     then the chunk's bytes to the end of the frame
//     hello           u32 protocol version (≥ 1), u64 node id (≥ 1),
//                     u8 cluster id length (1 … 255), cluster id (UTF-8)
//                     — the handshake each side sends first; what to do with it is the
//                     connection's business, not this file's
//
// The subtle thing: the length prefix is the one field a peer controls that decides how much we
// buffer. FrameDecoder checks it against frameBytesMax as soon as its 4 bytes arrive — before
// waiting for, or allocating, the body — and checks version and kind as soon as those 2 bytes
// arrive. Errors are *returned* from push(), never thrown, so a socket's data handler cannot leak
// an exception; after an error the decoder is closed (the connection is to be dropped with that
// reason) and every later push returns the same error.
//
// Zero copy: a frame that arrives inside one pushed chunk is returned as views into that chunk
// (message payload, snapshot chunk bytes); only a frame split across chunks is copied, once, into
// a buffer of exactly its size. Callers must not reuse pushed chunks (Node's socket chunks are
// fresh buffers, so this holds for 'data' events).

import type { NodeId } from '../raft/types.js';

export const FRAME_VERSION = 1;
/** Length prefix, version, kind. */
export const FRAME_HEADER_BYTES = 6;
/** The largest frame, header included, unless configured otherwise. */
export const FRAME_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const SNAPSHOT_CHUNK_HEAD_BYTES = 13;
const HELLO_FIXED_BYTES = 13;
const CLUSTER_ID_BYTES_MAX = 255;
const TWO_POW_32 = 4294967296;
const SAFE_HIGH_WORD_LIMIT = 2097152;

const KIND_CODES = { message: 1, 'snapshot-chunk': 2, hello: 3 } as const;
type FrameKind = keyof typeof KIND_CODES;
const KIND_BY_CODE: readonly (FrameKind | undefined)[] = [undefined, 'message', 'snapshot-chunk', 'hello'];

export interface MessageFrame {
  readonly kind: 'message';
  /** One encoded Raft message: hand it to decodeMessage / decodeMessageAsync. */
  readonly payload: Uint8Array;
}

export interface SnapshotChunkFrame {
  readonly kind: 'snapshot-chunk';
  /** The sender's id for one snapshot transfer (chunks of different transfers never mix). */
  readonly transferId: number;
  /** 0 for the first chunk of a transfer, then consecutive. */
  readonly sequence: number;
  /** Set on the transfer's final chunk. */
  readonly last: boolean;
  readonly data: Uint8Array;
}

export interface HelloFrame {
  readonly kind: 'hello';
  readonly protocolVersion: number;
  /** Which cluster the sender belongs to: a connection from another cluster is refused. */
  readonly clusterId: string;
  readonly nodeId: NodeId;
}

export type Frame = MessageFrame | SnapshotChunkFrame | HelloFrame;

/** A malformed or oversized frame: `field` names what was wrong, `offset` where (bytes into the stream). */
export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
  constructor(
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`malformed frame: ${field} at stream byte ${offset}: ${reason}`);
  }
}

export interface FrameLimits {
  /** The largest frame accepted or produced, header included (default FRAME_BYTES_MAX_DEFAULT). */
  readonly frameBytesMax?: number;
}

function frameBytesMaxOf(limits: FrameLimits | undefined): number {
  const value = limits?.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(value) || value < FRAME_HEADER_BYTES || value - 4 >= TWO_POW_32) {
    throw new RangeError(`frameBytesMax must be an integer in [${FRAME_HEADER_BYTES}, 2^32 + 3], got ${value}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * A frame as two parts to write back to back: `head` (length prefix, version, kind and the
 * kind's fixed fields) and `body` (the message payload or the chunk's bytes, not copied; empty for
 * hello). For socket.writev or cork/write/write/uncork, so a large chunk is never copied.
 * Throws RangeError when a field is out of range or the frame exceeds frameBytesMax.
 */
export function encodeFrameParts(frame: Frame, limits?: FrameLimits): { readonly head: Uint8Array; readonly body: Uint8Array } {
  const frameBytesMax = frameBytesMaxOf(limits);
  let head: Buffer;
  let body: Uint8Array;
  switch (frame.kind) {
    case 'message':
      if (frame.payload.length === 0) throw new RangeError('encodeFrame: a message frame needs a non-empty payload');
      head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      body = frame.payload;
      break;
    case 'snapshot-chunk':
      checkSafe('transferId', frame.transferId, 0);
      checkU32('sequence', frame.sequence);
      head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + SNAPSHOT_CHUNK_HEAD_BYTES);
      writeU64(head, FRAME_HEADER_BYTES, frame.transferId);
      head.writeUInt32LE(frame.sequence, FRAME_HEADER_BYTES + 8);
      head[FRAME_HEADER_BYTES + 12] = frame.last ? 1 : 0;
      body = frame.data;
      break;
    case 'hello': {
      checkU32('protocolVersion', frame.protocolVersion);
      if (frame.protocolVersion < 1) throw new RangeError(`encodeFrame: protocolVersion must be ≥ 1, got ${frame.protocolVersion}`);
      checkSafe('nodeId', frame.nodeId, 1);
      const clusterId = Buffer.from(frame.clusterId, 'utf8');
      if (clusterId.length < 1 || clusterId.length > CLUSTER_ID_BYTES_MAX) {
        throw new RangeError(`encodeFrame: clusterId must be 1 … ${CLUSTER_ID_BYTES_MAX} bytes of UTF-8, got ${clusterId.length}`);
      }
      head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + HELLO_FIXED_BYTES + clusterId.length);
      head.writeUInt32LE(frame.protocolVersion, FRAME_HEADER_BYTES);
      writeU64(head, FRAME_HEADER_BYTES + 4, frame.nodeId);
      head[FRAME_HEADER_BYTES + 12] = clusterId.length;
      head.set(clusterId, FRAME_HEADER_BYTES + HELLO_FIXED_BYTES);
      body = new Uint8Array(0);
      break;
    }
  }
  const frameBytes = head.length + body.length;
  if (frameBytes > frameBytesMax) throw new RangeError(`encodeFrame: a ${frame.kind} frame of ${frameBytes} bytes exceeds frameBytesMax ${frameBytesMax}`);
  head.writeUInt32LE(frameBytes - 4, 0);
  head[4] = FRAME_VERSION;
  head[5] = KIND_CODES[frame.kind];
  return { head, body };
}

/** A frame as one buffer (copies the payload; see encodeFrameParts to avoid that). */
export function encodeFrame(frame: Frame, limits?: FrameLimits): Uint8Array {
  const { head, body } = encodeFrameParts(frame, limits);
  if (body.length === 0) return head;
  const bytes = Buffer.allocUnsafe(head.length + body.length);
  bytes.set(head, 0);
  bytes.set(body, head.length);
  return bytes;
}

function checkSafe(field: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`encodeFrame: ${field} must be a safe integer ≥ ${minimum}, got ${value}`);
}

function checkU32(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_POW_32) throw new RangeError(`encodeFrame: ${field} must be an integer in [0, 2^32), got ${value}`);
}

function writeU64(target: Buffer, offset: number, value: number): void {
  const low = value >>> 0;
  target.writeUInt32LE(low, offset);
  target.writeUInt32LE((value - low) / TWO_POW_32, offset + 4);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

export interface FramePushResult {
  /** The frames completed by this push, in stream order (those before an error included). */
  readonly frames: Frame[];
  /** Set when the stream is malformed: close the connection with this reason. */
  readonly error: FrameDecodeError | null;
}

/** Reads one whole frame's fields; `streamOffset` is where the frame starts in the stream, for errors. */
function parseFrame(bytes: Uint8Array, kind: FrameKind, streamOffset: number): Frame | FrameDecodeError {
  const payloadBytes = bytes.length - FRAME_HEADER_BYTES;
  const at = (offset: number): number => streamOffset + offset;
  const u32 = (offset: number): number => (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) + bytes[offset + 3]! * 0x1000000;
  const view = (offset: number, length: number): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
  switch (kind) {
    case 'message':
      if (payloadBytes === 0) return new FrameDecodeError('message payload', at(FRAME_HEADER_BYTES), 'a message frame carries no message');
      return { kind, payload: view(FRAME_HEADER_BYTES, payloadBytes) };
    case 'snapshot-chunk': {
      if (payloadBytes < SNAPSHOT_CHUNK_HEAD_BYTES) {
        return new FrameDecodeError('snapshot chunk header', at(FRAME_HEADER_BYTES), `needs ${SNAPSHOT_CHUNK_HEAD_BYTES} bytes but the frame holds ${payloadBytes}`);
      }
      const high = u32(FRAME_HEADER_BYTES + 4);
      if (high >= SAFE_HIGH_WORD_LIMIT) return new FrameDecodeError('transferId', at(FRAME_HEADER_BYTES), 'exceeds 2^53-1 (not a safe integer)');
      const transferId = high * TWO_POW_32 + u32(FRAME_HEADER_BYTES);
      const sequence = u32(FRAME_HEADER_BYTES + 8);
      const flags = bytes[FRAME_HEADER_BYTES + 12]!;
      if (flags > 1) return new FrameDecodeError('snapshot chunk flags', at(FRAME_HEADER_BYTES + 12), `only bit 0 (last) is defined, got ${flags}`);
      const dataOffset = FRAME_HEADER_BYTES + SNAPSHOT_CHUNK_HEAD_BYTES;
      return { kind, transferId, sequence, last: flags === 1, data: view(dataOffset, bytes.length - dataOffset) };
    }
    case 'hello': {
      if (payloadBytes < HELLO_FIXED_BYTES) return new FrameDecodeError('hello', at(FRAME_HEADER_BYTES), `needs at least ${HELLO_FIXED_BYTES} bytes but the frame holds ${payloadBytes}`);
      const protocolVersion = u32(FRAME_HEADER_BYTES);
      if (protocolVersion < 1) return new FrameDecodeError('protocolVersion', at(FRAME_HEADER_BYTES), 'must be ≥ 1, got 0');
      const high = u32(FRAME_HEADER_BYTES + 8);
      if (high >= SAFE_HIGH_WORD_LIMIT) return new FrameDecodeError('nodeId', at(FRAME_HEADER_BYTES + 4), 'exceeds 2^53-1 (not a safe integer)');
      const nodeId = high * TWO_POW_32 + u32(FRAME_HEADER_BYTES + 4);
      if (nodeId < 1) return new FrameDecodeError('nodeId', at(FRAME_HEADER_BYTES + 4), 'must be ≥ 1, got 0');
      const clusterIdLength = bytes[FRAME_HEADER_BYTES + 12]!;
      const clusterIdOffset = FRAME_HEADER_BYTES + HELLO_FIXED_BYTES;
      if (clusterIdLength < 1) return new FrameDecodeError('clusterId length', at(FRAME_HEADER_BYTES + 12), 'must be ≥ 1, got 0');
      if (clusterIdLength !== bytes.length - clusterIdOffset) {
        return new FrameDecodeError('clusterId length', at(FRAME_HEADER_BYTES + 12), `says ${clusterIdLength} bytes but the frame holds ${bytes.length - clusterIdOffset} after it`);
      }
      let clusterId: string;
      try {
        clusterId = UTF8.decode(view(clusterIdOffset, clusterIdLength));
      } catch {
        return new FrameDecodeError('clusterId', at(clusterIdOffset), 'is not valid UTF-8');
      }
      return { kind, protocolVersion, clusterId, nodeId };
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Cuts a byte stream into frames: push() each chunk as it arrives (any boundaries) and act on the
 * frames it returns; end() when the stream closes. See the head of this file for the error rules.
 */
export class FrameDecoder {
  private readonly frameBytesMax: number;
  private readonly chunks: Uint8Array[] = [];
  /** chunks[0 … headChunk) are used up; chunks[headChunk] is read from headOffset on. */
  private headChunk = 0;
  private headOffset = 0;
  private buffered = 0;
  /** Stream offset of the first buffered byte. */
  private streamOffset = 0;
  /** The current frame's whole size once its length prefix has been read and checked, else -1. */
  private frameBytes = -1;
  private kind: FrameKind | null = null;
  private failure: FrameDecodeError | null = null;

  constructor(limits?: FrameLimits) {
    this.frameBytesMax = frameBytesMaxOf(limits);
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): FramePushResult {
    const frames: Frame[] = [];
    if (this.failure !== null) return { frames, error: this.failure };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.frameBytes < 0) {
        if (this.buffered < 4) break;
        const length = this.peekU32();
        if (length < 2) return this.fail(frames, new FrameDecodeError('length', this.streamOffset, `must be ≥ 2 (version and kind), got ${length}`));
        if (length > this.frameBytesMax - 4) {
          return this.fail(frames, new FrameDecodeError('length', this.streamOffset, `a ${length + 4}-byte frame exceeds frameBytesMax ${this.frameBytesMax}`));
        }
        this.frameBytes = length + 4;
      }
      if (this.kind === null) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const version = this.peekByte(4);
        if (version !== FRAME_VERSION) {
          return this.fail(frames, new FrameDecodeError('frame version', this.streamOffset + 4, `unsupported version ${version} (this build reads ${FRAME_VERSION})`));
        }
        const kindCode = this.peekByte(5);
        const kind = KIND_BY_CODE[kindCode];
        if (kind === undefined) return this.fail(frames, new FrameDecodeError('kind', this.streamOffset + 5, `unknown frame kind ${kindCode} (1 message, 2 snapshot chunk, 3 hello)`));
        this.kind = kind;
      }
      if (this.buffered < this.frameBytes) break;
      const frameStart = this.streamOffset;
      const parsed = parseFrame(this.take(this.frameBytes), this.kind, frameStart);
      this.frameBytes = -1;
      this.kind = null;
      if (parsed instanceof FrameDecodeError) return this.fail(frames, parsed);
      frames.push(parsed);
    }
    return { frames, error: null };
  }

  /** The stream has closed: an error if it stopped inside a frame, else null. */
  end(): FrameDecodeError | null {
    if (this.failure !== null) return this.failure;
    if (this.buffered === 0) return null;
    const expected = this.frameBytes < 0 ? 'a length prefix' : `a ${this.frameBytes}-byte frame`;
    this.failure = new FrameDecodeError('end of stream', this.streamOffset + this.buffered, `the stream ended ${this.buffered} bytes into ${expected}`);
    return this.failure;
  }

  private fail(frames: Frame[], error: FrameDecodeError): FramePushResult {
    this.failure = error;
    this.chunks.length = 0;
    this.headChunk = 0;
    this.headOffset = 0;
    this.buffered = 0;
    return { frames, error };
  }

  /** The byte `index` bytes past the first buffered byte (index < buffered). */
  private peekByte(index: number): number {
    let chunkIndex = this.headChunk;
    let offset = this.headOffset + index;
    for (;;) {
      const chunk = this.chunks[chunkIndex]!;
      if (offset < chunk.length) return chunk[offset]!;
      offset -= chunk.length;
      chunkIndex++;
    }
  }

  private peekU32(): number {
    const head = this.chunks[this.headChunk]!;
    const o = this.headOffset;
    if (o + 4 <= head.length) return (head[o]! | (head[o + 1]! << 8) | (head[o + 2]! << 16)) + head[o + 3]! * 0x1000000;
    return (this.peekByte(0) | (this.peekByte(1) << 8) | (this.peekByte(2) << 16)) + this.peekByte(3) * 0x1000000;
  }

  /** Removes the next `count` buffered bytes (count ≤ buffered, already bounded by frameBytesMax): a view when they lie in one chunk, else one copy. */
  private take(count: number): Uint8Array {
    this.buffered -= count;
    this.streamOffset += count;
    const head = this.chunks[this.headChunk]!;
    if (this.headOffset + count <= head.length) {
      const view = new Uint8Array(head.buffer, head.byteOffset + this.headOffset, count);
      this.advance(count);
      return view;
    }
    const copy = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[this.headChunk]!;
      const piece = Math.min(count - filled, chunk.length - this.headOffset);
      copy.set(chunk.subarray(this.headOffset, this.headOffset + piece), filled);
      filled += piece;
      this.advance(piece);
    }
    return copy;
  }

  /** Moves the read position `count` bytes on within the head chunk, dropping it once used up. */
  private advance(count: number): void {
    this.headOffset += count;
    if (this.headOffset < this.chunks[this.headChunk]!.length) return;
    this.headOffset = 0;
    this.headChunk++;
    // Drop used-up chunks in batches so a long stream does not hold them (or shift per frame).
    if (this.headChunk === this.chunks.length) {
      this.chunks.length = 0;
      this.headChunk = 0;
    } else if (this.headChunk >= 64) {
      this.chunks.splice(0, this.headChunk);
      this.headChunk = 0;
    }
  }
}

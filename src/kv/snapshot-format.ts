// The state machine's snapshot as a byte stream: the whole state (client sessions, data, the
// last applied index) cut into chunks of bounded size, the form the storage layer's snapshot
// files and InstallSnapshot transfers consume.
//
// Stream format, version 2 (integers little-endian; u64 fields hold safe integers only):
//   header    8 B magic "RBKVSNAP", u32 format version (2), u64 lastAppliedIndex
//   records, each starting with a u8 tag, sessions first, then pairs:
//     2 session   u64 sessionId, u64 lastUsedIndex, u64 lowestUnacknowledged, u32 responseCount
//                 (least recently used first: restoring in stream order restores the eviction order)
//     3 response  u64 sequence, u32 responseLength, response
//                 (exactly responseCount of them follow their session, sequences strictly
//                 increasing and ≥ its lowestUnacknowledged)
//     1 pair      u64 version, u32 keyLength, key, u32 valueLength, value   (strictly increasing keys)
//     255 end     u64 pairCount, u64 sessionCount, u32 CRC32C of every byte before this field
//   nothing after the end record.
// Sessions come first: they are the part the state machine copies when the snapshot is taken
// (they are bounded), the pairs the part it reads from the live map as the stream goes, so the
// stream is the fixed part, then the long tail. The copy is held until the stream ends or is
// returned.
// Version 1 (sessions keyed by clientId with one response each, after the pairs) is refused with
// an error naming it. Records are laid end to end regardless of chunk boundaries (a 1 MiB value
// spans 16 chunks). The end record's counts and checksum make truncation and corruption
// detectable; every error names the field and its byte offset in the stream (SnapshotFormatError).

import { crc32c } from '@node-rs/crc32';
import type { KeyValueVersion } from './ordered-map.js';
import type { RememberedResponse, SessionSource, SessionState } from './sessions.js';

export const SNAPSHOT_FORMAT_VERSION = 2;
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 64 * 1024;
const MAGIC = Buffer.from('RBKVSNAP', 'latin1');
const HEADER_BYTES = 8 + 4 + 8;
const TAG_PAIR = 1;
const TAG_SESSION = 2;
const TAG_RESPONSE = 3;
const TAG_END = 255;
const SESSION_RECORD_BYTES = 1 + 8 + 8 + 8 + 4;
const RESPONSE_RECORD_HEADER_BYTES = 1 + 8 + 4;
const PAIR_RECORD_HEADER_BYTES = 1 + 8 + 4;
const END_RECORD_BYTES = 1 + 8 + 8 + 4;
const TWO_POW_32 = 4294967296;
const SAFE_HIGH_WORD_LIMIT = 2097152;

/** What a snapshot stream is written from. */
export interface SnapshotSource {
  readonly lastAppliedIndex: number;
  /** Least recently used first. */
  readonly sessions: readonly SessionSource[];
  /** In strictly increasing key order; iterated lazily, as the stream is consumed. */
  readonly pairs: Iterable<KeyValueVersion>;
}

/** What a snapshot stream decodes to. */
export interface SnapshotContents extends SnapshotSource {
  readonly sessions: readonly SessionState[];
  readonly pairs: readonly KeyValueVersion[];
}

/** Bounds a reader enforces, so a corrupt length cannot make it wait for (or allocate) gigabytes. */
export interface SnapshotReadLimits {
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly responseBytesMax: number;
  readonly responsesPerSessionMax: number;
}

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
  constructor(
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`malformed snapshot stream: ${field} at byte ${offset}: ${reason}`);
  }
}

/** The stream holds the state at another index than the one its Raft snapshot metadata names. */
export class SnapshotIndexMismatchError extends Error {
  override readonly name = 'SnapshotIndexMismatchError';
  constructor(
    readonly snapshotIndex: number,
    readonly expectedIndex: number,
  ) {
    super(`snapshot stream holds the state as of index ${snapshotIndex}, but the Raft snapshot metadata says index ${expectedIndex}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** Fills fixed-size chunks, folding each finished chunk into the running CRC32C. */
class ChunkWriter {
  private chunk: Buffer;
  private used = 0;
  private crc = 0;
  private sealed = false;
  readonly finished: Uint8Array[] = [];

  constructor(private readonly chunkBytes: number) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  private flush(): void {
    if (!this.sealed) this.crc = crc32c(this.chunk.subarray(0, this.used), this.crc);
    this.finished.push(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
  }

  bytes(source: Uint8Array): void {
    let from = 0;
    while (from < source.length) {
      if (this.used === this.chunkBytes) this.flush();
      const count = Math.min(source.length - from, this.chunkBytes - this.used);
      this.chunk.set(source.subarray(from, from + count), this.used);
      this.used += count;
      from += count;
    }
  }

  // Fixed-width fields go straight into the chunk when they fit, else through a scratch buffer.
  private readonly scratch = Buffer.allocUnsafe(8);
  u8(value: number): void {
    if (this.used === this.chunkBytes) this.flush();
    this.chunk[this.used++] = value;
  }
  u32(value: number): void {
    if (this.chunkBytes - this.used >= 4) {
      this.chunk.writeUInt32LE(value, this.used);
      this.used += 4;
    } else {
      this.scratch.writeUInt32LE(value, 0);
      this.bytes(this.scratch.subarray(0, 4));
    }
  }
  u64(value: number): void {
    const low = value >>> 0;
    const high = Math.floor(value / TWO_POW_32);
    if (this.chunkBytes - this.used >= 8) {
      this.chunk.writeUInt32LE(low, this.used);
      this.chunk.writeUInt32LE(high, this.used + 4);
      this.used += 8;
    } else {
      this.scratch.writeUInt32LE(low, 0);
      this.scratch.writeUInt32LE(high, 4);
      this.bytes(this.scratch);
    }
  }

  /** The checksum of everything written so far; nothing written afterwards is checksummed. */
  seal(): number {
    this.crc = crc32c(this.chunk.subarray(0, this.used), this.crc);
    this.sealed = true;
    // Bytes already folded must not be folded again when this chunk is flushed.
    return this.crc;
  }

  end(): void {
    if (this.used > 0) this.flush();
  }
}

/**
 * The stream of `source`, in chunks of exactly `chunkBytes` (the last may be shorter). Encoding
 * is lazy: a chunk is built when the consumer asks for it, and `source.pairs` is advanced only as
 * far as that chunk needs, so memory stays at one chunk plus one pair beyond it.
 */
export async function* encodeSnapshot(source: SnapshotSource, chunkBytes = SNAPSHOT_CHUNK_BYTES_DEFAULT): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 64) throw new RangeError(`chunkBytes must be an integer ≥ 64, got ${chunkBytes}`);
  const writer = new ChunkWriter(chunkBytes);
  writer.bytes(MAGIC);
  writer.u32(SNAPSHOT_FORMAT_VERSION);
  writer.u64(source.lastAppliedIndex);
  for (const session of source.sessions) {
    writer.u8(TAG_SESSION);
    writer.u64(session.sessionId);
    writer.u64(session.lastUsedIndex);
    writer.u64(session.lowestUnacknowledged);
    writer.u32(session.responses.length);
    for (const remembered of session.responses) {
      writer.u8(TAG_RESPONSE);
      writer.u64(remembered.sequence);
      writer.u32(remembered.response.length);
      writer.bytes(remembered.response);
      while (writer.finished.length > 0) yield writer.finished.shift()!;
    }
    while (writer.finished.length > 0) yield writer.finished.shift()!;
  }
  let pairCount = 0;
  for (const pair of source.pairs) {
    writer.u8(TAG_PAIR);
    writer.u64(pair.version);
    writer.u32(pair.key.length);
    writer.bytes(pair.key);
    writer.u32(pair.value.length);
    writer.bytes(pair.value);
    pairCount++;
    while (writer.finished.length > 0) yield writer.finished.shift()!;
  }
  writer.u8(TAG_END);
  writer.u64(pairCount);
  writer.u64(source.sessions.length);
  writer.u32(writer.seal());
  writer.end();
  while (writer.finished.length > 0) yield writer.finished.shift()!;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** Outcome of trying to parse one record from the buffered bytes. */
const NEED_MORE = -1;

interface SessionBuilder {
  readonly sessionId: number;
  readonly lastUsedIndex: number;
  readonly lowestUnacknowledged: number;
  readonly responses: RememberedResponse[];
  /** How many response records the session record announced. */
  readonly responseCount: number;
}

/**
 * An incremental parser: chunks are pushed as they arrive; whole records are parsed from the
 * buffered bytes, and a record cut by a chunk boundary waits (without re-copying) until the
 * chunks holding the rest have arrived, then is joined once.
 */
class SnapshotParser {
  private buffer: Uint8Array = new Uint8Array(0);
  private offset = 0;
  /** Absolute stream offset of buffer[0]. */
  private bufferBase = 0;
  private readonly queued: Uint8Array[] = [];
  private queuedBytes = 0;
  /** Bytes needed from `offset` before parsing can make progress. */
  private needed = HEADER_BYTES;
  /** buffer[0 … crcFolded) is already in the running checksum. */
  private crcFolded = 0;
  private crc = 0;

  private headerRead = false;
  private ended = false;
  lastAppliedIndex = 0;
  readonly pairs: KeyValueVersion[] = [];
  readonly sessions: SessionBuilder[] = [];
  private readonly sessionIds = new Set<number>();

  constructor(
    private readonly limits: SnapshotReadLimits,
    private readonly expectedLastAppliedIndex: number | undefined,
  ) {}

  private fail(field: string, offsetInBuffer: number, reason: string): never {
    throw new SnapshotFormatError(field, this.bufferBase + offsetInBuffer, reason);
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.ended) this.fail('end', this.buffer.length + this.queuedBytes, `${chunk.length} bytes after the end record`);
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.buffer.length - this.offset + this.queuedBytes < this.needed) return;
    this.consolidate();
    this.parseAvailable();
  }

  /** Joins the unparsed rest of the buffer with the queued chunks into one buffer. */
  private consolidate(): void {
    this.foldCrc(this.offset);
    const rest = this.buffer.subarray(this.offset);
    const parts = rest.length > 0 ? [rest, ...this.queued] : this.queued.slice();
    this.bufferBase += this.offset;
    this.buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.offset = 0;
    this.crcFolded = 0;
    this.queued.length = 0;
    this.queuedBytes = 0;
  }

  private foldCrc(upTo: number): void {
    if (upTo > this.crcFolded) this.crc = crc32c(this.buffer.subarray(this.crcFolded, upTo), this.crc);
    this.crcFolded = upTo;
  }

  private parseAvailable(): void {
    for (;;) {
      if (this.ended) {
        if (this.offset < this.buffer.length) this.fail('end', this.offset, `${this.buffer.length - this.offset} bytes after the end record`);
        return;
      }
      const step = this.headerRead ? this.parseRecord() : this.parseHeader();
      if (step === NEED_MORE) return;
    }
  }

  private u32(at: number): number {
    const b = this.buffer;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
  }
  private u64(field: string, at: number): number {
    const high = this.u32(at + 4);
    if (high >= SAFE_HIGH_WORD_LIMIT) this.fail(field, at, 'exceeds 2^53-1 (not a safe integer)');
    return high * TWO_POW_32 + this.u32(at);
  }

  /** True if `count` bytes are buffered from `at`; otherwise records what is needed. */
  private have(at: number, count: number): boolean {
    const available = this.buffer.length - at;
    if (available >= count) return true;
    this.needed = at - this.offset + count;
    return false;
  }

  private parseHeader(): number {
    const at = this.offset;
    if (!this.have(at, HEADER_BYTES)) return NEED_MORE;
    if (Buffer.compare(this.buffer.subarray(at, at + 8), MAGIC) !== 0) this.fail('magic', at, 'not a raftbench KV snapshot (expected "RBKVSNAP")');
    const version = this.u32(at + 8);
    if (version !== SNAPSHOT_FORMAT_VERSION) {
      const why = version === 1 ? ' (version 1 held one response per client, without registered sessions)' : '';
      this.fail('format version', at + 8, `unsupported version ${version}${why}; this build reads ${SNAPSHOT_FORMAT_VERSION}`);
    }
    this.lastAppliedIndex = this.u64('lastAppliedIndex', at + 12);
    // Checked before any record is read, so a wrong stream is refused at once, not after gigabytes.
    const expected = this.expectedLastAppliedIndex;
    if (expected !== undefined && this.lastAppliedIndex !== expected) throw new SnapshotIndexMismatchError(this.lastAppliedIndex, expected);
    this.headerRead = true;
    this.offset = at + HEADER_BYTES;
    this.needed = 1;
    return 0;
  }

  private recordNumber(): number {
    let responses = 0;
    for (const session of this.sessions) responses += session.responses.length;
    return this.sessions.length + responses + this.pairs.length;
  }

  /** The session whose response records are still due, if any. */
  private openSession(): SessionBuilder | undefined {
    const session = this.sessions[this.sessions.length - 1];
    return session !== undefined && session.responses.length < session.responseCount ? session : undefined;
  }

  private parseRecord(): number {
    const at = this.offset;
    if (!this.have(at, 1)) return NEED_MORE;
    const tag = this.buffer[at]!;
    if (tag !== TAG_RESPONSE) {
      const open = this.openSession();
      if (open !== undefined) {
        const field = `sessions[${this.sessions.length - 1}].responses[${open.responses.length}] tag`;
        this.fail(field, at, `session ${open.sessionId} announced ${open.responseCount} responses but only ${open.responses.length} came before tag ${tag}`);
      }
    }
    switch (tag) {
      case TAG_SESSION:
        return this.parseSession(at);
      case TAG_RESPONSE:
        return this.parseResponse(at);
      case TAG_PAIR:
        return this.parsePair(at);
      case TAG_END:
        return this.parseEnd(at);
      default:
        this.fail(`record tag (record ${this.recordNumber()})`, at, `unknown tag ${tag} (1 pair, 2 session, 3 response, 255 end)`);
    }
  }

  private parseSession(at: number): number {
    const field = `sessions[${this.sessions.length}]`;
    if (this.pairs.length > 0) this.fail(`${field} tag`, at, 'a session after the pairs have started');
    if (!this.have(at, SESSION_RECORD_BYTES)) return NEED_MORE;
    const sessionId = this.u64(`${field}.sessionId`, at + 1);
    const lastUsedIndex = this.u64(`${field}.lastUsedIndex`, at + 9);
    const lowestUnacknowledged = this.u64(`${field}.lowestUnacknowledged`, at + 17);
    const responseCount = this.u32(at + 25);
    // A session's id is the index of the entry that registered it, so it lies within the log.
    if (sessionId < 1 || sessionId > this.lastAppliedIndex) this.fail(`${field}.sessionId`, at + 1, `must be in [1, lastAppliedIndex ${this.lastAppliedIndex}], got ${sessionId}`);
    if (this.sessionIds.has(sessionId)) this.fail(`${field}.sessionId`, at + 1, `session ${sessionId} appears twice`);
    if (lastUsedIndex < sessionId || lastUsedIndex > this.lastAppliedIndex) {
      this.fail(`${field}.lastUsedIndex`, at + 9, `must be in [sessionId ${sessionId}, lastAppliedIndex ${this.lastAppliedIndex}], got ${lastUsedIndex}`);
    }
    const previous = this.sessions[this.sessions.length - 1];
    if (previous !== undefined && previous.lastUsedIndex > lastUsedIndex) this.fail(`${field}.lastUsedIndex`, at + 9, 'sessions are not in least-recently-used-first order');
    if (lowestUnacknowledged < 1) this.fail(`${field}.lowestUnacknowledged`, at + 17, 'must be ≥ 1');
    if (responseCount > this.limits.responsesPerSessionMax) {
      this.fail(`${field}.responseCount`, at + 25, `${responseCount} exceeds the limit of ${this.limits.responsesPerSessionMax} responses per session`);
    }
    this.sessionIds.add(sessionId);
    this.sessions.push({ sessionId, lastUsedIndex, lowestUnacknowledged, responseCount, responses: [] });
    this.offset = at + SESSION_RECORD_BYTES;
    this.needed = 1;
    return 0;
  }

  private parseResponse(at: number): number {
    const session = this.openSession();
    if (session === undefined) this.fail(`record tag (record ${this.recordNumber()})`, at, 'a response record outside a session (no session announced more responses)');
    const field = `sessions[${this.sessions.length - 1}].responses[${session.responses.length}]`;
    if (!this.have(at, RESPONSE_RECORD_HEADER_BYTES)) return NEED_MORE;
    const sequence = this.u64(`${field}.sequence`, at + 1);
    const previous = session.responses[session.responses.length - 1];
    if (sequence < session.lowestUnacknowledged) this.fail(`${field}.sequence`, at + 1, `${sequence} is below the session's lowestUnacknowledged ${session.lowestUnacknowledged}`);
    if (previous !== undefined && sequence <= previous.sequence) this.fail(`${field}.sequence`, at + 1, `sequences are not strictly increasing (${previous.sequence} then ${sequence})`);
    const responseLength = this.u32(at + 9);
    if (responseLength > this.limits.responseBytesMax) this.fail(`${field}.response length`, at + 9, `${responseLength} exceeds ${this.limits.responseBytesMax} bytes`);
    if (!this.have(at, RESPONSE_RECORD_HEADER_BYTES + responseLength)) return NEED_MORE;
    const responseAt = at + RESPONSE_RECORD_HEADER_BYTES;
    session.responses.push({ sequence, response: this.buffer.subarray(responseAt, responseAt + responseLength) });
    this.offset = responseAt + responseLength;
    this.needed = 1;
    return 0;
  }

  private parsePair(at: number): number {
    const field = `pairs[${this.pairs.length}]`;
    if (!this.have(at, PAIR_RECORD_HEADER_BYTES)) return NEED_MORE;
    const version = this.u64(`${field}.version`, at + 1);
    if (version < 1 || version > this.lastAppliedIndex) this.fail(`${field}.version`, at + 1, `must be in [1, lastAppliedIndex ${this.lastAppliedIndex}], got ${version}`);
    const keyLength = this.u32(at + 9);
    if (keyLength > this.limits.keyBytesMax) this.fail(`${field}.key length`, at + 9, `${keyLength} exceeds the key limit of ${this.limits.keyBytesMax} bytes`);
    if (!this.have(at, 17 + keyLength)) return NEED_MORE;
    const valueLengthAt = at + 13 + keyLength;
    const valueLength = this.u32(valueLengthAt);
    if (valueLength > this.limits.valueBytesMax) this.fail(`${field}.value length`, valueLengthAt, `${valueLength} exceeds the value limit of ${this.limits.valueBytesMax} bytes`);
    if (!this.have(at, 17 + keyLength + valueLength)) return NEED_MORE;
    const key = this.buffer.subarray(at + 13, at + 13 + keyLength);
    const previous = this.pairs[this.pairs.length - 1];
    if (previous !== undefined && Buffer.compare(previous.key, key) >= 0) this.fail(`${field}.key`, at + 13, 'keys are not in strictly increasing order');
    const value = this.buffer.subarray(valueLengthAt + 4, valueLengthAt + 4 + valueLength);
    this.pairs.push({ key, value, version });
    this.offset = valueLengthAt + 4 + valueLength;
    this.needed = 1;
    return 0;
  }

  private parseEnd(at: number): number {
    if (!this.have(at, END_RECORD_BYTES)) return NEED_MORE;
    const pairCount = this.u64('end.pairCount', at + 1);
    if (pairCount !== this.pairs.length) this.fail('end.pairCount', at + 1, `says ${pairCount} pairs but the stream held ${this.pairs.length}`);
    const sessionCount = this.u64('end.sessionCount', at + 9);
    if (sessionCount !== this.sessions.length) this.fail('end.sessionCount', at + 9, `says ${sessionCount} sessions but the stream held ${this.sessions.length}`);
    this.foldCrc(at + 17);
    const expected = this.u32(at + 17);
    if (expected !== this.crc >>> 0) this.fail('end.crc32c', at + 17, `checksum mismatch: stream says ${expected}, bytes give ${this.crc >>> 0}`);
    this.offset = at + END_RECORD_BYTES;
    this.ended = true;
    return 0;
  }

  finish(): SnapshotContents {
    if (!this.ended) {
      const streamBytes = this.bufferBase + this.buffer.length + this.queuedBytes;
      const what = this.headerRead ? `inside or before record ${this.recordNumber()} (no end record)` : 'in the header';
      throw new SnapshotFormatError('end', streamBytes, `stream truncated after ${streamBytes} bytes, ${what}`);
    }
    const sessions: SessionState[] = this.sessions.map(({ sessionId, lastUsedIndex, lowestUnacknowledged, responses }) => ({
      sessionId,
      lastUsedIndex,
      lowestUnacknowledged,
      responses,
    }));
    return { lastAppliedIndex: this.lastAppliedIndex, sessions, pairs: this.pairs };
  }
}

export interface SnapshotReadOptions {
  /**
   * The index the Raft snapshot metadata names: a stream holding another index is refused
   * (SnapshotIndexMismatchError) as soon as its header is read.
   */
  readonly expectedLastAppliedIndex?: number;
}

/**
 * Reads a whole snapshot stream. Keys, values and responses in the result are views into the
 * chunks (the consumer copies what it keeps). Throws SnapshotFormatError on a malformed,
 * truncated or corrupted stream, having changed nothing.
 */
export async function decodeSnapshot(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limits: SnapshotReadLimits,
  options: SnapshotReadOptions = {},
): Promise<SnapshotContents> {
  const parser = new SnapshotParser(limits, options.expectedLastAppliedIndex);
  for await (const chunk of chunks) parser.push(chunk);
  return parser.finish();
}

// Raft messages as bytes: the one binary codec every transport uses (TCP between processes, the
// in-process cluster, and the simulation, which counts "bytes on the wire" with it). Integers are
// little-endian; a u64 is two u32 words, low word first, and carries a safe integer only (a larger
// value is a decode error).
//
// Message (format version 1):
//   offset 0   u8   format version (1)
//          1   u8   type: 1 PreVote · 2 PreVoteResponse · 3 Vote · 4 VoteResponse · 5 AppendEntries ·
//                   6 AppendEntriesResponse · 7 Heartbeat · 8 HeartbeatResponse · 9 InstallSnapshot ·
//                   10 InstallSnapshotResponse · 11 TimeoutNow · 12 ReadIndex · 13 ReadIndexResponse
//          2   u64  from   (≥ 1)
//         10   u64  to     (≥ 1)
//         18   u64  term
//         26   body, by type (booleans are a u8 that must be 0 or 1):
//     PreVote                  u64 lastLogIndex, u64 lastLogTerm                              16 bytes
//     Vote                     u64 lastLogIndex, u64 lastLogTerm, u8 transfer                 17
//     PreVoteResponse          u8 granted                                                      1
//     VoteResponse             u8 granted                                                      1
//     AppendEntries            u64 prevLogIndex, u64 prevLogTerm, u64 commit, u32 entry count n,
//                              and when n > 0 the entries section below                  28 + …
//     AppendEntriesResponse    u8 success, u64 matchIndex, u64 hintIndex, u64 hintTerm        25
//     Heartbeat                u64 commit, u64 round                                          16
//     HeartbeatResponse        u64 round                                                       8
//     InstallSnapshot          u64 index (≥ 1), u64 term (≥ 1), u32 voter count v (≥ 1),
//                              v × u64 voter id (≥ 1)                                    20 + 8v
//     InstallSnapshotResponse  u64 matchIndex, u8 success                                      9
//     TimeoutNow               —                                                               0
//     ReadIndex                u64 context                                                     8
//     ReadIndexResponse        u64 context, u64 index, u8 success                             17
//   and nothing after the body.
//
// Entries section (AppendEntries with n > 0), at offset 54:
//          54  u8   codec of the stored block: 0 none · 1 lz4 · 2 zstd (src/storage/codec.ts ids)
//          55  u32  raw block length R (before compression)
//          59  u32  stored block length S (= R under codec 0)
//          63  the stored block, S bytes, to the end of the message
// Raw block (what the codec compresses), R = 4 + 12r + 4n + Σ data lengths:
//          u32  run count r (1 ≤ r ≤ n)
//          r ×  (u64 term, u32 entries in the run ≥ 1)  — runs of equal term; the counts sum to n
//          n ×  u32 data length
//          the entries' data, back to back, to the end of the block
// Entry indexes are not sent: the entries start at prevLogIndex + 1 and are contiguous (the
// message type's own invariant), so the first index *is* prevLogIndex + 1. Lengths go before the
// data so that every length is checked against the block before any entry is built.
// Stored block under lz4: lz4-napi's block format (a u32 LE uncompressed size, which must equal
// R, then an LZ4 block). Under zstd: exactly one zstd frame (see zstd-frame.ts). The encoder keeps
// a compressed block only when it is at least 1/16 smaller than the raw one (else codec 0).
//
// Decoding never trusts a length: every field is bounds-checked, every count is checked against
// the bytes that must hold it before anything is allocated, a compressed block's output size is
// checked against `blockBytesMax` *before* decompressing (lz4's size prefix; zstd's block headers),
// and a failure is a MessageDecodeError naming the field and byte offset. The decoder checks the
// protocol invariants of validate.ts as it reads (entry terms non-decreasing from prevLogTerm and
// at most the message term, and so on) and then runs validateMessage itself as a guard, so no
// malformed message reaches the core.
//
// Zero copy: decoding an uncompressed block returns entries whose `data` are views into the input
// bytes — the caller must not reuse or overwrite that buffer while the entries live (a network
// chunk or a fresh encoding, never a pooled receive buffer). Encoding sizes the message exactly
// first and writes it into one buffer.
//
// Sync and async: encodeMessage / decodeMessage are synchronous for codecs none and lz4 (the
// in-process transport and the deterministic simulation call them on their hot path). zstd's
// binding (@mongodb-js/zstd 1.2.x) is asynchronous only, so zstd needs encodeMessageAsync /
// decodeMessageAsync, which handle every codec; the synchronous pair refuses zstd with an error
// that says so.

import { compressSync as lz4CompressSync } from 'lz4-napi';
import { MessageValidationError } from '../raft/errors.js';
import type { AppendEntriesRequest, Entry, Message, MessageType, NodeId } from '../raft/types.js';
import { validateMessage } from '../raft/validate.js';
import { CODEC_ID, codecName, createCodec, decompressSync, decompressWith, isCodecId, type CodecId, type CodecSpec } from '../storage/codec.js';
import { inspectZstdFrame } from './zstd-frame.js';

export const MESSAGE_FORMAT_VERSION = 1;
/** Version, type, from, to, term. */
export const MESSAGE_HEADER_BYTES = 26;
/** Entry blocks below this many raw bytes are sent uncompressed whatever the codec (the default). */
export const COMPRESS_BYTES_MIN_DEFAULT = 256;
/** The largest (decompressed) entries block a receiver accepts by default. */
export const BLOCK_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** A compressed block is kept only if it is at least 1/16 smaller than the raw one. */
const COMPRESSED_SAVING_MIN_FRACTION_INVERSE = 16;
const APPEND_ENTRIES_FIXED_BYTES = 28;
const ENTRIES_SECTION_HEADER_BYTES = 9;
const RUN_BYTES = 12;
const TWO_POW_32 = 4294967296;
/** The high word of a u64 holding a safe integer is below 2^21. */
const SAFE_HIGH_WORD_LIMIT = 2097152;

const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  PreVote: 1,
  PreVoteResponse: 2,
  Vote: 3,
  VoteResponse: 4,
  AppendEntries: 5,
  AppendEntriesResponse: 6,
  Heartbeat: 7,
  HeartbeatResponse: 8,
  InstallSnapshot: 9,
  InstallSnapshotResponse: 10,
  TimeoutNow: 11,
  ReadIndex: 12,
  ReadIndexResponse: 13,
};
const TYPE_BY_CODE: readonly (MessageType | undefined)[] = [
  undefined,
  'PreVote',
  'PreVoteResponse',
  'Vote',
  'VoteResponse',
  'AppendEntries',
  'AppendEntriesResponse',
  'Heartbeat',
  'HeartbeatResponse',
  'InstallSnapshot',
  'InstallSnapshotResponse',
  'TimeoutNow',
  'ReadIndex',
  'ReadIndexResponse',
];

export interface MessageEncodeOptions {
  /** How to compress an AppendEntries' entries block (default none). Other messages are never compressed. */
  readonly codec?: CodecSpec;
  /** Blocks of fewer raw bytes than this are sent uncompressed (default COMPRESS_BYTES_MIN_DEFAULT). */
  readonly compressBytesMin?: number;
}

export interface MessageDecodeOptions {
  /** The largest decompressed entries block accepted (default BLOCK_BYTES_MAX_DEFAULT). */
  readonly blockBytesMax?: number;
}

/** Malformed message bytes: `field` names what was wrong, `offset` where (bytes into the message). */
export class MessageDecodeError extends Error {
  override readonly name = 'MessageDecodeError';
  constructor(
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`malformed message: ${field} at byte ${offset}: ${reason}`, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

/** Runs of equal term among `entries` (1 for a single-term batch, the usual case). */
function countTermRuns(entries: readonly Entry[]): number {
  let runs = 0;
  let previousTerm = -1;
  for (let i = 0; i < entries.length; i++) {
    const term = entries[i]!.term;
    if (term !== previousTerm) {
      runs++;
      previousTerm = term;
    }
  }
  return runs;
}

function rawBlockBytes(entries: readonly Entry[], runs: number): number {
  let dataBytes = 0;
  for (let i = 0; i < entries.length; i++) dataBytes += entries[i]!.data.length;
  return 4 + RUN_BYTES * runs + 4 * entries.length + dataBytes;
}

/** The body size of every message but AppendEntries. */
function fixedBodyBytes(message: Exclude<Message, { type: 'AppendEntries' }>): number {
  switch (message.type) {
    case 'PreVote':
      return 16;
    case 'Vote':
      return 17;
    case 'PreVoteResponse':
    case 'VoteResponse':
      return 1;
    case 'AppendEntriesResponse':
      return 25;
    case 'Heartbeat':
      return 16;
    case 'HeartbeatResponse':
      return 8;
    case 'InstallSnapshot':
      return 20 + 8 * message.snapshot.config.voters.length;
    case 'InstallSnapshotResponse':
      return 9;
    case 'TimeoutNow':
      return 0;
    case 'ReadIndex':
      return 8;
    case 'ReadIndexResponse':
      return 17;
  }
}

/**
 * The exact size encodeMessage produces with codec none, by arithmetic alone (for wire-byte
 * counters where nothing is encoded). With a compressing codec this is the uncompressed size.
 */
export function encodedMessageBytes(message: Message): number {
  if (message.type !== 'AppendEntries') return MESSAGE_HEADER_BYTES + fixedBodyBytes(message);
  const entries = message.entries;
  if (entries.length === 0) return MESSAGE_HEADER_BYTES + APPEND_ENTRIES_FIXED_BYTES;
  return MESSAGE_HEADER_BYTES + APPEND_ENTRIES_FIXED_BYTES + ENTRIES_SECTION_HEADER_BYTES + rawBlockBytes(entries, countTermRuns(entries));
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** A cursor over a buffer sized exactly beforehand, so encoding allocates once. */
class MessageWriter {
  readonly bytes: Buffer;
  offset = 0;
  constructor(sizeBytes: number) {
    this.bytes = Buffer.allocUnsafe(sizeBytes);
  }
  u8(value: number): void {
    this.bytes[this.offset++] = value;
  }
  bool(value: boolean): void {
    this.bytes[this.offset++] = value ? 1 : 0;
  }
  u32(field: string, value: number): void {
    if (!(value >= 0 && value < TWO_POW_32 && Number.isInteger(value))) throw new RangeError(`encodeMessage: ${field} must be an integer in [0, 2^32), got ${value}`);
    this.writeWord(value);
  }
  u64(field: string, value: number): void {
    if (!(value >= 0 && Number.isSafeInteger(value))) throw new RangeError(`encodeMessage: ${field} must be a non-negative safe integer, got ${value}`);
    const low = value >>> 0;
    this.writeWord(low);
    this.writeWord((value - low) / TWO_POW_32);
  }
  bytesOf(value: Uint8Array): void {
    this.bytes.set(value, this.offset);
    this.offset += value.length;
  }
  done(): Uint8Array {
    if (this.offset !== this.bytes.length) throw new Error(`encodeMessage sized ${this.bytes.length} bytes but wrote ${this.offset}`);
    return this.bytes;
  }
  private writeWord(value: number): void {
    const b = this.bytes;
    const o = this.offset;
    b[o] = value;
    b[o + 1] = value >>> 8;
    b[o + 2] = value >>> 16;
    b[o + 3] = value >>> 24;
    this.offset = o + 4;
  }
}

/** Header and body up to (not including) the entries section; for AppendEntries, through the entry count. */
function writeFixed(writer: MessageWriter, message: Message): void {
  writer.u8(MESSAGE_FORMAT_VERSION);
  writer.u8(TYPE_CODES[message.type]);
  writer.u64('from', message.from);
  writer.u64('to', message.to);
  writer.u64('term', message.term);
  switch (message.type) {
    case 'PreVote':
      writer.u64('lastLogIndex', message.lastLogIndex);
      writer.u64('lastLogTerm', message.lastLogTerm);
      break;
    case 'Vote':
      writer.u64('lastLogIndex', message.lastLogIndex);
      writer.u64('lastLogTerm', message.lastLogTerm);
      writer.bool(message.transfer);
      break;
    case 'PreVoteResponse':
    case 'VoteResponse':
      writer.bool(message.granted);
      break;
    case 'AppendEntries':
      writer.u64('prevLogIndex', message.prevLogIndex);
      writer.u64('prevLogTerm', message.prevLogTerm);
      writer.u64('commit', message.commit);
      writer.u32('entries count', message.entries.length);
      break;
    case 'AppendEntriesResponse':
      writer.bool(message.success);
      writer.u64('matchIndex', message.matchIndex);
      writer.u64('hintIndex', message.hintIndex);
      writer.u64('hintTerm', message.hintTerm);
      break;
    case 'Heartbeat':
      writer.u64('commit', message.commit);
      writer.u64('round', message.round);
      break;
    case 'HeartbeatResponse':
      writer.u64('round', message.round);
      break;
    case 'InstallSnapshot': {
      const voters = message.snapshot.config.voters;
      writer.u64('snapshot.index', message.snapshot.index);
      writer.u64('snapshot.term', message.snapshot.term);
      writer.u32('snapshot.config.voters count', voters.length);
      for (let i = 0; i < voters.length; i++) writer.u64('snapshot.config.voters', voters[i]!);
      break;
    }
    case 'InstallSnapshotResponse':
      writer.u64('matchIndex', message.matchIndex);
      writer.bool(message.success);
      break;
    case 'TimeoutNow':
      break;
    case 'ReadIndex':
      writer.u64('context', message.context);
      break;
    case 'ReadIndexResponse':
      writer.u64('context', message.context);
      writer.u64('index', message.index);
      writer.bool(message.success);
      break;
  }
}

/** The raw entries block (runs, lengths, data) at the writer's cursor. */
function writeRawBlock(writer: MessageWriter, entries: readonly Entry[], runs: number): void {
  writer.u32('entries run count', runs);
  let runStart = 0;
  for (let i = 1; i <= entries.length; i++) {
    if (i === entries.length || entries[i]!.term !== entries[runStart]!.term) {
      writer.u64('entries term', entries[runStart]!.term);
      writer.u32('entries run length', i - runStart);
      runStart = i;
    }
  }
  for (let i = 0; i < entries.length; i++) writer.u32('entries data length', entries[i]!.data.length);
  for (let i = 0; i < entries.length; i++) writer.bytesOf(entries[i]!.data);
}

function writeSectionHeader(writer: MessageWriter, codecId: CodecId, rawBytes: number, storedBytes: number): void {
  writer.u8(codecId);
  writer.u32('entries raw length', rawBytes);
  writer.u32('entries stored length', storedBytes);
}

/** The whole message with its entries block stored as is. */
function encodeUncompressed(message: Message): Uint8Array {
  const writer = new MessageWriter(encodedMessageBytes(message));
  writeFixed(writer, message);
  if (message.type === 'AppendEntries' && message.entries.length > 0) {
    const runs = countTermRuns(message.entries);
    const rawBytes = rawBlockBytes(message.entries, runs);
    writeSectionHeader(writer, CODEC_ID.none, rawBytes, rawBytes);
    writeRawBlock(writer, message.entries, runs);
  }
  return writer.done();
}

/**
 * The raw entries block in its own buffer, for a codec to compress — or null when the message
 * should go uncompressed (codec none, no entries, or a block below compressBytesMin).
 */
function rawBlockToCompress(message: Message, codec: CodecSpec, options: MessageEncodeOptions | undefined): Buffer | null {
  if (codec.kind === 'none' || message.type !== 'AppendEntries' || message.entries.length === 0) return null;
  const runs = countTermRuns(message.entries);
  const rawBytes = rawBlockBytes(message.entries, runs);
  if (rawBytes < (options?.compressBytesMin ?? COMPRESS_BYTES_MIN_DEFAULT)) return null;
  const writer = new MessageWriter(rawBytes);
  writeRawBlock(writer, message.entries, runs);
  writer.done();
  return writer.bytes;
}

/**
 * The message around an already compressed block — or around the raw block when compressing saved
 * less than 1/16 of it: the receiver would spend more time decompressing (lz4 on 16 KiB: ~10 µs)
 * than those few bytes take on the wire.
 */
function assembleCompressed(message: AppendEntriesRequest, codecId: CodecId, raw: Uint8Array, stored: Uint8Array): Uint8Array {
  const helped = stored.length <= raw.length - raw.length / COMPRESSED_SAVING_MIN_FRACTION_INVERSE;
  const block = helped ? stored : raw;
  const writer = new MessageWriter(MESSAGE_HEADER_BYTES + APPEND_ENTRIES_FIXED_BYTES + ENTRIES_SECTION_HEADER_BYTES + block.length);
  writeFixed(writer, message);
  writeSectionHeader(writer, helped ? codecId : CODEC_ID.none, raw.length, block.length);
  writer.bytesOf(block);
  return writer.done();
}

/**
 * Encodes `message`. Synchronous for codecs none and lz4; a zstd codec throws (its binding is
 * async only) — use encodeMessageAsync. Throws RangeError for a field out of range.
 */
export function encodeMessage(message: Message, options?: MessageEncodeOptions): Uint8Array {
  const codec = options?.codec ?? { kind: 'none' };
  if (codec.kind === 'zstd') {
    throw new Error(`encodeMessage: codec ${codecName(codec)} cannot compress synchronously (the zstd binding, @mongodb-js/zstd 1.2.x, is async only); use encodeMessageAsync`);
  }
  const raw = rawBlockToCompress(message, codec, options);
  if (raw === null) return encodeUncompressed(message);
  return assembleCompressed(message as AppendEntriesRequest, CODEC_ID.lz4, raw, lz4CompressSync(raw));
}

/** Encodes `message` with any codec, zstd included. */
export async function encodeMessageAsync(message: Message, options?: MessageEncodeOptions): Promise<Uint8Array> {
  const codec = options?.codec ?? { kind: 'none' };
  const raw = rawBlockToCompress(message, codec, options);
  if (raw === null) return encodeUncompressed(message);
  const compressor = createCodec(codec);
  return assembleCompressed(message as AppendEntriesRequest, compressor.id, raw, await compressor.compress(raw));
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * A bounds-checked cursor over [offset, end) of `bytes`. Over a decompressed block, errors are
 * reported at the block's offset in the message (`blockOffset`) with the position inside the
 * decompressed block in the reason, since the receiver has no other way to point at them.
 */
class MessageReader {
  /** A plain Uint8Array over the input: its subarray() makes plain views (a Buffer's makes Buffers, more slowly). */
  readonly bytes: Uint8Array;
  offset: number;
  constructor(
    bytes: Uint8Array,
    offset: number,
    readonly end: number,
    private readonly blockOffset: number,
    private readonly blockCodec: string,
  ) {
    this.bytes = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  fail(field: string, offset: number, reason: string): never {
    if (this.blockOffset < 0) throw new MessageDecodeError(field, offset, reason);
    throw new MessageDecodeError(field, this.blockOffset, `${reason} (at byte ${offset} of the ${this.blockCodec}-decompressed entries block)`);
  }
  need(field: string, count: number): void {
    const available = this.end - this.offset;
    if (available < count) this.fail(field, this.offset, `needs ${count} bytes but only ${available} remain`);
  }
  u8(field: string): number {
    this.need(field, 1);
    return this.bytes[this.offset++]!;
  }
  bool(field: string): boolean {
    this.need(field, 1);
    const value = this.bytes[this.offset]!;
    if (value > 1) this.fail(field, this.offset, `a boolean must be 0 or 1, got ${value}`);
    this.offset++;
    return value === 1;
  }
  u32(field: string): number {
    this.need(field, 4);
    return this.word();
  }
  u64(field: string, minimum: number): number {
    this.need(field, 8);
    const start = this.offset;
    const low = this.word();
    const high = this.word();
    if (high >= SAFE_HIGH_WORD_LIMIT) this.fail(field, start, 'exceeds 2^53-1 (not a safe integer)');
    const value = high * TWO_POW_32 + low;
    if (value < minimum) this.fail(field, start, `must be ≥ ${minimum}, got ${value}`);
    return value;
  }
  /** A plain Uint8Array view of the next `length` bytes (checked by the caller). */
  view(length: number): Uint8Array {
    const start = this.offset;
    this.offset = start + length;
    return this.bytes.subarray(start, start + length);
  }
  expectEnd(): void {
    if (this.offset !== this.end) this.fail('end', this.offset, `${this.end - this.offset} unexpected trailing bytes`);
  }
  private word(): number {
    const b = this.bytes;
    const o = this.offset;
    this.offset = o + 4;
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
  }
}

/** What remains to do after the fixed part of an AppendEntries with entries: get the raw block. */
interface PendingBlock {
  readonly base: Omit<AppendEntriesRequest, 'entries'>;
  /** The whole message, which an uncompressed block is read from in place. */
  readonly input: Uint8Array;
  readonly count: number;
  readonly codecId: CodecId;
  readonly rawBytes: number;
  readonly storedOffset: number;
  readonly stored: Uint8Array;
}

type DecodedHead = { readonly message: Message; readonly pending: null } | { readonly message: null; readonly pending: PendingBlock };

function wireReader(bytes: Uint8Array): MessageReader {
  return new MessageReader(bytes, 0, bytes.length, -1, '');
}

/** Checks lastLogIndex / lastLogTerm (PreVote, Vote) or prevLogIndex / prevLogTerm (AppendEntries) against the term. */
function checkLogPosition(reader: MessageReader, termName: string, termOffset: number, index: number, logTerm: number, term: number): void {
  if (logTerm > term) reader.fail(termName, termOffset, `${logTerm} is above the message term ${term}`);
  if (index === 0 && logTerm !== 0) reader.fail(termName, termOffset, `must be 0 when the index is 0, got ${logTerm}`);
}

/** Reads everything but an AppendEntries' entries block; the block itself is left pending (it may need decompressing). */
function decodeHead(bytes: Uint8Array, blockBytesMax: number): DecodedHead {
  // Annotated so that TypeScript treats reader.fail() (which returns never) as ending the branch.
  const reader: MessageReader = wireReader(bytes);
  const version = reader.u8('format version');
  if (version !== MESSAGE_FORMAT_VERSION) reader.fail('format version', 0, `unsupported version ${version} (this build reads ${MESSAGE_FORMAT_VERSION})`);
  const typeCode = reader.u8('type');
  const type = TYPE_BY_CODE[typeCode];
  if (type === undefined) reader.fail('type', 1, `unknown message type code ${typeCode} (1 … ${TYPE_BY_CODE.length - 1})`);
  const from: NodeId = reader.u64('from', 1);
  const to: NodeId = reader.u64('to', 1);
  const term = reader.u64('term', 0);
  let message: Message;
  switch (type) {
    case 'PreVote':
    case 'Vote': {
      const lastLogIndex = reader.u64('lastLogIndex', 0);
      const lastLogTermOffset = reader.offset;
      const lastLogTerm = reader.u64('lastLogTerm', 0);
      checkLogPosition(reader, 'lastLogTerm', lastLogTermOffset, lastLogIndex, lastLogTerm, term);
      message =
        type === 'PreVote'
          ? { type, from, to, term, lastLogIndex, lastLogTerm }
          : { type, from, to, term, lastLogIndex, lastLogTerm, transfer: reader.bool('transfer') };
      break;
    }
    case 'PreVoteResponse':
    case 'VoteResponse':
      message = { type, from, to, term, granted: reader.bool('granted') };
      break;
    case 'AppendEntries': {
      const prevLogIndex = reader.u64('prevLogIndex', 0);
      const prevLogTermOffset = reader.offset;
      const prevLogTerm = reader.u64('prevLogTerm', 0);
      checkLogPosition(reader, 'prevLogTerm', prevLogTermOffset, prevLogIndex, prevLogTerm, term);
      const commit = reader.u64('commit', 0);
      const countOffset = reader.offset;
      const count = reader.u32('entries count');
      if (count === 0) {
        message = { type, from, to, term, prevLogIndex, prevLogTerm, entries: [], commit };
        break;
      }
      if (prevLogIndex + count > Number.MAX_SAFE_INTEGER) reader.fail('entries count', countOffset, `${count} entries after prevLogIndex ${prevLogIndex} pass 2^53-1`);
      const codecOffset = reader.offset;
      const codecId = reader.u8('entries codec');
      if (!isCodecId(codecId)) reader.fail('entries codec', codecOffset, `unknown codec id ${codecId} (0 none, 1 lz4, 2 zstd)`);
      const rawOffset = reader.offset;
      const rawBytes = reader.u32('entries raw length');
      const storedLengthOffset = reader.offset;
      const storedBytes = reader.u32('entries stored length');
      const storedOffset = reader.offset;
      const available = reader.end - storedOffset;
      if (storedBytes > available) reader.fail('entries stored length', storedLengthOffset, `says ${storedBytes} bytes but only ${available} remain`);
      if (storedBytes < available) reader.fail('end', storedOffset + storedBytes, `${available - storedBytes} unexpected trailing bytes`);
      if (codecId === CODEC_ID.none && rawBytes !== storedBytes) {
        reader.fail('entries raw length', rawOffset, `${rawBytes} differs from the stored length ${storedBytes} of an uncompressed block`);
      }
      if (rawBytes > blockBytesMax) reader.fail('entries raw length', rawOffset, `${rawBytes} exceeds the block limit of ${blockBytesMax} bytes`);
      // The smallest block holding `count` entries: one run, a length each, no data.
      if (rawBytes < 4 + RUN_BYTES + 4 * count) reader.fail('entries count', countOffset, `${count} entries cannot fit a ${rawBytes}-byte block`);
      return {
        message: null,
        pending: {
          base: { type, from, to, term, prevLogIndex, prevLogTerm, commit },
          input: bytes,
          count,
          codecId,
          rawBytes,
          storedOffset,
          stored: reader.view(storedBytes),
        },
      };
    }
    case 'AppendEntriesResponse': {
      const success = reader.bool('success');
      const matchIndex = reader.u64('matchIndex', 0);
      const hintIndex = reader.u64('hintIndex', 0);
      message = { type, from, to, term, success, matchIndex, hintIndex, hintTerm: reader.u64('hintTerm', 0) };
      break;
    }
    case 'Heartbeat': {
      const commit = reader.u64('commit', 0);
      message = { type, from, to, term, commit, round: reader.u64('round', 0) };
      break;
    }
    case 'HeartbeatResponse':
      message = { type, from, to, term, round: reader.u64('round', 0) };
      break;
    case 'InstallSnapshot': {
      const index = reader.u64('snapshot.index', 1);
      const snapshotTerm = reader.u64('snapshot.term', 1);
      const countOffset = reader.offset;
      const count = reader.u32('snapshot.config.voters count');
      if (count === 0) reader.fail('snapshot.config.voters count', countOffset, 'a snapshot needs at least one voter');
      if (count > (reader.end - reader.offset) / 8) reader.fail('snapshot.config.voters count', countOffset, `${count} voters need ${8 * count} bytes but only ${reader.end - reader.offset} remain`);
      const voters: NodeId[] = new Array<NodeId>(count);
      for (let i = 0; i < count; i++) voters[i] = reader.u64('snapshot.config.voters', 1);
      message = { type, from, to, term, snapshot: { index, term: snapshotTerm, config: { voters } } };
      break;
    }
    case 'InstallSnapshotResponse': {
      const matchIndex = reader.u64('matchIndex', 0);
      message = { type, from, to, term, matchIndex, success: reader.bool('success') };
      break;
    }
    case 'TimeoutNow':
      message = { type, from, to, term };
      break;
    case 'ReadIndex':
      message = { type, from, to, term, context: reader.u64('context', 0) };
      break;
    case 'ReadIndexResponse': {
      const context = reader.u64('context', 0);
      const index = reader.u64('index', 0);
      message = { type, from, to, term, context, index, success: reader.bool('success') };
      break;
    }
  }
  reader.expectEnd();
  return { message, pending: null };
}

/** Parses the raw block `reader` spans into `count` entries (see the block table at the top). */
function decodeEntries(reader: MessageReader, pending: PendingBlock): Entry[] {
  const { count, base } = pending;
  const runCountOffset = reader.offset;
  const runCount = reader.u32('entries run count');
  if (runCount < 1 || runCount > count) reader.fail('entries run count', runCountOffset, `must be in 1 … ${count} (the entry count), got ${runCount}`);
  reader.need('entries runs', RUN_BYTES * runCount + 4 * count);
  const entries: Entry[] = new Array<Entry>(count);
  // Runs first (terms only), then lengths and data fill in the entries.
  const terms: number[] = new Array<number>(count);
  let previousTerm = base.prevLogTerm;
  let filled = 0;
  for (let run = 0; run < runCount; run++) {
    const termOffset = reader.offset;
    const term = reader.u64('entries run term', 0);
    if (term < previousTerm) reader.fail('entries run term', termOffset, `terms must not decrease: run ${run} has term ${term} after ${previousTerm}`);
    if (term > base.term) reader.fail('entries run term', termOffset, `run ${run} has term ${term}, above the message term ${base.term}`);
    const lengthOffset = reader.offset;
    const runLength = reader.u32('entries run length');
    if (runLength < 1 || runLength > count - filled) {
      reader.fail('entries run length', lengthOffset, `run ${run} must hold 1 … ${count - filled} entries (of ${count}), got ${runLength}`);
    }
    for (let i = 0; i < runLength; i++) terms[filled + i] = term;
    filled += runLength;
    previousTerm = term;
  }
  if (filled !== count) reader.fail('entries run length', reader.offset - 4, `the runs hold ${filled} entries but the message has ${count}`);
  const lengthsOffset = reader.offset;
  let dataOffset = lengthsOffset + 4 * count;
  const bytes = reader.bytes;
  const firstIndex = base.prevLogIndex + 1;
  for (let i = 0; i < count; i++) {
    const lengthAt = lengthsOffset + 4 * i;
    const length = (bytes[lengthAt]! | (bytes[lengthAt + 1]! << 8) | (bytes[lengthAt + 2]! << 16)) + bytes[lengthAt + 3]! * 0x1000000;
    if (length > reader.end - dataOffset) {
      reader.fail('entries data length', lengthAt, `entry ${i} says ${length} bytes but only ${reader.end - dataOffset} remain in the block`);
    }
    entries[i] = { term: terms[i]!, index: firstIndex + i, data: bytes.subarray(dataOffset, dataOffset + length) };
    dataOffset += length;
  }
  reader.offset = dataOffset;
  reader.expectEnd();
  return entries;
}

/** Runs validate.ts over a decoded message as a guard; the checks above should already have refused anything it would. */
function guard(message: Message): Message {
  try {
    return validateMessage(message);
  } catch (error) {
    if (error instanceof MessageValidationError) {
      throw new MessageDecodeError(error.field, 0, `the decoded message fails validation: ${error.reason}`, { cause: error });
    }
    throw error;
  }
}

/** Builds the AppendEntries from its raw block: `raw` when it was decompressed, else read in place from the message. */
function finishAppendEntries(pending: PendingBlock, raw: Uint8Array | null): Message {
  const reader =
    raw === null
      ? new MessageReader(pending.input, pending.storedOffset, pending.input.length, -1, '')
      : new MessageReader(raw, 0, raw.length, pending.storedOffset, pending.codecId === CODEC_ID.lz4 ? 'lz4' : 'zstd');
  const { type, from, to, term, prevLogIndex, prevLogTerm, commit } = pending.base;
  return guard({ type, from, to, term, prevLogIndex, prevLogTerm, entries: decodeEntries(reader, pending), commit });
}

/** Refuses, before decompressing, a stored block whose output could exceed the declared raw length or the limit. */
function checkCompressedBlock(pending: PendingBlock, blockBytesMax: number): void {
  const { stored, storedOffset, rawBytes } = pending;
  if (pending.codecId === CODEC_ID.lz4) {
    if (stored.length < 4) throw new MessageDecodeError('entries stored block', storedOffset, `an lz4 block needs at least 4 bytes, got ${stored.length}`);
    const prefix = (stored[0]! | (stored[1]! << 8) | (stored[2]! << 16)) + stored[3]! * 0x1000000;
    if (prefix !== rawBytes) throw new MessageDecodeError('entries stored block', storedOffset, `lz4 size prefix ${prefix} differs from the raw length ${rawBytes}`);
    return;
  }
  const bound = inspectZstdFrame(stored);
  if (typeof bound === 'string') throw new MessageDecodeError('entries stored block', storedOffset, bound);
  if (bound.contentBytes !== null && bound.contentBytes !== rawBytes) {
    throw new MessageDecodeError('entries stored block', storedOffset, `zstd content size ${bound.contentBytes} differs from the raw length ${rawBytes}`);
  }
  if (bound.decodedBytesMax > blockBytesMax) {
    throw new MessageDecodeError('entries stored block', storedOffset, `zstd frame may decode to ${bound.decodedBytesMax} bytes, over the block limit of ${blockBytesMax}`);
  }
  if (bound.decodedBytesMax < rawBytes) {
    throw new MessageDecodeError('entries stored block', storedOffset, `zstd frame decodes to at most ${bound.decodedBytesMax} bytes, less than the raw length ${rawBytes}`);
  }
}

function checkDecompressedLength(pending: PendingBlock, raw: Uint8Array): void {
  if (raw.length !== pending.rawBytes) {
    throw new MessageDecodeError('entries stored block', pending.storedOffset, `decompressed to ${raw.length} bytes, not the raw length ${pending.rawBytes}`);
  }
}

function decompressFailure(pending: PendingBlock, error: unknown): MessageDecodeError {
  const reason = error instanceof Error ? error.message : String(error);
  return new MessageDecodeError('entries stored block', pending.storedOffset, `${pending.codecId === CODEC_ID.lz4 ? 'lz4' : 'zstd'} could not decompress it: ${reason}`, { cause: error });
}

/**
 * Whether decodeMessage can decode `bytes`: false only for an AppendEntries whose entries block is
 * zstd-compressed (decodeMessageAsync needed). Reads two bytes of the layout above; malformed
 * bytes answer true, so decodeMessage reports them.
 */
export function decodesSynchronously(bytes: Uint8Array): boolean {
  const codecOffset = MESSAGE_HEADER_BYTES + APPEND_ENTRIES_FIXED_BYTES;
  return !(bytes[1] === TYPE_CODES.AppendEntries && bytes.length > codecOffset && bytes[codecOffset] === CODEC_ID.zstd);
}

/**
 * Decodes a message (codecs none and lz4). Entry data are views into `bytes` when the block was
 * not compressed: do not reuse `bytes` while they live. zstd-compressed entries throw (their
 * binding is async only): use decodeMessageAsync. Throws MessageDecodeError for anything malformed.
 */
export function decodeMessage(bytes: Uint8Array, options?: MessageDecodeOptions): Message {
  const blockBytesMax = options?.blockBytesMax ?? BLOCK_BYTES_MAX_DEFAULT;
  const head = decodeHead(bytes, blockBytesMax);
  if (head.pending === null) return guard(head.message);
  const pending = head.pending;
  if (pending.codecId === CODEC_ID.none) return finishAppendEntries(pending, null);
  if (pending.codecId === CODEC_ID.zstd) {
    throw new MessageDecodeError('entries codec', MESSAGE_HEADER_BYTES + APPEND_ENTRIES_FIXED_BYTES, 'zstd-compressed entries cannot be decoded synchronously (the zstd binding is async only); use decodeMessageAsync');
  }
  checkCompressedBlock(pending, blockBytesMax);
  let raw: Uint8Array;
  try {
    raw = decompressSync(pending.codecId, pending.stored);
  } catch (error) {
    throw decompressFailure(pending, error);
  }
  checkDecompressedLength(pending, raw);
  return finishAppendEntries(pending, raw);
}

/** Decodes a message with any codec, zstd included (same contract as decodeMessage). */
export async function decodeMessageAsync(bytes: Uint8Array, options?: MessageDecodeOptions): Promise<Message> {
  const blockBytesMax = options?.blockBytesMax ?? BLOCK_BYTES_MAX_DEFAULT;
  const head = decodeHead(bytes, blockBytesMax);
  if (head.pending === null) return guard(head.message);
  const pending = head.pending;
  if (pending.codecId === CODEC_ID.none) return finishAppendEntries(pending, null);
  checkCompressedBlock(pending, blockBytesMax);
  let raw: Uint8Array;
  try {
    raw = await decompressWith(pending.codecId, pending.stored);
  } catch (error) {
    throw decompressFailure(pending, error);
  }
  checkDecompressedLength(pending, raw);
  return finishAppendEntries(pending, raw);
}

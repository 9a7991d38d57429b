// Framing of write-ahead-log records (the layout is described in FORMAT.md and at the top of
// wal.ts). This module only turns typed values into framed bytes and back; it knows nothing about
// files, segments or recovery policy.

import { crc32c } from '@node-rs/crc32';
import { isCodecId, type CodecId } from './codec.js';
import type { Entry, HardState } from '../raft/types.js';

export const RECORD_HEADER_BYTES = 16;
/** No single record may exceed this: a bigger length field is taken as damage, not as data. */
export const RECORD_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;

// Types 2 (entries) and 3 (hard state) were format version 1's separate records for one append;
// a torn write could keep the first without the second. Version 2 writes each append as one
// type-5 record, and 2 and 3 are unknown types (never reused, so a stray v1 record cannot be
// misread as something else).
export const RECORD_TYPE = { segmentHeader: 1, snapshotMarker: 4, append: 5 } as const;
export type RecordType = (typeof RECORD_TYPE)[keyof typeof RECORD_TYPE];

export const SEGMENT_MAGIC = 'RBWALSG1';
export const WAL_FORMAT_VERSION = 2;

const TWO_POW_32 = 4294967296;

function isRecordType(value: number): value is RecordType {
  return value === RECORD_TYPE.segmentHeader || value === RECORD_TYPE.snapshotMarker || value === RECORD_TYPE.append;
}

export function writeUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % TWO_POW_32, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_POW_32), true);
}

export function readUint64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * TWO_POW_32 + view.getUint32(offset, true);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Hot-path writers: plain byte stores. Creating a DataView per record showed up at ~10 % of an
// append's CPU time in a profile, more than the checksums.
function putUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

function putUint64(bytes: Uint8Array, offset: number, value: number): void {
  putUint32(bytes, offset, value % TWO_POW_32);
  putUint32(bytes, offset + 4, Math.floor(value / TWO_POW_32));
}

/**
 * Writes a record header at `offset` for the `payloadBytes` bytes that already sit right after it
 * (at offset + RECORD_HEADER_BYTES), so a payload can be encoded in place without a copy.
 */
export function writeRecordHeader(target: Uint8Array, offset: number, type: RecordType, codecId: CodecId, payloadBytes: number): void {
  if (payloadBytes > RECORD_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`record payload of ${payloadBytes} bytes exceeds the ${RECORD_PAYLOAD_BYTES_MAX}-byte limit`);
  }
  const payloadStart = offset + RECORD_HEADER_BYTES;
  putUint32(target, offset, payloadBytes);
  target[offset + 4] = type;
  target[offset + 5] = codecId;
  target[offset + 6] = 0;
  target[offset + 7] = 0;
  putUint32(target, offset + 8, crc32c(target.subarray(payloadStart, payloadStart + payloadBytes)));
  putUint32(target, offset + 12, crc32c(target.subarray(offset, offset + 12)));
}

/** Frames one record: header (length, type, codec, payload CRC32C, header CRC32C) then payload. */
export function frameRecord(type: RecordType, codecId: CodecId, payload: Uint8Array): Uint8Array {
  const framed = new Uint8Array(RECORD_HEADER_BYTES + payload.byteLength);
  framed.set(payload, RECORD_HEADER_BYTES);
  writeRecordHeader(framed, 0, type, codecId, payload.byteLength);
  return framed;
}

export type ParsedRecord =
  | {
      readonly kind: 'record';
      readonly type: RecordType;
      readonly codecId: CodecId;
      /** A view into the scanned bytes (not a copy). */
      readonly payload: Uint8Array;
      readonly nextOffset: number;
    }
  | { readonly kind: 'bad'; readonly reason: string; readonly incomplete: boolean };

/** Parses the record starting at `offset`; never throws. */
export function parseRecordAt(bytes: Uint8Array, offset: number): ParsedRecord {
  const remaining = bytes.byteLength - offset;
  if (remaining < RECORD_HEADER_BYTES) {
    return { kind: 'bad', reason: `only ${remaining} bytes left, less than a ${RECORD_HEADER_BYTES}-byte record header`, incomplete: true };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_BYTES);
  const headerCrc = view.getUint32(12, true);
  if (crc32c(bytes.subarray(offset, offset + 12)) !== headerCrc) {
    return { kind: 'bad', reason: 'record header checksum mismatch', incomplete: false };
  }
  const payloadBytes = view.getUint32(0, true);
  const type = view.getUint8(4);
  const codecId = view.getUint8(5);
  if (!isRecordType(type)) return { kind: 'bad', reason: `unknown record type ${type}`, incomplete: false };
  if (!isCodecId(codecId)) return { kind: 'bad', reason: `unknown codec id ${codecId}`, incomplete: false };
  if (payloadBytes > RECORD_PAYLOAD_BYTES_MAX) return { kind: 'bad', reason: `record length ${payloadBytes} exceeds the limit`, incomplete: false };
  const payloadStart = offset + RECORD_HEADER_BYTES;
  if (payloadStart + payloadBytes > bytes.byteLength) {
    return {
      kind: 'bad',
      reason: `record of ${payloadBytes} payload bytes runs past the end of the file (${bytes.byteLength - payloadStart} present)`,
      incomplete: true,
    };
  }
  const payload = bytes.subarray(payloadStart, payloadStart + payloadBytes);
  if (crc32c(payload) !== view.getUint32(8, true)) {
    return { kind: 'bad', reason: 'record payload checksum mismatch', incomplete: false };
  }
  return { kind: 'record', type, codecId, payload, nextOffset: payloadStart + payloadBytes };
}

/**
 * Whether any intact record starts after `offset`. Used to tell a torn tail (nothing intact
 * follows the damage) from damage in the middle of the log (intact records follow). Cheap
 * byte tests reject most positions before a checksum is computed.
 */
export function intactRecordAfter(bytes: Uint8Array, offset: number): number | null {
  const lastStart = bytes.byteLength - RECORD_HEADER_BYTES;
  for (let start = offset + 1; start <= lastStart; start++) {
    const type = bytes[start + 4]!;
    if (!isRecordType(type) || !isCodecId(bytes[start + 5]!) || bytes[start + 6] !== 0 || bytes[start + 7] !== 0) continue;
    const parsed = parseRecordAt(bytes, start);
    if (parsed.kind === 'record') return start;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

export function encodeSegmentHeader(segmentSequence: number): Uint8Array {
  const payload = new Uint8Array(8 + 4 + 8);
  payload.set(new TextEncoder().encode(SEGMENT_MAGIC), 0);
  const view = viewOf(payload);
  view.setUint32(8, WAL_FORMAT_VERSION, true);
  writeUint64(view, 12, segmentSequence);
  return payload;
}

export function decodeSegmentHeader(payload: Uint8Array): { magic: string; version: number; segmentSequence: number } | null {
  if (payload.byteLength !== 20) return null;
  const view = viewOf(payload);
  return {
    magic: new TextDecoder().decode(payload.subarray(0, 8)),
    version: view.getUint32(8, true),
    segmentSequence: readUint64(view, 12),
  };
}

/** The size of an entries payload before compression. */
export function entriesPayloadBytes(entries: readonly Entry[]): number {
  let sizeBytes = 12;
  for (const entry of entries) sizeBytes += 12 + entry.data.byteLength;
  return sizeBytes;
}

/**
 * Entries are contiguous, so the index is stored once: firstIndex u64, count u32, then
 * (term u64, length u32, data) each. Writes at `offset` in `target`; returns the end offset.
 */
export function encodeEntriesInto(target: Uint8Array, offset: number, entries: readonly Entry[]): number {
  putUint64(target, offset, entries[0]?.index ?? 0);
  putUint32(target, offset + 8, entries.length);
  let at = offset + 12;
  for (const entry of entries) {
    putUint64(target, at, entry.term);
    putUint32(target, at + 8, entry.data.byteLength);
    target.set(entry.data, at + 12);
    at += 12 + entry.data.byteLength;
  }
  return at;
}

export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  const payload = new Uint8Array(entriesPayloadBytes(entries));
  encodeEntriesInto(payload, 0, entries);
  return payload;
}

/** Decodes an entries payload; the data arrays are views into `payload`. Returns a reason string if malformed. */
export function decodeEntries(payload: Uint8Array): Entry[] | string {
  if (payload.byteLength < 12) return `entries payload of ${payload.byteLength} bytes is shorter than its 12-byte header`;
  const view = viewOf(payload);
  const firstIndex = readUint64(view, 0);
  const count = view.getUint32(8, true);
  const entries: Entry[] = [];
  let offset = 12;
  for (let i = 0; i < count; i++) {
    if (offset + 12 > payload.byteLength) return `entry ${i} of ${count} header runs past the payload`;
    const term = readUint64(view, offset);
    const dataBytes = view.getUint32(offset + 8, true);
    if (offset + 12 + dataBytes > payload.byteLength) return `entry ${i} of ${count} data runs past the payload`;
    entries.push({ index: firstIndex + i, term, data: payload.subarray(offset + 12, offset + 12 + dataBytes) });
    offset += 12 + dataBytes;
  }
  if (offset !== payload.byteLength) return `entries payload has ${payload.byteLength - offset} trailing bytes`;
  return entries;
}

const HARD_STATE_BYTES = 24;

function encodeHardStateInto(target: Uint8Array, offset: number, hardState: HardState): void {
  putUint64(target, offset, hardState.term);
  putUint64(target, offset + 8, hardState.vote);
  putUint64(target, offset + 16, hardState.commit);
}

// ---------------------------------------------------------------------------------------------
// Append record: everything one append(entries, hardState) call stores, in one checksummed unit,
// so a torn write keeps all of an append or none of it.
//   u8 flags: bit 0 hard state present, bit 1 entries present (other bits 0; never 0 itself)
//   [24 bytes hard state: u64 term, u64 vote, u64 commit]          if bit 0 — never compressed
//   [entries batch (see encodeEntriesInto), to the end of payload]  if bit 1 — compressed as one
//                                                                    unit with the frame's codec
// The prefix (flags and hard state) stays outside the compressed part so that a hard-state-only
// append (a vote, a commit advance) never goes through a codec, and so that the uncompressed
// entries can be encoded in place right after it.
// ---------------------------------------------------------------------------------------------

const APPEND_FLAG_HARD_STATE = 1;
const APPEND_FLAG_ENTRIES = 2;

/** Bytes before the entries batch in an append payload. */
export function appendPrefixBytes(hardState: HardState | null): number {
  return hardState === null ? 1 : 1 + HARD_STATE_BYTES;
}

/** Writes the flags and the hard state at `offset`; returns where the entries batch starts. */
export function encodeAppendPrefixInto(target: Uint8Array, offset: number, hardState: HardState | null, hasEntries: boolean): number {
  target[offset] = (hardState === null ? 0 : APPEND_FLAG_HARD_STATE) | (hasEntries ? APPEND_FLAG_ENTRIES : 0);
  if (hardState === null) return offset + 1;
  encodeHardStateInto(target, offset + 1, hardState);
  return offset + 1 + HARD_STATE_BYTES;
}

export interface AppendPrefix {
  readonly hardState: HardState | null;
  readonly hasEntries: boolean;
  /** Where the (possibly compressed) entries batch starts in the payload. */
  readonly entriesOffset: number;
}

/** Decodes the flags and hard state of an append payload; returns a reason string if malformed. */
export function decodeAppendPrefix(payload: Uint8Array): AppendPrefix | string {
  if (payload.byteLength < 1) return 'append payload is empty (no flags byte)';
  const flags = payload[0]!;
  if ((flags & ~(APPEND_FLAG_HARD_STATE | APPEND_FLAG_ENTRIES)) !== 0) return `append flags 0x${flags.toString(16)} has unknown bits set`;
  if (flags === 0) return 'append record holds neither a hard state nor entries';
  const hasEntries = (flags & APPEND_FLAG_ENTRIES) !== 0;
  let hardState: HardState | null = null;
  let entriesOffset = 1;
  if ((flags & APPEND_FLAG_HARD_STATE) !== 0) {
    if (payload.byteLength < 1 + HARD_STATE_BYTES) return `append payload of ${payload.byteLength} bytes is too short for its hard state`;
    const view = viewOf(payload);
    hardState = { term: readUint64(view, 1), vote: readUint64(view, 9), commit: readUint64(view, 17) };
    entriesOffset += HARD_STATE_BYTES;
  }
  if (!hasEntries && payload.byteLength !== entriesOffset) return `append payload without entries has ${payload.byteLength - entriesOffset} trailing bytes`;
  if (hasEntries && payload.byteLength === entriesOffset) return 'append payload says it holds entries but ends after its hard state';
  return { hardState, hasEntries, entriesOffset };
}

/** Snapshot marker: u64 index, u64 term, u8 keepSuffix (1: entries above index stay; 0: the log was discarded). */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  readonly keepSuffix: boolean;
}

export function encodeSnapshotMarker(marker: SnapshotMarker): Uint8Array {
  const payload = new Uint8Array(17);
  const view = new DataView(payload.buffer);
  writeUint64(view, 0, marker.index);
  writeUint64(view, 8, marker.term);
  view.setUint8(16, marker.keepSuffix ? 1 : 0);
  return payload;
}

export function decodeSnapshotMarker(payload: Uint8Array): SnapshotMarker | null {
  if (payload.byteLength !== 17) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const keep = view.getUint8(16);
  if (keep > 1) return null;
  return { index: readUint64(view, 0), term: readUint64(view, 8), keepSuffix: keep === 1 };
}

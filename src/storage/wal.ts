// The write-ahead log: segmented append-only files of framed, checksummed records holding Raft
// entries, hard state and snapshot markers, with torn-tail recovery, conflict truncation,
// compaction and the fsync policy (always / batched group commit / none).
//
// ON-DISK LAYOUT (also in FORMAT.md, which is the longer version)
//   <dir>/wal/<sequence, 16 decimal digits>.wal      e.g. 0000000000000001.wal
//   Segment sequences are consecutive; compaction removes the oldest, so the first need not be 1.
//   A segment is a run of records. Every record is
//     offset 0  u32 LE  payload length in bytes (as stored, i.e. after compression)
//            4  u8      record type: 1 segment header, 4 snapshot marker, 5 append (2 and 3 were
//                       format version 1's entries and hard-state records; never reused)
//            5  u8      codec id of the payload: 0 none, 1 lz4, 2 zstd
//            6  u16     reserved, 0
//            8  u32 LE  CRC32C of the payload
//           12  u32 LE  CRC32C of bytes 0..11 of this header
//           16  payload
//   The header has its own checksum so a damaged length field is recognised as damage instead of
//   being followed off the end of the file (which would make mid-file damage look like a torn tail).
//   Payloads (u64 = two u32 LE, low word first; all integers are safe integers):
//     1 segment header  "RBWALSG1", u32 format version (2), u64 segment sequence    — never compressed
//     4 snapshot marker u64 index, u64 term, u8 keepSuffix (1: entries above index are kept; 0:
//                       the whole log was discarded because it conflicted with the snapshot)
//     5 append          everything one append(entries, hardState) call stores:
//                       u8 flags (bit 0: hard state present, bit 1: entries present; never 0)
//                       [u64 term, u64 vote, u64 commit]          if bit 0  — never compressed
//                       [u64 first index, u32 count, then per entry: u64 term, u32 data length,
//                        data — to the end of the payload]        if bit 1  — compressed as one
//                       unit with the log codec; the frame's codec id describes this part only
//   One append is one record, so one checksum covers its entries and its hard state: a torn write
//   keeps the whole append or none of it. (Format version 1 wrote them as two records, and a tear
//   between them kept entries whose term could be above the surviving hard state's term, which
//   the Raft core rightly refuses to restart from.) Every segment starts with its header record
//   followed by an append record holding only the hard state current when the segment was
//   created, so removing older segments never loses the hard state. A segment header naming
//   another format version is refused (StorageFormatError, even under repair), never misread.
//
// REPLAY RULES (open): records are applied in order; an append record applies its entries, then
// its hard state. Entries whose first index is at or below the last index replace the suffix from
// that index (a Raft conflict overwrite). Entries that start past last index + 1 are allowed only
// where the log below them is covered by the snapshot (after compaction or an installed
// snapshot); anywhere else it is corruption. After replay, entries at or below the snapshot index
// are dropped and the rest must start at snapshot index + 1. The last hard state recorded wins.
//
// DAMAGE (open): a record that fails its checks in the last segment, with no intact record after
// it, is a torn tail: the file is truncated there and a warning names file, offset and bytes
// dropped. Any other failing record (in an older segment, or with intact records after it) is
// corruption: opening throws StorageCorruptionError naming file and offset, unless `repair` is
// set, which truncates there, removes the later segments and warns what was lost. Under a
// process crash (SIGKILL) a torn write is always a prefix, so the first rule covers it. Under
// power loss a torn write can also leave a damaged sector *followed* by intact sectors of the same
// unsynced write; that shows up as corruption (the safe side: refuse, and let an operator repair).
//
// DURABILITY: an append resolves when its record is written and, under 'always' and 'batched',
// fdatasync'ed. 'always' syncs every append call separately. 'batched' writes every append queued
// (up to batchAppendsMax / batchBytesMax) with one write() and one fdatasync: appends that arrive
// while a sync is in flight, or within the window, share the next sync. 'none' never syncs
// (labelled unsafe), not even at segment rollover. Under 'always' and 'batched' new segment files
// are fsync'ed and so is the directory. A failed write or
// sync stops the log (see StorageIoError): pending and later appends reject with that error and
// the files stay readable; reopening re-scans them.
//
// MEMORY: no entry is kept once written — only its term (as runs) and where its record lies
// (log-index.ts). entries() reads records back from disk synchronously (the Raft core's LogReader
// needs it so; entries compressed with zstd cannot be read that way, the caller falls back to a
// snapshot). Open reads one segment at a time into memory and hands the recovered entries to the
// caller once.

import { join } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { createCodec, decompressSync, decompressWith, CODEC_ID, type Codec, type CodecId } from './codec.js';
import { StorageCounters } from './counters.js';
import { StorageCorruptionError, StorageFormatError, StorageIoError, StorageUsageError, errorCodeOf, messageOf } from './errors.js';
import type { StorageFile } from './file-ops.js';
import type { StorageSettings } from './options.js';
import { LogIndex, type RecordLocation } from './log-index.js';
import { Replay, type LogBase, type RecordRef } from './wal-replay.js';

export { EMPTY_HARD_STATE, type LogBase } from './wal-replay.js';
import {
  RECORD_HEADER_BYTES,
  RECORD_TYPE,
  SEGMENT_MAGIC,
  WAL_FORMAT_VERSION,
  appendPrefixBytes,
  decodeAppendPrefix,
  decodeEntries,
  decodeSegmentHeader,
  decodeSnapshotMarker,
  encodeAppendPrefixInto,
  encodeEntries,
  encodeEntriesInto,
  entriesPayloadBytes,
  encodeSegmentHeader,
  encodeSnapshotMarker,
  frameRecord,
  intactRecordAfter,
  parseRecordAt,
  writeRecordHeader,
} from './record.js';


export interface WalRecovered {
  readonly hardState: HardState;
  /** Contiguous, starting at base.index + 1. */
  readonly entries: readonly Entry[];
  /** The newest snapshot marker found in the log, if any. */
  readonly lastMarker: LogBase | null;
}

/** Appends waiting for the writer; past this, append() rejects instead of queueing without end. */
export const WAL_QUEUE_APPENDS_MAX = 65_536;

const SEGMENT_NAME = /^(\d{16})\.wal$/;

function segmentName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.wal`;
}

interface Segment {
  readonly sequence: number;
  readonly path: string;
  sizeBytes: number;
  /** The highest entry index in any append record of this segment (0 if none). */
  entryIndexMax: number;
}

interface PendingAppend {
  /** The framed append record; a promise only while a compressing codec works on it. */
  readonly framed: Uint8Array | Promise<Uint8Array>;
  /** Where its entries will lie, filled in when written (null without entries). */
  readonly record: RecordLocation | null;
  readonly entryIndexMax: number;
  readonly hardState: HardState | null;
  /** False for a record that only moves the commit index: written, but never synced for itself. */
  readonly syncNeeded: boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Whether an append must be synced before it counts as persisted: anything but a hard state that
 * moves only the commit index (which a restarted node re-learns from a quorum) must be.
 */
export function appendSyncNeeded(entryCount: number, hardState: HardState | null, previous: HardState): boolean {
  return entryCount > 0 || hardState === null || hardState.term !== previous.term || hardState.vote !== previous.vote;
}

function checkSafeInteger(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new StorageUsageError(`${field} must be a safe integer ≥ ${min}, got ${value}`);
}

function concat(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

/** An append record's entries batch: none, entries to encode in place, or a batch already compressed. */
type AppendBatch =
  | { readonly kind: 'none' }
  | { readonly kind: 'raw'; readonly entries: readonly Entry[]; readonly rawBytes: number }
  | { readonly kind: 'compressed'; readonly codecId: CodecId; readonly stored: Uint8Array };

/** Frames one append record (layout in record.ts): flags, the hard state if any, the entries batch if any. */
function frameAppendRecord(hardState: HardState | null, batch: AppendBatch): Uint8Array {
  const batchBytes = batch.kind === 'none' ? 0 : batch.kind === 'raw' ? batch.rawBytes : batch.stored.byteLength;
  const payloadBytes = appendPrefixBytes(hardState) + batchBytes;
  const framed = new Uint8Array(RECORD_HEADER_BYTES + payloadBytes);
  const batchStart = encodeAppendPrefixInto(framed, RECORD_HEADER_BYTES, hardState, batch.kind !== 'none');
  if (batch.kind === 'raw') encodeEntriesInto(framed, batchStart, batch.entries);
  else if (batch.kind === 'compressed') framed.set(batch.stored, batchStart);
  writeRecordHeader(framed, 0, RECORD_TYPE.append, batch.kind === 'compressed' ? batch.codecId : CODEC_ID.none, payloadBytes);
  return framed;
}

async function readWholeFile(file: StorageFile): Promise<Uint8Array> {
  const sizeBytes = await file.sizeBytes();
  const bytes = new Uint8Array(sizeBytes);
  let offset = 0;
  // Bounded: each read returns > 0 bytes until the size read above is reached, or we stop at EOF.
  while (offset < sizeBytes) {
    const readBytes = await file.read(bytes.subarray(offset), offset);
    if (readBytes === 0) break;
    offset += readBytes;
  }
  return offset === sizeBytes ? bytes : bytes.subarray(0, offset);
}

export class WriteAheadLog {
  readonly counters = new StorageCounters();
  private readonly logCodec: Codec;
  private readonly dir: string;
  private active: StorageFile;
  private queue: PendingAppend[] = [];
  private writing = false;
  private failure: StorageIoError | null = null;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  /** The hard state as of the last record written to disk (starts each new segment). */
  private writtenHardState: HardState;

  private constructor(
    private readonly settings: StorageSettings,
    walDir: string,
    private readonly segments: Segment[],
    activeFile: StorageFile,
    private readonly logIndex: LogIndex,
    private base: LogBase,
    private currentHardState: HardState,
  ) {
    this.dir = walDir;
    this.active = activeFile;
    this.logCodec = createCodec(settings.logCodec);
    this.writtenHardState = currentHardState;
  }

  /**
   * Opens (creating if needed) the log in `<dir>/wal`, scans every segment and replays it on top
   * of `base` (the newest snapshot, or index 0). Throws StorageCorruptionError on damage that is
   * not a torn tail, unless settings.repair.
   */
  static async open(dir: string, settings: StorageSettings, base: LogBase): Promise<{ wal: WriteAheadLog; recovered: WalRecovered }> {
    const fileOps = settings.fileOps;
    const walDir = join(dir, 'wal');
    await fileOps.mkdir(walDir);
    const names = (await fileOps.readdir(walDir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    const segments: Segment[] = [];
    for (const name of names) {
      const sequence = Number(SEGMENT_NAME.exec(name)![1]);
      const previous = segments[segments.length - 1];
      if (previous !== undefined && sequence !== previous.sequence + 1) {
        throw new StorageCorruptionError(join(walDir, name), 0, `segment ${previous.sequence + 1} is missing (found ${previous.sequence} then ${sequence})`);
      }
      segments.push({ sequence, path: join(walDir, name), sizeBytes: 0, entryIndexMax: 0 });
    }

    const replay = new Replay(base);
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const isLast = i === segments.length - 1;
      const keptBytes = await WriteAheadLog.scanSegment(segment, isLast, replay, settings);
      if (keptBytes !== null) {
        // Repair cut this segment short: every later segment follows the lost records and goes too.
        for (const later of segments.splice(i + 1)) {
          settings.onWarning({
            kind: 'repair-removed-segment',
            file: later.path,
            droppedBytes: later.sizeBytes,
            message: `repair removed segment ${later.path}, which followed the damage in ${segment.path}`,
          });
          await fileOps.unlink(later.path);
        }
        await fileOps.syncDirectory(walDir);
        break;
      }
    }

    // A last segment left empty (a crash while it was being created) is removed and re-created.
    const lastSegment = segments[segments.length - 1];
    const firstFreeSequence = lastSegment?.sequence ?? 1;
    if (lastSegment !== undefined && lastSegment.sizeBytes === 0) {
      await fileOps.unlink(lastSegment.path);
      await fileOps.syncDirectory(walDir);
      segments.pop();
    }

    if (replay.lastMarker !== null && replay.lastMarker.index > base.index) {
      throw new StorageCorruptionError(
        walDir,
        0,
        `the log records a snapshot at index ${replay.lastMarker.index} but the newest snapshot file is at index ${base.index}`,
      );
    }
    const finished = replay.finish();
    if (typeof finished === 'string') throw new StorageCorruptionError(segments[0]?.path ?? walDir, 0, finished);
    const entries = finished.entries;
    const logIndex = new LogIndex(base.index);
    for (let start = 0; start < entries.length; ) {
      const record = finished.records[start]!;
      let end = start + 1;
      while (end < entries.length && finished.records[end] === record) end++;
      logIndex.appendRecovered(entries.slice(start, end), record.firstIndex, record.segmentSequence, record.offsetBytes, record.framedBytes);
      start = end;
    }

    let activeFile: StorageFile;
    if (segments.length === 0) {
      const sequence = firstFreeSequence;
      activeFile = await WriteAheadLog.createSegment(walDir, sequence, replay.hardState, settings, settings.fsync !== 'none');
      segments.push({ sequence, path: activeFile.path, sizeBytes: await activeFile.sizeBytes(), entryIndexMax: 0 });
    } else {
      activeFile = await fileOps.open(segments[segments.length - 1]!.path, 'read-write');
      // What recovery read may not be durable: after a crash of this process (not of the machine)
      // the page cache still holds writes whose sync never completed — or failed. The node is
      // about to act on them (acknowledge entries, count its vote), so make them durable first.
      if (settings.fsync !== 'none') await activeFile.datasync();
    }
    const wal = new WriteAheadLog(settings, walDir, segments, activeFile, logIndex, base, replay.hardState);
    return { wal, recovered: { hardState: replay.hardState, entries, lastMarker: replay.lastMarker } };
  }

  /**
   * Replays one segment. Returns null normally, or the number of bytes kept if repair cut the
   * segment short (the caller then removes later segments).
   */
  private static async scanSegment(segment: Segment, isLast: boolean, replay: Replay, settings: StorageSettings): Promise<number | null> {
    const file = await settings.fileOps.open(segment.path, 'read-write');
    try {
      const bytes = await readWholeFile(file);
      segment.sizeBytes = bytes.byteLength;
      let offset = 0;
      let recordNumber = 0;
      while (offset < bytes.byteLength) {
        const parsed = parseRecordAt(bytes, offset);
        let problem: string | null = null;
        if (parsed.kind === 'bad') {
          problem = parsed.reason;
        } else if (recordNumber === 0) {
          const header = parsed.type === RECORD_TYPE.segmentHeader ? decodeSegmentHeader(parsed.payload) : null;
          if (header === null || header.magic !== SEGMENT_MAGIC) problem = 'segment does not start with a segment header record';
          // Not damage, so not for the torn-tail or repair paths (repair would truncate the segment to nothing).
          else if (header.version !== WAL_FORMAT_VERSION) throw new StorageFormatError(segment.path, header.version, WAL_FORMAT_VERSION);
          else if (header.segmentSequence !== segment.sequence) problem = `segment header says sequence ${header.segmentSequence}, file name says ${segment.sequence}`;
        } else {
          const location = { segmentSequence: segment.sequence, offsetBytes: offset, framedBytes: parsed.nextOffset - offset };
          problem = await WriteAheadLog.applyRecord(parsed.type, parsed.codecId, parsed.payload, replay, segment, location);
        }
        if (problem === null && parsed.kind === 'record') {
          offset = parsed.nextOffset;
          recordNumber++;
          continue;
        }
        // A damaged record. A torn tail if it is in the last segment and nothing intact follows.
        const tornTail = isLast && parsed.kind === 'bad' && intactRecordAfter(bytes, offset) === null;
        const droppedBytes = bytes.byteLength - offset;
        if (tornTail) {
          settings.onWarning({
            kind: 'torn-tail',
            file: segment.path,
            offsetBytes: offset,
            droppedBytes,
            message: `torn record at the tail of ${segment.path} (byte offset ${offset}: ${problem}); truncated ${droppedBytes} bytes — these were never acknowledged as durable`,
          });
          await file.truncate(offset);
          await file.datasync();
          segment.sizeBytes = offset;
          return null;
        }
        if (!settings.repair) throw new StorageCorruptionError(segment.path, offset, `${problem}; refusing to open (the 'repair' option truncates the log here)`);
        settings.onWarning({
          kind: 'repair-truncated',
          file: segment.path,
          offsetBytes: offset,
          droppedBytes,
          message: `repair: truncated ${segment.path} at byte offset ${offset} (${problem}), losing ${droppedBytes} bytes of this segment; the log now ends at index ${replay.lastIndex()}`,
        });
        await file.truncate(offset);
        await file.datasync();
        segment.sizeBytes = offset;
        return offset;
      }
      return null;
    } finally {
      await file.close();
    }
  }

  private static async applyRecord(
    type: number,
    codecId: 0 | 1 | 2,
    payload: Uint8Array,
    replay: Replay,
    segment: Segment,
    location: Omit<RecordRef, 'firstIndex'>,
  ): Promise<string | null> {
    switch (type) {
      case RECORD_TYPE.segmentHeader:
        return 'a second segment header inside the segment';
      case RECORD_TYPE.append: {
        const prefix = decodeAppendPrefix(payload);
        if (typeof prefix === 'string') return prefix;
        if (prefix.hasEntries) {
          const stored = payload.subarray(prefix.entriesOffset);
          let raw: Uint8Array;
          try {
            // Uncompressed batches are copied out of the segment's read buffer, so the recovered
            // entries do not keep the whole segment (headers, overwritten and compacted entries) alive.
            raw = codecId === CODEC_ID.none ? stored.slice() : await decompressWith(codecId, stored);
          } catch (error) {
            return `append record's entries do not decompress (codec id ${codecId}): ${messageOf(error)}`;
          }
          const decoded = decodeEntries(raw);
          if (typeof decoded === 'string') return decoded;
          const last = decoded[decoded.length - 1];
          if (last === undefined) return 'append record says it holds entries but its batch is empty';
          segment.entryIndexMax = Math.max(segment.entryIndexMax, last.index);
          const problem = replay.applyEntries(decoded, { ...location, firstIndex: decoded[0]!.index });
          if (problem !== null) return problem;
        } else if (codecId !== CODEC_ID.none) {
          return `append record without entries names codec id ${codecId} (only the entries batch is ever compressed)`;
        }
        if (prefix.hardState !== null) replay.hardState = prefix.hardState;
        return null;
      }
      case RECORD_TYPE.snapshotMarker: {
        const marker = decodeSnapshotMarker(payload);
        if (marker === null) return 'malformed snapshot marker payload';
        replay.applyMarker(marker);
        return null;
      }
      default:
        return `unknown record type ${type}`;
    }
  }

  /** Creates a segment with its header and hard state; `sync`: fsync the file and the directory. */
  private static async createSegment(walDir: string, sequence: number, hardState: HardState, settings: StorageSettings, sync: boolean): Promise<StorageFile> {
    const path = join(walDir, segmentName(sequence));
    const file = await settings.fileOps.open(path, 'create-exclusive');
    try {
      const header = frameRecord(RECORD_TYPE.segmentHeader, CODEC_ID.none, encodeSegmentHeader(sequence));
      const hard = frameAppendRecord(hardState, { kind: 'none' });
      await file.write(concat([header, hard], header.byteLength + hard.byteLength), 0);
      if (sync) {
        await file.sync();
        await settings.fileOps.syncDirectory(walDir);
      }
      return file;
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads (of what has been appended, in call order; see MEMORY above)
  // -------------------------------------------------------------------------------------------

  /** The first index held in the log (base.index + 1, even when the log is empty). */
  firstIndex(): number {
    return this.logIndex.firstIndex();
  }

  lastIndex(): number {
    return this.logIndex.lastIndex();
  }

  /** What the log holds in memory about its entries (it holds no written entry itself). */
  memoryStats(): { unwrittenRecords: number; records: number; termRuns: number } {
    return { unwrittenRecords: this.logIndex.unwrittenRecordCount(), records: this.logIndex.recordCount, termRuns: this.logIndex.termRunCount };
  }

  snapshotBase(): LogBase {
    return this.base;
  }

  hardState(): HardState {
    return this.currentHardState;
  }

  /** The term of the entry at `index`, the snapshot's term at its index, or null if not held. */
  term(index: number): number | null {
    if (index === this.base.index) return this.base.term;
    return this.logIndex.term(index);
  }

  /**
   * Entries in [fromIndex, toIndexExclusive), at most `bytesMax` of data (but always at least one
   * entry if any is in range), read back from the segments synchronously (or from memory while
   * their record is not yet written). Throws if the range reaches outside what the log holds, if
   * a read fails or finds damage (naming file and offset), or if the entries were compressed with
   * a codec that cannot decompress synchronously (zstd).
   */
  entries(fromIndex: number, toIndexExclusive: number, bytesMax = Number.POSITIVE_INFINITY): Entry[] {
    const first = this.firstIndex();
    if (fromIndex < first) throw new StorageUsageError(`entries from ${fromIndex} requested but the log starts at ${first} (compacted)`);
    if (toIndexExclusive > this.lastIndex() + 1) throw new StorageUsageError(`entries up to ${toIndexExclusive - 1} requested but the log ends at ${this.lastIndex()}`);
    const result: Entry[] = [];
    let bytes = 0;
    for (const record of this.logIndex.recordsCovering(fromIndex, toIndexExclusive)) {
      const held = record.unwritten ?? this.readRecordEntries(record);
      const recordEnd = record.firstIndex + record.count;
      for (let index = Math.max(fromIndex, record.firstIndex); index < Math.min(toIndexExclusive, recordEnd); index++) {
        const entry = held[index - record.firstIndex]!;
        bytes += entry.data.byteLength;
        if (result.length > 0 && bytes > bytesMax) return result;
        result.push(entry);
      }
    }
    return result;
  }

  /** One append record's entries, read from its segment and checked against its checksums. */
  private readRecordEntries(record: RecordLocation): Entry[] {
    const path = join(this.dir, segmentName(record.segmentSequence));
    const bytes = new Uint8Array(record.framedBytes);
    const where = `${path} at byte offset ${record.offsetBytes}`;
    const readBytes = this.settings.fileOps.readSync(path, bytes, record.offsetBytes);
    if (readBytes !== record.framedBytes) throw new StorageCorruptionError(path, record.offsetBytes, `short read of an append record (${readBytes} of ${record.framedBytes} bytes)`);
    const parsed = parseRecordAt(bytes, 0);
    if (parsed.kind === 'bad' || parsed.type !== RECORD_TYPE.append) {
      throw new StorageCorruptionError(path, record.offsetBytes, parsed.kind === 'bad' ? parsed.reason : `expected an append record, found type ${parsed.type}`);
    }
    const prefix = decodeAppendPrefix(parsed.payload);
    if (typeof prefix === 'string' || !prefix.hasEntries) throw new StorageCorruptionError(path, record.offsetBytes, typeof prefix === 'string' ? prefix : 'append record without entries');
    let raw: Uint8Array;
    try {
      raw = decompressSync(parsed.codecId, parsed.payload.subarray(prefix.entriesOffset));
    } catch (error) {
      throw new StorageUsageError(`entries at ${where} cannot be read back: ${messageOf(error)}`);
    }
    const decoded = decodeEntries(raw);
    if (typeof decoded === 'string') throw new StorageCorruptionError(path, record.offsetBytes, decoded);
    if (decoded[0]?.index !== record.firstIndex) throw new StorageCorruptionError(path, record.offsetBytes, `record holds index ${decoded[0]?.index}, the index expected ${record.firstIndex}`);
    return decoded;
  }

  // -------------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------------

  /**
   * Appends `entries` (which may overwrite stored entries from their first index on) and
   * `hardState`, and resolves once durable under the fsync policy. Under 'batched' and 'none' they
   * go as one record, so recovery keeps both or neither. Under 'always' — the naive baseline, one
   * fsync for every entry written — each entry is its own record, synced on its own, and the hard
   * state rides with the last; a crash between them keeps a prefix of the entries without the new
   * hard state, which the Raft core restarts from (it adopts the log's term: raft.ts). The entries'
   * data arrays are kept by reference until written: do not modify them afterwards.
   *
   * An append with no entries whose hard state differs from the last only in its commit index is
   * written but not synced for itself (etcd's MustSync): the commit index is recomputed from a
   * quorum after a crash, so losing it loses nothing, and syncing it would cost a whole fsync on
   * every commit. Its promise resolves once written; it becomes durable with the next synced batch.
   */
  append(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    try {
      this.checkWritable();
      this.validateAppend(entries, hardState);
    } catch (error) {
      return Promise.reject(error);
    }
    this.counters.appends++;
    if (this.settings.fsync !== 'always' || entries.length <= 1) return this.appendRecord(entries, hardState);
    const written: Promise<void>[] = [];
    for (let k = 0; k < entries.length; k++) {
      const last = k === entries.length - 1;
      const promise = this.appendRecord(entries.slice(k, k + 1), last ? hardState : null);
      // One failure stops the log and rejects every later record too: report it once, from the last.
      if (!last) promise.catch(() => undefined);
      written.push(promise);
    }
    return written[written.length - 1]!;
  }

  /** One record: framed, indexed, counted and queued. */
  private appendRecord(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    let framed: Uint8Array | Promise<Uint8Array>;
    try {
      framed = this.frameAppend(entries, hardState);
    } catch (error) {
      return Promise.reject(error);
    }
    const syncNeeded = appendSyncNeeded(entries.length, hardState, this.currentHardState);
    // Apply to the in-memory index now, in call order, so reads and later validation see it.
    const record = entries.length > 0 ? this.logIndex.append(entries) : null;
    if (hardState !== null) this.currentHardState = hardState;
    this.counters.entries += entries.length;
    return this.enqueue(framed, record, entries[entries.length - 1]?.index ?? 0, hardState, syncNeeded);
  }

  /**
   * Records that a snapshot at (index, term) is saved: if the log holds that entry with that term
   * the entries above it stay, otherwise (a snapshot installed from a leader that conflicts with or
   * runs past this log) the whole log is discarded. Durable under the fsync policy, like an append.
   */
  appendSnapshotMarker(index: number, term: number): Promise<void> {
    try {
      this.checkWritable();
      checkSafeInteger('snapshot index', index, 1);
      checkSafeInteger('snapshot term', term, 1);
      if (index < this.base.index) throw new StorageUsageError(`snapshot at ${index} is older than the current one at ${this.base.index}`);
    } catch (error) {
      return Promise.reject(error);
    }
    const keepSuffix = this.term(index) === term;
    this.logIndex.rebase(index, keepSuffix);
    this.base = { index, term };
    const payload = encodeSnapshotMarker({ index, term, keepSuffix });
    this.counters.payloadBytesRaw += payload.byteLength;
    this.counters.payloadBytesStored += payload.byteLength;
    this.counters.records++;
    return this.enqueue(frameRecord(RECORD_TYPE.snapshotMarker, CODEC_ID.none, payload), null, 0, null, true);
  }

  /**
   * Removes whole segments whose entries all lie at or below `snapshotIndex` (never the active
   * one), and drops those entries from memory. The caller must have saved a snapshot at or above
   * `snapshotIndex` first. Returns the removed segment files.
   */
  async compact(snapshotIndex: number): Promise<string[]> {
    this.checkWritable();
    if (snapshotIndex > this.base.index) {
      throw new StorageUsageError(`cannot compact to ${snapshotIndex}: the newest saved snapshot is at ${this.base.index}`);
    }
    const removed: Segment[] = [];
    while (this.segments.length > 1 && this.segments[0]!.entryIndexMax <= snapshotIndex) removed.push(this.segments.shift()!);
    for (const segment of removed) await this.settings.fileOps.unlink(segment.path);
    if (removed.length > 0) await this.settings.fileOps.syncDirectory(this.dir);
    return removed.map((segment) => segment.path);
  }

  /** Waits for queued appends, then closes the active segment. Later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.writing || this.queue.length > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.active.close();
  }

  /** Segment files currently in use, oldest first. */
  segmentPaths(): string[] {
    return this.segments.map((segment) => segment.path);
  }

  private checkWritable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new StorageUsageError('the write-ahead log is closed');
  }

  private validateAppend(entries: readonly Entry[], hardState: HardState | null): void {
    if (this.queue.length >= WAL_QUEUE_APPENDS_MAX) {
      throw new StorageUsageError(`${WAL_QUEUE_APPENDS_MAX} appends are already queued; wait for some to resolve`);
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      checkSafeInteger(`entries[${i}].index`, entry.index, 1);
      checkSafeInteger(`entries[${i}].term`, entry.term, 1);
      if (i > 0 && entry.index !== entries[i - 1]!.index + 1) {
        throw new StorageUsageError(`entries[${i}].index is ${entry.index}, expected ${entries[i - 1]!.index + 1} (entries must be contiguous)`);
      }
    }
    const first = entries[0];
    if (first !== undefined) {
      if (first.index <= this.base.index) {
        throw new StorageUsageError(`entries[0].index ${first.index} is at or below the snapshot index ${this.base.index}`);
      }
      if (first.index > this.lastIndex() + 1) {
        throw new StorageUsageError(`entries[0].index ${first.index} leaves a gap after the last index ${this.lastIndex()}`);
      }
    }
    if (hardState !== null) {
      checkSafeInteger('hardState.term', hardState.term, 0);
      checkSafeInteger('hardState.vote', hardState.vote, 0);
      checkSafeInteger('hardState.commit', hardState.commit, 0);
    }
  }

  /**
   * The append's one record (see record.ts: flags, hard state, entries batch), so that recovery
   * keeps all of it or none of it. With codec 'none' the entries are encoded in place (the data
   * is copied once); otherwise the batch is compressed first, off this call's stack.
   */
  private frameAppend(entries: readonly Entry[], hardState: HardState | null): Uint8Array | Promise<Uint8Array> {
    if (entries.length === 0 && hardState === null) return new Uint8Array(0);
    const rawBatchBytes = entries.length === 0 ? 0 : entriesPayloadBytes(entries);
    const prefixBytes = appendPrefixBytes(hardState);
    // Counted once framed (after compression), so a batch whose compression fails is not counted.
    const count = (storedBatchBytes: number): void => {
      this.counters.records++;
      this.counters.payloadBytesRaw += prefixBytes + rawBatchBytes;
      this.counters.payloadBytesStored += prefixBytes + storedBatchBytes;
    };
    if (entries.length > 0 && this.logCodec.id !== CODEC_ID.none) {
      const codecId = this.logCodec.id;
      return this.logCodec.compress(encodeEntries(entries)).then((storedBatch) => {
        const framed = frameAppendRecord(hardState, { kind: 'compressed', codecId, stored: storedBatch });
        count(storedBatch.byteLength);
        return framed;
      });
    }
    const framed = frameAppendRecord(hardState, entries.length === 0 ? { kind: 'none' } : { kind: 'raw', entries, rawBytes: rawBatchBytes });
    count(rawBatchBytes);
    return framed;
  }

  private enqueue(framed: Uint8Array | Promise<Uint8Array>, record: RecordLocation | null, entryIndexMax: number, hardState: HardState | null, syncNeeded: boolean): Promise<void> {
    // A rejected framing is reported through the writer, in order; keep it from being unhandled meanwhile.
    if (!(framed instanceof Uint8Array)) framed.catch(() => undefined);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ framed, record, entryIndexMax, hardState, syncNeeded, resolve, reject });
      this.startWriter();
    });
  }

  private startWriter(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  private waitForWindow(): Promise<void> {
    return this.settings.clock.delayMs(Math.ceil(this.settings.batchWindowUs / 1000));
  }

  private async writeLoop(): Promise<void> {
    const policy = this.settings.fsync;
    try {
      while (this.queue.length > 0 && this.failure === null) {
        // With no window, a batch is whatever queued up while the previous write and sync were in
        // flight (appenders woken by a sync re-append before this loop resumes: their continuations
        // are microtasks queued ahead of it). A window holds the first append back to gather more.
        if (policy !== 'always' && this.settings.batchWindowUs > 0) await this.waitForWindow();
        const batch: PendingAppend[] = [];
        const chunks: Uint8Array[] = [];
        let batchBytes = 0;
        const appendsMax = policy === 'always' ? 1 : this.settings.batchAppendsMax;
        while (this.queue.length > 0 && batch.length < appendsMax) {
          const pending = this.queue[0]!;
          let framed: Uint8Array;
          try {
            framed = pending.framed instanceof Uint8Array ? pending.framed : await pending.framed;
          } catch (error) {
            this.fail(new StorageIoError('encode', this.active.path, errorCodeOf(error), messageOf(error)), batch);
            return;
          }
          if (batch.length > 0 && batchBytes + framed.byteLength > this.settings.batchBytesMax) break;
          this.queue.shift();
          batch.push(pending);
          chunks.push(framed);
          batchBytes += framed.byteLength;
        }
        await this.writeBatch(batch, chunks, concat(chunks, batchBytes), policy !== 'none' && batch.some((pending) => pending.syncNeeded));
      }
    } finally {
      this.writing = false;
      if (this.queue.length > 0 && this.failure === null) this.startWriter();
      else for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  private async writeBatch(batch: PendingAppend[], chunks: readonly Uint8Array[], bytes: Uint8Array, sync: boolean): Promise<void> {
    let segment = this.segments[this.segments.length - 1]!;
    if (segment.sizeBytes >= this.settings.segmentSizeBytes) {
      try {
        segment = await this.rollover(segment);
      } catch (error) {
        this.fail(new StorageIoError('segment rollover', segment.path, errorCodeOf(error), messageOf(error)), batch);
        return;
      }
    }
    const positionBytes = segment.sizeBytes;
    try {
      await this.active.write(bytes, positionBytes);
    } catch (error) {
      // Put the file back as it was so the tail is not left torn; if even that fails, reopening
      // will find the torn tail and truncate it.
      let rollback = `truncated back to ${positionBytes} bytes`;
      try {
        await this.active.truncate(positionBytes);
      } catch (truncateError) {
        rollback = `could not truncate back (${messageOf(truncateError)}); reopening will drop the torn tail`;
      }
      this.fail(
        new StorageIoError('write', segment.path, errorCodeOf(error), `${messageOf(error)}; ${rollback}; the log accepts no more appends until reopened`),
        batch,
      );
      return;
    }
    segment.sizeBytes += bytes.byteLength;
    this.counters.bytesWritten += bytes.byteLength;
    // The records are in the file now: readable back from there, so memory lets their entries go.
    let recordOffsetBytes = positionBytes;
    for (let k = 0; k < batch.length; k++) {
      const record = batch[k]!.record;
      const framedBytes = chunks[k]!.byteLength;
      if (record !== null) {
        record.segmentSequence = segment.sequence;
        record.offsetBytes = recordOffsetBytes;
        record.framedBytes = framedBytes;
        record.unwritten = null;
      }
      recordOffsetBytes += framedBytes;
    }
    if (sync) {
      const startUs = this.settings.clock.nowUs();
      try {
        await this.active.datasync();
      } catch (error) {
        this.fail(
          new StorageIoError(
            'fdatasync',
            segment.path,
            errorCodeOf(error),
            `${messageOf(error)}; records written since the last good sync may be lost, so the log accepts no more appends until reopened`,
          ),
          batch,
        );
        return;
      }
      this.counters.recordSync(this.settings.clock.nowUs() - startUs);
    }
    for (const pending of batch) {
      if (pending.entryIndexMax > segment.entryIndexMax) segment.entryIndexMax = pending.entryIndexMax;
      if (pending.hardState !== null) this.writtenHardState = pending.hardState;
      pending.resolve();
    }
  }

  private async rollover(previous: Segment): Promise<Segment> {
    // 'none' never syncs, not even here: after a power loss its damage may then sit in any segment
    // written since the kernel last flushed, and open reports it as corruption (that is what
    // unsafe means). Under 'always' and 'batched' every byte of the old segment is already synced.
    const sync = this.settings.fsync !== 'none';
    await this.active.close();
    const sequence = previous.sequence + 1;
    // Creating a segment fsyncs the new file and the directory; counted as one sync.
    const createStartUs = this.settings.clock.nowUs();
    this.active = await WriteAheadLog.createSegment(this.dir, sequence, this.writtenHardState, this.settings, sync);
    if (sync) this.counters.recordSync(this.settings.clock.nowUs() - createStartUs);
    const segment: Segment = { sequence, path: this.active.path, sizeBytes: await this.active.sizeBytes(), entryIndexMax: 0 };
    this.segments.push(segment);
    this.counters.records += 2; // the segment header and the carried-over hard state
    this.counters.bytesWritten += segment.sizeBytes;
    return segment;
  }

  private fail(error: StorageIoError, batch: readonly PendingAppend[]): void {
    this.failure = error;
    for (const pending of batch) pending.reject(error);
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }
}

// Snapshot files: a checksummed header (index, term, cluster configuration, codec, sizes, body
// checksum) and a body streamed from the state machine in chunks, compressed frame by frame so a
// large snapshot never has to sit in memory whole. Layout in FORMAT.md.
//
// Saving: write `<name>.snap.tmp` (header placeholder, body frames, then the real header at
// offset 0), fsync it, rename it to `<name>.snap`, fsync the directory, then delete all but the
// newest `snapshotsToKeep`. A crash at any point before the rename leaves the previous snapshot
// as the newest; the stale temporary file is removed (with a warning) on the next open.
//
// Loading: `open` verifies the newest snapshot completely — header checksum, then a pass over
// the stored body computing its CRC32C — before declaring it good. `readBody` then streams the
// decompressed body and checks again as it goes (the file could have changed since): it throws
// SnapshotCorruption at the first bad frame or, for a checksum mismatch, at the end, so a consumer
// must treat what it received as unusable until the iteration has completed without throwing.

import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { ClusterConfig, SnapshotMeta } from '../raft/types.js';
import { createCodec, decompressWith, codecName, isCodecId, CODEC_ID, type CodecId, type CodecSpec } from './codec.js';
import { StorageCorruptionError, StorageUsageError, messageOf } from './errors.js';
import type { StorageFile } from './file-ops.js';
import type { StorageSettings } from './options.js';
import { readUint64, writeUint64 } from './record.js';

export const SNAPSHOT_MAGIC = 'RBSNAP01';
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Raw bytes per compressed body frame: big enough for a good ratio, small enough to hold in memory. */
export const SNAPSHOT_FRAME_RAW_BYTES = 1024 * 1024;
/** A stored frame larger than this is damage (incompressible data grows by well under 1 %). */
const SNAPSHOT_FRAME_STORED_BYTES_MAX = 2 * SNAPSHOT_FRAME_RAW_BYTES + 65_536;
const FRAME_HEADER_BYTES = 8;
const HEADER_FIXED_BYTES = 60;
const VOTERS_MAX = 4096;
const VERIFY_CHUNK_BYTES = 1024 * 1024;

const SNAPSHOT_NAME = /^(\d{20})-(\d{20})\.snap$/;
const TEMPORARY_SUFFIX = '.tmp';

export interface SnapshotInfo {
  readonly meta: SnapshotMeta;
  readonly path: string;
  /** The codec the body was written with (which may differ from the current setting). */
  readonly codec: string;
  readonly codecId: CodecId;
  readonly bodyStoredBytes: number;
  readonly bodyRawBytes: number;
  readonly bodyCrc32c: number;
  readonly headerBytes: number;
}

function snapshotFileName(index: number, term: number): string {
  return `${String(index).padStart(20, '0')}-${String(term).padStart(20, '0')}.snap`;
}

function codecLevelOf(spec: CodecSpec): number {
  return spec.kind === 'zstd' ? spec.level : 0;
}

function encodeHeader(meta: SnapshotMeta, codec: CodecSpec, codecId: CodecId, storedBytes: number, rawBytes: number, bodyCrc: number): Uint8Array {
  const voters = meta.config.voters;
  const headerBytes = HEADER_FIXED_BYTES + voters.length * 8 + 4;
  const header = new Uint8Array(headerBytes);
  const view = new DataView(header.buffer);
  header.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(8, headerBytes, true);
  view.setUint32(12, SNAPSHOT_FORMAT_VERSION, true);
  writeUint64(view, 16, meta.index);
  writeUint64(view, 24, meta.term);
  view.setUint8(32, codecId);
  view.setUint8(33, codecLevelOf(codec));
  view.setUint16(34, 0, true);
  view.setUint32(36, voters.length, true);
  writeUint64(view, 40, storedBytes);
  writeUint64(view, 48, rawBytes);
  view.setUint32(56, bodyCrc, true);
  voters.forEach((voter, i) => writeUint64(view, HEADER_FIXED_BYTES + i * 8, voter));
  view.setUint32(headerBytes - 4, crc32c(header.subarray(0, headerBytes - 4)), true);
  return header;
}

async function readExactly(file: StorageFile, lengthBytes: number, positionBytes: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(lengthBytes);
  let offset = 0;
  while (offset < lengthBytes) {
    const readBytes = await file.read(bytes.subarray(offset), positionBytes + offset);
    if (readBytes === 0) return null;
    offset += readBytes;
  }
  return bytes;
}

async function readHeader(file: StorageFile): Promise<SnapshotInfo> {
  const path = file.path;
  const prefix = await readExactly(file, 12, 0);
  if (prefix === null) throw new StorageCorruptionError(path, 0, 'file is shorter than a snapshot header');
  if (new TextDecoder().decode(prefix.subarray(0, 8)) !== SNAPSHOT_MAGIC) throw new StorageCorruptionError(path, 0, 'not a snapshot file (bad magic)');
  const headerBytes = new DataView(prefix.buffer).getUint32(8, true);
  if (headerBytes < HEADER_FIXED_BYTES + 4 || headerBytes > HEADER_FIXED_BYTES + VOTERS_MAX * 8 + 4) {
    throw new StorageCorruptionError(path, 8, `implausible header length ${headerBytes}`);
  }
  const header = await readExactly(file, headerBytes, 0);
  if (header === null) throw new StorageCorruptionError(path, 0, `file is shorter than its ${headerBytes}-byte header`);
  const view = new DataView(header.buffer);
  if (crc32c(header.subarray(0, headerBytes - 4)) !== view.getUint32(headerBytes - 4, true)) {
    throw new StorageCorruptionError(path, headerBytes - 4, 'snapshot header checksum mismatch');
  }
  const version = view.getUint32(12, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) throw new StorageCorruptionError(path, 12, `unsupported snapshot format version ${version}`);
  const codecId = view.getUint8(32);
  if (!isCodecId(codecId)) throw new StorageCorruptionError(path, 32, `unknown codec id ${codecId}`);
  const codecLevel = view.getUint8(33);
  const voterCount = view.getUint32(36, true);
  if (HEADER_FIXED_BYTES + voterCount * 8 + 4 !== headerBytes) throw new StorageCorruptionError(path, 36, `voter count ${voterCount} does not fit the header length`);
  const voters: number[] = [];
  for (let i = 0; i < voterCount; i++) voters.push(readUint64(view, HEADER_FIXED_BYTES + i * 8));
  const config: ClusterConfig = { voters };
  const spec: CodecSpec = codecId === CODEC_ID.zstd ? { kind: 'zstd', level: codecLevel } : codecId === CODEC_ID.lz4 ? { kind: 'lz4' } : { kind: 'none' };
  return {
    meta: { index: readUint64(view, 16), term: readUint64(view, 24), config },
    path,
    codec: codecName(spec),
    codecId,
    bodyStoredBytes: readUint64(view, 40),
    bodyRawBytes: readUint64(view, 48),
    bodyCrc32c: view.getUint32(56, true),
    headerBytes,
  };
}

/** Yields `source` re-cut into pieces of exactly `pieceBytes` (the last may be shorter). Holds at most one piece. */
async function* rechunk(source: AsyncIterable<Uint8Array>, pieceBytes: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(pieceBytes - pendingBytes, chunk.byteLength - offset);
      // Copy: the producer may reuse its buffer once we ask for the next chunk.
      pending.push(chunk.slice(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === pieceBytes) {
        yield joinPieces(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield joinPieces(pending, pendingBytes);
}

function joinPieces(pieces: Uint8Array[], totalBytes: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.byteLength;
  }
  return joined;
}

export class SnapshotStore {
  /** Files being streamed (path → readers), which pruning must not delete. */
  private readonly pins = new Map<string, number>();
  /** Pruned while pinned: deleted once their last reader releases them. */
  private readonly retired = new Set<string>();
  private snapshots: SnapshotInfo[];

  private constructor(
    private readonly settings: StorageSettings,
    private readonly dir: string,
    snapshots: SnapshotInfo[],
  ) {
    this.snapshots = snapshots;
  }

  /**
   * Opens `<dir>/snap`: removes stale temporary files, reads every snapshot header and fully
   * verifies the newest. A damaged newest snapshot is an error (StorageCorruptionError) unless
   * settings.repair, which renames it to `.corrupt` and falls back to the next one.
   */
  static async open(dir: string, settings: StorageSettings): Promise<SnapshotStore> {
    const fileOps = settings.fileOps;
    const snapDir = join(dir, 'snap');
    await fileOps.mkdir(snapDir);
    const names = await fileOps.readdir(snapDir);
    let removedTemporary = false;
    for (const name of names) {
      if (!name.endsWith(TEMPORARY_SUFFIX)) continue;
      const path = join(snapDir, name);
      settings.onWarning({ kind: 'stale-temporary-file', file: path, message: `removing ${path}, a snapshot that was being written when the process stopped` });
      await fileOps.unlink(path);
      removedTemporary = true;
    }
    if (removedTemporary) await fileOps.syncDirectory(snapDir);
    const candidates = names.filter((name) => SNAPSHOT_NAME.test(name)).sort();
    const store = new SnapshotStore(settings, snapDir, []);
    const infos: SnapshotInfo[] = [];
    // Newest first: the newest good one must be fully verified; older ones only need a good header.
    let newestVerified = false;
    for (let i = candidates.length - 1; i >= 0; i--) {
      const path = join(snapDir, candidates[i]!);
      try {
        const info = await store.readInfo(path);
        if (!newestVerified) {
          await store.verify(info);
          newestVerified = true;
        }
        infos.unshift(info);
      } catch (error) {
        if (!(error instanceof StorageCorruptionError) || !settings.repair || newestVerified) throw error;
        settings.onWarning({
          kind: 'repair-snapshot-set-aside',
          file: path,
          offsetBytes: error.offsetBytes,
          message: `repair: snapshot ${path} is damaged (${error.reason}); renamed to ${path}.corrupt and falling back to the previous snapshot`,
        });
        await fileOps.rename(path, `${path}.corrupt`);
        await fileOps.syncDirectory(snapDir);
      }
    }
    store.snapshots = infos;
    return store;
  }

  /** Newest first is last: the list is in index order. */
  list(): readonly SnapshotInfo[] {
    return this.snapshots;
  }

  newest(): SnapshotInfo | null {
    return this.snapshots[this.snapshots.length - 1] ?? null;
  }

  private async readInfo(path: string): Promise<SnapshotInfo> {
    const file = await this.settings.fileOps.open(path, 'read');
    try {
      const info = await readHeader(file);
      const expectedSize = info.headerBytes + info.bodyStoredBytes;
      const sizeBytes = await file.sizeBytes();
      if (sizeBytes !== expectedSize) throw new StorageCorruptionError(path, Math.min(sizeBytes, expectedSize), `file is ${sizeBytes} bytes, header says ${expectedSize}`);
      return info;
    } finally {
      await file.close();
    }
  }

  /** A pass over the stored body: size and CRC32C must match the header. Throws StorageCorruptionError. */
  async verify(info: SnapshotInfo): Promise<void> {
    const file = await this.settings.fileOps.open(info.path, 'read');
    try {
      let crc = 0;
      let offset = info.headerBytes;
      const end = info.headerBytes + info.bodyStoredBytes;
      const buffer = new Uint8Array(VERIFY_CHUNK_BYTES);
      while (offset < end) {
        const readBytes = await file.read(buffer.subarray(0, Math.min(buffer.byteLength, end - offset)), offset);
        if (readBytes === 0) throw new StorageCorruptionError(info.path, offset, 'file ends before the body does');
        crc = crc32c(buffer.subarray(0, readBytes), crc);
        offset += readBytes;
      }
      if (crc !== info.bodyCrc32c) throw new StorageCorruptionError(info.path, info.headerBytes, `body checksum mismatch over bytes ${info.headerBytes}..${end}`);
    } finally {
      await file.close();
    }
  }

  /**
   * Writes a snapshot atomically (temporary file, fsync, rename, directory fsync) and prunes old
   * ones. The body is consumed chunk by chunk; at most one frame (1 MiB raw) is held at a time.
   */
  async save(meta: SnapshotMeta, body: AsyncIterable<Uint8Array>): Promise<SnapshotInfo> {
    if (!Number.isSafeInteger(meta.index) || meta.index < 1) throw new StorageUsageError(`snapshot index must be a safe integer ≥ 1, got ${meta.index}`);
    if (!Number.isSafeInteger(meta.term) || meta.term < 1) throw new StorageUsageError(`snapshot term must be a safe integer ≥ 1, got ${meta.term}`);
    if (meta.config.voters.length > VOTERS_MAX) throw new StorageUsageError(`snapshot config has ${meta.config.voters.length} voters, more than ${VOTERS_MAX}`);
    const fileOps = this.settings.fileOps;
    const finalPath = join(this.dir, snapshotFileName(meta.index, meta.term));
    const temporaryPath = finalPath + TEMPORARY_SUFFIX;
    const codecSpec = this.settings.snapshotCodec;
    const codec = createCodec(codecSpec);
    const placeholder = encodeHeader(meta, codecSpec, codec.id, 0, 0, 0);
    const file = await fileOps.open(temporaryPath, 'create-exclusive');
    let renamed = false;
    try {
      await file.write(new Uint8Array(placeholder.byteLength), 0);
      let offset = placeholder.byteLength;
      let crc = 0;
      let rawBytes = 0;
      for await (const piece of rechunk(body, SNAPSHOT_FRAME_RAW_BYTES)) {
        const stored = await codec.compress(piece);
        const frame = new Uint8Array(FRAME_HEADER_BYTES + stored.byteLength);
        const view = new DataView(frame.buffer);
        view.setUint32(0, stored.byteLength, true);
        view.setUint32(4, piece.byteLength, true);
        frame.set(stored, FRAME_HEADER_BYTES);
        await file.write(frame, offset);
        crc = crc32c(frame, crc);
        offset += frame.byteLength;
        rawBytes += piece.byteLength;
      }
      const storedBytes = offset - placeholder.byteLength;
      await file.write(encodeHeader(meta, codecSpec, codec.id, storedBytes, rawBytes, crc), 0);
      await file.sync();
      await file.close();
      await fileOps.rename(temporaryPath, finalPath);
      renamed = true;
      await fileOps.syncDirectory(this.dir);
      const info: SnapshotInfo = {
        meta: { index: meta.index, term: meta.term, config: { voters: [...meta.config.voters] } },
        path: finalPath,
        codec: codec.name,
        codecId: codec.id,
        bodyStoredBytes: storedBytes,
        bodyRawBytes: rawBytes,
        bodyCrc32c: crc,
        headerBytes: placeholder.byteLength,
      };
      this.snapshots = this.snapshots.filter((existing) => existing.path !== finalPath);
      this.snapshots.push(info);
      this.snapshots.sort((a, b) => a.meta.index - b.meta.index || a.meta.term - b.meta.term);
      await this.prune();
      return info;
    } catch (error) {
      if (!renamed) {
        await file.close().catch(() => undefined);
        await fileOps.unlink(temporaryPath).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * Keeps `info`'s file from being deleted by pruning while a reader (a transfer to a follower)
   * streams it; returns the release. A file pruned while pinned is deleted at its last release.
   */
  pin(info: SnapshotInfo): () => void {
    this.pins.set(info.path, (this.pins.get(info.path) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const remaining = (this.pins.get(info.path) ?? 1) - 1;
      if (remaining > 0) {
        this.pins.set(info.path, remaining);
        return;
      }
      this.pins.delete(info.path);
      if (this.retired.delete(info.path)) void this.settings.fileOps.unlink(info.path).catch(() => undefined);
    };
  }

  private async prune(): Promise<void> {
    const excess = this.snapshots.length - this.settings.snapshotsToKeep;
    if (excess <= 0) return;
    const removed = this.snapshots.slice(0, excess);
    this.snapshots = this.snapshots.slice(excess);
    let unlinked = false;
    for (const info of removed) {
      if (this.pins.has(info.path)) {
        this.retired.add(info.path);
        continue;
      }
      await this.settings.fileOps.unlink(info.path);
      unlinked = true;
    }
    if (unlinked) await this.settings.fileOps.syncDirectory(this.dir);
  }

  /**
   * Streams the decompressed body. Checks each frame as it goes and the whole-body checksum and
   * sizes at the end; throws StorageCorruptionError (file and offset) on any mismatch — only an
   * iteration that completes without throwing delivered a good body.
   */
  async *readBody(info: SnapshotInfo): AsyncGenerator<Uint8Array> {
    const file = await this.settings.fileOps.open(info.path, 'read');
    try {
      const end = info.headerBytes + info.bodyStoredBytes;
      let offset = info.headerBytes;
      let crc = 0;
      let rawBytes = 0;
      while (offset < end) {
        const frameHeader = await readExactly(file, FRAME_HEADER_BYTES, offset);
        if (frameHeader === null || offset + FRAME_HEADER_BYTES > end) throw new StorageCorruptionError(info.path, offset, 'body ends inside a frame header');
        const view = new DataView(frameHeader.buffer);
        const storedBytes = view.getUint32(0, true);
        const frameRawBytes = view.getUint32(4, true);
        if (storedBytes > SNAPSHOT_FRAME_STORED_BYTES_MAX || frameRawBytes > SNAPSHOT_FRAME_RAW_BYTES || offset + FRAME_HEADER_BYTES + storedBytes > end) {
          throw new StorageCorruptionError(info.path, offset, `implausible frame (stored ${storedBytes} bytes, raw ${frameRawBytes} bytes)`);
        }
        const stored = await readExactly(file, storedBytes, offset + FRAME_HEADER_BYTES);
        if (stored === null) throw new StorageCorruptionError(info.path, offset, 'file ends inside a frame');
        crc = crc32c(stored, crc32c(frameHeader, crc));
        let raw: Uint8Array;
        try {
          raw = await decompressWith(info.codecId, stored);
        } catch (error) {
          throw new StorageCorruptionError(info.path, offset, `frame does not decompress with ${info.codec}: ${messageOf(error)}`);
        }
        if (raw.byteLength !== frameRawBytes) throw new StorageCorruptionError(info.path, offset, `frame decompressed to ${raw.byteLength} bytes, expected ${frameRawBytes}`);
        offset += FRAME_HEADER_BYTES + storedBytes;
        rawBytes += raw.byteLength;
        yield raw;
      }
      if (crc !== info.bodyCrc32c) throw new StorageCorruptionError(info.path, info.headerBytes, 'body checksum mismatch (detected at the end of the stream)');
      if (rawBytes !== info.bodyRawBytes) throw new StorageCorruptionError(info.path, end, `body decompressed to ${rawBytes} bytes, header says ${info.bodyRawBytes}`);
    } finally {
      await file.close();
    }
  }
}

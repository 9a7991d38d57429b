// The storage layer's front door: one durable store per node, in one directory, holding the
// write-ahead log (<dir>/wal) and the snapshot files (<dir>/snap). It knows nothing about Raft
// roles; it stores what the host hands it, in the order the Ready contract sets:
//
//   per Ready:  await storage.saveSnapshot(meta, body)      if ready.snapshot (body from the leader or the state machine)
//               await storage.append(ready.entries, ready.hardState)   entries and hard state, one record: all or nothing
//               — append resolves once durable under storage.fsync; then send messagesAfterPersist.
//   after the state machine snapshots at index i:  await storage.saveSnapshot(...); await storage.compact(i)
//
// Opening returns the recovered state in the shape of RaftRestoreState's parts.

import type { Entry, HardState, LogReader, SnapshotMeta } from '../raft/types.js';
import { codecName } from './codec.js';
import type { StorageCountersSnapshot } from './counters.js';
import { StorageUsageError } from './errors.js';
import { resolveStorageOptions, type StorageOptionsInput, type StorageSafety, type StorageSettings } from './options.js';
import { SnapshotStore, type SnapshotInfo } from './snapshot-store.js';
import { WriteAheadLog } from './wal.js';

export { appendSyncNeeded } from './wal.js';

export interface RecoveredState {
  readonly hardState: HardState;
  /** The newest good snapshot, or null. */
  readonly snapshot: SnapshotMeta | null;
  /** The durable log after the snapshot, contiguous from snapshot.index + 1 (or 1). */
  readonly entries: readonly Entry[];
}

/** Also the Raft core's LogReader: entries it let go of are read back from here. */
export class Storage implements LogReader {
  private constructor(
    readonly settings: StorageSettings,
    readonly dir: string,
    private readonly wal: WriteAheadLog,
    private readonly snapshots: SnapshotStore,
  ) {}

  /** Opens (creating if needed) the store in `dir`, recovering it. See wal.ts for what recovery does to damage. */
  static async open(dir: string, options: StorageOptionsInput = {}): Promise<{ storage: Storage; recovered: RecoveredState }> {
    const settings = resolveStorageOptions(options);
    if (settings.safety === 'unsafe') {
      settings.onWarning({ kind: 'unsafe-fsync', message: `storage in ${dir} runs with fsync 'none': UNSAFE, acknowledged appends can be lost in a crash` });
    }
    await settings.fileOps.mkdir(dir);
    const snapshots = await SnapshotStore.open(dir, settings);
    const newest = snapshots.newest();
    const base = newest === null ? { index: 0, term: 0 } : { index: newest.meta.index, term: newest.meta.term };
    const { wal, recovered } = await WriteAheadLog.open(dir, settings, base);
    // The wal/ and snap/ names (created above if new) must themselves be durable.
    await settings.fileOps.syncDirectory(dir);
    return {
      storage: new Storage(settings, dir, wal, snapshots),
      recovered: { hardState: recovered.hardState, snapshot: newest?.meta ?? null, entries: recovered.entries },
    };
  }

  get safety(): StorageSafety {
    return this.settings.safety;
  }

  /** One line for reports, e.g. "fsync=batched log=lz4 snapshot=zstd:3 (safe)". */
  describe(): string {
    const label = this.safety === 'unsafe' ? 'UNSAFE: acknowledged appends can be lost' : 'safe';
    return `fsync=${this.settings.fsync} log=${codecName(this.settings.logCodec)} snapshot=${codecName(this.settings.snapshotCodec)} (${label})`;
  }

  /** Entries (overwriting stored ones from entries[0].index on) and hard state as one record (a crash keeps both or neither); resolves when durable under the policy. */
  append(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    return this.wal.append(entries, hardState);
  }

  /**
   * Saves a snapshot file atomically, then records it in the log (entries above meta.index are
   * kept if the log holds meta.index with meta.term, otherwise the log is discarded, as Raft
   * requires when a snapshot from the leader conflicts with the local log).
   */
  async saveSnapshot(meta: SnapshotMeta, body: AsyncIterable<Uint8Array>): Promise<SnapshotInfo> {
    const newest = this.snapshots.newest();
    if (newest !== null && meta.index < newest.meta.index) {
      throw new StorageUsageError(`snapshot at index ${meta.index} is older than the stored one at ${newest.meta.index}`);
    }
    const info = await this.snapshots.save(meta, body);
    await this.wal.appendSnapshotMarker(meta.index, meta.term);
    return info;
  }

  /** Keeps a snapshot file from being pruned while it is streamed to a follower; returns the release. */
  pinSnapshot(info: SnapshotInfo): () => void {
    return this.snapshots.pin(info);
  }

  newestSnapshot(): SnapshotInfo | null {
    return this.snapshots.newest();
  }

  snapshotFiles(): readonly SnapshotInfo[] {
    return this.snapshots.list();
  }

  /** The body of a snapshot (default: the newest), decompressed, checked as it streams (see snapshot-store.ts). */
  readSnapshotBody(info: SnapshotInfo | null = this.snapshots.newest()): AsyncIterable<Uint8Array> {
    if (info === null) throw new StorageUsageError('there is no snapshot to read');
    return this.snapshots.readBody(info);
  }

  /** Drops log segments wholly at or below `snapshotIndex` (which a saved snapshot must cover). */
  compact(snapshotIndex: number): Promise<string[]> {
    return this.wal.compact(snapshotIndex);
  }

  firstIndex(): number {
    return this.wal.firstIndex();
  }
  lastIndex(): number {
    return this.wal.lastIndex();
  }
  term(index: number): number | null {
    return this.wal.term(index);
  }
  /** Entries [fromIndex, toIndexExclusive) up to bytesMax of data (at least one), read back from disk; see wal.ts. */
  entries(fromIndex: number, toIndexExclusive: number, bytesMax?: number): Entry[] {
    return this.wal.entries(fromIndex, toIndexExclusive, bytesMax);
  }
  memoryStats(): { unwrittenRecords: number; records: number; termRuns: number } {
    return this.wal.memoryStats();
  }
  hardState(): HardState {
    return this.wal.hardState();
  }
  segmentFiles(): string[] {
    return this.wal.segmentPaths();
  }

  counters(): StorageCountersSnapshot {
    return this.wal.counters.snapshot();
  }

  close(): Promise<void> {
    return this.wal.close();
  }
}

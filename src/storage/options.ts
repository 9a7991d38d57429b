// The storage switches as a profile sets them, resolved with defaults and checked with errors that
// name the field. The fsync policy's safety label travels with the resolved settings so every
// report can print it.

import { parseCodecName, CodecNameError, type CodecSpec } from './codec.js';
import { StorageOptionsError } from './errors.js';
import { performance } from 'node:perf_hooks';
import { realFileOps, type FileOps } from './file-ops.js';

export type FsyncPolicy = 'always' | 'batched' | 'none';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batched', 'none'];

/** 'unsafe' means an acknowledged append can be lost in a crash (fsync 'none'). */
export type StorageSafety = 'safe' | 'unsafe';

export type StorageWarning =
  | { readonly kind: 'torn-tail'; readonly file: string; readonly offsetBytes: number; readonly droppedBytes: number; readonly message: string }
  | { readonly kind: 'repair-truncated'; readonly file: string; readonly offsetBytes: number; readonly droppedBytes: number; readonly message: string }
  | { readonly kind: 'repair-removed-segment'; readonly file: string; readonly droppedBytes: number; readonly message: string }
  | { readonly kind: 'repair-snapshot-set-aside'; readonly file: string; readonly offsetBytes: number; readonly message: string }
  | { readonly kind: 'stale-temporary-file'; readonly file: string; readonly message: string }
  | { readonly kind: 'unsafe-fsync'; readonly message: string };

/**
 * Time as the storage layer sees it: the clock it measures sync latency with and the wait of the
 * batch window. Real by default; the deterministic simulation passes its own, so that a seed
 * replays the same run.
 */
export interface StorageClock {
  nowUs(): number;
  delayMs(ms: number): Promise<void>;
}

export const realStorageClock: StorageClock = {
  nowUs: () => performance.now() * 1000,
  delayMs: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface StorageOptionsInput {
  /** Default 'always'. 'none' needs `allowUnsafe: true`. */
  readonly fsync?: FsyncPolicy;
  /** Must be true for fsync 'none': the caller accepts that acknowledged appends may be lost. */
  readonly allowUnsafe?: boolean;
  /**
   * Batched: how long the writer holds back a batch before it writes and syncs, so appends
   * arriving meanwhile share the sync. 0 (default) = no wait: a lone append is written at once and
   * the appends that arrive while its write and sync are in flight form the next batch (classic
   * group commit, no added latency). Larger values are rounded up to the timer resolution (1 ms).
   */
  readonly batchWindowUs?: number;
  /** Batched: at most this many append calls share one sync (default 1024). */
  readonly batchAppendsMax?: number;
  /** Batched: at most this many framed bytes share one sync (default 4 MiB; one larger append still goes alone). */
  readonly batchBytesMax?: number;
  /** Default 'none'. */
  readonly logCodec?: string;
  /** Default 'none'. */
  readonly snapshotCodec?: string;
  /** A segment is closed and a new one started once it reaches this size (default 64 MiB). */
  readonly segmentSizeBytes?: number;
  /** Snapshot files kept, newest first (default 2). */
  readonly snapshotsToKeep?: number;
  /** Truncate at mid-log corruption instead of refusing to open (says what is lost). Default false. */
  readonly repair?: boolean;
  /** The file-system seam; tests pass a FaultInjectingFileOps, the simulation a simulated disk. */
  readonly fileOps?: FileOps;
  /** The clock seam (default: the real clock and timers). */
  readonly clock?: StorageClock;
  /** Receives every warning (torn tail truncated, repair, stale temporary file); default: console.warn. */
  readonly onWarning?: (warning: StorageWarning) => void;
}

export interface StorageSettings {
  readonly fsync: FsyncPolicy;
  readonly safety: StorageSafety;
  readonly batchWindowUs: number;
  readonly batchAppendsMax: number;
  readonly batchBytesMax: number;
  readonly logCodec: CodecSpec;
  readonly snapshotCodec: CodecSpec;
  readonly segmentSizeBytes: number;
  readonly snapshotsToKeep: number;
  readonly repair: boolean;
  readonly fileOps: FileOps;
  readonly clock: StorageClock;
  readonly onWarning: (warning: StorageWarning) => void;
}

function defaultWarning(warning: StorageWarning): void {
  console.warn(`[storage] ${warning.kind}: ${warning.message}`);
}

function integerIn(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StorageOptionsError(field, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function codecOption(field: string, value: string | undefined): CodecSpec {
  if (value === undefined) return { kind: 'none' };
  try {
    return parseCodecName(value, field);
  } catch (error) {
    if (error instanceof CodecNameError) throw new StorageOptionsError(field, error.message);
    throw error;
  }
}

export function resolveStorageOptions(input: StorageOptionsInput = {}): StorageSettings {
  const fsync = input.fsync ?? 'always';
  if (!FSYNC_POLICIES.includes(fsync)) {
    throw new StorageOptionsError('storage.fsync', `unknown policy '${String(fsync)}'; valid: ${FSYNC_POLICIES.join(', ')}`);
  }
  if (fsync === 'none' && input.allowUnsafe !== true) {
    throw new StorageOptionsError(
      'storage.fsync',
      "'none' never syncs, so acknowledged appends can be lost in a crash; set storage.allowUnsafe: true to accept that (the run is then labelled unsafe)",
    );
  }
  const onWarning = input.onWarning ?? defaultWarning;
  const settings: StorageSettings = {
    fsync,
    safety: fsync === 'none' ? 'unsafe' : 'safe',
    batchWindowUs: integerIn('storage.batchWindowUs', input.batchWindowUs, 0, 0, 1_000_000),
    batchAppendsMax: integerIn('storage.batchAppendsMax', input.batchAppendsMax, 1024, 1, 1_000_000),
    batchBytesMax: integerIn('storage.batchBytesMax', input.batchBytesMax, 4 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    logCodec: codecOption('storage.logCodec', input.logCodec),
    snapshotCodec: codecOption('storage.snapshotCodec', input.snapshotCodec),
    segmentSizeBytes: integerIn('storage.segmentSizeBytes', input.segmentSizeBytes, 64 * 1024 * 1024, 4096, 4 * 1024 * 1024 * 1024),
    snapshotsToKeep: integerIn('storage.snapshotsToKeep', input.snapshotsToKeep, 2, 1, 1000),
    repair: input.repair ?? false,
    fileOps: input.fileOps ?? realFileOps,
    clock: input.clock ?? realStorageClock,
    onWarning,
  };
  return settings;
}

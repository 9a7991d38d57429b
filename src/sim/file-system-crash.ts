// What a power loss keeps of a simulated file system's unsynced operations: the crash cuts, the
// seeded choice each makes, and the outcome reported to the trace. Pure: it decides, the file
// system (file-system.ts) applies.
//
// The one subtle thing: every cut keeps a PREFIX of the unsynced operations in issue order (some
// whole operations, then possibly part of the next one when it is a write — a torn write). A later
// operation never survives without every earlier one: see file-system.ts for why the simulation
// does not model reordering.

import type { Prng } from '../random/prng.js';

export type UnsyncedOperationKind = 'write' | 'truncate' | 'link' | 'unlink' | 'rename';

/** What a cut needs to know about one unsynced operation. */
export interface CrashCandidate {
  readonly kind: UnsyncedOperationKind;
  /** The file it was issued on (for a rename, the new name). */
  readonly path: string;
  /** For a write, its length; 0 for every other kind. */
  readonly writeBytes: number;
}

/** What survives the unsynced operations when power is lost (see SimFileSystem.crash). */
export type FileSystemCrashCut =
  /** Only what was synced: the unlucky power loss. */
  | { readonly kind: 'clean' }
  /**
   * With probability `tornProbability` a seeded prefix survives — k whole operations (k uniform in
   * 0..n) and, half the time when the next is a write of two bytes or more, a seeded 1..length−1
   * bytes of it; otherwise only what was synced (the same meaning as SimDisk's `seeded` cut).
   */
  | { readonly kind: 'seeded'; readonly tornProbability: number }
  /** Everything written survives: the process died but the kernel wrote the page cache back. */
  | { readonly kind: 'keep-all' }
  /**
   * Every operation before the last write (to a path containing `pathIncludes`, if given)
   * survives; that write and everything after it are lost. No such write: everything survives.
   */
  | { readonly kind: 'drop-last-write'; readonly pathIncludes?: string }
  /** As `drop-last-write`, but a seeded 1..length−1 bytes of that write survive (a torn tail). */
  | { readonly kind: 'tear-last-write'; readonly pathIncludes?: string };

export interface CrashDecision {
  /** How many unsynced operations survive whole, from the first. */
  readonly keptOperations: number;
  /** Bytes of operation `keptOperations` (a write) that survive, or null (none of it). */
  readonly tornBytes: number | null;
}

export interface FileSystemCrashOutcome {
  readonly cut: FileSystemCrashCut['kind'];
  /** Writes, truncates and directory changes not yet durable when power was lost. */
  readonly unsyncedOperations: number;
  /** How many of them survived whole. */
  readonly keptOperations: number;
  /** The write that survived in part, if any. */
  readonly tornWrite: { readonly path: string; readonly keptBytes: number; readonly writeBytes: number } | null;
  /** Syncs in flight whose promises will never settle (the process that awaited them is gone). */
  readonly abandonedSyncs: number;
}

/** One line for the trace, e.g. "seeded: kept 3 + 17 of 40 bytes of /n1/wal/…1.wal of 5 unsynced operations, 1 sync abandoned". */
export function describeFileSystemCrashOutcome(outcome: FileSystemCrashOutcome): string {
  const syncs = outcome.abandonedSyncs === 0 ? '' : `, ${outcome.abandonedSyncs} sync${outcome.abandonedSyncs === 1 ? '' : 's'} abandoned`;
  if (outcome.unsyncedOperations === 0) return `${outcome.cut}: nothing unsynced${syncs}`;
  const torn = outcome.tornWrite === null ? '' : ` + ${outcome.tornWrite.keptBytes} of ${outcome.tornWrite.writeBytes} bytes of a write to ${outcome.tornWrite.path}`;
  return `${outcome.cut}: kept ${outcome.keptOperations}${torn} of ${outcome.unsyncedOperations} unsynced operations${syncs}`;
}

/** Checks a cut's fields; throws a RangeError naming the bad one. */
export function checkCrashCut(cut: FileSystemCrashCut): void {
  if (cut.kind === 'seeded' && !(cut.tornProbability >= 0 && cut.tornProbability <= 1)) {
    throw new RangeError(`crash cut 'seeded': tornProbability must be in [0, 1], got ${cut.tornProbability}`);
  }
}

/** A seeded byte count that tears a write of `writeBytes` (null: too short to tear, so it is lost whole). */
function tearPoint(prng: Prng, writeBytes: number): number | null {
  return writeBytes >= 2 ? prng.nextInt(1, writeBytes) : null;
}

/** Decides what `cut` keeps of `unsynced` (in issue order). Draws from `prng` only as the cut needs. */
export function chooseCrashCut(unsynced: readonly CrashCandidate[], prng: Prng, cut: FileSystemCrashCut): CrashDecision {
  checkCrashCut(cut);
  const count = unsynced.length;
  switch (cut.kind) {
    case 'clean':
      return { keptOperations: 0, tornBytes: null };
    case 'keep-all':
      return { keptOperations: count, tornBytes: null };
    case 'seeded': {
      if (count === 0 || !prng.chance(cut.tornProbability)) return { keptOperations: 0, tornBytes: null };
      const kept = prng.nextInt(0, count + 1);
      const next = unsynced[kept];
      // Half the time the cut falls between two operations: a clean prefix (unacknowledged records surviving whole).
      const tear = next?.kind === 'write' && prng.chance(0.5);
      return { keptOperations: kept, tornBytes: tear ? tearPoint(prng, next.writeBytes) : null };
    }
    case 'drop-last-write':
    case 'tear-last-write': {
      let last = count - 1;
      while (last >= 0 && !(unsynced[last]!.kind === 'write' && (cut.pathIncludes === undefined || unsynced[last]!.path.includes(cut.pathIncludes)))) last--;
      if (last < 0) return { keptOperations: count, tornBytes: null };
      return { keptOperations: last, tornBytes: cut.kind === 'tear-last-write' ? tearPoint(prng, unsynced[last]!.writeBytes) : null };
    }
  }
}

// Crashes aimed at the sync window: between a node writing a Ready and that write becoming
// durable. That is where a host that acknowledges too early loses an acknowledged write or a vote,
// and where a torn write leaves entries on disk without the hard state written after them. Random
// crashes rarely land there, so a trap waits for a node to hand storage a Ready of the wanted shape
// and crashes it at a seeded instant inside the next sync that node's disk starts.

import type { NodeId, Ready } from '../raft/types.js';
import type { FileSystemCrashCut } from './file-system.js';

/**
 * Which written-but-unsynced Ready a crash during sync aims at. `hard-state`: it changes term,
 * vote or commit; `entries`: it appends to the log; `term-and-entries`: it raises the term and
 * carries entries of the new term; `any`: anything written.
 */
export type SyncCrashTarget = 'any' | 'hard-state' | 'entries' | 'term-and-entries';

/** A crash during sync: which nodes, which Ready, what survives, what follows. */
export interface SyncCrashPlan {
  /** Candidate nodes (default: every node). */
  readonly nodes?: readonly NodeId[];
  readonly target: SyncCrashTarget;
  /** No Ready in flight fits now: wait this long for one before giving up. */
  readonly withinUs: number;
  /** How many nodes to crash, each inside its own sync window (default 1). */
  readonly crashes?: number;
  /** What survives of the unsynced writes (default: the cluster's seeded torn-write setting). */
  readonly cut?: FileSystemCrashCut;
  /** Restart each crashed node this long after its crash (null: leave it down). */
  readonly restartAfterUs?: number | null;
  /** Also crash this node (if still up, in the same incarnation) this long after the first crash. */
  readonly thenCrash?: { readonly node: NodeId; readonly afterUs: number } | null;
}

export interface ReadyShape {
  readonly hardState: boolean;
  readonly entries: boolean;
  /** The hard state raises the term and the entries include some of the new term. */
  readonly termAndEntries: boolean;
}

export function readyShape(ready: Ready, previousTerm: number): ReadyShape | null {
  const hardState = ready.hardState !== null;
  const entries = ready.entries.length > 0;
  if (!hardState && !entries && ready.snapshot === null) return null;
  return {
    hardState,
    entries,
    termAndEntries: ready.hardState !== null && ready.hardState.term > previousTerm && ready.entries.some((entry) => entry.term > previousTerm),
  };
}

export function readyFits(shape: ReadyShape, target: SyncCrashTarget): boolean {
  switch (target) {
    case 'any':
      return true;
    case 'hard-state':
      return shape.hardState;
    case 'entries':
      return shape.entries;
    case 'term-and-entries':
      return shape.termAndEntries;
  }
}

export interface SyncCrashTrap {
  readonly nodes: readonly NodeId[];
  readonly target: SyncCrashTarget;
  readonly expiresAtUs: number;
  readonly cut: FileSystemCrashCut;
  readonly restartAfterUs: number | null;
  readonly thenCrash: { readonly node: NodeId; readonly afterUs: number } | null;
  remaining: number;
  /** Nodes this trap crashed or has aimed at already (each at most once). */
  readonly taken: NodeId[];
}

/** Traps armed at once; the oldest is dropped beyond this. */
export const SYNC_CRASH_TRAPS_MAX = 8;

export function describeShape(shape: ReadyShape): string {
  if (shape.termAndEntries) return 'a new term and its entries';
  return [shape.hardState ? 'hard state' : '', shape.entries ? 'entries' : ''].filter((part) => part !== '').join(' and ') || 'a snapshot';
}

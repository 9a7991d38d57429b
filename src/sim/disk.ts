// A node's simulated disk: what was written (volatile, in the page cache) versus what was synced
// (durable). Writes follow the Ready contract's order — snapshot, entries, hard state — and a
// sync makes all earlier writes durable. A crash keeps only the durable state, optionally plus a
// seeded prefix of the unsynced writes (a torn write: like a write-ahead log whose tail record
// was half on disk, the prefix may end in the middle of an entries batch).

import type { Prng } from '../random/prng.js';
import type { Entry, HardState, SnapshotMeta } from '../raft/types.js';

export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's bytes as of meta.index. */
  readonly data: Uint8Array;
}

export type DiskWrite =
  | { readonly kind: 'snapshot'; readonly snapshot: StoredSnapshot }
  | { readonly kind: 'entries'; readonly entries: readonly Entry[] }
  | { readonly kind: 'hardState'; readonly hardState: HardState };

export interface DiskState {
  readonly hardState: HardState;
  readonly snapshot: StoredSnapshot | null;
  /** The log after the snapshot, contiguous from snapshot index + 1. */
  readonly entries: readonly Entry[];
}

class MutableDiskState {
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  snapshot: StoredSnapshot | null = null;
  entries: Entry[] = [];

  get snapshotIndex(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  apply(write: DiskWrite, nodeLabel: string): void {
    switch (write.kind) {
      case 'snapshot':
        // An installed snapshot replaces the whole log (the leader's log after it follows).
        this.snapshot = write.snapshot;
        this.entries = [];
        return;
      case 'entries': {
        if (write.entries.length === 0) return;
        const first = write.entries[0]!.index;
        if (first <= this.snapshotIndex || first > this.lastIndex + 1) {
          throw new RangeError(
            `${nodeLabel}: entries from index ${first} do not attach to the stored log (snapshot ${this.snapshotIndex}, last ${this.lastIndex})`,
          );
        }
        this.entries.length = first - this.snapshotIndex - 1;
        for (const entry of write.entries) this.entries.push(entry);
        return;
      }
      case 'hardState':
        this.hardState = write.hardState;
        return;
    }
  }

  clone(): MutableDiskState {
    const copy = new MutableDiskState();
    copy.hardState = this.hardState;
    copy.snapshot = this.snapshot;
    copy.entries = this.entries.slice();
    return copy;
  }
}

/** What survives the unsynced writes when power is lost (see SimDisk.crash). */
export type CrashCut =
  | { readonly kind: 'seeded'; readonly tornProbability: number }
  | { readonly kind: 'drop-hard-state' };

export interface CrashOutcome {
  /** Writes not yet synced when power was lost. */
  readonly unsyncedWrites: number;
  /** How many of them survived whole. */
  readonly keptWrites: number;
  /** Entries that survived of the next write, an entries batch cut short (null: none). */
  readonly tornEntries: number | null;
}

export function describeCrashOutcome(outcome: CrashOutcome): string {
  if (outcome.unsyncedWrites === 0) return 'nothing unsynced';
  const torn = outcome.tornEntries === null ? '' : ` + ${outcome.tornEntries} entries of the next`;
  return `kept ${outcome.keptWrites}${torn} of ${outcome.unsyncedWrites} unsynced writes`;
}

export interface DiskCounters {
  writes: number;
  syncs: number;
  crashes: number;
  tornWrites: number;
  lostWrites: number;
}

export class SimDisk {
  private durable = new MutableDiskState();
  private volatile = new MutableDiskState();
  private unsynced: DiskWrite[] = [];
  readonly counters: DiskCounters = { writes: 0, syncs: 0, crashes: 0, tornWrites: 0, lostWrites: 0 };

  constructor(private readonly nodeLabel: string) {}

  write(write: DiskWrite): void {
    this.volatile.apply(write, this.nodeLabel);
    this.unsynced.push(write);
    this.counters.writes++;
  }

  /** Make every earlier write durable (fsync completed). */
  sync(): void {
    for (const write of this.unsynced) this.durable.apply(write, this.nodeLabel);
    this.unsynced = [];
    this.counters.syncs++;
  }

  get hasUnsyncedWrites(): boolean {
    return this.unsynced.length > 0;
  }

  /**
   * The host took a snapshot of its applied state and made it durable (written, fsynced and
   * renamed into place before this call returns); the log prefix it covers is dropped.
   */
  compact(snapshot: StoredSnapshot): void {
    for (const state of [this.durable, this.volatile]) {
      const drop = Math.min(state.entries.length, snapshot.meta.index - state.snapshotIndex);
      if (snapshot.meta.index < state.snapshotIndex) {
        throw new RangeError(`${this.nodeLabel}: compaction to ${snapshot.meta.index} is behind the stored snapshot ${state.snapshotIndex}`);
      }
      if (snapshot.meta.index > state.lastIndex) {
        throw new RangeError(`${this.nodeLabel}: compaction to ${snapshot.meta.index} beyond the stored log's last index ${state.lastIndex}`);
      }
      state.entries = state.entries.slice(drop);
      state.snapshot = snapshot;
    }
  }

  /**
   * Lose power: unsynced writes are lost, except what `cut` keeps. `seeded`: with probability
   * `tornProbability` a seeded prefix of them survives (possibly ending inside an entries batch).
   * `drop-hard-state`: every unsynced write before the first unsynced hard state survives and
   * that hard state and everything after it is lost — a Ready torn between its entries and its
   * hard state (with no hard state unsynced, a seeded prefix survives as for a torn `seeded` cut).
   */
  crash(prng: Prng, cut: CrashCut): CrashOutcome {
    this.counters.crashes++;
    const unsynced = this.unsynced.length;
    let kept = 0;
    let tornEntries: number | null = null;
    const torn = unsynced > 0 && (cut.kind === 'drop-hard-state' || prng.chance(cut.tornProbability));
    if (torn) {
      const firstHardState = cut.kind === 'drop-hard-state' ? this.unsynced.findIndex((write) => write.kind === 'hardState') : -1;
      kept = firstHardState >= 0 ? firstHardState : prng.nextInt(0, unsynced);
      for (let k = 0; k < kept; k++) this.durable.apply(this.unsynced[k]!, this.nodeLabel);
      const tornWrite = firstHardState >= 0 ? undefined : this.unsynced[kept]!;
      if (tornWrite !== undefined && tornWrite.kind === 'entries' && tornWrite.entries.length > 1) {
        tornEntries = prng.nextInt(1, tornWrite.entries.length);
        this.durable.apply({ kind: 'entries', entries: tornWrite.entries.slice(0, tornEntries) }, this.nodeLabel);
      }
      this.counters.tornWrites++;
    }
    this.counters.lostWrites += unsynced - kept;
    this.unsynced = [];
    this.volatile = this.durable.clone();
    return { unsyncedWrites: unsynced, keptWrites: kept, tornEntries };
  }

  /** The term of the durably stored entry at `index`, or undefined (not stored, or under the snapshot). */
  durableTermAt(index: number): number | undefined {
    return this.durable.entries[index - this.durable.snapshotIndex - 1]?.term;
  }

  get durableSnapshotIndex(): number {
    return this.durable.snapshotIndex;
  }

  /** What a restarting node reads back. */
  durableState(): DiskState {
    return { hardState: this.durable.hardState, snapshot: this.durable.snapshot, entries: this.durable.entries.slice() };
  }

  /** The newest snapshot written (synced or not): what the node would send to a lagging follower. */
  latestSnapshot(): StoredSnapshot | null {
    return this.volatile.snapshot;
  }

  /** The written (volatile) log's last index. */
  get lastIndex(): number {
    return this.volatile.lastIndex;
  }
}

// What a leader knows about one follower's log (etcd's tracker.Progress, in our words):
//   probe     — the leader does not know where the follower's log matches its own. It sends one
//               AppendEntries and waits (paused) for the answer or the next heartbeat.
//   replicate — the follower is known to match up to matchIndex; the leader streams entries
//               optimistically (nextIndex runs ahead of matchIndex) with up to inflightMax
//               messages outstanding.
//   snapshot  — the entries the follower needs were compacted; an InstallSnapshot is in flight
//               and nothing else is sent until it is answered (or given up on).

import { Inflights } from './inflights.js';
import type { ProgressStatus } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  state: ProgressState = 'probe';
  matchIndex = 0;
  nextIndex: number;
  /** In probe state: an AppendEntries is out and unanswered, so the next one waits. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  /** In snapshot state: the snapshot index sent. */
  pendingSnapshotIndex = 0;
  /** In snapshot state: ticks since the InstallSnapshot went out (the host may lose it). */
  snapshotElapsedTicks = 0;
  /** The commit index last sent to this follower (in an append or heartbeat): a lagging one gets a heartbeat at the next tick. */
  commitSent = 0;
  readonly inflights: Inflights;

  constructor(nextIndex: number, inflightMax: number) {
    this.nextIndex = nextIndex;
    this.inflights = new Inflights(inflightMax);
  }

  /** True when no AppendEntries with entries may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** An acknowledgement up to `index`; false if it tells nothing new (stale or duplicate). */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.matchIndex < index) {
      this.matchIndex = index;
      updated = true;
      this.probeSent = false;
    }
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    return updated;
  }

  becomeProbe(): void {
    const leavingSnapshot = this.state === 'snapshot';
    this.state = 'probe';
    this.probeSent = false;
    this.inflights.reset();
    // After a snapshot the follower holds at least the snapshot (if it arrived); probe from there.
    this.nextIndex = leavingSnapshot
      ? Math.max(this.matchIndex + 1, this.pendingSnapshotIndex + 1)
      : this.matchIndex + 1;
    this.pendingSnapshotIndex = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflights.reset();
    this.nextIndex = this.matchIndex + 1;
    this.pendingSnapshotIndex = 0;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.inflights.reset();
    this.pendingSnapshotIndex = snapshotIndex;
    this.snapshotElapsedTicks = 0;
  }

  /** Bookkeeping after an AppendEntries carrying entries up to `lastIndex` (or none) went out. */
  sentEntries(lastIndex: number | null): void {
    if (this.state === 'replicate') {
      if (lastIndex !== null) {
        this.nextIndex = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  toStatus(): ProgressStatus {
    return {
      state: this.state,
      matchIndex: this.matchIndex,
      nextIndex: this.nextIndex,
      inflight: this.inflights.count,
      recentActive: this.recentActive,
    };
  }
}

// Reads without the log: the leader's bookkeeping for ReadIndex and for leases (Raft thesis §6.4).
//
// READINDEX. A read asked at commit index c is linearizable once the leader knows it was still
// the leader *after* the read was asked: then no other leader can have committed anything newer
// than c. The leader learns that from a heartbeat round: every heartbeat broadcast carries a new
// round number, followers echo it, and once a quorum (the leader included) has echoed round r,
// every read that was waiting when r was sent may be served at its index. Reads asked before the
// leader has committed an entry of its own term wait for that commit first (until then its commit
// index may be behind what an earlier leader committed). Reads asked between two Readies share
// one round, so a burst of reads costs one heartbeat per follower, not one per read.
//
// LEASE. A quorum that echoed round r sent at leader tick t promises, in effect, not to elect
// anyone else for a while: while leases are on, each node refuses votes and pre-votes for
// electionTicks of its own clock after it last heard from the leader (raft.ts, inLeaderLease), and
// for electionTicks after a restart. So the leader may answer reads locally, with no message, while
// its tick count is below t + leaseTicks. Why that cannot serve a stale read within the drift
// bound ρ (each clock's tick lasts nominal·[1−ρ, 1+ρ]):
//   - round r left the leader at real time T_send ≥ the time of its tick t, so the lease ends, at
//     the latest, L ticks of the leader's clock after T_send: T_send + L·(1+ρ)·nominal;
//   - a follower that echoed r received it at T_recv ≥ T_send and reset its election clock; it
//     refuses every vote until E ticks of its own clock have passed, the first of which may come
//     at once: not before T_recv + (E−1)·(1−ρ)·nominal;
//   - a new leader needs a quorum of votes, and any quorum includes one of those followers; so
//     no new leader exists — and nothing newer than the old leader's commit is committed — before
//     T_send + (E−1)·(1−ρ)·nominal.
//   The lease is therefore safe when L·(1+ρ) ≤ (E−1)·(1−ρ): `leaseTicksSafeMax`. A leadership
//   transfer makes voters grant at once (the transfer flag), so a leader that starts a transfer
//   serves no lease read again in that term; a leader cut off from its quorum keeps serving until
//   its lease runs out (not until it steps down, which may be later — or earlier, harmlessly).
// The core counts absolute ticks. When the host's event loop stalls, ticks due during the stall
// must be delivered (tick() called for each) before the host asks for a lease read — otherwise the
// leader's clock runs slow by the stall and the argument above breaks.

import { quorumSize } from './quorum.js';
import type { NodeId } from './types.js';

/** The longest lease that is safe for election timeout E ticks and clock drift bound ρ. */
export function leaseTicksSafeMax(electionTicks: number, clockDriftMax: number): number {
  return Math.floor(((electionTicks - 1) * (1 - clockDriftMax)) / (1 + clockDriftMax));
}

/** A read someone asked the leader for: its own host (`from` = the leader) or a follower. */
export interface ReadRequest {
  readonly context: number;
  readonly from: NodeId;
}

/** A read whose index is fixed and whose confirming round has been (or will be) sent. */
export interface ConfirmedRead extends ReadRequest {
  readonly index: number;
}

interface ConfirmingRead extends ConfirmedRead {
  readonly round: number;
}

/** Bound on reads waiting at once; beyond it readIndex answers 'reads-full'. */
export const PENDING_READS_MAX = 65_536;
/** Rounds remembered for lease renewal; an older round's acknowledgement renews nothing (safe). */
const ROUND_TICKS_REMEMBERED_MAX = 1024;

export class ReadOnly {
  private round = 0;
  /** (round, tick sent) for rounds not yet confirmed by a quorum, oldest first. */
  private readonly roundTicks: { readonly round: number; readonly tick: number }[] = [];
  private readonly peerRounds = new Map<NodeId, number>();
  private quorumRoundValue = 0;
  private leaseExpiryTickValue = 0;
  /** Set by a leadership transfer: no lease again in this term. */
  private leaseRevoked = false;
  private awaitingCommit: ReadRequest[] = [];
  private awaitingRound: ConfirmedRead[] = [];
  private confirming: ConfirmingRead[] = [];

  constructor(
    private readonly voterCount: number,
    private readonly leaseTicks: number,
  ) {}

  get pendingCount(): number {
    return this.awaitingCommit.length + this.awaitingRound.length + this.confirming.length;
  }

  get currentRound(): number {
    return this.round;
  }

  get leaseExpiryTick(): number {
    return this.leaseExpiryTickValue;
  }

  leaseHolds(tick: number): boolean {
    return this.leaseTicks > 0 && !this.leaseRevoked && tick < this.leaseExpiryTickValue;
  }

  /** Leadership starts or ends: forget everything; returns the reads that were waiting (to fail). */
  reset(peers: readonly NodeId[]): ReadRequest[] {
    const dropped: ReadRequest[] = [...this.awaitingCommit, ...this.awaitingRound, ...this.confirming];
    this.round = 0;
    this.roundTicks.length = 0;
    this.peerRounds.clear();
    for (const peer of peers) this.peerRounds.set(peer, 0);
    this.quorumRoundValue = 0;
    this.leaseExpiryTickValue = 0;
    this.leaseRevoked = false;
    this.awaitingCommit = [];
    this.awaitingRound = [];
    this.confirming = [];
    return dropped;
  }

  /** A leadership transfer started: the lease ends now and for the rest of the term. */
  endLease(): void {
    this.leaseExpiryTickValue = 0;
    this.leaseRevoked = true;
  }

  /** Queue a read. `commitIndex` is null until the leader has committed an entry of its term. */
  request(read: ReadRequest, commitIndex: number | null): void {
    if (commitIndex === null) this.awaitingCommit.push(read);
    else this.awaitingRound.push({ ...read, index: commitIndex });
  }

  /** The leader's first entry of its term committed at `commitIndex`: reads waiting for it get that index. */
  termCommitted(commitIndex: number): void {
    for (const read of this.awaitingCommit) this.awaitingRound.push({ ...read, index: commitIndex });
    this.awaitingCommit = [];
  }

  /** Reads have their index and need a round sent after they were asked. */
  needsRound(): boolean {
    return this.awaitingRound.length > 0;
  }

  /**
   * A heartbeat round goes out at `tick`: returns its number. Reads waiting for a round ride on
   * it; with a single voter they are confirmed at once (returned through `acknowledge`).
   */
  startRound(tick: number): number {
    this.round += 1;
    this.roundTicks.push({ round: this.round, tick });
    if (this.roundTicks.length > ROUND_TICKS_REMEMBERED_MAX) this.roundTicks.shift();
    for (const read of this.awaitingRound) this.confirming.push({ ...read, round: this.round });
    this.awaitingRound = [];
    return this.round;
  }

  /**
   * `peer` echoed `round` (null: just recount, e.g. after startRound in a one-node cluster).
   * Returns the reads now confirmed, in the order they were asked.
   */
  acknowledge(peer: NodeId | null, round: number): ConfirmedRead[] {
    if (peer !== null) {
      const previous = this.peerRounds.get(peer);
      if (previous === undefined || round <= previous || round > this.round) return [];
      this.peerRounds.set(peer, round);
    }
    // The leader has "echoed" every round it sent; the quorum-th highest echo is confirmed.
    const echoed = [this.round, ...this.peerRounds.values()].sort((a, b) => b - a);
    const confirmedRound = echoed[quorumSize(this.voterCount) - 1]!;
    if (confirmedRound <= this.quorumRoundValue) return [];
    this.quorumRoundValue = confirmedRound;
    while (this.roundTicks.length > 0 && this.roundTicks[0]!.round <= confirmedRound) {
      const sent = this.roundTicks.shift()!;
      if (sent.round === confirmedRound && this.leaseTicks > 0 && !this.leaseRevoked) {
        this.leaseExpiryTickValue = Math.max(this.leaseExpiryTickValue, sent.tick + this.leaseTicks);
      }
    }
    let released = 0;
    while (released < this.confirming.length && this.confirming[released]!.round <= confirmedRound) released++;
    if (released === 0) return [];
    const confirmed = this.confirming.slice(0, released).map(({ context, from, index }) => ({ context, from, index }));
    this.confirming = this.confirming.slice(released);
    return confirmed;
  }
}

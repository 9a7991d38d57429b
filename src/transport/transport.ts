// What a node needs from the network, and nothing about how it is done: the in-process transport
// (embedded clusters), the simulated network (the deterministic simulation) and TCP between
// processes implement this one interface, and the host loop in src/server/node.ts drives it.
//
// Delivery is best-effort and unordered across peers (Raft tolerates loss, duplication and
// reordering); an InstallSnapshot travels with its body, which the receiving side collects before
// it hands the message to the node, so the node's core only ever sees a snapshot it holds.

import type { InstallSnapshotRequest, Message, MessageType, NodeId } from '../raft/types.js';

/** What the transport hands the node. */
export interface TransportHandler {
  /** A Raft message (never an InstallSnapshot: see `snapshot`). */
  message(message: Message): void;
  /** An InstallSnapshot whose whole body (the state machine's snapshot stream) has arrived. */
  snapshot(message: InstallSnapshotRequest, body: readonly Uint8Array[]): void;
  /** The transport could not reach `peer` (connection refused or lost): the core stops streaming to it. */
  unreachable(peer: NodeId): void;
}

export interface Transport {
  /** Starts delivering to `handler`. */
  start(handler: TransportHandler): void;
  /** Sends a message, best effort; InstallSnapshot goes through sendSnapshot. */
  send(message: Message): void;
  /**
   * Streams a snapshot to its target: the message, then the body, pulled as the receiver takes it
   * (flow control). Resolves once delivered, rejects if the transfer failed.
   */
  sendSnapshot(message: InstallSnapshotRequest, body: AsyncIterable<Uint8Array>): Promise<void>;
  counters(): TransportCountersSnapshot;
  close(): Promise<void>;
}

export interface TransportCountersSnapshot {
  readonly messagesSent: number;
  /** Encoded bytes of the messages sent (what a wire would carry, counted even in process). */
  readonly bytesSent: number;
  readonly messagesByType: Readonly<Record<MessageType, number>>;
  /** Sends dropped: the peer unreachable, a queue full, or (simulated) loss. */
  readonly messagesDropped: number;
  readonly snapshotsSent: number;
  readonly snapshotBytesSent: number;
}

export function emptyMessageCounts(): Record<MessageType, number> {
  return {
    PreVote: 0,
    PreVoteResponse: 0,
    Vote: 0,
    VoteResponse: 0,
    AppendEntries: 0,
    AppendEntriesResponse: 0,
    Heartbeat: 0,
    HeartbeatResponse: 0,
    InstallSnapshot: 0,
    InstallSnapshotResponse: 0,
    TimeoutNow: 0,
    ReadIndex: 0,
    ReadIndexResponse: 0,
  };
}

// What every node applied, as the checkers see it: the chained prefix hash of each node's applied
// log (state-machine safety compares them across nodes and restarts), where each client payload
// of a scenario landed, and a digest of the KV state at every snapshot, so that a node that
// restores a snapshot must end up with exactly the state its taker had.
//
// Scenario proposals are opaque 8-byte payloads, not KV requests: the state machine answers them
// 'malformed-request' and changes nothing, so they test the protocol alone. The sim's KV clients
// (clients.ts) send real requests through sessions.

import { chainHash, EMPTY_LOG_HASH } from '../check/entry-hash.js';
import type { ClusterInvariants } from '../check/cluster-invariants.js';
import { InvariantViolation } from '../check/violation.js';
import type { KvStateMachine } from '../kv/state-machine.js';
import type { Entry, NodeId, SnapshotMeta } from '../raft/types.js';

/** Every scenario payload is this long (a magic word and the payload id). */
export const PAYLOAD_BYTES = 8;
const PAYLOAD_MAGIC = 0x5349_4d50; // "SIMP"

/** A scenario payload: unique per proposal within a run. */
export function encodePayload(payloadId: number): Uint8Array {
  const bytes = new Uint8Array(PAYLOAD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, PAYLOAD_MAGIC);
  view.setUint32(4, payloadId);
  return bytes;
}

/** The payload id in `data`, or null if it is no scenario payload (a no-op, a KV request). */
export function decodePayload(data: Uint8Array): number | null {
  if (data.length !== PAYLOAD_BYTES) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return view.getUint32(0) === PAYLOAD_MAGIC ? view.getUint32(4) : null;
}

interface NodeApplied {
  index: number;
  hash: number;
}

export class ApplyTracker {
  /** payload id → the index it was applied at (the same on every node, or state-machine safety fails). */
  private readonly payloadIndex = new Map<number, number>();
  private readonly nodes = new Map<NodeId, NodeApplied>();
  /** snapshot index → KV content digest of its taker at that index. */
  private readonly snapshotDigests = new Map<number, number>();

  constructor(private readonly invariants: ClusterInvariants) {}

  /** A node (re)started: its state machine holds its snapshot (index 0: empty). */
  started(node: NodeId, snapshotIndex: number, stateMachine: KvStateMachine): void {
    const hash = this.invariants.stateMachineSafety.prefixHashAt(snapshotIndex);
    if (hash === undefined) throw new InvariantViolation('state-machine safety', [node], `node ${node} restarted from a snapshot at index ${snapshotIndex}, which no node ever applied`);
    this.nodes.set(node, { index: snapshotIndex, hash });
    if (snapshotIndex > 0) this.checkDigest(node, snapshotIndex, stateMachine, 'restarted from');
  }

  applied(node: NodeId, entries: readonly Entry[]): void {
    const state = this.nodes.get(node)!;
    for (const entry of entries) {
      state.hash = chainHash(state.hash, entry);
      state.index = entry.index;
      this.invariants.applied(node, entry, state.hash);
      const payloadId = decodePayload(entry.data);
      if (payloadId !== null) {
        const known = this.payloadIndex.get(payloadId);
        if (known === undefined) this.payloadIndex.set(payloadId, entry.index);
        else if (known !== entry.index) throw new InvariantViolation('state-machine safety', [node], `payload #${payloadId} applied at index ${entry.index} here, at ${known} elsewhere`);
      }
    }
  }

  snapshotStarted(node: NodeId, meta: SnapshotMeta, stateMachine: KvStateMachine): void {
    const digest = stateMachine.contentDigest();
    const known = this.snapshotDigests.get(meta.index);
    if (known !== undefined && known !== digest) {
      throw new InvariantViolation('state-machine safety', [node], `node ${node}'s state at index ${meta.index} differs from another node's snapshot at that index`);
    }
    this.snapshotDigests.set(meta.index, digest);
  }

  restored(node: NodeId, meta: SnapshotMeta, stateMachine: KvStateMachine): void {
    const hash = this.invariants.stateMachineSafety.prefixHashAt(meta.index);
    if (hash === undefined) throw new InvariantViolation('state-machine safety', [node], `node ${node} installed a snapshot at index ${meta.index}, which no node ever applied`);
    this.nodes.set(node, { index: meta.index, hash });
    this.invariants.snapshotRestored(node, { index: meta.index, term: meta.term, hash });
    this.checkDigest(node, meta.index, stateMachine, 'installed');
  }

  appliedIndex(node: NodeId): number {
    return this.nodes.get(node)?.index ?? 0;
  }

  /** Whether `node` has applied the proposal with this payload. */
  hasApplied(node: NodeId, payloadId: number): boolean {
    const index = this.payloadIndex.get(payloadId);
    return index !== undefined && this.appliedIndex(node) >= index;
  }

  indexOfPayload(payloadId: number): number | undefined {
    return this.payloadIndex.get(payloadId);
  }

  private checkDigest(node: NodeId, index: number, stateMachine: KvStateMachine, how: string): void {
    const expected = this.snapshotDigests.get(index);
    if (expected === undefined) return;
    const digest = stateMachine.contentDigest();
    if (digest !== expected) {
      throw new InvariantViolation('state-machine safety', [node], `node ${node} ${how} a snapshot at index ${index} whose KV state differs from its taker's at that index`);
    }
  }
}

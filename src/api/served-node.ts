// What the client APIs need of a node: the requests and the read-outs, nothing about how the node
// is hosted (an embedded cluster's node, or the one node of a `raftbench node` process). KvNode
// satisfies it structurally.

import type { KvReadCommand } from '../kv/commands.js';
import type { NodeId, RaftStatus } from '../raft/types.js';
import type { NodeCountersSnapshot, NodeErrorKind, NodeReply } from '../server/node.js';
import type { NodeOptions, ReadMode } from '../server/node-options.js';

export interface ServedNode {
  readonly id: NodeId;
  readonly options: Pick<NodeOptions, 'readMode' | 'unsafeReadsAllowed' | 'requestTimeoutMs' | 'raft'>;
  submit(request: Uint8Array): Promise<NodeReply>;
  read(command: KvReadCommand, mode: ReadMode): Promise<NodeReply>;
  status(): RaftStatus | null;
  counterSnapshot(): NodeCountersSnapshot;
}

/** Where a node's client APIs listen ("host:port"), as far as this node knows. */
export interface ApiAddresses {
  readonly http?: string;
  readonly binary?: string;
}

/** The addresses of another node's client APIs, for redirects (undefined: not known). */
export type LeaderAddresses = (id: NodeId) => ApiAddresses | undefined;

/** Node error kinds in a fixed order: the binary protocol sends the index. */
export const NODE_ERROR_KINDS: readonly NodeErrorKind[] = ['not-leader', 'no-leader', 'overloaded', 'lost', 'leader-changed', 'timeout', 'storage-failed', 'stopped', 'refused'];

/** Why a read mode may not be asked of this node, or null if it may. */
export function readModeRefusal(node: ServedNode, mode: ReadMode): string | null {
  if (mode === 'stale' && !node.options.unsafeReadsAllowed) return "read mode 'stale' can return stale data and is not enabled on this node";
  if (mode === 'lease' && node.options.raft.leaseTicks === 0) return "read mode 'lease' needs a lease (timing.leaseTicks > 0) and this node has none";
  return null;
}

// A node's status as both client APIs report it (HTTP GET /v1/status, the binary 'status' frame):
// who it is, its role and term, the leader it knows (and where that leader's APIs listen), how far
// its log is committed and applied, and its counters.

import type { NodeId, Role } from '../raft/types.js';
import type { NodeCountersSnapshot } from '../server/node.js';
import type { ApiAddresses, LeaderAddresses, ServedNode } from './served-node.js';

export interface NodeStatusJson {
  readonly id: NodeId;
  /** 'down' while the node is not running (stopped, or recovering from a storage failure). */
  readonly role: Role | 'down';
  readonly term: number;
  /** 0: no leader known. */
  readonly leader: NodeId;
  readonly leaderAddresses: ApiAddresses | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly readMode: string;
  readonly counters: NodeCountersSnapshot;
}

export function nodeStatusJson(node: ServedNode, leaderAddresses: LeaderAddresses | undefined): NodeStatusJson {
  const status = node.status();
  const leader = status?.leader ?? 0;
  return {
    id: node.id,
    role: status === null ? 'down' : status.role,
    term: status?.term ?? 0,
    leader,
    leaderAddresses: leader === 0 ? null : (leaderAddresses?.(leader) ?? null),
    commit: status?.commit ?? 0,
    applied: status?.applied ?? 0,
    lastIndex: status?.lastIndex ?? 0,
    snapshotIndex: status?.snapshotIndex ?? 0,
    readMode: node.options.readMode,
    counters: node.counterSnapshot(),
  };
}

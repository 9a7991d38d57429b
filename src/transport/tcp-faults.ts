// Fault hooks of the TCP transport, set at run time per peer (from tests, or the node's admin
// endpoint): an added one-way delay, a drop probability, and a partition. They act on this node's
// side of the link only — a partition drops what this node sends to the peer *and* what it receives
// from it, so setting it on one side cuts the link both ways; delay and drop apply to what this
// node sends (set them on both nodes for a symmetric link).

import type { NodeId } from '../raft/types.js';

export interface PeerFaults {
  /** Added to every message this node sends to the peer (ms, 0 … 60 000). */
  readonly delayMs: number;
  /** Each message to the peer is dropped with this probability (0 … 1). */
  readonly dropProbability: number;
  /** Nothing passes either way; snapshot transfers to the peer fail. */
  readonly partitioned: boolean;
}

export const NO_FAULTS: PeerFaults = { delayMs: 0, dropProbability: 0, partitioned: false };
const DELAY_MS_MAX = 60_000;

export class FaultError extends Error {
  override readonly name = 'FaultError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`invalid fault ${field}: ${reason}`);
  }
}

/**
 * Checks a partial fault setting from outside (JSON from the admin endpoint, say) and merges it
 * into `current`. Throws FaultError naming the field.
 */
export function mergeFaults(current: PeerFaults, change: unknown): PeerFaults {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) throw new FaultError('(body)', 'must be an object with delayMs, dropProbability or partitioned');
  const input = change as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'delayMs' && key !== 'dropProbability' && key !== 'partitioned') throw new FaultError(key, 'unknown field (valid: delayMs, dropProbability, partitioned)');
  }
  const { delayMs, dropProbability, partitioned } = input;
  if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= DELAY_MS_MAX)) {
    throw new FaultError('delayMs', `must be an integer from 0 to ${DELAY_MS_MAX}, got ${JSON.stringify(delayMs)}`);
  }
  if (dropProbability !== undefined && !(typeof dropProbability === 'number' && dropProbability >= 0 && dropProbability <= 1)) {
    throw new FaultError('dropProbability', `must be a number from 0 to 1, got ${JSON.stringify(dropProbability)}`);
  }
  if (partitioned !== undefined && typeof partitioned !== 'boolean') throw new FaultError('partitioned', `must be true or false, got ${JSON.stringify(partitioned)}`);
  return {
    delayMs: (delayMs as number | undefined) ?? current.delayMs,
    dropProbability: (dropProbability as number | undefined) ?? current.dropProbability,
    partitioned: (partitioned as boolean | undefined) ?? current.partitioned,
  };
}

/** The faults of every peer; `changed` is told when a peer becomes partitioned. */
export class FaultTable {
  private readonly byPeer = new Map<NodeId, PeerFaults>();

  constructor(
    private readonly isPeer: (peer: NodeId) => boolean,
    private readonly partitionStarted: (peer: NodeId) => void,
  ) {}

  /** Merges `change` into the peer's faults (fields left out keep their value). Throws FaultError. */
  set(peer: NodeId, change: Partial<PeerFaults>): PeerFaults {
    if (!this.isPeer(peer)) throw new FaultError('peer', `${peer} is not a peer of this node`);
    const before = this.get(peer);
    const after = mergeFaults(before, change);
    if (after.delayMs === 0 && after.dropProbability === 0 && !after.partitioned) this.byPeer.delete(peer);
    else this.byPeer.set(peer, after);
    if (after.partitioned && !before.partitioned) this.partitionStarted(peer);
    return after;
  }

  get(peer: NodeId): PeerFaults {
    return this.byPeer.get(peer) ?? NO_FAULTS;
  }

  /** Heals one peer's link, or every link. */
  clear(peer?: NodeId): void {
    if (peer === undefined) this.byPeer.clear();
    else this.byPeer.delete(peer);
  }

  /** The peers with any fault set. */
  list(): ReadonlyMap<NodeId, PeerFaults> {
    return new Map(this.byPeer);
  }
}

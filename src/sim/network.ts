// The simulated network's fault model. It decides, from its own seeded stream, what happens to
// each message sent from one node to another: dropped by a cut link, lost, delivered once or
// twice, and after what delay (a short latency, or now and then a long one that reorders it
// behind later messages). The cluster schedules the deliveries; this class holds no queue.

import type { Message } from '../raft/types.js';
import type { Prng } from '../random/prng.js';
import type { NodeId } from '../raft/types.js';

export interface NetworkFaults {
  /** Shortest and longest ordinary one-way latency. Latencies skew towards the minimum. */
  readonly latencyUsMin: number;
  readonly latencyUsMax: number;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  /** Probability that a copy is held back by a long delay, reordering it behind later messages. */
  readonly reorderProbability: number;
  readonly reorderDelayUsMax: number;
}

export const RELIABLE_NETWORK: NetworkFaults = {
  latencyUsMin: 100,
  latencyUsMax: 2_000,
  lossProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  reorderDelayUsMax: 0,
};

export interface NetworkCounters {
  routed: number;
  cut: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

/** Each element is the delay of one delivered copy: [] dropped, [d] once, [d1, d2] duplicated. */
export type RouteDecision = readonly number[];

export class SimNetwork {
  private faults: NetworkFaults;
  // blocked[from * stride + to]: the link from → to is cut (one-way).
  private readonly blocked: Uint8Array;
  private readonly stride: number;
  readonly counters: NetworkCounters = { routed: 0, cut: 0, lost: 0, duplicated: 0, reordered: 0 };
  private delayUsMaxSeen = 0;
  /**
   * A scenario's message rewrite, applied at the sender: it returns the message to route (the
   * same, or a changed copy) or null to lose it. Null (none) in random runs; a forced sequence
   * (Figure 8) uses it to hold back exactly what would let the cluster avoid the sequence.
   */
  rewrite: ((message: Message) => Message | null) | null = null;

  constructor(
    private readonly prng: Prng,
    private readonly nodeIds: readonly NodeId[],
    faults: NetworkFaults = RELIABLE_NETWORK,
  ) {
    this.faults = validateFaults(faults);
    this.delayUsMaxSeen = faults.latencyUsMax + faults.reorderDelayUsMax;
    this.stride = Math.max(...nodeIds) + 1;
    this.blocked = new Uint8Array(this.stride * this.stride);
  }

  get currentFaults(): NetworkFaults {
    return this.faults;
  }

  setFaults(faults: NetworkFaults): void {
    this.faults = validateFaults(faults);
    this.delayUsMaxSeen = Math.max(this.delayUsMaxSeen, faults.latencyUsMax + faults.reorderDelayUsMax);
  }

  /**
   * The longest delay any message routed so far may have been given (latency plus reordering,
   * under any fault setting of the run): a message sent before a cut can arrive this long after
   * it, so a checker's deadline that starts at the cut must allow for it.
   */
  get delayUsMax(): number {
    return this.delayUsMaxSeen;
  }

  /** Cut the one-way link from → to. */
  cut(from: NodeId, to: NodeId): void {
    this.blocked[this.slot(from, to)] = 1;
  }

  /** Split the nodes into groups that hear only each other; nodes not named form one more group. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, g) => group.forEach((node) => groupOf.set(node, g)));
    for (const from of this.nodeIds) {
      for (const to of this.nodeIds) {
        const separated = (groupOf.get(from) ?? -1) !== (groupOf.get(to) ?? -1);
        this.blocked[this.slot(from, to)] = separated ? 1 : 0;
      }
    }
  }

  /** Cut every link into and out of `node`. */
  isolate(node: NodeId): void {
    for (const other of this.nodeIds) {
      if (other === node) continue;
      this.cut(node, other);
      this.cut(other, node);
    }
  }

  /** Restore every link (the loss / duplication / reordering settings stay). */
  heal(): void {
    this.blocked.fill(0);
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return this.blocked[this.slot(from, to)] === 0;
  }

  /** True when some link is cut. */
  get partitioned(): boolean {
    return this.blocked.includes(1);
  }

  route(from: NodeId, to: NodeId): RouteDecision {
    this.counters.routed++;
    if (!this.canReach(from, to)) {
      this.counters.cut++;
      return [];
    }
    const faults = this.faults;
    if (this.prng.chance(faults.lossProbability)) {
      this.counters.lost++;
      return [];
    }
    const first = this.delayUs();
    if (!this.prng.chance(faults.duplicateProbability)) return [first];
    this.counters.duplicated++;
    return [first, this.delayUs()];
  }

  private delayUs(): number {
    const faults = this.faults;
    // The product of two uniforms skews towards the minimum, like real latency distributions,
    // without transcendental functions whose last bits could differ between platforms.
    const skew = this.prng.nextFloat() * this.prng.nextFloat();
    let delay = faults.latencyUsMin + Math.floor(skew * (faults.latencyUsMax - faults.latencyUsMin));
    if (faults.reorderDelayUsMax > 0 && this.prng.chance(faults.reorderProbability)) {
      this.counters.reordered++;
      delay += this.prng.nextInt(0, faults.reorderDelayUsMax + 1);
    }
    return delay;
  }

  private slot(from: NodeId, to: NodeId): number {
    if (!this.nodeIds.includes(from)) throw new RangeError(`network: unknown node ${from}`);
    if (!this.nodeIds.includes(to)) throw new RangeError(`network: unknown node ${to}`);
    return from * this.stride + to;
  }
}

function validateFaults(faults: NetworkFaults): NetworkFaults {
  const probabilities = ['lossProbability', 'duplicateProbability', 'reorderProbability'] as const;
  for (const field of probabilities) {
    const value = faults[field];
    if (!(value >= 0 && value <= 1)) throw new RangeError(`network faults: ${field} must be in [0, 1], got ${value}`);
  }
  const durations = ['latencyUsMin', 'latencyUsMax', 'reorderDelayUsMax'] as const;
  for (const field of durations) {
    const value = faults[field];
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`network faults: ${field} must be a non-negative integer, got ${value}`);
  }
  if (faults.latencyUsMax < faults.latencyUsMin) {
    throw new RangeError(`network faults: latencyUsMax (${faults.latencyUsMax}) is below latencyUsMin (${faults.latencyUsMin})`);
  }
  return faults;
}

// A tiny synchronous in-test network for scripted scenarios: a few RaftNodes, each with an
// in-memory "disk", wired by a FIFO of messages. It honours the Ready contract (persist → send →
// apply → advance) so the scenarios exercise the core the way a host drives it. Faults are only
// the ones a scenario asks for (cut links, drop by predicate); the seeded fault simulation lives in
// src/sim/.

import { RaftNode } from '../../src/raft/raft.js';
import { createPrng } from '../../src/random/prng.js';
import type { Entry, FailedRead, HardState, Message, NodeId, RaftConfig, ReadState, Ready, SnapshotMeta } from '../../src/raft/types.js';

export interface NodeDisk {
  hardState: HardState;
  snapshot: SnapshotMeta | null;
  entries: Entry[];
  applied: Entry[];
  appliedIndex: number;
}

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'voters' | 'prng'>>;

export function makeConfig(id: NodeId, voters: readonly NodeId[], overrides: ConfigOverrides = {}, seed = id): RaftConfig {
  return {
    id,
    voters,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: false,
    checkQuorum: false,
    inflightMax: 4,
    batchEntriesMax: 64,
    batchBytesMax: 1 << 20,
    prng: createPrng(seed),
    ...overrides,
  };
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** Persist one Ready onto a disk the way a host would (snapshot, entries overwrite, hard state). */
export function persistReady(disk: NodeDisk, ready: Ready): void {
  if (ready.snapshot !== null) {
    disk.snapshot = ready.snapshot;
    disk.entries = [];
  }
  for (const entry of ready.entries) {
    const base = disk.snapshot === null ? 0 : disk.snapshot.index;
    disk.entries.length = Math.min(disk.entries.length, entry.index - base - 1);
    disk.entries.push(entry);
  }
  if (ready.hardState !== null) disk.hardState = ready.hardState;
}

export function diskEntry(disk: NodeDisk, index: number): Entry | undefined {
  const base = disk.snapshot === null ? 0 : disk.snapshot.index;
  return disk.entries[index - base - 1];
}

export class TestCluster {
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, NodeDisk>();
  /** Messages sent and not yet delivered, in send order. */
  inFlight: Message[] = [];
  /** Links that drop everything (both directions), as "a-b" with a < b. */
  private readonly cutLinks = new Set<string>();
  /** Extra drop rule a scenario may set. */
  dropIf: (message: Message) => boolean = () => false;
  /** Every message delivered, in order (for counting rounds and messages). */
  delivered: Message[] = [];
  /** Reads each node's Readies released, and reads they failed, in order. */
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly failedReads = new Map<NodeId, FailedRead[]>();

  constructor(
    size: number,
    private readonly overrides: ConfigOverrides = {},
  ) {
    this.ids = Array.from({ length: size }, (_, i) => i + 1);
    for (const id of this.ids) {
      this.nodes.set(id, new RaftNode(makeConfig(id, this.ids, overrides)));
      this.disks.set(id, { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: null, entries: [], applied: [], appliedIndex: 0 });
    }
  }

  node(id: NodeId): RaftNode {
    return this.nodes.get(id)!;
  }

  disk(id: NodeId): NodeDisk {
    return this.disks.get(id)!;
  }

  /** Drive one node's Readies until it has none: persist, send, apply, advance. */
  process(id: NodeId): void {
    const node = this.node(id);
    const disk = this.disk(id);
    for (let round = 0; round < 100 && node.hasReady(); round++) {
      const ready = node.ready();
      persistReady(disk, ready);
      this.inFlight.push(...ready.messages, ...ready.messagesAfterPersist);
      if (ready.readStates.length > 0) this.readStates.set(id, [...(this.readStates.get(id) ?? []), ...ready.readStates]);
      if (ready.failedReads.length > 0) this.failedReads.set(id, [...(this.failedReads.get(id) ?? []), ...ready.failedReads]);
      if (ready.snapshot !== null) disk.appliedIndex = ready.snapshot.index;
      for (const entry of ready.committedEntries) {
        // The host applies only what it has persisted: the contract says committed entries never
        // run ahead of the entries persisted so far (including this Ready's).
        const stored = diskEntry(disk, entry.index);
        if (stored === undefined || stored.term !== entry.term) throw new Error(`node ${id} told to apply ${entry.index} which is not on its disk`);
        if (entry.index !== disk.appliedIndex + 1) throw new Error(`node ${id} applied ${entry.index} after ${disk.appliedIndex}`);
        disk.applied.push(entry);
        disk.appliedIndex = entry.index;
      }
      node.advance(ready);
    }
  }

  processAll(): void {
    for (const id of this.ids) this.process(id);
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(a < b ? `${a}-${b}` : `${b}-${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
    this.dropIf = () => false;
  }

  private isDropped(message: Message): boolean {
    const key = message.from < message.to ? `${message.from}-${message.to}` : `${message.to}-${message.from}`;
    return this.cutLinks.has(key) || this.dropIf(message);
  }

  /** Deliver the messages currently in flight (one wave); returns how many arrived. */
  deliverWave(): number {
    const wave = this.inFlight;
    this.inFlight = [];
    let delivered = 0;
    for (const message of wave) {
      if (this.isDropped(message)) continue;
      this.node(message.to).step(message);
      this.delivered.push(message);
      delivered += 1;
    }
    this.processAll();
    return delivered;
  }

  /** Process and deliver until quiet (bounded). */
  stabilize(wavesMax = 200): void {
    this.processAll();
    for (let wave = 0; wave < wavesMax && this.inFlight.length > 0; wave++) this.deliverWave();
    if (this.inFlight.length > 0) throw new Error(`cluster did not quiesce in ${wavesMax} waves`);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
    this.process(id);
  }

  /** Tick every node once, then let messages settle. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.ids) this.node(id).tick();
      this.stabilize();
    }
  }

  /** Make `id` time out and campaign (only it ticks), then settle. */
  campaign(id: NodeId): void {
    const node = this.node(id);
    const startTerm = node.status().term;
    for (let i = 0; i < 100 && node.status().role === 'follower' && node.status().term === startTerm; i++) node.tick();
    this.stabilize();
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).status().role === 'leader');
  }

  propose(id: NodeId, payload: string): number {
    const result = this.node(id).propose([bytes(payload)]);
    if (!result.ok) throw new Error(`proposal to ${id} refused: ${result.reason}`);
    return result.firstIndex;
  }

  appliedTexts(id: NodeId): string[] {
    return this.disk(id).applied.filter((entry) => entry.data.length > 0).map((entry) => text(entry.data));
  }

  /** Replace node `id` by one restored with a log of the given terms (all durable) at `term`. */
  loadLog(id: NodeId, terms: number[], term: number, commit = 0): void {
    const entries = terms.map((entryTerm, position) => ({ index: position + 1, term: entryTerm, data: bytes(`i${position + 1}t${entryTerm}`) }));
    const disk = this.disk(id);
    disk.entries = entries;
    disk.hardState = { term, vote: 0, commit };
    disk.snapshot = null;
    disk.applied = entries.slice(0, commit);
    disk.appliedIndex = commit;
    this.restart(id, this.overrides, id);
  }

  /** A fresh RaftNode for `id` from its disk, as after a crash (unpersisted state lost). */
  restart(id: NodeId, overrides: ConfigOverrides = this.overrides, seed = id + 100): void {
    const disk = this.disk(id);
    const node = new RaftNode(makeConfig(id, this.ids, overrides, seed), {
      hardState: disk.hardState,
      snapshot: disk.snapshot,
      entries: disk.entries,
      applied: disk.appliedIndex,
    });
    this.nodes.set(id, node);
    this.inFlight = this.inFlight.filter((message) => message.from !== id && message.to !== id);
  }
}

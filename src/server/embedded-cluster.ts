// An embedded cluster: N nodes in this process, each with its own data directory and real storage,
// talking through the in-process transport. What `npm start` and the benchmarks run by default, and
// what the end-to-end tests start.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message, NodeId } from '../raft/types.js';
import { encodedMessageBytes } from '../transport/codec.js';
import { createPrng } from '../random/prng.js';
import { MemoryNetwork } from '../transport/memory.js';
import { KvNode, type NodeObserver } from './node.js';
import { resolveNodeOptions, type NodeOptions, type NodeOptionsInput } from './node-options.js';
import { realRuntime, type NodeRuntime } from './runtime.js';

export interface EmbeddedClusterOptions {
  readonly nodes: number;
  /** Per-node options (id, voters and dataDir are filled in). */
  readonly node?: Omit<NodeOptionsInput, 'id' | 'voters' | 'dataDir'>;
  /** Where the nodes' data directories go (default: a fresh temporary directory, removed on stop). */
  readonly dataDir?: string;
  readonly latencyUs?: number;
  readonly jitterUs?: number;
  readonly seed?: number;
  /** Bytes a message takes on the wire; default: the binary codec's exact size (src/transport/codec.ts). */
  readonly sizeOf?: (message: Message) => number;
  readonly runtime?: NodeRuntime;
  readonly observer?: (id: NodeId) => NodeObserver;
}

export class EmbeddedCluster {
  readonly ids: readonly NodeId[];
  readonly network: MemoryNetwork;
  private readonly nodeById = new Map<NodeId, KvNode>();

  private constructor(
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    readonly nodeOptions: readonly NodeOptions[],
    options: EmbeddedClusterOptions,
  ) {
    this.ids = nodeOptions.map((node) => node.id);
    this.network = new MemoryNetwork({
      latencyUs: options.latencyUs ?? 0,
      jitterUs: options.jitterUs ?? 0,
      prng: createPrng(options.seed ?? 1),
      sizeOf: options.sizeOf ?? encodedMessageBytes,
    });
    for (const nodeOptions of this.nodeOptions) {
      const node = new KvNode(nodeOptions, this.network.endpoint(nodeOptions.id), options.runtime ?? realRuntime, options.observer?.(nodeOptions.id));
      this.nodeById.set(nodeOptions.id, node);
    }
  }

  /** Creates and starts the cluster; options are validated first (an error names the field). */
  static async start(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    if (!Number.isSafeInteger(options.nodes) || options.nodes < 1 || options.nodes > 15) throw new RangeError(`cluster.nodes must be an integer from 1 to 15, got ${options.nodes}`);
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'raftbench-cluster-')));
    const voters = Array.from({ length: options.nodes }, (_, k) => k + 1);
    const nodeOptions = voters.map((id) => resolveNodeOptions({ ...options.node, id, voters, dataDir: join(dataDir, `node-${id}`), seed: (options.seed ?? 1) * 1000 + id }));
    const cluster = new EmbeddedCluster(dataDir, ownsDataDir, nodeOptions, options);
    try {
      for (const node of cluster.nodeById.values()) await node.start();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  node(id: NodeId): KvNode {
    const node = this.nodeById.get(id);
    if (node === undefined) throw new RangeError(`no node ${id} in a cluster of ${this.ids.length}`);
    return node;
  }

  nodes(): KvNode[] {
    return [...this.nodeById.values()];
  }

  /** The running node that leads in the highest term, or 0. */
  leader(): NodeId {
    let best: { id: NodeId; term: number } | null = null;
    for (const node of this.nodeById.values()) {
      const status = node.status();
      if (status === null || status.role !== 'leader') continue;
      if (best === null || status.term > best.term) best = { id: node.id, term: status.term };
    }
    return best?.id ?? 0;
  }

  /** Waits until a leader has committed an entry of its term (so it serves reads), or throws after `timeoutMs`. */
  async waitForLeader(timeoutMs = 10_000): Promise<NodeId> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leader();
      if (leader !== 0) {
        const status = this.node(leader).status();
        if (status !== null && status.commit > 0 && status.applied === status.commit) return leader;
      }
      if (Date.now() > deadline) {
        throw new Error(`no leader within ${timeoutMs} ms: ${this.nodes().map((node) => `n${node.id} ${node.status()?.role ?? 'down'} t${node.status()?.term ?? '-'}`).join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Stops every node and removes the data directory if the cluster created it. */
  async stop(): Promise<void> {
    for (const node of this.nodeById.values()) await node.stop();
    this.network.close();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

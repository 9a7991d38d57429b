// Test support: three (or N) real KvNodes in this process, each with real storage in a temporary
// directory and its own TcpTransport listening on 127.0.0.1 (port 0, so tests never collide).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvClient } from '../../src/client/client.js';
import { createPrng } from '../../src/random/prng.js';
import type { NodeId } from '../../src/raft/types.js';
import { KvNode } from '../../src/server/node.js';
import { resolveNodeOptions, type NodeOptionsInput } from '../../src/server/node-options.js';
import { realRuntime } from '../../src/server/runtime.js';
import { TcpTransport, type TcpTransportOptions } from '../../src/transport/tcp.js';

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Polls `predicate` every 5 ms; throws with `what` (and its current state) after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000, state: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${state()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface TcpClusterOptions {
  readonly nodes?: number;
  readonly node?: Omit<NodeOptionsInput, 'id' | 'voters' | 'dataDir'>;
  readonly transport?: Omit<Partial<TcpTransportOptions>, 'id' | 'peers'>;
}

export class TcpTestCluster {
  private constructor(
    readonly dataDir: string,
    /** Every line the transports logged, prefixed with the node. */
    readonly logs: readonly string[],
    readonly ids: readonly NodeId[],
    readonly transports: ReadonlyMap<NodeId, TcpTransport>,
    readonly nodes: ReadonlyMap<NodeId, KvNode>,
  ) {}

  static async start(options: TcpClusterOptions = {}): Promise<TcpTestCluster> {
    const dataDir = await mkdtemp(join(tmpdir(), 'raftbench-tcp-'));
    const ids = Array.from({ length: options.nodes ?? 3 }, (_, k) => k + 1);
    const logs: string[] = [];
    const transports = new Map<NodeId, TcpTransport>();
    for (const id of ids) {
      transports.set(
        id,
        new TcpTransport({
          backoffMsMin: 10,
          backoffMsMax: 200,
          log: (line) => logs.push(`n${id} ${line}`),
          ...options.transport,
          id,
          peers: new Map(ids.filter((peer) => peer !== id).map((peer) => [peer, null])),
        }),
      );
    }
    for (const transport of transports.values()) await transport.listen();
    for (const transport of transports.values()) {
      for (const [peer, other] of transports) if (peer !== transport.id) transport.setPeerAddress(peer, other.address!);
    }
    const nodes = new Map<NodeId, KvNode>();
    for (const id of ids) {
      const nodeOptions = resolveNodeOptions({ tickMs: 5, storage: { fsync: 'batched' }, ...options.node, id, voters: ids, dataDir: join(dataDir, `node-${id}`), seed: 1000 + id });
      nodes.set(id, new KvNode(nodeOptions, transports.get(id)!, realRuntime));
    }
    const cluster = new TcpTestCluster(dataDir, logs, ids, transports, nodes);
    for (const node of nodes.values()) await node.start();
    return cluster;
  }

  node(id: NodeId): KvNode {
    return this.nodes.get(id)!;
  }

  transport(id: NodeId): TcpTransport {
    return this.transports.get(id)!;
  }

  leader(): NodeId {
    let best = { id: 0, term: -1 };
    for (const node of this.nodes.values()) {
      const status = node.status();
      if (node.running && status?.role === 'leader' && status.term > best.term) best = { id: node.id, term: status.term };
    }
    return best.id;
  }

  describe(): string {
    return [...this.nodes.values()].map((node) => {
      const status = node.status();
      return `n${node.id} ${status?.role ?? 'down'} t${status?.term ?? '-'} c${status?.commit ?? '-'} a${status?.applied ?? '-'}`;
    }).join(', ');
  }

  /** A leader that has committed an entry of its term and applied it. */
  async waitForLeader(timeoutMs = 10_000): Promise<NodeId> {
    let leader = 0;
    await waitFor(
      'a leader',
      () => {
        leader = this.leader();
        const status = leader === 0 ? null : this.node(leader).status();
        return status !== null && status.commit > 0 && status.applied === status.commit;
      },
      timeoutMs,
      () => this.describe(),
    );
    return leader;
  }

  /** Waits until node `id` has applied at least `index`. */
  async waitForApplied(id: NodeId, index: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(`n${id} to apply ${index}`, () => (this.node(id).status()?.applied ?? 0) >= index, timeoutMs, () => this.describe());
  }

  client(ids: readonly NodeId[] = this.ids): KvClient {
    return new KvClient({ endpoints: ids.map((id) => this.node(id)), readMode: 'read-index', runtime: realRuntime, prng: createPrng(7), requestTimeoutMs: 10_000 });
  }

  /** Puts `count` keys `prefix0 …` through a client; returns the index of the last one. */
  async write(prefix: string, count: number, ids: readonly NodeId[] = this.ids): Promise<number> {
    const client = this.client(ids);
    const results = await Promise.all(Array.from({ length: count }, (_, k) => client.put(text(`${prefix}${k}`), text(`value ${prefix}${k}`))));
    let last = 0;
    for (const result of results) {
      if (!result.ok) throw new Error(`put failed: ${result.error} ${result.reason}`);
      last = Math.max(last, result.index);
    }
    return last;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes.values()) await node.stop().catch(() => undefined);
    for (const transport of this.transports.values()) await transport.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

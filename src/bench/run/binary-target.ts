// The native TCP target: a cluster running elsewhere (node processes, or any host of the client
// APIs), reached by a list of binary-protocol addresses and driven through the client library over
// BinaryEndpoints — pipelined requests, leader discovery, sessions and retries as in process. It
// fits both drivers of src/bench/drive/ (the open-loop scheduler measures from each operation's
// due time, in µs histograms); the protocol adds no latency floor of its own (no 1 ms timers).
//
// Each node's id is learnt from its own status reply, so the addresses may come in any order and
// leader hints (which name ids) find their endpoint.

import { BinaryEndpoint } from '../../api/binary-endpoint.js';
import type { NodeStatusJson } from '../../api/status.js';
import { KvClient } from '../../client/client.js';
import { createPrng } from '../../random/prng.js';
import type { NodeCountersSnapshot } from '../../server/node.js';
import type { ReadMode } from '../../server/node-options.js';
import { realRuntime } from '../../server/runtime.js';
import type { KvTarget, OperationOutcome } from '../drive/target.js';
import type { KeySpace, Operation } from '../workload/index.js';
import { executeOperation } from './client-operations.js';

export interface BinaryTargetOptions {
  /** "host:port" of every node's binary API. */
  readonly addresses: readonly string[];
  /** Client library instances (each with its own session); operations are spread over them. */
  readonly clients: number;
  /** Connections to each node; clients share them round-robin (default: min(clients, 4)). */
  readonly connectionsPerNode?: number;
  readonly readMode: ReadMode;
  readonly requestTimeoutMs: number;
  readonly seed: number;
  /** How long to wait for every node to answer and one to lead (default 20 s). */
  readonly readyTimeoutMs?: number;
}

export class BinaryTarget implements KvTarget<Operation> {
  private readonly clients: KvClient[];
  private next = 0;
  keySpace: KeySpace | null = null;

  private constructor(
    private readonly connections: readonly (readonly BinaryEndpoint[])[],
    readonly options: BinaryTargetOptions,
  ) {
    this.clients = Array.from(
      { length: options.clients },
      (_, k) =>
        new KvClient({
          endpoints: connections[k % connections.length]!,
          readMode: options.readMode,
          requestTimeoutMs: options.requestTimeoutMs,
          runtime: realRuntime,
          prng: createPrng(options.seed * 101 + k),
        }),
    );
  }

  /** Connects, learns each node's id and waits until some node leads; throws naming what is missing. */
  static async connect(options: BinaryTargetOptions): Promise<BinaryTarget> {
    if (options.addresses.length === 0) throw new RangeError('a binary target needs at least one address');
    if (!Number.isSafeInteger(options.clients) || options.clients < 1) throw new RangeError(`clients must be a positive integer, got ${options.clients}`);
    const connectionsPerNode = options.connectionsPerNode ?? Math.min(options.clients, 4);
    if (!Number.isSafeInteger(connectionsPerNode) || connectionsPerNode < 1) throw new RangeError(`connectionsPerNode must be a positive integer, got ${connectionsPerNode}`);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    const statuses = await waitUntilLed(options.addresses, deadline);
    const connections = Array.from({ length: connectionsPerNode }, () =>
      options.addresses.map((address, k) => new BinaryEndpoint({ id: statuses[k]!.id, address, requestTimeoutMs: options.requestTimeoutMs })),
    );
    return new BinaryTarget(connections, options);
  }

  describe(): string {
    return `cluster at ${this.options.addresses.join(', ')} over the binary protocol (${this.connections.length} pipelined connection(s) per node)`;
  }

  execute(operation: Operation): Promise<OperationOutcome> {
    return executeOperation(this.clients[this.next++ % this.clients.length]!, operation, this.keySpace);
  }

  /** Every node's counters, asked over the protocol (a node that does not answer is left out). */
  async counters(): Promise<NodeCountersSnapshot[]> {
    const statuses = await Promise.all(this.connections[0]!.map((endpoint) => endpoint.status()));
    return statuses.filter((status): status is NodeStatusJson => status !== null).map((status) => status.counters);
  }

  stop(): void {
    for (const endpoints of this.connections) for (const endpoint of endpoints) endpoint.close();
  }
}

async function waitUntilLed(addresses: readonly string[], deadline: number): Promise<NodeStatusJson[]> {
  for (;;) {
    const probes = addresses.map((address) => new BinaryEndpoint({ id: 0, address, requestTimeoutMs: 1000 }));
    const statuses = await Promise.all(probes.map((probe) => probe.status()));
    for (const probe of probes) probe.close();
    const missing = addresses.filter((_, k) => statuses[k] === null);
    const led = statuses.some((status) => status?.role === 'leader');
    if (missing.length === 0 && led) return statuses as NodeStatusJson[];
    if (Date.now() > deadline) {
      throw new Error(missing.length > 0 ? `no answer from ${missing.join(', ')}` : `no node leads: ${statuses.map((status) => `n${status!.id} ${status!.role} t${status!.term}`).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The embedded target: a cluster started from a profile in this process (real storage in a fresh
// data directory, real fsync), driven through the client library — what `raftbench run` measures
// by default. Workload operations become client requests as client-operations.ts says.

import { KvClient } from '../../client/client.js';
import { createPrng } from '../../random/prng.js';
import { EmbeddedCluster } from '../../server/embedded-cluster.js';
import { nodeOptionsOf, type ResolvedProfile } from '../../server/profile.js';
import { realRuntime } from '../../server/runtime.js';
import type { NodeCountersSnapshot } from '../../server/node.js';
import type { KeySpace, Operation } from '../workload/index.js';
import type { KvTarget, OperationOutcome } from '../drive/target.js';
import { executeOperation, outcomeOf } from './client-operations.js';

export interface EmbeddedTargetOptions {
  readonly profile: ResolvedProfile;
  /** Where node data directories go (a fresh one per cell). */
  readonly dataDir: string;
  /** Client library instances (each with its own session); operations are spread over them. */
  readonly clients: number;
  readonly requestTimeoutMs: number;
  readonly seed: number;
}

export class EmbeddedTarget implements KvTarget<Operation> {
  private readonly clients: KvClient[];
  private next = 0;
  keySpace: KeySpace | null = null;

  private constructor(
    readonly cluster: EmbeddedCluster,
    readonly profile: ResolvedProfile,
    options: EmbeddedTargetOptions,
  ) {
    const endpoints = cluster.nodes();
    this.clients = Array.from(
      { length: options.clients },
      (_, k) => new KvClient({ endpoints, readMode: profile.reads.mode, requestTimeoutMs: options.requestTimeoutMs, runtime: realRuntime, prng: createPrng(options.seed * 101 + k) }),
    );
  }

  static async start(options: EmbeddedTargetOptions): Promise<EmbeddedTarget> {
    const { profile } = options;
    const template = nodeOptionsOf(profile, 1, [1], options.dataDir, options.seed);
    const { id: _id, voters: _voters, dataDir: _dataDir, ...node } = template;
    const cluster = await EmbeddedCluster.start({
      nodes: profile.cluster.nodes,
      node,
      dataDir: options.dataDir,
      latencyUs: profile.cluster.latencyUs,
      jitterUs: profile.cluster.jitterUs,
      seed: options.seed,
    });
    try {
      await cluster.waitForLeader(20_000);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return new EmbeddedTarget(cluster, profile, options);
  }

  describe(): string {
    return `embedded ${this.profile.cluster.nodes}-node cluster (in process, real storage)${this.profile.cluster.latencyUs > 0 ? `, ${this.profile.cluster.latencyUs} µs one-way latency` : ''}`;
  }

  execute(operation: Operation): Promise<OperationOutcome> {
    return executeOperation(this.clients[this.next++ % this.clients.length]!, operation, this.keySpace);
  }

  counters(): NodeCountersSnapshot[] {
    return this.cluster.nodes().map((node) => node.counterSnapshot());
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
  }
}

export { outcomeOf };

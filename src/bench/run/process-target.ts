// The process target: a profile with `cluster.layout: "processes"` runs as N `raftbench node`
// processes on 127.0.0.1 (real TCP between them, src/server/process-cluster.ts), driven over the
// binary client protocol (BinaryTarget, the native TCP driver). Counters come from each node's
// status over that protocol. The profile's injected latency does not apply here: the network is
// loopback TCP.

import type { NodeCountersSnapshot } from '../../server/node.js';
import type { ResolvedProfile } from '../../server/profile.js';
import { ProcessCluster } from '../../server/process-cluster.js';
import type { KvTarget, OperationOutcome } from '../drive/target.js';
import type { KeySpace, Operation } from '../workload/index.js';
import { BinaryTarget } from './binary-target.js';

export interface ProcessTargetOptions {
  readonly profile: ResolvedProfile;
  /** Parent of the nodes' data directories (a fresh one per cell). */
  readonly dataDir: string;
  readonly clients: number;
  readonly requestTimeoutMs: number;
  readonly seed: number;
  /** Where the nodes' log lines go (default: dropped unless RAFTBENCH_NODE_LOG is set). */
  readonly log?: (line: string) => void;
}

const LEADER_WAIT_MS = 30_000;

export class ProcessTarget implements KvTarget<Operation> {
  private constructor(
    private readonly cluster: ProcessCluster,
    private readonly binary: BinaryTarget,
    readonly profile: ResolvedProfile,
  ) {}

  get keySpace(): KeySpace | null {
    return this.binary.keySpace;
  }

  set keySpace(keySpace: KeySpace | null) {
    this.binary.keySpace = keySpace;
  }

  /** Starts the node processes (on a free port range: ProcessCluster.startOnSomePorts) and connects the binary clients. */
  static async start(options: ProcessTargetOptions): Promise<ProcessTarget> {
    const profileFile = options.profile.sources[0];
    if (profileFile === undefined) throw new Error(`profile ${options.profile.name}: a process cluster needs the profile's file`);
    const log = options.log ?? (process.env['RAFTBENCH_NODE_LOG'] === undefined ? () => undefined : (line: string) => process.stderr.write(`${line}\n`));
    const cluster = await ProcessCluster.startOnSomePorts({ profile: profileFile, nodes: options.profile.cluster.nodes, dataDir: options.dataDir, log }, LEADER_WAIT_MS);
    try {
      const binary = await BinaryTarget.connect({
        addresses: cluster.nodes.map((node) => node.binary),
        clients: options.clients,
        readMode: options.profile.reads.mode,
        requestTimeoutMs: options.requestTimeoutMs,
        seed: options.seed,
      });
      return new ProcessTarget(cluster, binary, options.profile);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  describe(): string {
    return `${this.profile.cluster.nodes} node processes on 127.0.0.1 (TCP between them), driven over the binary protocol`;
  }

  execute(operation: Operation): Promise<OperationOutcome> {
    return this.binary.execute(operation);
  }

  counters(): Promise<NodeCountersSnapshot[]> {
    return this.binary.counters();
  }

  async stop(): Promise<void> {
    this.binary.stop();
    await this.cluster.stop();
  }
}

// An embedded 3-node cluster (real storage) with both client APIs started on every node, on
// loopback ports chosen by the system, each node knowing the others' addresses for redirects.
// Elections time out after 0.5–1 s: the tests share two cores with others, and a leader that
// changes in the middle of a test would make its redirect assertions wrong, not the API.

import { EmbeddedCluster, type EmbeddedClusterOptions } from '../../src/server/embedded-cluster.js';
import { startClientApis, type ClientApis, type ClientApiOptions } from '../../src/api/client-apis.js';
import type { NodeId } from '../../src/raft/types.js';

export interface ApiCluster {
  readonly cluster: EmbeddedCluster;
  readonly apis: Map<NodeId, ClientApis>;
  http(id: NodeId): string;
  binary(id: NodeId): string;
  /** Stops a node the way a process dies: its APIs close and the node stops. */
  kill(id: NodeId): Promise<void>;
  stop(): Promise<void>;
}

export async function startApiCluster(node: EmbeddedClusterOptions['node'] = {}, apiOptions: Partial<ClientApiOptions> = {}): Promise<ApiCluster> {
  const cluster = await EmbeddedCluster.start({ nodes: 3, node: { tickMs: 10, storage: { fsync: 'batched' }, ...node, raft: { electionTicks: 50, leaseTicks: 20, ...node.raft } } });
  const apis = new Map<NodeId, ClientApis>();
  try {
    for (const id of cluster.ids) {
      const started = await startClientApis(cluster.node(id), {
        host: '127.0.0.1',
        httpPort: 0,
        binaryPort: 0,
        leaderAddresses: (leader) => {
          const other = apis.get(leader);
          return other === undefined ? undefined : { http: other.httpAddress!, binary: other.binaryAddress! };
        },
        ...apiOptions,
      });
      apis.set(id, started);
    }
    await cluster.waitForLeader(10_000);
  } catch (error) {
    for (const api of apis.values()) await api.close();
    await cluster.stop();
    throw error;
  }
  return {
    cluster,
    apis,
    http: (id) => apis.get(id)!.httpAddress!,
    binary: (id) => apis.get(id)!.binaryAddress!,
    kill: async (id) => {
      await apis.get(id)!.close();
      await cluster.node(id).stop();
    },
    stop: async () => {
      for (const api of apis.values()) await api.close();
      await cluster.stop();
    },
  };
}

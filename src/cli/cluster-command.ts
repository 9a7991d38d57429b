// `raftbench cluster`: N `raftbench node` processes on 127.0.0.1 — a real multi-process cluster on
// one machine. Waits until a leader has committed (through each node's admin status), prints the
// endpoints, and stops the nodes gracefully on Ctrl-C / SIGTERM.
//
// No orphans: each node is spawned with an IPC channel and stops when that channel closes, which
// the operating system does when this process dies in any way (SIGKILL included) — so nodes never
// outlive the command (src/server/process-cluster.ts). Ports: node k (1 … N) listens for peers on
// base+k−1, serves its admin endpoint on base+100+k−1, its HTTP API on base+200+k−1 and the binary
// client protocol on base+300+k−1.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../server/profile.js';
import { BASE_PORT_MAX, PORT_OFFSETS, ProcessCluster } from '../server/process-cluster.js';
import { Command, integerOption, parseOptions } from './options.js';

interface ClusterCommandOptions {
  profile: string;
  nodes?: number;
  basePort: number;
  data?: string;
  waitMs: number;
  adminDebugRoutes: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}


export async function clusterCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench cluster')
    .description(
      'Start a cluster of N node processes on 127.0.0.1 (raftbench node), wait until a leader has committed, print the endpoints, and run until ' +
        `Ctrl-C or SIGTERM, which stops every node gracefully. Node k listens for peers on BASE+k-1, serves its admin endpoint on BASE+${PORT_OFFSETS.admin}+k-1, its HTTP API on ` +
        `BASE+${PORT_OFFSETS.http}+k-1 and the binary client protocol on BASE+${PORT_OFFSETS.binary}+k-1. ` +
        'The nodes stop on their own if this process dies (no orphans).',
    )
    .option('--profile <name>', 'profile name (profiles/NAME.json) or path', 'baseline')
    .option('--nodes <n>', "number of nodes (default: the profile's cluster.nodes)", integerOption('--nodes', 1, 15))
    .option('--base-port <port>', 'first peer port', integerOption('--base-port', 1, BASE_PORT_MAX), 7001)
    .option('--data <dir>', 'parent of the nodes’ data directories node-1 … (default: a new temporary directory); reuse it to restart from disk')
    .option('--wait-ms <ms>', 'how long to wait for a leader', integerOption('--wait-ms', 100, 600_000), 30_000)
    .option('--admin-debug-routes', "enable the nodes' admin debug routes (POST /debug/put, GET /debug/get)", false)
    .option('--tls-cert <file>', 'peer traffic over mutual TLS: PEM certificate every node presents (with --tls-key and --tls-ca)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA that signed the certificate');
  const parsed = parseOptions<ClusterCommandOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const options = parsed.options;
  const profile = await loadProfile(options.profile);
  const count = options.nodes ?? profile.cluster.nodes;
  const dataDir = options.data ?? (await mkdtemp(join(tmpdir(), 'raftbench-processes-')));
  const ids = Array.from({ length: count }, (_, k) => k + 1);
  const peers = ids.map((id) => `${id}=127.0.0.1:${options.basePort + id - 1}`).join(',');

  const cluster = ProcessCluster.spawn({
    profile: options.profile,
    nodes: count,
    basePort: options.basePort,
    dataDir,
    adminDebugRoutes: options.adminDebugRoutes,
    ...(options.tlsCert !== undefined && options.tlsKey !== undefined && options.tlsCa !== undefined ? { tls: { cert: options.tlsCert, key: options.tlsKey, ca: options.tlsCa } } : {}),
  });
  const interrupt = new AbortController();
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  void signalled.then(() => interrupt.abort());

  let leader: number;
  try {
    leader = await cluster.waitForLeader(options.waitMs, interrupt.signal);
  } catch (error) {
    console.error(`raftbench cluster: ${error instanceof Error ? error.message : String(error)}; stopping the nodes`);
    await cluster.stop();
    return 1;
  }
  console.error(`raftbench cluster: ${count} node processes ready (profile ${profile.name}), leader n${leader}; data in ${dataDir}`);
  for (const node of cluster.nodes) console.error(`  n${node.id}  pid ${node.pid}  peers ${node.peer}  admin http://${node.admin}/status  HTTP API http://${node.http}  binary ${node.binary}`);
  console.error('Ctrl-C stops the cluster.');
  process.stdout.write(`${JSON.stringify({ event: 'ready', leader, dataDir, nodes: cluster.nodes })}\n`);
  const signal = await signalled;
  console.error(`raftbench cluster: ${signal}: stopping the nodes`);
  await cluster.stop();
  return 0;
}

// `raftbench cluster`: N `raftbench node` processes on 127.0.0.1 — a real multi-process cluster on
// one machine. Waits until a leader has committed (through each node's admin status), prints the
// endpoints, and stops the nodes gracefully on Ctrl-C / SIGTERM.
//
// No orphans: each node is spawned with an IPC channel and stops when that channel closes, which
// the operating system does when this process dies in any way (SIGKILL included) — so nodes never
// outlive the command. Ports: node k (1 … N) listens for peers on base+k−1 and serves its admin
// endpoint on base+100+k−1.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadProfile } from '../server/profile.js';
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

interface NodeChild {
  readonly id: number;
  readonly child: ChildProcess;
  readonly peer: string;
  readonly admin: string;
  exited: boolean;
}

const ADMIN_PORT_OFFSET = 100;
const STOP_GRACE_MS = 10_000;
const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));

export async function clusterCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench cluster')
    .description(
      'Start a cluster of N node processes on 127.0.0.1 (raftbench node), wait until a leader has committed, print the endpoints, and run until ' +
        `Ctrl-C or SIGTERM, which stops every node gracefully. Node k listens for peers on BASE+k-1 and serves its admin endpoint on BASE+${ADMIN_PORT_OFFSET}+k-1. ` +
        'The nodes stop on their own if this process dies (no orphans).',
    )
    .option('--profile <name>', 'profile name (profiles/NAME.json) or path', 'baseline')
    .option('--nodes <n>', "number of nodes (default: the profile's cluster.nodes)", integerOption('--nodes', 1, 15))
    .option('--base-port <port>', 'first peer port', integerOption('--base-port', 1, 65_535 - ADMIN_PORT_OFFSET - 15), 7001)
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

  let stopping = false;
  const children: NodeChild[] = ids.map((id) => {
    const admin = `127.0.0.1:${options.basePort + ADMIN_PORT_OFFSET + id - 1}`;
    const args = [MAIN_SCRIPT, 'node', '--id', String(id), '--data', join(dataDir, `node-${id}`), '--peers', peers, '--profile', options.profile, '--admin-port', admin.split(':')[1]!];
    if (options.adminDebugRoutes) args.push('--admin-debug-routes');
    // The node checks that all three are given (or none).
    for (const [flag, file] of [['--tls-cert', options.tlsCert], ['--tls-key', options.tlsKey], ['--tls-ca', options.tlsCa]] as const) if (file !== undefined) args.push(flag, file);
    // Own process group (detached): a terminal's Ctrl-C reaches only this process, which stops the
    // nodes in order; the IPC channel still ties their lives to ours.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    const node: NodeChild = { id, child, peer: `127.0.0.1:${options.basePort + id - 1}`, admin, exited: false };
    child.on('exit', (code, signal) => {
      node.exited = true;
      if (!stopping) console.error(`raftbench cluster: n${id} (pid ${child.pid}) exited ${signal === null ? `with code ${code}` : `on ${signal}`}`);
    });
    // Their logs go to our stderr, prefixed; stdout carries only our own lines.
    // (their stderr lines already start with [nID]).
    createInterface({ input: child.stdout! }).on('line', (line) => process.stderr.write(`[n${id}] ${line}\n`));
    createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`${line}\n`));
    return node;
  });

  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const node of children) if (!node.exited) node.child.kill('SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (children.some((node) => !node.exited) && Date.now() < deadline) await sleep(20);
    for (const node of children) {
      if (node.exited) continue;
      console.error(`raftbench cluster: n${node.id} did not stop within ${STOP_GRACE_MS} ms: SIGKILL`);
      node.child.kill('SIGKILL');
    }
  };
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

  const leader = await Promise.race([waitForLeader(children, options.waitMs), signalled.then(() => null)]);
  if (leader === null || typeof leader === 'string') {
    console.error(`raftbench cluster: ${leader ?? 'interrupted'}; stopping the nodes`);
    await stopAll();
    return 1;
  }
  console.error(`raftbench cluster: ${count} node processes ready (profile ${profile.name}), leader n${leader}; data in ${dataDir}`);
  for (const node of children) console.error(`  n${node.id}  pid ${node.child.pid}  peers ${node.peer}  admin http://${node.admin}/status`);
  console.error('Ctrl-C stops the cluster.');
  process.stdout.write(`${JSON.stringify({ event: 'ready', leader, dataDir, nodes: children.map((node) => ({ id: node.id, pid: node.child.pid, peer: node.peer, admin: node.admin })) })}\n`);
  const signal = await signalled;
  console.error(`raftbench cluster: ${signal}: stopping the nodes`);
  await stopAll();
  return 0;
}

/** Polls every node's admin status; resolves with the leader's id, or an error text after `waitMs`. */
async function waitForLeader(children: readonly NodeChild[], waitMs: number): Promise<number | string> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const gone = children.find((node) => node.exited);
    if (gone !== undefined) return `n${gone.id} exited before the cluster was ready (its log is above)`;
    for (const node of children) {
      if (node.exited) continue;
      const status = await fetchStatus(node.admin);
      if (status !== null && status.role === 'leader' && status.commit > 0) return node.id;
    }
    await sleep(50);
  }
  return `no leader within ${waitMs} ms`;
}

async function fetchStatus(admin: string): Promise<{ role: string; commit: number } | null> {
  try {
    const response = await fetch(`http://${admin}/status`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? ((await response.json()) as { role: string; commit: number }) : null;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

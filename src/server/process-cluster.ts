// N `raftbench node` processes on 127.0.0.1: what `raftbench cluster` runs in a terminal and what
// the runner starts for a profile with `cluster.layout: "processes"`.
//
// No orphans: each node is spawned with an IPC channel and stops when that channel closes, which
// the operating system does when this process dies in any way (SIGKILL included) — so nodes never
// outlive their parent. Each node runs in its own process group, so a terminal's Ctrl-C reaches
// only the parent, which stops them in order.
//
// Ports, for node k (1 … N) and base port B: peers B+k−1, admin B+100+k−1, HTTP API B+200+k−1,
// binary client protocol B+300+k−1.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { NodeId } from '../raft/types.js';

export const PORT_OFFSETS = { admin: 100, http: 200, binary: 300 } as const;
/** The largest base port that leaves room for every offset of a 15-node cluster. */
export const BASE_PORT_MAX = 65_535 - PORT_OFFSETS.binary - 15;

export interface ProcessClusterOptions {
  /** Profile name or path, as `raftbench node --profile` takes it. */
  readonly profile: string;
  readonly nodes: number;
  readonly basePort: number;
  /** Parent of the nodes' data directories node-1 … node-N. */
  readonly dataDir: string;
  readonly adminDebugRoutes?: boolean;
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** Where the nodes' log lines go (default: this process's stderr). */
  readonly log?: (line: string) => void;
}

export interface ProcessNode {
  readonly id: NodeId;
  readonly pid: number;
  /** host:port of each listener. */
  readonly peer: string;
  readonly admin: string;
  readonly http: string;
  readonly binary: string;
}

interface NodeChild extends ProcessNode {
  readonly child: ChildProcess;
  exited: boolean;
}

const STOP_GRACE_MS = 10_000;
const MAIN_SCRIPT = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export class ProcessCluster {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly children: readonly NodeChild[],
    readonly dataDir: string,
  ) {}

  /** Spawns the nodes (it does not wait for a leader: see waitForLeader). */
  static spawn(options: ProcessClusterOptions): ProcessCluster {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const ids = Array.from({ length: options.nodes }, (_, k) => k + 1);
    const address = (id: NodeId, offset: number): string => `127.0.0.1:${options.basePort + offset + id - 1}`;
    const list = (offset: number): string => ids.map((id) => `${id}=${address(id, offset)}`).join(',');
    let cluster: ProcessCluster | null = null;
    const children = ids.map((id): NodeChild => {
      const args = [MAIN_SCRIPT, 'node', '--id', String(id), '--data', join(options.dataDir, `node-${id}`), '--peers', list(0), '--profile', options.profile];
      args.push('--admin-port', String(options.basePort + PORT_OFFSETS.admin + id - 1));
      args.push('--http-port', String(options.basePort + PORT_OFFSETS.http + id - 1), '--http-peers', list(PORT_OFFSETS.http));
      args.push('--binary-port', String(options.basePort + PORT_OFFSETS.binary + id - 1), '--binary-peers', list(PORT_OFFSETS.binary));
      if (options.adminDebugRoutes === true) args.push('--admin-debug-routes');
      if (options.tls !== undefined) args.push('--tls-cert', options.tls.cert, '--tls-key', options.tls.key, '--tls-ca', options.tls.ca);
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
      const node: NodeChild = {
        id,
        pid: child.pid ?? -1,
        child,
        peer: address(id, 0),
        admin: address(id, PORT_OFFSETS.admin),
        http: address(id, PORT_OFFSETS.http),
        binary: address(id, PORT_OFFSETS.binary),
        exited: false,
      };
      child.on('exit', (code, signal) => {
        node.exited = true;
        if (cluster?.stopping === null) log(`raftbench cluster: n${id} (pid ${child.pid}) exited ${signal === null ? `with code ${code}` : `on ${signal}`}`);
      });
      // Their stderr lines already start with [nID]; stdout carries their JSON events.
      createInterface({ input: child.stdout! }).on('line', (line) => log(`[n${id}] ${line}`));
      createInterface({ input: child.stderr! }).on('line', (line) => log(line));
      return node;
    });
    cluster = new ProcessCluster(children, options.dataDir);
    return cluster;
  }

  /**
   * Spawns the nodes on a random port range and waits for a leader; on another range again (up to
   * `attempts` in all) when a node exits first — most often a port of the range was taken.
   * Each attempt's data goes to its own directory under `dataDir`.
   */
  static async startOnSomePorts(options: Omit<ProcessClusterOptions, 'basePort'>, leaderWaitMs: number, attempts = 3, signal?: AbortSignal): Promise<ProcessCluster> {
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const basePort = 20_000 + Math.floor(Math.random() * (BASE_PORT_MAX - 20_000));
      const cluster = ProcessCluster.spawn({ ...options, basePort, dataDir: join(options.dataDir, `try-${attempt}`) });
      try {
        await cluster.waitForLeader(leaderWaitMs, signal);
        return cluster;
      } catch (error) {
        lastError = error;
        await cluster.stop();
        if (signal?.aborted === true) break;
      }
    }
    throw new Error(`a ${options.nodes}-process cluster did not start (${attempts} attempts): ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }

  get nodes(): readonly ProcessNode[] {
    return this.children.map(({ id, pid, peer, admin, http, binary }) => ({ id, pid, peer, admin, http, binary }));
  }

  /** Ids of the nodes whose process has exited. */
  exited(): NodeId[] {
    return this.children.filter((node) => node.exited).map((node) => node.id);
  }

  /**
   * Polls every node's admin status until one leads and has committed; resolves with its id.
   * Rejects when a node exits first, when `signal` aborts, or after `waitMs`.
   */
  async waitForLeader(waitMs: number, signal?: AbortSignal): Promise<NodeId> {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (signal?.aborted === true) throw new Error('interrupted');
      const gone = this.children.find((node) => node.exited);
      if (gone !== undefined) throw new Error(`n${gone.id} exited before the cluster was ready (its log is above)`);
      for (const node of this.children) {
        if (node.exited) continue;
        const status = await fetchStatus(node.admin);
        if (status !== null && status.role === 'leader' && status.commit > 0) return node.id;
      }
      await sleep(50);
    }
    throw new Error(`no leader within ${waitMs} ms`);
  }

  /** SIGTERM to every node (a graceful stop: answer, sync, close); SIGKILL after a grace period. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const node of this.children) if (!node.exited) node.child.kill('SIGTERM');
      const deadline = Date.now() + STOP_GRACE_MS;
      while (this.children.some((node) => !node.exited) && Date.now() < deadline) await sleep(20);
      for (const node of this.children) {
        if (node.exited) continue;
        process.stderr.write(`raftbench cluster: n${node.id} did not stop within ${STOP_GRACE_MS} ms: SIGKILL\n`);
        node.child.kill('SIGKILL');
      }
      while (this.children.some((node) => !node.exited)) await sleep(20);
    })();
    return this.stopping;
  }
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

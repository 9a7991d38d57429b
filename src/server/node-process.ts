// One node as an operating-system process: a KvNode with real storage in its data directory and a
// TcpTransport to its peers, built from a profile — what `raftbench node` runs, the unit a user
// deploys on each machine, and what `raftbench cluster` starts N of on 127.0.0.1.
//
// Shutdown (SIGTERM, SIGINT, or the parent's IPC channel closing): stop accepting client requests,
// then KvNode.stop() — requests still waiting are answered 'stopped' (writes with outcome unknown),
// the Readies in flight finish persisting, the WAL drains its queue and closes — then the transport
// and the admin endpoint close. A restart with the same --data recovers from disk (the WAL, the hard
// state and the newest snapshot) and catches up from the leader.

import { nodeOptionsOf, type ResolvedProfile } from './profile.js';
import { KvNode } from './node.js';
import { realRuntime } from './runtime.js';
import { startAdminServer, type AdminServer } from './admin-server.js';
import type { NodeId } from '../raft/types.js';
import { parseCodecName } from '../storage/codec.js';
import { TcpTransport, type TcpAddress, type TlsMaterial } from '../transport/tcp.js';
import { startClientApis, type ClientApiOptions, type ClientApis } from '../api/client-apis.js';

export interface NodeProcessOptions {
  readonly id: NodeId;
  readonly dataDir: string;
  /** Every voter, this node included, and where it listens for peers. */
  readonly peers: ReadonlyMap<NodeId, TcpAddress>;
  readonly profile: ResolvedProfile;
  readonly clusterId?: string;
  /** The admin endpoint's port on 127.0.0.1 (undefined: no admin endpoint). */
  readonly adminPort?: number;
  /** Enables the admin endpoint's debug write and read routes (off unless asked). */
  readonly adminDebugRoutes?: boolean;
  readonly tls?: TlsMaterial;
  /** The HTTP API and the binary client protocol (src/api/); none when undefined. */
  readonly clientApis?: ClientApiOptions;
  readonly log?: (line: string) => void;
}

export class NodeProcess {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly node: KvNode,
    readonly transport: TcpTransport,
    readonly admin: AdminServer | null,
    readonly clientApis: ClientApis | null,
    private readonly log: (line: string) => void,
  ) {}

  /** Builds and starts the node; rejects (naming the reason) if a port is taken or storage cannot open. */
  static async start(options: NodeProcessOptions): Promise<NodeProcess> {
    const log = options.log ?? ((line: string) => process.stderr.write(`[n${options.id}] ${line}\n`));
    const own = options.peers.get(options.id);
    if (own === undefined) throw new Error(`--peers must include this node's own id ${options.id}`);
    const voters = [...options.peers.keys()].sort((a, b) => a - b);
    const nodeOptions = nodeOptionsOf(options.profile, options.id, voters, options.dataDir, options.id);
    const transport = new TcpTransport({
      id: options.id,
      listen: own,
      peers: new Map([...options.peers].filter(([peer]) => peer !== options.id)),
      clusterId: options.clusterId ?? 'raftbench',
      codec: parseCodecName(options.profile.storage.logCodec, 'storage.logCodec'),
      // A frame must hold the largest append a leader builds.
      frameBytesMax: Math.max(64 * 1024 * 1024, options.profile.replication.batchBytesMax + 1024 * 1024),
      log: (line) => log(`tcp: ${line}`),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    await transport.listen();
    const node = new KvNode(nodeOptions, transport, realRuntime);
    let admin: AdminServer | null = null;
    let clientApis: ClientApis | null = null;
    try {
      await node.start();
      if (options.adminPort !== undefined) admin = await startAdminServer({ port: options.adminPort, node, transport, debugRoutes: options.adminDebugRoutes ?? false });
      if (options.clientApis !== undefined) clientApis = await startClientApis(node, { log: (line) => log(`api: ${line}`), ...options.clientApis });
    } catch (error) {
      await admin?.close();
      await node.stop().catch(() => undefined);
      await transport.close();
      throw error;
    }
    return new NodeProcess(node, transport, admin, clientApis, log);
  }

  /** Graceful stop (idempotent): client APIs, then the node (fails or finishes what is in flight, syncs, closes), transport, admin. */
  stop(reason: string): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.log(`stopping: ${reason}`);
    this.stopping = (async () => {
      await this.clientApis?.close().catch((error: unknown) => this.log(`client APIs: ${String(error)}`));
      await this.node.stop();
      await this.transport.close();
      await this.admin?.close();
      this.log('stopped');
    })();
    return this.stopping;
  }
}

/**
 * Stops `running` gracefully on SIGTERM or SIGINT, and — with `watchParent`, for a process started
 * with an IPC channel — when the parent's channel closes (a node started by `raftbench cluster`
 * must not outlive it, even when the parent is SIGKILLed).
 * A second signal exits at once. Resolves with the exit code once stopped.
 */
export function stopOnSignals(running: NodeProcess, watchParent: boolean): Promise<number> {
  return new Promise((resolve) => {
    let signalled = false;
    const stop = (reason: string, forceOnRepeat: boolean): void => {
      if (signalled) {
        if (!forceOnRepeat) return;
        process.stderr.write(`[n${running.node.id}] ${reason} again: exiting without finishing the shutdown\n`);
        process.exit(1);
      }
      signalled = true;
      running.stop(reason).then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`[n${running.node.id}] shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM', true));
    process.on('SIGINT', () => stop('SIGINT', true));
    if (!watchParent) return;
    // The channel may have closed while the node was starting, before this listener existed.
    if (!process.connected) stop('the parent process is gone (IPC channel closed)', false);
    else process.on('disconnect', () => stop('the parent process is gone (IPC channel closed)', false));
  });
}

// `raftbench node`: runs one node of a cluster in this process, talking TCP to its peers — the unit
// deployed on each machine (src/server/node-process.ts does the work). Prints one JSON line on
// stdout once it serves ({"event":"listening",…}: what `raftbench cluster` and scripts wait for),
// logs to stderr, and stops gracefully on SIGTERM / SIGINT.

import type { NodeId } from '../raft/types.js';
import { loadProfile, ProfileError } from '../server/profile.js';
import { NodeProcess, stopOnSignals } from '../server/node-process.js';
import type { TcpAddress } from '../transport/tcp.js';
import { loadTlsFiles } from '../transport/tls-files.js';
import { Command, InvalidArgumentError, integerOption, parseOptions } from './options.js';

interface NodeCommandOptions {
  id: number;
  data: string;
  peers: Map<NodeId, TcpAddress>;
  profile: string;
  adminPort?: number;
  adminDebugRoutes: boolean;
  httpPort?: number;
  binaryPort?: number;
  clientHost: string;
  httpPeers?: Map<NodeId, TcpAddress>;
  binaryPeers?: Map<NodeId, TcpAddress>;
  clusterId: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** Parses `1=127.0.0.1:7001,2=10.0.0.2:7001,…`; the error names the bad entry. */
export function parsePeers(value: string): Map<NodeId, TcpAddress> {
  return parseAddressList(value, '--peers');
}

function parseAddressList(value: string, flag: string): Map<NodeId, TcpAddress> {
  const peers = new Map<NodeId, TcpAddress>();
  for (const entry of value.split(',').map((part) => part.trim()).filter((part) => part.length > 0)) {
    const match = /^(\d+)=(.+):(\d+)$/.exec(entry);
    if (match === null) throw new InvalidArgumentError(`${flag}: '${entry}' is not ID=HOST:PORT (e.g. 1=127.0.0.1:7001)`);
    const id = Number(match[1]);
    const port = Number(match[3]);
    if (!Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError(`${flag}: '${entry}': the id must be an integer ≥ 1`);
    if (!(port >= 1 && port <= 65_535)) throw new InvalidArgumentError(`${flag}: '${entry}': the port must be from 1 to 65535`);
    if (peers.has(id)) throw new InvalidArgumentError(`${flag}: node ${id} is listed twice`);
    const host = match[2]!.replace(/^\[(.*)\]$/, '$1');
    peers.set(id, { host, port });
  }
  if (peers.size === 0) throw new InvalidArgumentError(`${flag}: at least one ID=HOST:PORT is needed`);
  return peers;
}

export async function nodeCommand(argv: string[]): Promise<number> {
  const program = new Command('raftbench node')
    .description(
      'Run one node of a Raft cluster: a KV state machine with its write-ahead log in --data, talking TCP to the peers in --peers (every voter, this ' +
        "node included: it listens on its own entry's address). The profile sets the switches (fsync, batching, codecs, read mode …). " +
        'Stops gracefully on SIGTERM or Ctrl-C (requests in flight are answered, the log is synced and closed); started again with the same --data it ' +
        'recovers from disk and catches up. --http-port and --binary-port serve the client APIs (src/api/README.md).',
    )
    .requiredOption('--id <n>', "this node's id (one of the ids in --peers)", integerOption('--id', 1, Number.MAX_SAFE_INTEGER))
    .requiredOption('--data <dir>', 'data directory (created if missing): write-ahead log, hard state, snapshots')
    .requiredOption('--peers <list>', 'every voter as ID=HOST:PORT, comma-separated, e.g. 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003', parsePeers)
    .option('--profile <name>', 'profile name (profiles/NAME.json) or path', 'baseline')
    .option('--admin-port <port>', 'serve the ADMIN endpoint (status, fault hooks) on 127.0.0.1:PORT; off unless given', integerOption('--admin-port', 0, 65_535))
    .option('--admin-debug-routes', 'also serve the admin debug routes (POST /debug/put, GET /debug/get): for tests, not for clients', false)
    .option('--http-port <port>', 'serve the HTTP JSON API (with the etcd v3 gateway and /metrics) on --client-host:PORT (0: any free port); off unless given', integerOption('--http-port', 0, 65_535))
    .option('--binary-port <port>', 'serve the binary client protocol (pipelined, for the native driver) on --client-host:PORT (0: any free port); off unless given', integerOption('--binary-port', 0, 65_535))
    .option('--client-host <host>', 'address the client APIs listen on', '127.0.0.1')
    .option('--http-peers <list>', "every node's HTTP API as ID=HOST:PORT, so a follower can redirect to the leader (307)", (value: string) => parseAddressList(value, '--http-peers'))
    .option('--binary-peers <list>', "every node's binary protocol address as ID=HOST:PORT, so a follower can name the leader's", (value: string) => parseAddressList(value, '--binary-peers'))
    .option('--cluster-id <name>', 'peers must name the same cluster in their handshake', 'raftbench')
    .option('--tls-cert <file>', 'PEM certificate for peer traffic (with --tls-key and --tls-ca: mutual TLS)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA that signed every peer certificate');
  const parsed = parseOptions<NodeCommandOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const options = parsed.options;
  // Started by a parent with an IPC channel (raftbench cluster): live no longer than it does.
  const watchParent = process.channel !== undefined;
  // A dead parent's pipes fail our log writes (EPIPE): that must not crash the node before its
  // graceful stop — losing the log lines is the lesser harm.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  if (!options.peers.has(options.id)) {
    console.error(`raftbench node: --peers must include this node's own id ${options.id} (its listen address)`);
    return 2;
  }
  const tlsGiven = [options.tlsCert, options.tlsKey, options.tlsCa].filter((file) => file !== undefined).length;
  if (tlsGiven !== 0 && tlsGiven !== 3) {
    console.error('raftbench node: TLS needs all three of --tls-cert, --tls-key and --tls-ca');
    return 2;
  }
  let running: NodeProcess;
  try {
    const profile = await loadProfile(options.profile);
    const tls = tlsGiven === 3 ? await loadTlsFiles({ certPath: options.tlsCert!, keyPath: options.tlsKey!, caPath: options.tlsCa! }) : undefined;
    running = await NodeProcess.start({
      id: options.id,
      dataDir: options.data,
      peers: options.peers,
      profile,
      clusterId: options.clusterId,
      ...(options.adminPort === undefined ? {} : { adminPort: options.adminPort }),
      adminDebugRoutes: options.adminDebugRoutes,
      ...(tls === undefined ? {} : { tls }),
      ...(options.httpPort === undefined && options.binaryPort === undefined
        ? {}
        : {
            clientApis: {
              host: options.clientHost,
              ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }),
              ...(options.binaryPort === undefined ? {} : { binaryPort: options.binaryPort }),
              leaderAddresses: (id: NodeId) => {
                const http = options.httpPeers?.get(id);
                const binary = options.binaryPeers?.get(id);
                if (http === undefined && binary === undefined) return undefined;
                return { ...(http === undefined ? {} : { http: `${http.host}:${http.port}` }), ...(binary === undefined ? {} : { binary: `${binary.host}:${binary.port}` }) };
              },
            },
          }),
    });
  } catch (error) {
    console.error(`raftbench node: ${error instanceof ProfileError ? error.message : error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const address = running.transport.address!;
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', id: options.id, pid: process.pid, peer: `${address.host}:${address.port}`, admin: running.admin === null ? null : `127.0.0.1:${running.admin.port}`, http: running.clientApis?.httpAddress ?? null, binary: running.clientApis?.binaryAddress ?? null })}\n`,
  );
  const code = await stopOnSignals(running, watchParent);
  // The IPC channel to a parent (raftbench cluster) would keep the process alive.
  if (process.connected) process.disconnect();
  return code;
}

// startClientApis: both client APIs of one node — the HTTP JSON API (with the etcd gateway, the
// raw routes of the client library, status and metrics) and the binary protocol — whatever hosts
// the node (an embedded cluster, a `raftbench node` process). Either can be left off.

import type { HttpReply } from './http-replies.js';
import { startBinaryServer, type BinaryServer } from './binary-server.js';
import { etcdRoutes } from './etcd-gateway.js';
import { startHttpServer, type HttpServer, type Route } from './http-server.js';
import { kvRoutes } from './kv-routes.js';
import { LocalKv } from './local-kv.js';
import { METRICS_CONTENT_TYPE, metricsText } from './metrics.js';
import { rawRoutes } from './raw-routes.js';
import type { LeaderAddresses, ServedNode } from './served-node.js';
import { nodeStatusJson } from './status.js';

export interface ClientApiOptions {
  /** Where both listen (default '127.0.0.1'). */
  readonly host?: string;
  /** The HTTP API's port (0: any free port; undefined: no HTTP API). */
  readonly httpPort?: number;
  /** The binary protocol's port (0: any free port; undefined: none). */
  readonly binaryPort?: number;
  /** Another node's API addresses, for redirects and for the leader named in error replies. */
  readonly leaderAddresses?: LeaderAddresses;
  /** Largest HTTP body (default 2 MiB). */
  readonly httpBodyBytesMax?: number;
  /** Largest binary request frame (default 4 MiB). */
  readonly binaryFrameBytesMax?: number;
  /** Binary requests in flight per connection before it stops reading (default 4096). */
  readonly binaryInFlightPerConnectionMax?: number;
  /** Sessions the HTTP API's writes are spread over (default 4). */
  readonly httpSessions?: number;
  /** The etcd gateway's header.cluster_id (default "0"). */
  readonly clusterId?: string;
  /** Where connection drops and internal errors are reported (default: nowhere). */
  readonly log?: (line: string) => void;
}

export interface ClientApis {
  /** "host:port", or null when that API is off. */
  readonly httpAddress: string | null;
  readonly binaryAddress: string | null;
  close(): Promise<void>;
}

export async function startClientApis(node: ServedNode, options: ClientApiOptions): Promise<ClientApis> {
  const host = options.host ?? '127.0.0.1';
  const leaderAddresses = options.leaderAddresses;
  let binary: BinaryServer | null = null;
  let http: HttpServer | null = null;
  try {
    if (options.binaryPort !== undefined) {
      binary = await startBinaryServer(node, {
        host,
        port: options.binaryPort,
        ...(options.binaryFrameBytesMax === undefined ? {} : { frameBytesMax: options.binaryFrameBytesMax }),
        ...(options.binaryInFlightPerConnectionMax === undefined ? {} : { inFlightPerConnectionMax: options.binaryInFlightPerConnectionMax }),
        ...(leaderAddresses === undefined ? {} : { leaderAddresses }),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    }
    if (options.httpPort !== undefined) {
      const kv = new LocalKv(node, options.httpSessions === undefined ? {} : { sessions: options.httpSessions });
      const binaryServer = binary;
      const routes: Route[] = [
        ...kvRoutes({ node, kv, leaderAddresses }),
        ...rawRoutes(node, leaderAddresses),
        ...etcdRoutes({ node, kv, leaderAddresses, clusterId: options.clusterId ?? '0' }),
        { name: 'status', method: 'GET', path: '/v1/status', handle: (): HttpReply => ({ status: 200, body: nodeStatusJson(node, leaderAddresses) }) },
        {
          name: 'metrics',
          method: 'GET',
          path: '/metrics',
          handle: (): HttpReply => ({
            status: 200,
            body: metricsText(node, { http: http?.requestCounts() ?? new Map(), binary: binaryServer?.counters() ?? null }),
            headers: { 'content-type': METRICS_CONTENT_TYPE },
          }),
        },
      ];
      http = await startHttpServer({
        host,
        port: options.httpPort,
        routes,
        ...(options.httpBodyBytesMax === undefined ? {} : { bodyBytesMax: options.httpBodyBytesMax }),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    }
  } catch (error) {
    await binary?.close();
    throw error;
  }
  const httpServer = http;
  const binaryServer = binary;
  return {
    httpAddress: httpServer?.address ?? null,
    binaryAddress: binaryServer?.address ?? null,
    close: async () => {
      await Promise.all([httpServer?.close(), binaryServer?.close()]);
    },
  };
}

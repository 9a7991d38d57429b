// The ADMIN endpoint of a node process: off unless `--admin-port` is given, and listening on
// 127.0.0.1 only (it can cut the node off its peers — never expose it). Operators and tests use it
// to read a node's state and to inject network faults at run time; it is not the client API.
//
//   GET    /status           role, term, leader, commit, applied, … and the peer links, as JSON
//   GET    /faults           the fault hooks set, per peer
//   PUT    /faults/:peer     merge {"delayMs", "dropProbability", "partitioned"} into that link's faults
//   DELETE /faults/:peer     heal one link;   DELETE /faults   heal every link
//
// Debug routes, only with --admin-debug-routes (for tests and poking at a process cluster before
// the client APIs exist; a real client uses the client API):
//   POST   /debug/put        {"key": "...", "value": "..."} (UTF-8) → {"index", "version"}
//   GET    /debug/get?key=K  a read-index read → {"found", "value", "version"}
// A non-leader answers 503 with {"leader"}.
//
// Errors are JSON {"error", "reason"}: 400 bad input (naming the field), 404 unknown route, 503
// not leader or no leader, 500 otherwise.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decodeResponse, encodeRequest, type KvCommand } from '../kv/commands.js';
import type { KvNode, NodeReply } from './node.js';
import { FaultError } from '../transport/tcp-faults.js';
import type { TcpTransport } from '../transport/tcp.js';

export interface AdminServerOptions {
  readonly port: number;
  readonly node: KvNode;
  readonly transport: TcpTransport;
  readonly debugRoutes: boolean;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

const BODY_BYTES_MAX = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

/** Listens on 127.0.0.1:`port`; resolves once listening (with the port, if 0 was asked). */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const debug = options.debugRoutes ? new DebugSession(options.node) : null;
  const server: Server = createServer((request, response) => {
    route(request, options, debug).then(
      (body) => reply(response, 200, body),
      (error: unknown) => {
        if (error instanceof HttpError) reply(response, error.status, { error: error.error, reason: error.message, ...error.extra });
        else reply(response, 500, { error: 'internal', reason: error instanceof Error ? error.message : String(error) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`admin endpoint on 127.0.0.1:${options.port}: ${error.message}`)));
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = address !== null && typeof address !== 'string' ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function route(request: IncomingMessage, options: AdminServerOptions, debug: DebugSession | null): Promise<unknown> {
  const url = new URL(request.url ?? '/', 'http://admin');
  const method = request.method ?? 'GET';
  const path = url.pathname;
  const { node, transport } = options;
  if (path === '/status' && method === 'GET') return statusOf(node, transport);
  if (path === '/faults' && method === 'GET') return Object.fromEntries(transport.faults.list());
  if (path === '/faults' && method === 'DELETE') {
    transport.faults.clear();
    return { healed: 'all' };
  }
  const faultPeer = /^\/faults\/(\d+)$/.exec(path);
  if (faultPeer !== null && (method === 'PUT' || method === 'DELETE')) {
    const peer = Number(faultPeer[1]);
    if (method === 'DELETE') {
      transport.faults.clear(peer);
      return { peer, faults: transport.faults.get(peer) };
    }
    try {
      return { peer, faults: transport.faults.set(peer, (await readJson(request)) as object) };
    } catch (error) {
      if (error instanceof FaultError) throw new HttpError(400, 'bad-request', error.message, { field: error.field });
      throw error;
    }
  }
  if (path.startsWith('/debug/')) {
    if (debug === null) throw new HttpError(404, 'not-found', 'debug routes are off (start the node with --admin-debug-routes)');
    if (path === '/debug/put' && method === 'POST') {
      const body = (await readJson(request)) as Record<string, unknown>;
      return debug.put(stringField(body, 'key'), stringField(body, 'value'));
    }
    if (path === '/debug/get' && method === 'GET') {
      const key = url.searchParams.get('key');
      if (key === null) throw new HttpError(400, 'bad-request', 'query parameter key is missing', { field: 'key' });
      return debug.get(key);
    }
  }
  throw new HttpError(404, 'not-found', `no route ${method} ${path}`);
}

export function statusOf(node: KvNode, transport: TcpTransport): Record<string, unknown> {
  const status = node.status();
  return {
    id: node.id,
    running: node.running,
    role: status?.role ?? 'down',
    term: status?.term ?? 0,
    leader: status?.leader ?? 0,
    commit: status?.commit ?? 0,
    applied: status?.applied ?? 0,
    lastIndex: status?.lastIndex ?? 0,
    snapshotIndex: status?.snapshotIndex ?? 0,
    listen: transport.address,
    tls: transport.options.tls !== undefined,
    peers: transport.peers(),
    transport: transport.counters(),
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > BODY_BYTES_MAX) throw new HttpError(413, 'too-large', `the body exceeds ${BODY_BYTES_MAX} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'bad-request', `the body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function stringField(body: Record<string, unknown>, field: string): string {
  const value = typeof body === 'object' && body !== null ? body[field] : undefined;
  if (typeof value !== 'string' || value.length === 0) throw new HttpError(400, 'bad-request', `${field} must be a non-empty string`, { field });
  return value;
}

function failed(reply: Extract<NodeReply, { ok: false }>): HttpError {
  const status = reply.error === 'not-leader' || reply.error === 'no-leader' ? 503 : reply.error === 'timeout' ? 504 : 503;
  return new HttpError(status, reply.error, reply.reason, { leader: reply.leader, outcome: reply.outcome });
}

/** The debug routes' one client session on this node (registered through the log on first use). */
class DebugSession {
  private sessionId = 0;
  private nextSequence = 1;
  private readonly unanswered = new Set<number>();

  constructor(private readonly node: KvNode) {}

  async put(key: string, value: string): Promise<unknown> {
    const command: KvCommand = { type: 'put', key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8') };
    if (this.sessionId === 0) {
      const registered = await this.node.submit(encodeRequest({ type: 'register-session' }));
      if (!registered.ok) throw failed(registered);
      const response = decodeResponse(registered.response);
      if (response.type !== 'session-registered') throw new Error(`session registration answered ${response.type}`);
      this.sessionId = response.sessionId;
    }
    const sequence = this.nextSequence++;
    this.unanswered.add(sequence);
    const lowestUnacknowledged = Math.min(...this.unanswered);
    const answer = await this.node.submit(encodeRequest({ type: 'command', sessionId: this.sessionId, sequence, lowestUnacknowledged, command }));
    this.unanswered.delete(sequence);
    if (!answer.ok) throw failed(answer);
    const response = decodeResponse(answer.response);
    if (response.type === 'error') throw new HttpError(response.code === 'session-expired' ? 503 : 400, response.code, response.reason);
    return { index: answer.index, version: response.type === 'ok' ? response.version : answer.index };
  }

  async get(key: string): Promise<unknown> {
    const answer = await this.node.read({ type: 'get', key: Buffer.from(key, 'utf8') }, 'read-index');
    if (!answer.ok) throw failed(answer);
    const response = decodeResponse(answer.response);
    if (response.type === 'not-found') return { found: false, index: answer.index };
    if (response.type !== 'value') throw new HttpError(500, 'internal', `a get answered ${response.type}`);
    return { found: true, value: Buffer.from(response.value).toString('utf8'), version: response.version, index: answer.index };
  }
}

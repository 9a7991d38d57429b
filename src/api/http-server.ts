// The HTTP/1.1 server under the JSON API: node:http (no framework: a dozen fixed routes need a
// table, not a router library), keep-alive, bounded bodies, and one place where a route's result
// or thrown HttpError becomes a response. Routes live in kv-routes.ts, raw-routes.ts and
// etcd-gateway.ts; what each status means is in http-replies.ts.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HttpError, badRequest, type HttpReply } from './http-replies.js';
import { closeServer, listen } from './listen.js';

export interface RouteRequest {
  readonly method: string;
  /** The path as sent (still percent-encoded). */
  readonly path: string;
  /** Path and query as sent: the same request on another node (a redirect's Location). */
  readonly url: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The body, at most bodyBytesMax (413 beyond). */
  body(): Promise<Buffer>;
  /** The body as a JSON object (400 naming 'body' if it is not one). */
  json(): Promise<Record<string, unknown>>;
}

export interface Route {
  /** A label for metrics: "kv_get", "etcd_put", … */
  readonly name: string;
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** An exact path, or a prefix when it ends in '/' (the rest is the route's parameter). */
  readonly path: string;
  handle(request: RouteRequest, rest: string): Promise<HttpReply> | HttpReply;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body (default 2 MiB: a 1 MiB value, base64-encoded, in JSON). */
  readonly bodyBytesMax?: number;
  readonly routes: readonly Route[];
  readonly log?: (line: string) => void;
}

export interface HttpServer {
  readonly address: string;
  /** Requests answered, by route and status. */
  requestCounts(): ReadonlyMap<string, ReadonlyMap<number, number>>;
  close(): Promise<void>;
}

export const BODY_BYTES_MAX_DEFAULT = 2 * 1024 * 1024;

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const bodyBytesMax = options.bodyBytesMax ?? BODY_BYTES_MAX_DEFAULT;
  const counts = new Map<string, Map<number, number>>();
  const count = (route: string, status: number): void => {
    let byStatus = counts.get(route);
    if (byStatus === undefined) counts.set(route, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  };

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = incoming.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    const method = incoming.method ?? 'GET';
    let routeName = 'unrouted';
    let reply: HttpReply;
    let bodyRefused = false;
    try {
      const { route, rest } = findRoute(options.routes, method, path);
      routeName = route.name;
      const request: RouteRequest = {
        method,
        path,
        url,
        query: new URLSearchParams(queryStart < 0 ? '' : url.slice(queryStart + 1)),
        headers: incoming.headers,
        body: () =>
          readBody(incoming, bodyBytesMax).catch((error: unknown) => {
            if (error instanceof HttpError && error.status === 413) bodyRefused = true;
            throw error;
          }),
        json: async () => parseJsonObject(await request.body()),
      };
      reply = await route.handle(request, rest);
    } catch (error) {
      if (error instanceof HttpError) reply = error.reply();
      else {
        options.log?.(`HTTP API: ${method} ${path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        reply = { status: 500, body: { error: 'internal', reason: error instanceof Error ? error.message : String(error) } };
      }
    }
    count(routeName, reply.status);
    // A body left unread (refused as too large) cannot be skipped on a kept-alive connection.
    send(response, reply, bodyRefused);
  };

  const server: Server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      options.log?.(`HTTP API: could not answer: ${String(error)}`);
      response.destroy();
    });
  });
  server.keepAliveTimeout = 10_000;
  // A malformed request line or header: Node answers 400 itself and this closes the socket.
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"error":"bad-request","reason":"malformed HTTP"}');
    else socket.destroy();
  });
  const address = await listen(server, options.host, options.port, 'HTTP API');
  return {
    address,
    requestCounts: () => counts,
    close: () => closeServer(server, () => server.closeAllConnections()),
  };
}

function findRoute(routes: readonly Route[], method: string, path: string): { route: Route; rest: string } {
  const allowed: string[] = [];
  for (const route of routes) {
    const matches = route.path.endsWith('/') ? path.startsWith(route.path) : path === route.path;
    if (!matches) continue;
    if (route.method === method) return { route, rest: route.path.endsWith('/') ? path.slice(route.path.length) : '' };
    allowed.push(route.method);
  }
  if (allowed.length === 0) throw new HttpError(404, 'no-route', `no route ${path} (see src/api/README.md)`);
  throw new HttpError(405, 'method-not-allowed', `${path} takes ${allowed.join(', ')}, not ${method}`, {}, { allow: allowed.join(', ') });
}

function readBody(incoming: IncomingMessage, bodyBytesMax: number): Promise<Buffer> {
  const declared = Number(incoming.headers['content-length'] ?? 0);
  if (declared > bodyBytesMax) return Promise.reject(new HttpError(413, 'too-large', `the body is ${declared} bytes; at most ${bodyBytesMax} are accepted`, { field: 'body' }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > bodyBytesMax) {
        incoming.off('data', onData);
        incoming.pause();
        reject(new HttpError(413, 'too-large', `the body exceeds ${bodyBytesMax} bytes`, { field: 'body' }));
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)));
    incoming.once('error', reject);
  });
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest('body', `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('body', 'must be a JSON object');
  return parsed as Record<string, unknown>;
}

function send(response: ServerResponse, reply: HttpReply, closeAfter: boolean): void {
  let payload: Uint8Array | string;
  let contentType: string;
  if (reply.body instanceof Uint8Array) {
    payload = reply.body;
    contentType = 'application/octet-stream';
  } else if (typeof reply.body === 'string') {
    payload = reply.body;
    contentType = 'text/plain; charset=utf-8';
  } else {
    payload = JSON.stringify(reply.body);
    contentType = 'application/json';
  }
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(payload), ...reply.headers };
  if (closeAfter) headers['connection'] = 'close';
  response.writeHead(reply.status, headers);
  response.end(payload);
}

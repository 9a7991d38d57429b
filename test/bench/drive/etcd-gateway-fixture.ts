// A stand-in for the server side of the HTTP driver's tests: a real node:http server on
// 127.0.0.1 that implements the three etcd v3 gateway routes (put, range, deleterange; base64
// keys and values in JSON) over an in-memory Map, checks every request's shape, and writes down
// what it saw per connection. It can refuse requests deterministically (`failWith(n)` → the
// status for the n-th request counted from 1, or null to serve it).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly path: string;
  readonly key: string;
  /** Bytes of the decoded value (put only). */
  readonly valueBytes: number | null;
  readonly status: number;
}

export interface GatewayFixtureOptions {
  /** The status to answer the n-th request (from 1) with instead of serving it, or null. */
  readonly failWith?: (requestNumber: number, path: string) => number | null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class EtcdGatewayFixture {
  readonly store = new Map<string, Buffer>();
  /** Requests per connection (by the client's port), in arrival order. */
  readonly byConnection = new Map<number, SeenRequest[]>();
  /** Requests that were not well-formed gateway requests, with why. */
  readonly malformed: string[] = [];
  readonly statusCounts = new Map<number, number>();
  private requests = 0;
  private server: Server | null = null;

  constructor(private readonly options: GatewayFixtureOptions = {}) {}

  async start(): Promise<string> {
    const server = createServer((request, response) => this.handle(request, response));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get allRequests(): SeenRequest[] {
    return [...this.byConnection.values()].flat();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      const answer = (status: number, body: unknown, seen: Omit<SeenRequest, 'status' | 'path'> | null): void => {
        if (seen !== null) {
          const port = request.socket.remotePort ?? 0;
          const list = this.byConnection.get(port) ?? [];
          list.push({ ...seen, path, status });
          this.byConnection.set(port, list);
        }
        this.statusCounts.set(status, (this.statusCounts.get(status) ?? 0) + 1);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const reject = (reason: string): void => {
        this.malformed.push(`${request.method} ${path}: ${reason}`);
        answer(400, { error: reason, code: 3 }, null);
      };
      if (request.method !== 'POST') return reject(`method ${request.method}`);
      if (request.headers['content-type'] !== 'application/json') return reject(`content-type ${request.headers['content-type']}`);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return reject('body is not JSON');
      }
      const key = body['key'];
      if (typeof key !== 'string' || key.length === 0 || !BASE64.test(key)) return reject(`key is not base64: ${JSON.stringify(key)}`);
      const keyText = Buffer.from(key, 'base64').toString('latin1');
      const number = ++this.requests;
      const failure = this.options.failWith?.(number, path) ?? null;
      switch (path) {
        case '/v3/kv/put': {
          const value = body['value'];
          if (typeof value !== 'string' || !BASE64.test(value)) return reject(`value is not base64: ${JSON.stringify(value)}`);
          const bytes = Buffer.from(value, 'base64');
          if (failure !== null) return answer(failure, { error: 'refused by the fixture', code: 14 }, { key: keyText, valueBytes: bytes.length });
          this.store.set(keyText, bytes);
          return answer(200, { header: { revision: String(number) } }, { key: keyText, valueBytes: bytes.length });
        }
        case '/v3/kv/range': {
          if (failure !== null) return answer(failure, { error: 'refused by the fixture', code: 14 }, { key: keyText, valueBytes: null });
          const value = this.store.get(keyText);
          const kvs = value === undefined ? [] : [{ key, value: value.toString('base64') }];
          return answer(200, { header: {}, kvs, count: String(kvs.length) }, { key: keyText, valueBytes: null });
        }
        case '/v3/kv/deleterange': {
          if (failure !== null) return answer(failure, { error: 'refused by the fixture', code: 14 }, { key: keyText, valueBytes: null });
          const deleted = this.store.delete(keyText) ? 1 : 0;
          return answer(200, { header: {}, deleted: String(deleted) }, { key: keyText, valueBytes: null });
        }
        default:
          return reject(`no route ${path}`);
      }
    });
  }
}

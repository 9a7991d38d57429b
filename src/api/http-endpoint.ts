// The client side of the HTTP API's raw routes (raw-routes.ts): a NodeEndpoint over HTTP/1.1, so a
// KvClient speaks to a node over HTTP with its own session, as over the binary protocol.
// Connections are kept alive and reused (one Agent per endpoint); a refused connection fails with
// 'stopped' (not applied), so the client moves on to another node; a reset or a timeout after the
// request was sent fails with an 'unknown' outcome for a write. A redirect (307) is not followed:
// it becomes a 'not-leader' reply naming the leader, which the client maps to its own endpoint.

import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { encodeReadCommand, type KvReadCommand } from '../kv/commands.js';
import type { NodeEndpoint } from '../client/client.js';
import type { NodeId } from '../raft/types.js';
import type { NodeErrorKind, NodeReply } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';
import { parseHostPort } from './address.js';
import { RAFT_INDEX_HEADER, RAW_READ_PATH, RAW_SUBMIT_PATH } from './raw-routes.js';
import { NODE_ERROR_KINDS } from './served-node.js';

export interface HttpEndpointOptions {
  readonly id: NodeId;
  /** "host:port" of the node's HTTP API. */
  readonly address: string;
  /** One attempt's longest wait (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Connections kept to the node at most (default 64): requests beyond wait for one. */
  readonly socketsMax?: number;
}

const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

export class HttpEndpoint implements NodeEndpoint {
  readonly id: NodeId;
  private readonly host: string;
  private readonly port: number;
  private readonly requestTimeoutMs: number;
  private readonly agent: Agent;

  constructor(options: HttpEndpointOptions) {
    this.id = options.id;
    ({ host: this.host, port: this.port } = parseHostPort(options.address, 'address'));
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.socketsMax ?? 64 });
  }

  submit(request: Uint8Array): Promise<NodeReply> {
    return this.post(RAW_SUBMIT_PATH, request, true);
  }

  read(command: KvReadCommand, mode: ReadMode): Promise<NodeReply> {
    return this.post(`${RAW_READ_PATH}?mode=${mode}`, encodeReadCommand(command), false);
  }

  close(): void {
    this.agent.destroy();
  }

  private post(path: string, body: Uint8Array, write: boolean): Promise<NodeReply> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (reply: NodeReply): void => {
        if (settled) return;
        settled = true;
        resolve(reply);
      };
      const sentOutcome = write ? 'unknown' : 'not-applied';
      const outgoing = httpRequest(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path,
          agent: this.agent,
          headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        },
        (response) => {
          collect(response).then(
            (bytes) => settle(replyOf(response, bytes, write)),
            (error: unknown) => settle({ ok: false, error: 'stopped', reason: `node ${this.id}: reading the reply failed: ${String(error)}`, leader: 0, outcome: sentOutcome }),
          );
        },
      );
      outgoing.setTimeout(this.requestTimeoutMs, () => {
        settle({ ok: false, error: 'timeout', reason: `node ${this.id}: no reply within ${this.requestTimeoutMs} ms`, leader: 0, outcome: sentOutcome });
        outgoing.destroy();
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // Refused: nothing reached the node. Anything else may have followed the request there.
        const outcome = error.code === 'ECONNREFUSED' ? 'not-applied' : sentOutcome;
        settle({ ok: false, error: 'stopped', reason: `node ${this.id}: ${error.message}`, leader: 0, outcome });
      });
      outgoing.end(body);
    });
  }
}

function collect(response: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > RESPONSE_BYTES_MAX) response.destroy(new Error(`reply larger than ${RESPONSE_BYTES_MAX} bytes`));
      else chunks.push(chunk);
    });
    response.once('end', () => resolve(Buffer.concat(chunks, bytes)));
    response.once('error', reject);
  });
}

interface ErrorBody {
  readonly error?: unknown;
  readonly reason?: unknown;
  readonly outcome?: unknown;
  readonly leader?: { readonly id?: unknown };
}

function replyOf(response: IncomingMessage, bytes: Buffer, write: boolean): NodeReply {
  if (response.statusCode === 200) {
    const index = Number(response.headers[RAFT_INDEX_HEADER]);
    return { ok: true, response: bytes, index: Number.isSafeInteger(index) ? index : 0 };
  }
  let body: ErrorBody = {};
  try {
    body = JSON.parse(bytes.toString('utf8')) as ErrorBody;
  } catch {
    // Not this API's error body (a proxy's page?): the status alone says what happened.
  }
  const named = typeof body.error === 'string' && (NODE_ERROR_KINDS as readonly string[]).includes(body.error) ? (body.error as NodeErrorKind) : null;
  // A 4xx this API does not name (a malformed request, too large) will not get better by retrying.
  const error: NodeErrorKind = named ?? ((response.statusCode ?? 500) < 500 ? 'refused' : 'stopped');
  const leader = typeof body.leader?.id === 'number' ? body.leader.id : 0;
  // A 4xx is refused before anything is proposed; a 5xx without an outcome may hide anything.
  const outcome = body.outcome === 'not-applied' || body.outcome === 'unknown' ? body.outcome : (response.statusCode ?? 500) < 500 || !write ? 'not-applied' : 'unknown';
  return { ok: false, error, reason: `HTTP ${response.statusCode}: ${typeof body.reason === 'string' ? body.reason : 'no reason given'}`, leader, outcome };
}

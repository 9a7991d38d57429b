// The client side of the binary protocol: a NodeEndpoint (src/client/client.ts) over one TCP
// connection to one node, so KvClient speaks to a process cluster exactly as to an embedded one.
//
// - One connection, reused: every request is written at once with a fresh id (pipelining) and
//   settled by the reply that carries the id, in whatever order replies come.
// - Reconnect: a closed connection is forgotten; the next request dials again. What was in flight
//   on it fails with 'stopped' — outcome 'unknown' for a submit that may have reached the node,
//   'not-applied' if the connection never opened — so KvClient moves on to another node and
//   retries within its session (a retry that was applied is answered from the session).
// - Timeouts: connecting (connectTimeoutMs); each request (requestTimeoutMs, answered 'timeout');
//   and a hung peer: a connection with requests outstanding that hears nothing for pingAfterMs
//   sends a ping, which the node's connection answers at once whatever its node is doing; heard
//   nothing for silenceTimeoutMs, the connection is dropped (a stopped or partitioned process
//   is told from a slow request in about that long).

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeReadCommand, type KvReadCommand } from '../kv/commands.js';
import type { NodeEndpoint } from '../client/client.js';
import type { NodeId } from '../raft/types.js';
import type { NodeReply } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';
import {
  ClientFrameError,
  decodeReplyFrame,
  encodeRequestFrame,
  FrameCutter,
  REPLY_FRAME_BYTES_MAX_DEFAULT,
  type ClientReplyFrame,
  type ClientRequestFrame,
} from './binary-frame.js';
import type { NodeStatusJson } from './status.js';
import { parseHostPort } from './address.js';

export interface BinaryEndpointOptions {
  readonly id: NodeId;
  /** "host:port" of the node's binary API. */
  readonly address: string;
  readonly connectTimeoutMs?: number;
  /** One attempt's longest wait for its reply (default 10 s; the node answers 'timeout' itself after its requestTimeoutMs). */
  readonly requestTimeoutMs?: number;
  readonly pingAfterMs?: number;
  readonly silenceTimeoutMs?: number;
  readonly frameBytesMax?: number;
}

export interface BinaryEndpointCounters {
  readonly connects: number;
  readonly requests: number;
  /** Replies whose id matched no request in flight (late after a timeout — or a broken server). */
  readonly unmatchedReplies: number;
  readonly connectionsLost: number;
}

interface ConnectionSettings {
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly pingAfterMs: number;
  readonly silenceTimeoutMs: number;
  readonly frameBytesMax: number;
}

interface Waiter {
  /** A submit: its outcome is unknown once it may have reached the node. */
  readonly write: boolean;
  readonly settle: (frame: ClientReplyFrame) => void;
  readonly fail: (reply: NodeReply) => void;
}

interface Pending extends Waiter {
  readonly deadlineMs: number;
}

const WATCH_INTERVAL_MS = 50;
const REQUEST_ID_LIMIT = 4294967296;

export class BinaryEndpoint implements NodeEndpoint {
  readonly id: NodeId;
  private readonly host: string;
  private readonly port: number;
  private readonly settings: ConnectionSettings;
  private connection: Connection | null = null;
  private closed = false;
  readonly counters = { connects: 0, requests: 0, unmatchedReplies: 0, connectionsLost: 0 };

  constructor(readonly options: BinaryEndpointOptions) {
    this.id = options.id;
    ({ host: this.host, port: this.port } = parseHostPort(options.address, 'address'));
    this.settings = {
      connectTimeoutMs: options.connectTimeoutMs ?? 1000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      pingAfterMs: options.pingAfterMs ?? 500,
      silenceTimeoutMs: options.silenceTimeoutMs ?? 2000,
      frameBytesMax: options.frameBytesMax ?? REPLY_FRAME_BYTES_MAX_DEFAULT,
    };
  }

  submit(request: Uint8Array): Promise<NodeReply> {
    this.counters.requests += 1;
    return this.exchange((requestId) => ({ kind: 'submit', requestId, payload: request }), true, (frame) => replyOf(frame, true), (reply) => reply);
  }

  read(command: KvReadCommand, mode: ReadMode): Promise<NodeReply> {
    const payload = encodeReadCommand(command);
    this.counters.requests += 1;
    return this.exchange((requestId) => ({ kind: 'read', requestId, mode, payload }), false, (frame) => replyOf(frame, false), (reply) => reply);
  }

  /** The node's status and counters, or null if it could not be asked. */
  status(): Promise<NodeStatusJson | null> {
    return this.exchange(
      (requestId) => ({ kind: 'status', requestId }),
      false,
      (frame) => (frame.kind === 'status' ? (JSON.parse(frame.json) as NodeStatusJson) : null),
      () => null,
    );
  }

  /** Closes the connection; requests in flight fail with 'stopped'. Later requests fail too. */
  close(): void {
    this.closed = true;
    this.connection?.destroy('the endpoint was closed');
    this.connection = null;
  }

  private exchange<T>(build: (requestId: number) => ClientRequestFrame, write: boolean, settle: (frame: ClientReplyFrame) => T, fail: (reply: NodeReply) => T): Promise<T> {
    if (this.closed) return Promise.resolve(fail(failure('stopped', 'the endpoint is closed', 'not-applied')));
    let connection = this.connection;
    if (connection === null || connection.finished) {
      this.counters.connects += 1;
      connection = new Connection(this, this.settings, this.host, this.port);
      this.connection = connection;
    }
    return new Promise((resolve) => connection.send(build, { write, settle: (frame) => resolve(settle(frame)), fail: (reply) => resolve(fail(reply)) }));
  }

  /** @internal */
  connectionEnded(connection: Connection, lost: boolean): void {
    if (lost) this.counters.connectionsLost += 1;
    if (this.connection === connection) this.connection = null;
  }
}

function failure(error: 'stopped' | 'timeout', reason: string, outcome: 'unknown' | 'not-applied'): NodeReply {
  return { ok: false, error, reason, leader: 0, outcome };
}

function replyOf(frame: ClientReplyFrame, write: boolean): NodeReply {
  switch (frame.kind) {
    case 'ok':
      return { ok: true, response: frame.response, index: frame.index };
    case 'error':
      return { ok: false, error: frame.error, reason: frame.reason, leader: frame.leader, outcome: frame.outcome };
    default:
      return failure('stopped', `a ${frame.kind} frame answered a request`, write ? 'unknown' : 'not-applied');
  }
}

/** One TCP connection and the requests in flight on it. */
class Connection {
  private readonly socket: Socket;
  private readonly cutter: FrameCutter;
  /** In send order, which (all sharing one timeout) is deadline order: expiry looks at the front. */
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  private opened = false;
  finished = false;
  private lastHeardMs = performance.now();
  private pingSent = false;
  private corked = false;
  private watch: NodeJS.Timeout | null = null;
  private closingReason: string | null = null;

  constructor(
    private readonly endpoint: BinaryEndpoint,
    private readonly settings: ConnectionSettings,
    host: string,
    port: number,
  ) {
    this.cutter = new FrameCutter(settings.frameBytesMax);
    this.socket = connect({ host, port, noDelay: true });
    // An idle connection must not keep a process alive; while requests wait, the watch timer does.
    this.socket.unref();
    this.socket.setTimeout(settings.connectTimeoutMs, () => {
      if (!this.opened) this.destroy(`no connection to ${host}:${port} within ${settings.connectTimeoutMs} ms`);
    });
    this.socket.once('connect', () => {
      this.opened = true;
      this.socket.setTimeout(0);
      this.lastHeardMs = performance.now();
    });
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.socket.on('error', (error) => this.destroy(`${host}:${port}: ${error.message}`));
    this.socket.on('close', () => this.destroy(this.closingReason ?? `${host}:${port} closed the connection`));
  }

  send(build: (requestId: number) => ClientRequestFrame, waiter: Waiter): void {
    const requestId = this.takeRequestId();
    const nowMs = performance.now();
    // Silence counts from when something was first awaited, not from the last reply of a quiet spell.
    if (this.pending.size === 0) this.lastHeardMs = nowMs;
    this.pending.set(requestId, { ...waiter, deadlineMs: nowMs + this.settings.requestTimeoutMs });
    // Requests sent in one tick leave in one write (a syscall per request would cap the rate).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeRequestFrame(build(requestId)));
    this.watch ??= setInterval(() => this.check(), WATCH_INTERVAL_MS);
  }

  private takeRequestId(): number {
    for (;;) {
      const requestId = this.nextRequestId;
      this.nextRequestId = requestId + 1 >= REQUEST_ID_LIMIT ? 1 : requestId + 1;
      if (!this.pending.has(requestId)) return requestId;
    }
  }

  private received(chunk: Buffer): void {
    this.lastHeardMs = performance.now();
    this.pingSent = false;
    const { frames, error } = this.cutter.push(chunk);
    for (const bytes of frames) {
      let frame: ClientReplyFrame;
      try {
        frame = decodeReplyFrame(bytes);
      } catch (decodeError) {
        if (decodeError instanceof ClientFrameError) return this.destroy(`the node sent a malformed frame: ${decodeError.message}`);
        throw decodeError;
      }
      if (frame.kind === 'pong') continue;
      if (frame.kind === 'closing') {
        this.closingReason = `the node closed the connection: ${frame.reason}`;
        continue;
      }
      const waiting = this.pending.get(frame.requestId);
      if (waiting === undefined) {
        this.endpoint.counters.unmatchedReplies += 1;
        continue;
      }
      this.pending.delete(frame.requestId);
      waiting.settle(frame);
    }
    if (error !== null) this.destroy(`the node sent a malformed stream: ${error.message}`);
  }

  /** Expires overdue requests; pings, then drops, a connection that went silent. */
  private check(): void {
    const nowMs = performance.now();
    for (const [requestId, waiting] of this.pending) {
      if (waiting.deadlineMs > nowMs) break;
      this.pending.delete(requestId);
      waiting.fail(failure('timeout', `no reply within ${this.settings.requestTimeoutMs} ms`, waiting.write ? 'unknown' : 'not-applied'));
    }
    if (this.pending.size === 0) {
      this.stopWatch();
      return;
    }
    const { pingAfterMs, silenceTimeoutMs } = this.settings;
    const silentMs = nowMs - this.lastHeardMs;
    if (this.opened && silentMs >= silenceTimeoutMs) {
      this.destroy(`heard nothing for ${Math.round(silentMs)} ms with ${this.pending.size} requests in flight (not even a pong)`);
    } else if (this.opened && silentMs >= pingAfterMs && !this.pingSent) {
      this.pingSent = true;
      this.socket.write(encodeRequestFrame({ kind: 'ping', requestId: 0 }));
    }
  }

  private stopWatch(): void {
    if (this.watch !== null) clearInterval(this.watch);
    this.watch = null;
  }

  destroy(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.stopWatch();
    this.socket.destroy();
    const lost = this.pending.size > 0;
    for (const waiting of this.pending.values()) {
      // A request written on a connection that opened may have reached the node.
      waiting.fail(failure('stopped', `node ${this.endpoint.id}: ${reason}`, waiting.write && this.opened ? 'unknown' : 'not-applied'));
    }
    this.pending.clear();
    this.endpoint.connectionEnded(this, lost);
  }
}

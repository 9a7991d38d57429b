// The client library: what every load driver and test uses to talk to a cluster, in process or
// (through an endpoint that speaks the network protocols) across processes.
//
// - Leader discovery: the last leader that answered is asked first; a 'not-leader' answer names
//   the leader to ask next; with no hint the client walks the nodes round-robin.
// - Exactly-once: writes (and 'log' reads) go within a session registered through the log
//   (src/kv/sessions.ts). Every request keeps its sequence number across retries, so a retry after
//   a timeout is answered from the session instead of applied twice; `lowestUnacknowledged` lets
//   the state machine forget responses the client has seen. Many requests may be in flight.
// - Retries with exponential backoff and jitter, within a per-request deadline.
// - Honest outcomes: a failure says whether the request was certainly not applied or may have
//   been ('unknown'): a timeout after the request may have reached a leader is unknown, and so is
//   a session that expired while an earlier attempt's outcome was unknown — retrying that under a
//   new session could apply it twice, so the client reports it instead.

import { decodeResponse, encodeRequest, type KvCommand, type KvReadCommand, type KvResponse } from '../kv/commands.js';
import type { NodeId } from '../raft/types.js';
import type { Prng } from '../random/prng.js';
import type { NodeErrorKind, NodeReply, Outcome } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';
import type { NodeRuntime } from '../server/runtime.js';

/** One node as the client reaches it (in process: the node itself; over a network: a connection). */
export interface NodeEndpoint {
  readonly id: NodeId;
  submit(request: Uint8Array): Promise<NodeReply>;
  read(command: KvReadCommand, mode: ReadMode): Promise<NodeReply>;
}

export interface ClientOptions {
  readonly endpoints: readonly NodeEndpoint[];
  /** How get and scan are served; 'log' sends them through the log like writes. */
  readonly readMode: ReadMode;
  /** Each request gives up after this long (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** First and longest wait between attempts (defaults 2 ms and 200 ms); each wait gets up to 100 % jitter. */
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  readonly runtime: NodeRuntime;
  /** Jitter source (seeded, so a simulation replays). */
  readonly prng: Prng;
}

export type ClientErrorKind =
  /** No answer before the deadline. */
  | 'timeout'
  /** The cluster refused it for a reason retrying does not fix (e.g. an unsafe read mode not enabled). */
  | 'refused'
  /** The session expired while an earlier attempt's outcome was unknown. */
  | 'session-lost';

export type ClientResult =
  | { readonly ok: true; readonly response: KvResponse; readonly index: number; readonly attempts: number }
  | { readonly ok: false; readonly error: ClientErrorKind; readonly outcome: Outcome; readonly reason: string; readonly attempts: number };

interface Session {
  readonly id: number;
  nextSequence: number;
  /** Sequences sent and not yet answered (their responses the state machine must keep). */
  readonly unacknowledged: Set<number>;
}

/** Answers a retry may change: everything else ends the request. */
const RETRYABLE: ReadonlySet<NodeErrorKind> = new Set(['not-leader', 'no-leader', 'overloaded', 'lost', 'leader-changed', 'timeout', 'storage-failed', 'stopped']);

export class KvClient {
  private leaderIndex = 0;
  private session: Session | null = null;
  private registering: Promise<Session | null> | null = null;
  private readonly requestTimeoutMs: number;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  private roundRobin = 0;

  constructor(readonly options: ClientOptions) {
    if (options.endpoints.length === 0) throw new RangeError('client: at least one endpoint is needed');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.backoffMsMin = options.backoffMsMin ?? 2;
    this.backoffMsMax = options.backoffMsMax ?? 200;
  }

  /** The session in use (0 before the first write registered one). */
  get sessionId(): number {
    return this.session?.id ?? 0;
  }

  put(key: Uint8Array, value: Uint8Array): Promise<ClientResult> {
    return this.write({ type: 'put', key, value });
  }

  delete(key: Uint8Array): Promise<ClientResult> {
    return this.write({ type: 'delete', key });
  }

  cas(key: Uint8Array, expectedVersion: number, value: Uint8Array): Promise<ClientResult> {
    return this.write({ type: 'cas', key, expectedVersion, value });
  }

  get(key: Uint8Array, mode: ReadMode = this.options.readMode): Promise<ClientResult> {
    return this.read({ type: 'get', key }, mode);
  }

  scan(start: Uint8Array, end: Uint8Array | null, limit: number, mode: ReadMode = this.options.readMode): Promise<ClientResult> {
    return this.read({ type: 'scan', start, end, limit }, mode);
  }

  /** A read in `mode`: outside the log, or through it (with the session) for 'log'. */
  read(command: KvReadCommand, mode: ReadMode = this.options.readMode): Promise<ClientResult> {
    if (mode === 'log') return this.write(command);
    return this.withRetries(async (attempt) => {
      const endpoint = mode === 'follower-read-index' || mode === 'stale' ? this.anyEndpoint(attempt) : this.leaderEndpoint();
      return { endpoint, reply: await endpoint.read(command, mode) };
    });
  }

  /** A command within the session, retried under the same sequence until answered or the deadline. */
  async write(command: KvCommand): Promise<ClientResult> {
    const deadlineMs = this.options.runtime.nowMs() + this.requestTimeoutMs;
    let attemptsBefore = 0;
    let unknownBefore = false;
    for (;;) {
      const session = await this.ensureSession(deadlineMs);
      if (session === null) {
        return { ok: false, error: 'timeout', outcome: unknownBefore ? 'unknown' : 'not-applied', reason: 'no session could be registered before the deadline', attempts: attemptsBefore };
      }
      const sequence = session.nextSequence++;
      session.unacknowledged.add(sequence);
      const result = await this.withRetries(
        async () => {
          const request = encodeRequest({ type: 'command', sessionId: session.id, sequence, lowestUnacknowledged: lowest(session), command });
          const endpoint = this.leaderEndpoint();
          return { endpoint, reply: await endpoint.submit(request) };
        },
        deadlineMs,
      );
      session.unacknowledged.delete(sequence);
      const attempts = attemptsBefore + result.attempts;
      if (result.ok && result.response.type === 'error' && result.response.code === 'session-expired') {
        // Never applied under this session; but if an attempt's outcome was unknown it may have
        // been applied before the session went, and a new session would apply it again.
        if (this.session === session) this.session = null;
        if (unknownBefore || result.unknownAttempts > 0) {
          return { ok: false, error: 'session-lost', outcome: 'unknown', reason: `session ${session.id} expired after an attempt whose outcome is unknown`, attempts };
        }
        attemptsBefore = attempts;
        continue;
      }
      if (result.ok) return { ok: true, response: result.response, index: result.index, attempts };
      return { ...result, outcome: unknownBefore && result.outcome === 'not-applied' ? 'unknown' : result.outcome, attempts };
    }
  }

  private async ensureSession(deadlineMs: number): Promise<Session | null> {
    if (this.session !== null) return this.session;
    if (this.registering === null) {
      this.registering = this.withRetries(
        async () => {
          const endpoint = this.leaderEndpoint();
          return { endpoint, reply: await endpoint.submit(encodeRequest({ type: 'register-session' })) };
        },
        deadlineMs,
      ).then((result) => {
        this.registering = null;
        // A registration whose outcome is unknown leaves an unused session at worst: harmless.
        if (!result.ok || result.response.type !== 'session-registered') return null;
        this.session = { id: result.response.sessionId, nextSequence: 1, unacknowledged: new Set() };
        return this.session;
      });
    }
    return this.registering;
  }

  /**
   * Runs `attempt` until a final answer or the deadline. Returns the decoded response, or why it
   * failed and whether it may have taken effect.
   */
  private async withRetries(
    attempt: (attemptNumber: number) => Promise<{ endpoint: NodeEndpoint; reply: NodeReply }>,
    deadlineMs: number = this.options.runtime.nowMs() + this.requestTimeoutMs,
  ): Promise<
    | { readonly ok: true; readonly response: KvResponse; readonly index: number; readonly attempts: number; readonly unknownAttempts: number }
    | { readonly ok: false; readonly error: ClientErrorKind; readonly outcome: Outcome; readonly reason: string; readonly attempts: number; readonly unknownAttempts: number }
  > {
    const runtime = this.options.runtime;
    let attempts = 0;
    let unknownAttempts = 0;
    let lastReason = 'no attempt';
    for (let backoffMs = this.backoffMsMin; ; backoffMs = Math.min(this.backoffMsMax, backoffMs * 2)) {
      attempts += 1;
      const { endpoint, reply } = await this.withinDeadline(attempt(attempts), deadlineMs);
      if (reply.ok) {
        this.leaderIndex = this.options.endpoints.indexOf(endpoint);
        return { ok: true, response: decodeResponse(reply.response), index: reply.index, attempts, unknownAttempts };
      }
      if (reply.outcome === 'unknown') unknownAttempts += 1;
      lastReason = `node ${endpoint.id}: ${reply.error}: ${reply.reason}`;
      if (!RETRYABLE.has(reply.error)) {
        return { ok: false, error: 'refused', outcome: unknownAttempts > 0 ? 'unknown' : 'not-applied', reason: lastReason, attempts, unknownAttempts };
      }
      if (reply.leader !== 0 && reply.leader !== endpoint.id) {
        const hinted = this.options.endpoints.findIndex((candidate) => candidate.id === reply.leader);
        if (hinted >= 0) {
          this.leaderIndex = hinted;
          // A fresh hint is worth trying at once.
          if (reply.error === 'not-leader' && runtime.nowMs() < deadlineMs) continue;
        }
      } else if (reply.error === 'not-leader' || reply.error === 'no-leader' || reply.error === 'stopped' || reply.error === 'storage-failed') {
        this.leaderIndex = (this.leaderIndex + 1) % this.options.endpoints.length;
      }
      const waitMs = backoffMs * (1 + this.options.prng.nextFloat());
      if (runtime.nowMs() + waitMs >= deadlineMs) {
        return { ok: false, error: 'timeout', outcome: unknownAttempts > 0 ? 'unknown' : 'not-applied', reason: `gave up after ${attempts} attempts; last: ${lastReason}`, attempts, unknownAttempts };
      }
      await new Promise<void>((resolve) => runtime.setTimer(waitMs, resolve));
    }
  }

  /**
   * An attempt that gets no answer by the deadline (its node died, its connection hung) ends as a
   * timeout with an unknown outcome: it may have reached a leader.
   */
  private withinDeadline(attempt: Promise<{ endpoint: NodeEndpoint; reply: NodeReply }>, deadlineMs: number): Promise<{ endpoint: NodeEndpoint; reply: NodeReply }> {
    const runtime = this.options.runtime;
    return new Promise((resolve, reject) => {
      const endpoint = this.leaderEndpoint();
      const timer = runtime.setTimer(Math.max(0, deadlineMs - runtime.nowMs()), () =>
        resolve({ endpoint, reply: { ok: false, error: 'timeout', reason: 'no answer before the deadline', leader: 0, outcome: 'unknown' } }),
      );
      attempt.then(
        (answer) => {
          timer.cancel();
          resolve(answer);
        },
        (error: unknown) => {
          timer.cancel();
          reject(error);
        },
      );
    });
  }

  private leaderEndpoint(): NodeEndpoint {
    return this.options.endpoints[this.leaderIndex % this.options.endpoints.length]!;
  }

  private anyEndpoint(attempt: number): NodeEndpoint {
    // Spread follower reads; a retry moves on to the next node.
    if (attempt === 1) this.roundRobin = this.options.prng.nextInt(0, this.options.endpoints.length);
    else this.roundRobin += 1;
    return this.options.endpoints[this.roundRobin % this.options.endpoints.length]!;
  }
}

function lowest(session: Session): number {
  let lowestSequence = session.nextSequence;
  for (const sequence of session.unacknowledged) if (sequence < lowestSequence) lowestSequence = sequence;
  return lowestSequence;
}

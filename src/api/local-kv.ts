// The KV operations the HTTP API (JSON routes and the etcd gateway) runs against its own node.
//
// Writes go through the log within exactly-once sessions: the server keeps a few KvClients whose
// one endpoint is this node, so a request the client library retries inside the server (after a
// 'lost' entry, an overload, a node timeout) keeps its session sequence and is answered from the
// session if an earlier attempt was applied — never applied twice. Several clients (sessions)
// spread the load: a session may hold only so many unacknowledged responses.
//
// A node that does not lead answers at once with the leader it knows (the HTTP layer turns that
// into a redirect); the client library is never left to wait for a leader that is elsewhere.
// Reads outside the log go straight to the node in the mode asked (checked against what the node
// allows first); 'log' reads go through a session like writes.

import { KvClient, type ClientErrorKind, type ClientResult, type NodeEndpoint } from '../client/client.js';
import type { KvCommand, KvReadCommand, KvResponse } from '../kv/commands.js';
import { decodeResponse } from '../kv/commands.js';
import type { NodeId } from '../raft/types.js';
import { createPrng } from '../random/prng.js';
import type { NodeErrorKind, NodeReply, Outcome } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';
import { realRuntime } from '../server/runtime.js';
import type { ServedNode } from './served-node.js';

export type LocalResult =
  | { readonly kind: 'done'; readonly response: KvResponse; readonly index: number }
  /** Another node leads: nothing was applied here (and no earlier attempt's outcome is unknown). */
  | { readonly kind: 'not-leader'; readonly leader: NodeId; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: NodeErrorKind | ClientErrorKind; readonly outcome: Outcome; readonly reason: string };

export interface LocalKvOptions {
  /** Sessions (client library instances) writes are spread over (default 4). */
  readonly sessions?: number;
  /** A write's deadline inside the server (default: the node's requestTimeoutMs + 1 s, so the node's own answer comes first). */
  readonly requestTimeoutMs?: number;
  readonly seed?: number;
}

/** Marks a 'not-leader' answer turned into a refusal, so the client library stops at once. */
const ELSEWHERE = 'leader-elsewhere:';

export class LocalKv {
  private readonly clients: KvClient[];
  private next = 0;

  constructor(
    private readonly node: ServedNode,
    options: LocalKvOptions = {},
  ) {
    const sessions = options.sessions ?? 4;
    if (!Number.isSafeInteger(sessions) || sessions < 1) throw new RangeError(`sessions must be a positive integer, got ${sessions}`);
    const endpoint = this.localEndpoint();
    const requestTimeoutMs = options.requestTimeoutMs ?? node.options.requestTimeoutMs + 1000;
    this.clients = Array.from(
      { length: sessions },
      (_, k) => new KvClient({ endpoints: [endpoint], readMode: node.options.readMode, requestTimeoutMs, runtime: realRuntime, prng: createPrng((options.seed ?? node.id) * 7919 + k) }),
    );
  }

  async write(command: KvCommand): Promise<LocalResult> {
    // A node that is down answers at once rather than after the client library's retries.
    if (this.node.status() === null) return { kind: 'failed', error: 'stopped', outcome: 'not-applied', reason: `node ${this.node.id} is not running` };
    const elsewhere = this.leaderElsewhere();
    if (elsewhere !== 0) return { kind: 'not-leader', leader: elsewhere, reason: `node ${this.node.id} does not lead; node ${elsewhere} does` };
    const client = this.clients[this.next++ % this.clients.length]!;
    return this.fromClient(await client.write(command));
  }

  async read(command: KvReadCommand, mode: ReadMode): Promise<LocalResult> {
    if (mode === 'log') return this.write(command);
    const reply = await this.node.read(command, mode);
    if (reply.ok) return { kind: 'done', response: decodeResponse(reply.response), index: reply.index };
    if (reply.error === 'not-leader' && reply.leader !== 0 && reply.leader !== this.node.id) return { kind: 'not-leader', leader: reply.leader, reason: reply.reason };
    return { kind: 'failed', error: reply.error, outcome: reply.outcome, reason: reply.reason };
  }

  /** The leader if it is another node (0: this node leads, or no leader is known). */
  private leaderElsewhere(): NodeId {
    const status = this.node.status();
    if (status === null || status.role === 'leader') return 0;
    return status.leader !== this.node.id ? status.leader : 0;
  }

  private fromClient(result: ClientResult): LocalResult {
    if (result.ok) return { kind: 'done', response: result.response, index: result.index };
    // Not applied, and another node leads now (whether the refusal said so or a session could
    // not be registered here): send the client there.
    const leader = result.outcome === 'not-applied' ? this.leaderElsewhere() : 0;
    if (leader !== 0) return { kind: 'not-leader', leader, reason: `node ${this.node.id} does not lead (${result.reason}); node ${leader} does` };
    if (result.error === 'refused' && result.reason.includes(ELSEWHERE)) {
      return { kind: 'failed', error: 'not-leader', outcome: result.outcome, reason: `the leadership moved after an attempt whose outcome is unknown: ${result.reason}` };
    }
    return { kind: 'failed', error: result.error, outcome: result.outcome, reason: result.reason };
  }

  private localEndpoint(): NodeEndpoint {
    const node = this.node;
    const redirectable = (reply: NodeReply): NodeReply =>
      !reply.ok && reply.error === 'not-leader' && reply.leader !== 0 && reply.leader !== node.id ? { ...reply, error: 'refused', reason: `${ELSEWHERE} ${reply.reason}` } : reply;
    return {
      id: node.id,
      submit: async (request) => redirectable(await node.submit(request)),
      read: async (command, mode) => redirectable(await node.read(command, mode)),
    };
  }
}

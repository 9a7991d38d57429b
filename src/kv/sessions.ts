// Client sessions for exactly-once application (Raft thesis §6.3): per client, the last applied
// sequence and the response it got, so a retried request is answered from here instead of being
// applied a second time.
//
// Expiry policy: a least-recently-used bound, evicted in log order. The table holds at most
// `sessionsMax` clients and at most `sessionResponseBytesMax` bytes of remembered responses; when
// an apply pushes it over either bound, the sessions least recently used (by log position) go
// first. "Recently" is measured by the log, never by a clock, and a JS Map keeps insertion order,
// so every node evicts exactly the same sessions at exactly the same index.
// Why a size bound rather than "unused for K log indexes": what has to be bounded is memory, and
// a count + bytes bound bounds it directly; an age in log indexes is driven by *other* clients'
// write rate, so under heavy load it would expire a slow client's session after seconds even with
// memory to spare, while the LRU bound evicts only when the table is actually full.
// The cost: a client's retry is recognised only while its session survives. A request from a
// client with no session is applied as new, so a retry arriving after `sessionsMax` other clients
// have been active since its first attempt could apply twice; the defaults keep that window far
// beyond any retry timeout the client library uses.

export interface SessionLimits {
  /** At most this many client sessions are remembered. */
  readonly sessionsMax: number;
  /** At most this many bytes of remembered responses, over all sessions. */
  readonly sessionResponseBytesMax: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  sessionsMax: 10_000,
  sessionResponseBytesMax: 64 * 1024 * 1024,
};

export interface ClientSession {
  readonly clientId: number;
  /** The highest sequence applied for this client. */
  readonly sequence: number;
  /** The encoded response that sequence got. */
  readonly response: Uint8Array;
  /** The log index at which the session was last used (applied or answered from memory). */
  readonly lastUsedIndex: number;
}

export type SessionLookup =
  | { readonly type: 'new' }
  | { readonly type: 'duplicate'; readonly response: Uint8Array }
  | { readonly type: 'stale'; readonly lastSequence: number };

export class ClientSessions {
  /** In least-recently-used-first order (insertion order of the Map). */
  private readonly byClient = new Map<number, ClientSession>();
  private responseBytes = 0;

  constructor(readonly limits: SessionLimits) {
    for (const [field, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || (value as number) < 1) {
        throw new RangeError(`session limits: ${field} must be a positive safe integer, got ${String(value)}`);
      }
    }
  }

  get size(): number {
    return this.byClient.size;
  }

  get rememberedResponseBytes(): number {
    return this.responseBytes;
  }

  /** What to do with request (clientId, sequence); a duplicate also counts as a use at `index`. */
  check(clientId: number, sequence: number, index: number): SessionLookup {
    const session = this.byClient.get(clientId);
    if (session === undefined || sequence > session.sequence) return { type: 'new' };
    if (sequence < session.sequence) return { type: 'stale', lastSequence: session.sequence };
    this.touch({ ...session, lastUsedIndex: index });
    return { type: 'duplicate', response: session.response };
  }

  /** Records that `sequence` was applied for `clientId` at `index` with `response`, then evicts to the bounds. */
  record(clientId: number, sequence: number, response: Uint8Array, index: number): void {
    this.touch({ clientId, sequence, response, lastUsedIndex: index });
    this.evictToBounds();
  }

  /** Sessions in least-recently-used-first order (for snapshots; restoring in this order keeps the eviction order). */
  list(): ClientSession[] {
    return [...this.byClient.values()];
  }

  /** Replaces every session by `sessions`, given least-recently-used first. */
  replaceAll(sessions: readonly ClientSession[]): void {
    this.byClient.clear();
    this.responseBytes = 0;
    for (const session of sessions) this.touch(session);
    this.evictToBounds();
  }

  private touch(session: ClientSession): void {
    const previous = this.byClient.get(session.clientId);
    if (previous !== undefined) {
      this.responseBytes -= previous.response.length;
      this.byClient.delete(session.clientId);
    }
    this.byClient.set(session.clientId, session);
    this.responseBytes += session.response.length;
  }

  /** Evicts least recently used first, but always keeps the most recent session. */
  private evictToBounds(): void {
    const limits = this.limits;
    while (this.byClient.size > 1 && (this.byClient.size > limits.sessionsMax || this.responseBytes > limits.sessionResponseBytesMax)) {
      const oldest = this.byClient.values().next().value as ClientSession;
      this.byClient.delete(oldest.clientId);
      this.responseBytes -= oldest.response.length;
    }
  }
}

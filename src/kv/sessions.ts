// Client sessions for exactly-once application (Raft thesis §6.3). A client first registers a
// session through the log: a register-session entry, whose index becomes the session's id, so
// every replica assigns the same id. Every later request names (sessionId, sequence,
// lowestUnacknowledged). Per session the table remembers the response of every applied sequence
// ≥ lowestUnacknowledged, so a client may keep many requests in flight (open-loop load drivers
// keep hundreds) and a retry of any of them is answered from here instead of being applied again;
// lowestUnacknowledged — the lowest sequence whose response the client has not yet received —
// says which responses may be forgotten.
//
// The rules, checked in this order at the entry's index (`begin`):
//   1. Unknown session (never registered, or evicted) → 'expired': not applied. This closes the
//      old hole (a retry arriving after its session was evicted applied twice): a request is
//      applied only inside a live session, and a live session remembers every applied sequence
//      the client has not acknowledged.
//   2. lowestUnacknowledged above the session's → the responses below it are forgotten. It only
//      moves up: a delayed duplicate carrying an older value changes nothing.
//   3. sequence below the session's lowestUnacknowledged → 'stale': the client has its answer
//      and said so, this copy is an old duplicate, and its response is gone.
//   4. sequence remembered → 'duplicate': that response again.
//   5. the session at its bound → 'full' (answered 'too-many-unacknowledged'), not applied.
//      Forgetting an unacknowledged response instead would let its retry apply twice.
//   6. otherwise → 'new': the caller applies it and `remember`s the response.
// Rejections (1, 3, 5) are not remembered: they changed nothing, so a retry is judged afresh.
//
// Representation: an 'ok' response (most of what a write-heavy load remembers) is kept as just its
// version, and encoded again if a retry asks for it. Kept as bytes, the responses of hundreds of
// requests in flight per session live long enough to be promoted to V8's old generation; keeping
// numbers instead made apply ~8 % faster at 1 000 sessions × 64 in flight (an A/B of the two, in
// CPU time, on a busy 2-core machine: indicative, not precise).
// The accounting below counts an 'ok' the same either way, so it does not depend on this choice.
//
// Limits. Memory is bounded by counts and bytes, never by time. Each remembered response counts
// as its length plus RESPONSE_OVERHEAD_BYTES (what Node spends on the Map slot and the Buffer
// object: a 10-byte 'ok' measured ~150 B), so the byte bounds hold even when responses are tiny.
//   - Per session: at most `responsesPerSessionMax` responses, and no new one once it holds
//     `responseBytesPerSessionMax` bytes. The bound is checked before applying and a response's
//     size is known only after, so a session holds at most responseBytesPerSessionMax plus one
//     response.
//   - Over all sessions: at most `sessionsMax` sessions and `sessionResponseBytesMax` bytes. When
//     an apply or a registration goes over either, the sessions least recently used — by log
//     position: the index of the last entry that named them — are evicted first, never the one
//     just used. A JS Map keeps insertion order, so every node evicts the same sessions at the
//     same index.
// Why size bounds rather than "unused for K log indexes": what has to be bounded is memory, and a
// count + bytes bound bounds it directly; an age in log indexes is driven by *other* clients'
// write rate, so under heavy load it would expire a slow client's session after seconds even with
// memory to spare, while the LRU bound evicts only when the table is actually full.
// What eviction costs a client now shows instead of corrupting data: every request of an evicted
// session is answered 'session-expired', including retries of requests that may have been
// applied; the client registers a new session and treats those requests' outcome as unknown.

import { OK_RESPONSE_BYTES, encodeResponse, okResponseVersion } from './commands.js';

export interface SessionLimits {
  /** At most this many sessions are remembered. */
  readonly sessionsMax: number;
  /** At most this many bytes of remembered responses (each counted with its overhead), over all sessions. */
  readonly sessionResponseBytesMax: number;
  /** At most this many remembered (unacknowledged) responses per session. */
  readonly responsesPerSessionMax: number;
  /** A session holding this many bytes of responses (with overhead) takes no new request. */
  readonly responseBytesPerSessionMax: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  sessionsMax: 10_000,
  sessionResponseBytesMax: 128 * 1024 * 1024,
  responsesPerSessionMax: 1024,
  responseBytesPerSessionMax: 8 * 1024 * 1024,
};

/**
 * What a remembered response is charged beyond its length: a response kept as bytes costs a Map
 * entry and a Buffer object (a 10-byte one measured ~150 B in all on Node 20). An 'ok' kept as a
 * number costs less but is charged the same, so the accounting does not depend on representation.
 */
export const RESPONSE_OVERHEAD_BYTES = 140;

export interface RememberedResponse {
  readonly sequence: number;
  /** The encoded response (commands.ts); never modified. */
  readonly response: Uint8Array;
}

/** One session as a snapshot is written from: its responses counted up front, produced as the stream reaches them. */
export interface SessionSource {
  readonly sessionId: number;
  /** The index of the last entry that named this session (or registered it). */
  readonly lastUsedIndex: number;
  readonly lowestUnacknowledged: number;
  /** In increasing sequence order, every sequence ≥ lowestUnacknowledged. */
  readonly responses: Iterable<RememberedResponse> & { readonly length: number };
}

/** One session as a snapshot stream decodes to (and restore takes). */
export interface SessionState extends SessionSource {
  readonly responses: readonly RememberedResponse[];
}

/** A remembered response: its bytes, or the version of an 'ok' (see "Representation" above). */
type Remembered = Uint8Array | number;

/** A live session. Opaque outside this module: only `ClientSessions` changes it. */
export class Session {
  lastUsedIndex: number;
  lowestUnacknowledged = 1;
  /** Remembered responses by sequence, every key ≥ lowestUnacknowledged. */
  readonly responses = new Map<number, Remembered>();
  /** Σ (length + RESPONSE_OVERHEAD_BYTES) over `responses`. */
  responseBytes = 0;
  constructor(readonly id: number) {
    this.lastUsedIndex = id;
  }
}

export type SessionLookup =
  | { readonly type: 'new'; readonly session: Session }
  | { readonly type: 'duplicate'; readonly response: Uint8Array }
  | { readonly type: 'expired' }
  | { readonly type: 'stale'; readonly lowestUnacknowledged: number }
  | { readonly type: 'full'; readonly responseCount: number; readonly responseBytes: number };

const EXPIRED: SessionLookup = { type: 'expired' };

function responseCost(remembered: Remembered): number {
  return (typeof remembered === 'number' ? OK_RESPONSE_BYTES : remembered.length) + RESPONSE_OVERHEAD_BYTES;
}

function remembered(response: Uint8Array): Remembered {
  const okVersion = okResponseVersion(response);
  return okVersion < 0 ? response : okVersion;
}

function responseBytesOf(remembered: Remembered): Uint8Array {
  return typeof remembered === 'number' ? encodeResponse({ type: 'ok', version: remembered }) : remembered;
}

export class ClientSessions {
  /** In least-recently-used-first order (insertion order of the Map). */
  private readonly byId = new Map<number, Session>();
  private responseBytes = 0;

  constructor(readonly limits: SessionLimits) {
    for (const [field, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || (value as number) < 1) {
        throw new RangeError(`session limits: ${field} must be a positive safe integer, got ${String(value)}`);
      }
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** Bytes of remembered responses over all sessions, each counted with RESPONSE_OVERHEAD_BYTES. */
  get rememberedResponseBytes(): number {
    return this.responseBytes;
  }

  /** Creates the session registered by the entry at `index` (its id), then evicts to the bounds. */
  register(index: number): void {
    if (this.byId.has(index)) throw new Error(`sessions: session ${index} registered twice (entries applied twice?)`);
    this.byId.set(index, new Session(index));
    this.evictToBounds();
  }

  /**
   * Judges request (sessionId, sequence, lowestUnacknowledged) at `index` by the rules above.
   * Any request naming a live session counts as a use of it at `index`.
   */
  begin(sessionId: number, sequence: number, lowestUnacknowledged: number, index: number): SessionLookup {
    const session = this.byId.get(sessionId);
    if (session === undefined) return EXPIRED;
    // Move to the most-recently-used end.
    this.byId.delete(sessionId);
    this.byId.set(sessionId, session);
    session.lastUsedIndex = index;
    if (lowestUnacknowledged > session.lowestUnacknowledged) this.acknowledge(session, lowestUnacknowledged);
    if (sequence < session.lowestUnacknowledged) return { type: 'stale', lowestUnacknowledged: session.lowestUnacknowledged };
    const previous = session.responses.get(sequence);
    if (previous !== undefined) return { type: 'duplicate', response: responseBytesOf(previous) };
    if (session.responses.size >= this.limits.responsesPerSessionMax || session.responseBytes >= this.limits.responseBytesPerSessionMax) {
      return { type: 'full', responseCount: session.responses.size, responseBytes: session.responseBytes };
    }
    return { type: 'new', session };
  }

  /** Records that `sequence` was applied in `session` with `response`, then evicts to the bounds. */
  remember(session: Session, sequence: number, response: Uint8Array): void {
    const kept = remembered(response);
    const cost = responseCost(kept);
    session.responses.set(sequence, kept);
    session.responseBytes += cost;
    this.responseBytes += cost;
    this.evictToBounds();
  }

  /**
   * Every session, least recently used first, for a snapshot: copied now (the table keeps
   * changing while the stream is written), each session's responses into two flat arrays, so the
   * copy allocates nothing per response; a response is encoded only when the stream reaches it.
   */
  copyForSnapshot(): SessionSource[] {
    const copies: SessionSource[] = [];
    for (const session of this.byId.values()) {
      const count = session.responses.size;
      let sequences = new Array<number>(count);
      let kept = new Array<Remembered>(count);
      let at = 0;
      let sorted = true;
      for (const [sequence, response] of session.responses) {
        if (at > 0 && sequence < sequences[at - 1]!) sorted = false;
        sequences[at] = sequence;
        kept[at++] = response;
      }
      // Usually in order already (clients number requests as they send them); sorting makes the
      // snapshot canonical when the log delivered them out of order.
      if (!sorted) {
        const order = sequences.map((_, i) => i).sort((a, b) => sequences[a]! - sequences[b]!);
        const unsortedSequences = sequences;
        const unsortedKept = kept;
        sequences = order.map((i) => unsortedSequences[i]!);
        kept = order.map((i) => unsortedKept[i]!);
      }
      const orderedSequences = sequences;
      const orderedKept = kept;
      copies.push({
        sessionId: session.id,
        lastUsedIndex: session.lastUsedIndex,
        lowestUnacknowledged: session.lowestUnacknowledged,
        responses: {
          length: count,
          *[Symbol.iterator](): Iterator<RememberedResponse> {
            for (let i = 0; i < count; i++) yield { sequence: orderedSequences[i]!, response: responseBytesOf(orderedKept[i]!) };
          },
        },
      });
    }
    return copies;
  }

  /** Replaces every session by `states`, given least recently used first; keeps the responses' bytes (copy them first if they are views). */
  replaceAll(states: readonly SessionState[]): void {
    this.byId.clear();
    this.responseBytes = 0;
    for (const state of states) {
      const session = new Session(state.sessionId);
      session.lastUsedIndex = state.lastUsedIndex;
      session.lowestUnacknowledged = state.lowestUnacknowledged;
      for (const { sequence, response } of state.responses) {
        const kept = remembered(response);
        session.responses.set(sequence, kept);
        session.responseBytes += responseCost(kept);
      }
      this.responseBytes += session.responseBytes;
      this.byId.delete(state.sessionId);
      this.byId.set(state.sessionId, session);
    }
    this.evictToBounds();
  }

  /** Forgets the responses below `lowest`, in time proportional to what is forgotten or held, whichever is less. */
  private acknowledge(session: Session, lowest: number): void {
    const responses = session.responses;
    let freedBytes = 0;
    if (lowest - session.lowestUnacknowledged <= responses.size) {
      for (let sequence = session.lowestUnacknowledged; sequence < lowest; sequence++) {
        const kept = responses.get(sequence);
        if (kept === undefined) continue;
        responses.delete(sequence);
        freedBytes += responseCost(kept);
      }
    } else {
      // Deleting the entry just visited is safe while iterating a Map.
      for (const [sequence, kept] of responses) {
        if (sequence >= lowest) continue;
        responses.delete(sequence);
        freedBytes += responseCost(kept);
      }
    }
    session.lowestUnacknowledged = lowest;
    session.responseBytes -= freedBytes;
    this.responseBytes -= freedBytes;
  }

  /** Evicts least recently used first, but always keeps the most recent session. */
  private evictToBounds(): void {
    const limits = this.limits;
    while (this.byId.size > 1 && (this.byId.size > limits.sessionsMax || this.responseBytes > limits.sessionResponseBytesMax)) {
      const oldest = this.byId.values().next().value as Session;
      this.byId.delete(oldest.id);
      this.responseBytes -= oldest.responseBytes;
    }
  }
}

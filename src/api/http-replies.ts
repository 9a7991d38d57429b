// What the HTTP API answers when something is not a plain success, in one place so every route
// (the JSON routes, the raw routes of the client library, the etcd gateway) says it alike:
// a JSON body {error, reason, …} and the status that tells a client what to do next.
//
//   400  malformed request: `field` names what was wrong (also a read mode the node refuses)
//   404  no such key (error 'not-found') — or no such route (error 'no-route')
//   405  the route exists, the method does not
//   307  this node does not lead: Location is the same path on the leader (error 'not-leader',
//        `leader` {id, http, binary}); 503 with the same body when the leader's address is unknown
//   409  CAS mismatch (`currentVersion`); or a stale session request
//   413  body, key or value too large
//   429  overloaded: retry later (Retry-After)
//   503  no leader, node stopped or recovering storage, entry lost to a new leader (`outcome`
//        says whether it may still apply: 'not-applied' or 'unknown')
//   504  timed out with an UNKNOWN outcome: the write may or may not be applied
//   507  the store is full

import type { KvResponse } from '../kv/commands.js';
import type { NodeId } from '../raft/types.js';
import type { LocalResult } from './local-kv.js';
import type { LeaderAddresses } from './served-node.js';

export interface HttpReply {
  readonly status: number;
  /** An object is sent as JSON, a string as text, bytes as application/octet-stream. */
  readonly body: object | string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A failure a route throws; the server answers it as a JSON error. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${status} ${error}: ${reason}`);
  }

  reply(): HttpReply {
    return { status: this.status, body: { error: this.error, reason: this.reason, ...this.extra }, headers: this.headers };
  }
}

export function badRequest(field: string, reason: string): HttpError {
  return new HttpError(400, 'bad-request', `${field}: ${reason}`, { field });
}

const RETRY_LATER = { 'retry-after': '1' };

/** Where the request should go instead: the leader's address for a redirect, if known. */
export function notLeaderError(leader: NodeId, reason: string, path: string, leaderAddresses: LeaderAddresses | undefined): HttpError {
  const addresses = leaderAddresses?.(leader);
  const extra = { leader: { id: leader, ...(addresses?.http === undefined ? {} : { http: addresses.http }), ...(addresses?.binary === undefined ? {} : { binary: addresses.binary }) }, outcome: 'not-applied' };
  if (addresses?.http === undefined) return new HttpError(503, 'not-leader', `${reason} (its HTTP address is not known here)`, extra, RETRY_LATER);
  return new HttpError(307, 'not-leader', reason, extra, { location: `http://${addresses.http}${path}` });
}

/** A result that is not 'done', as the error to answer. */
export function failureError(result: Exclude<LocalResult, { kind: 'done' }>, path: string, leaderAddresses: LeaderAddresses | undefined): HttpError {
  if (result.kind === 'not-leader') return notLeaderError(result.leader, result.reason, path, leaderAddresses);
  const extra = { outcome: result.outcome };
  switch (result.error) {
    case 'overloaded':
      return new HttpError(429, 'overloaded', result.reason, extra, RETRY_LATER);
    case 'refused':
      return new HttpError(400, 'refused', result.reason, { ...extra, field: 'mode' });
    case 'timeout':
      if (result.outcome === 'unknown') return new HttpError(504, 'timeout', `${result.reason} — the outcome is UNKNOWN: the write may or may not be applied`, extra);
      return new HttpError(503, 'timeout', `${result.reason} (not applied)`, extra, RETRY_LATER);
    default:
      return new HttpError(503, result.error, result.outcome === 'unknown' ? `${result.reason} — the outcome is UNKNOWN` : result.reason, extra, RETRY_LATER);
  }
}

/** A KV 'error' response (the state machine refused the command) as the error to answer. */
export function kvError(response: Extract<KvResponse, { type: 'error' }>): HttpError {
  switch (response.code) {
    case 'key-too-large':
    case 'value-too-large':
      return new HttpError(413, response.code, response.reason, { field: response.code === 'key-too-large' ? 'key' : 'value' });
    case 'scan-limit-too-large':
      return new HttpError(400, response.code, response.reason, { field: 'limit' });
    case 'malformed-request':
      return new HttpError(400, response.code, response.reason);
    case 'store-full':
      return new HttpError(507, response.code, response.reason);
    case 'too-many-unacknowledged':
      return new HttpError(429, response.code, response.reason, {}, RETRY_LATER);
    case 'stale-request':
    case 'session-expired':
      return new HttpError(409, response.code, response.reason);
  }
}

/** The response of a finished request, or throws the error to answer (not done, or a KV error). */
export function responseOrThrow(result: LocalResult, path: string, leaderAddresses: LeaderAddresses | undefined): { readonly response: KvResponse; readonly index: number } {
  if (result.kind !== 'done') throw failureError(result, path, leaderAddresses);
  if (result.response.type === 'error') throw kvError(result.response);
  return result;
}

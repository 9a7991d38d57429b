// The routes the client library's HttpEndpoint speaks: the node's own submit and read, with the
// KV binary encodings as bodies (application/octet-stream), so a KvClient over HTTP keeps its own
// session end to end — exactly as over the binary protocol, only with HTTP framing.
//
//   POST /v1/raw/submit          body: an encoded KV request (encodeRequest)
//   POST /v1/raw/read?mode=M     body: an encoded read command (encodeReadCommand)
//   → 200, body: the encoded KV response, header raft-index: the write's or the read's index
//   → an error status (http-replies.ts) with JSON {error: the node's error kind, reason, outcome, leader}

import { decodeReadCommand, decodeRequest, KvDecodeError } from '../kv/commands.js';
import type { NodeReply } from '../server/node.js';
import { badRequest, failureError, type HttpReply } from './http-replies.js';
import type { Route } from './http-server.js';
import { readModeOf } from './request-fields.js';
import type { LeaderAddresses, ServedNode } from './served-node.js';

export const RAW_SUBMIT_PATH = '/v1/raw/submit';
export const RAW_READ_PATH = '/v1/raw/read';
export const RAFT_INDEX_HEADER = 'raft-index';

export function rawRoutes(node: ServedNode, leaderAddresses: LeaderAddresses | undefined): Route[] {
  const answer = (reply: NodeReply, url: string): HttpReply => {
    if (reply.ok) return { status: 200, body: reply.response, headers: { [RAFT_INDEX_HEADER]: String(reply.index) } };
    const result =
      reply.error === 'not-leader' && reply.leader !== 0 && reply.leader !== node.id
        ? ({ kind: 'not-leader', leader: reply.leader, reason: reply.reason } as const)
        : ({ kind: 'failed', error: reply.error, outcome: reply.outcome, reason: reply.reason } as const);
    return failureError(result, url, leaderAddresses).reply();
  };
  return [
    {
      name: 'raw_submit',
      method: 'POST',
      path: RAW_SUBMIT_PATH,
      handle: async (request) => {
        const body = await request.body();
        decodeOrRefuse(body, decodeRequest);
        return answer(await node.submit(body), request.url);
      },
    },
    {
      name: 'raw_read',
      method: 'POST',
      path: RAW_READ_PATH,
      handle: async (request) => {
        const mode = readModeOf(request.query, node);
        if (mode === 'log') throw badRequest('mode', "'log' reads are submitted with a session (POST /v1/raw/submit)");
        const command = decodeOrRefuse(await request.body(), decodeReadCommand);
        return answer(await node.read(command, mode), request.url);
      },
    },
  ];
}

/** Decodes the body (checked here so a malformed request never reaches the log), or answers 400. */
function decodeOrRefuse<T>(body: Uint8Array, decode: (bytes: Uint8Array) => T): T {
  try {
    return decode(body);
  } catch (error) {
    if (error instanceof KvDecodeError) throw badRequest('body', error.message);
    throw error;
  }
}

// The JSON routes for curl and autocannon (README.md in this folder lists them with examples):
// a key in the path (percent-encoded bytes), values in JSON as UTF-8 text or, with
// ?encoding=base64, base64; reads in the node's read mode unless ?mode= asks for another it allows.

import type { KvCommand, KvReadCommand, KvResponse } from '../kv/commands.js';
import { HttpError, badRequest, responseOrThrow, type HttpReply } from './http-replies.js';
import type { Route, RouteRequest } from './http-server.js';
import type { LocalKv, LocalResult } from './local-kv.js';
import { encodingOf, integerField, pathBytes, readModeOf, stringBytes, text, type Encoding } from './request-fields.js';
import type { LeaderAddresses, ServedNode } from './served-node.js';

export interface KvRouteContext {
  readonly node: ServedNode;
  readonly kv: LocalKv;
  readonly leaderAddresses: LeaderAddresses | undefined;
}

/** Keys a range returns when the request names no limit. */
const RANGE_LIMIT_DEFAULT = 100;
const RANGE_LIMIT_MAX = 1_000_000;

export function kvRoutes(context: KvRouteContext): Route[] {
  const { node, kv } = context;
  const finished = (result: LocalResult, request: RouteRequest) => responseOrThrow(result, request.url, context.leaderAddresses);
  const keyOf = (rest: string): Buffer => {
    if (rest.length === 0) throw badRequest('key', 'the path must name a key: /v1/kv/{key}');
    return pathBytes(rest, 'key');
  };
  const write = async (request: RouteRequest, command: KvCommand): Promise<HttpReply> => {
    const { response, index } = finished(await kv.write(command), request);
    switch (response.type) {
      case 'ok':
        return { status: 200, body: { version: response.version, index } };
      case 'not-found':
        throw new HttpError(404, 'not-found', 'no such key');
      case 'cas-mismatch':
        throw new HttpError(409, 'cas-mismatch', response.currentVersion === 0 ? 'the key does not exist' : `the key's version is ${response.currentVersion}`, { field: 'expectedVersion', currentVersion: response.currentVersion });
      default:
        throw new Error(`a ${command.type} was answered with a ${response.type} response`);
    }
  };
  const read = async (request: RouteRequest, command: KvReadCommand): Promise<{ response: KvResponse; index: number }> =>
    finished(await kv.read(command, readModeOf(request.query, node)), request);

  return [
    {
      name: 'kv_get',
      method: 'GET',
      path: '/v1/kv/',
      handle: async (request, rest) => {
        const key = keyOf(rest);
        const encoding = encodingOf(request.query);
        const { response, index } = await read(request, { type: 'get', key });
        if (response.type === 'not-found') throw new HttpError(404, 'not-found', 'no such key');
        if (response.type !== 'value') throw new Error(`a get was answered with a ${response.type} response`);
        return { status: 200, body: { key: text(key, encoding), value: text(response.value, encoding), version: response.version, index } };
      },
    },
    {
      name: 'kv_put',
      method: 'PUT',
      path: '/v1/kv/',
      handle: async (request, rest) => {
        const key = keyOf(rest);
        const encoding = encodingOf(request.query);
        const body = await request.json();
        const value = stringBytes(body['value'], 'value', encoding);
        if (body['expectedVersion'] === undefined) return write(request, { type: 'put', key, value });
        const expectedVersion = integerField(body['expectedVersion'], 'expectedVersion', 0, Number.MAX_SAFE_INTEGER);
        return write(request, { type: 'cas', key, expectedVersion, value });
      },
    },
    {
      name: 'kv_delete',
      method: 'DELETE',
      path: '/v1/kv/',
      handle: (request, rest) => write(request, { type: 'delete', key: keyOf(rest) }),
    },
    {
      name: 'kv_range',
      method: 'GET',
      path: '/v1/range',
      handle: async (request) => {
        const query = request.query;
        const encoding = encodingOf(query);
        const start = stringBytes(query.get('start') ?? '', 'start', encoding);
        const endText = query.get('end');
        const end = endText === null ? null : stringBytes(endText, 'end', encoding);
        const limitText = query.get('limit');
        const limit = limitText === null ? RANGE_LIMIT_DEFAULT : integerField(limitText, 'limit', 1, RANGE_LIMIT_MAX);
        const { response, index } = await read(request, { type: 'scan', start, end, limit });
        if (response.type !== 'scan') throw new Error(`a scan was answered with a ${response.type} response`);
        return { status: 200, body: { items: response.items.map((item) => itemJson(item, encoding)), more: response.hasMore, index } };
      },
    },
  ];
}

function itemJson(item: { key: Uint8Array; value: Uint8Array; version: number }, encoding: Encoding): object {
  return { key: text(item.key, encoding), value: text(item.value, encoding), version: item.version };
}

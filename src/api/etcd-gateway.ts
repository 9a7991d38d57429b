// The subset of etcd v3's JSON gateway that a key-value benchmark uses, so one autocannon workload
// runs unchanged against raftbench and against etcd: POST /v3/kv/put, /v3/kv/range and
// /v3/kv/deleterange, keys and values base64, int64 fields as decimal strings (proto3 JSON),
// fields at their default left out as etcd's gateway leaves them out.
//
// What differs, and why (also in README.md):
// - revision: ours is the Raft log index of the write (a put's header.revision and the key's
//   mod_revision), or the index a read was served at. Increasing like etcd's, but not dense.
// - create_revision and version (etcd: the key's creation revision and its number of changes) are
//   not tracked by the store: create_revision is reported as mod_revision and version as "1".
// - range: `count` is the number of keys returned (etcd counts the whole range); without a limit
//   at most 1000 keys (the store's scan limit) come back, with `more` set when keys were left out.
//   sort_order, sort_target, revision, min/max revisions are refused (400), not ignored.
// - deleterange deletes one key: range_end is refused (400); prev_kv is refused on every route.
// - serializable: true is served as a 'stale' read where the node allows unsafe reads, else in
//   the node's (stronger) read mode.
// - Errors are this API's JSON ({error, reason}), with the statuses of http-replies.ts.

import type { KvCommand, KvReadCommand } from '../kv/commands.js';
import { HttpError, badRequest, responseOrThrow } from './http-replies.js';
import type { Route, RouteRequest } from './http-server.js';
import type { LocalKv, LocalResult } from './local-kv.js';
import { base64Bytes, integerField } from './request-fields.js';
import type { LeaderAddresses, ServedNode } from './served-node.js';

export interface EtcdGatewayContext {
  readonly node: ServedNode;
  readonly kv: LocalKv;
  readonly leaderAddresses: LeaderAddresses | undefined;
  /** Reported as header.cluster_id (a decimal string). */
  readonly clusterId: string;
}

const SCAN_LIMIT_UNBOUNDED = 1000;
/** Fields of etcd's requests this gateway does not implement: refused when set, never ignored. */
const REFUSED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  put: ['lease', 'prev_kv', 'ignore_value', 'ignore_lease'],
  range: ['revision', 'sort_order', 'sort_target', 'min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision'],
  deleterange: ['range_end', 'prev_kv'],
};

function isDefault(value: unknown): boolean {
  return value === undefined || value === null || value === false || value === 0 || value === '0' || value === '' || value === 'NONE' || value === 'KEY';
}

export function etcdRoutes(context: EtcdGatewayContext): Route[] {
  const { node, kv } = context;
  const header = (revision: number): object => ({
    cluster_id: context.clusterId,
    member_id: String(node.id),
    revision: String(revision),
    raft_term: String(node.status()?.term ?? 0),
  });
  const body = async (request: RouteRequest, operation: string): Promise<Record<string, unknown>> => {
    const fields = await request.json();
    for (const field of REFUSED_FIELDS[operation] ?? []) {
      if (!isDefault(fields[field])) throw badRequest(field, `not supported by raftbench's etcd gateway (see src/api/README.md)`);
    }
    return fields;
  };
  const finished = (result: LocalResult, request: RouteRequest) => responseOrThrow(result, request.url, context.leaderAddresses);
  const write = async (request: RouteRequest, command: KvCommand) => finished(await kv.write(command), request);
  const read = async (request: RouteRequest, command: KvReadCommand, serializable: boolean) =>
    finished(await kv.read(command, serializable && node.options.unsafeReadsAllowed ? 'stale' : node.options.readMode), request);

  return [
    {
      name: 'etcd_put',
      method: 'POST',
      path: '/v3/kv/put',
      handle: async (request) => {
        const fields = await body(request, 'put');
        const key = base64Bytes(fields['key'], 'key');
        const value = fields['value'] === undefined ? Buffer.alloc(0) : base64Bytes(fields['value'], 'value');
        const { response } = await write(request, { type: 'put', key, value });
        if (response.type !== 'ok') throw new Error(`a put was answered with a ${response.type} response`);
        return { status: 200, body: { header: header(response.version) } };
      },
    },
    {
      name: 'etcd_range',
      method: 'POST',
      path: '/v3/kv/range',
      handle: async (request) => {
        const fields = await body(request, 'range');
        const key = base64Bytes(fields['key'], 'key');
        const limit = fields['limit'] === undefined ? 0 : integerField(fields['limit'], 'limit', 0, Number.MAX_SAFE_INTEGER);
        const serializable = fields['serializable'] === true;
        const keysOnly = fields['keys_only'] === true;
        const countOnly = fields['count_only'] === true;
        let command: KvReadCommand;
        if (fields['range_end'] === undefined) command = { type: 'get', key };
        else {
          const rangeEnd = base64Bytes(fields['range_end'], 'range_end');
          // etcd: range_end "\0" means every key ≥ key.
          const end = rangeEnd.length === 1 && rangeEnd[0] === 0 ? null : rangeEnd;
          command = { type: 'scan', start: key, end, limit: limit === 0 ? SCAN_LIMIT_UNBOUNDED : limit };
        }
        const { response, index } = await read(request, command, serializable);
        const items = response.type === 'value' ? [{ key, value: response.value, version: response.version }] : response.type === 'scan' ? response.items : [];
        if (response.type !== 'value' && response.type !== 'scan' && response.type !== 'not-found') throw new Error(`a range was answered with a ${response.type} response`);
        const reply: Record<string, unknown> = { header: header(index) };
        if (items.length > 0 && !countOnly) {
          reply['kvs'] = items.map((item) => ({
            key: Buffer.from(item.key).toString('base64'),
            create_revision: String(item.version),
            mod_revision: String(item.version),
            version: '1',
            ...(keysOnly || item.value.length === 0 ? {} : { value: Buffer.from(item.value).toString('base64') }),
          }));
        }
        if (response.type === 'scan' && response.hasMore) reply['more'] = true;
        if (items.length > 0) reply['count'] = String(items.length);
        return { status: 200, body: reply };
      },
    },
    {
      name: 'etcd_deleterange',
      method: 'POST',
      path: '/v3/kv/deleterange',
      handle: async (request) => {
        const fields = await body(request, 'deleterange');
        const key = base64Bytes(fields['key'], 'key');
        const { response, index } = await write(request, { type: 'delete', key });
        if (response.type === 'ok') return { status: 200, body: { header: header(response.version), deleted: '1' } };
        if (response.type === 'not-found') return { status: 200, body: { header: header(index) } };
        throw new HttpError(500, 'internal', `a delete was answered with a ${response.type} response`);
      },
    },
  ];
}

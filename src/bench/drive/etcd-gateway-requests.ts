// Workload operations as etcd v3 JSON gateway requests (grpc-gateway's mapping of etcd's KV
// service: `POST /v3/kv/put`, `/v3/kv/range`, `/v3/kv/deleterange`, keys and values base64 in
// JSON). etcd 3.4 serves them, and raftbench's HTTP API accepts the same three routes, so one
// request stream measures both — the point of driving them through this one module.
//
//   read            POST /v3/kv/range        {"key": k}
//   update, insert  POST /v3/kv/put          {"key": k, "value": v}
//   delete          POST /v3/kv/deleterange  {"key": k}
//   scan            POST /v3/kv/range        {"key": k, "range_end": "AA==", "limit": n}
//                   (range_end "\0" means "every key ≥ key" in etcd's API)
//
// readModifyWrite has no single-request form in this subset (etcd would need /v3/kv/txn, which
// raftbench does not accept), so a workload with it is refused rather than measured as something
// else.

import type { Operation, Workload } from '../workload/index.js';

export const GATEWAY_PATHS = {
  put: '/v3/kv/put',
  range: '/v3/kv/range',
  deleteRange: '/v3/kv/deleterange',
} as const;

/** etcd's range_end for "from key to the end of the key space": a single zero byte. */
const RANGE_END_ALL = Buffer.from([0]).toString('base64');

export interface GatewayRequest {
  readonly method: 'POST';
  readonly path: string;
  readonly body: string;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function post(path: string, body: Record<string, string | number>): GatewayRequest {
  return { method: 'POST', path, body: JSON.stringify(body) };
}

/** The gateway request for one operation; throws for readModifyWrite (see the file header). */
export function gatewayRequestOf(operation: Operation): GatewayRequest {
  const key = base64(operation.key);
  switch (operation.type) {
    case 'read':
      return post(GATEWAY_PATHS.range, { key });
    case 'update':
    case 'insert':
      return post(GATEWAY_PATHS.put, { key, value: base64(operation.value) });
    case 'delete':
      return post(GATEWAY_PATHS.deleteRange, { key });
    case 'scan':
      return post(GATEWAY_PATHS.range, { key, range_end: RANGE_END_ALL, limit: operation.scanLength });
    case 'readModifyWrite':
      throw new RangeError('readModifyWrite has no single etcd gateway request (it would need /v3/kv/txn)');
  }
}

/** Why `workload` cannot be driven over the gateway, or [] when it can. */
export function gatewayRefusals(workload: Workload): string[] {
  const reasons: string[] = [];
  if (workload.operations.readModifyWrite > 0) {
    reasons.push(`workload ${workload.name}: readModifyWrite has no single etcd gateway request (it would need /v3/kv/txn); use a mix without it`);
  }
  if (workload.run.mode === 'open') {
    reasons.push(
      `workload ${workload.name}: the HTTP driver is closed loop only (autocannon's rate mode is not open loop: it corrects coordinated ` +
        'omission with a fixed 1 ms interval); use a closed-loop workload, or the native driver for open-loop runs',
    );
  }
  return reasons;
}

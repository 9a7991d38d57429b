// Workload operations as client library requests — shared by every target that drives a cluster
// through KvClient (in process, or over the binary protocol): read → get in the client's read
// mode, update and insert → put, scan → scan, read-modify-write → get then put, delete → delete.
// An insert is acknowledged to the key space once answered (so later reads may pick its key).

import type { ClientResult, KvClient } from '../../client/client.js';
import type { KeySpace, Operation } from '../workload/index.js';
import type { OperationOutcome } from '../drive/target.js';

const OK: OperationOutcome = Object.freeze({ ok: true });

/** The outcome a driver records, from what the client said. */
export function outcomeOf(result: ClientResult): OperationOutcome {
  if (result.ok) {
    const response = result.response;
    if (response.type === 'error') return { ok: false, error: response.code === 'store-full' || response.code === 'too-many-unacknowledged' ? 'rejected' : 'failed' };
    return OK;
  }
  if (result.error === 'timeout') return { ok: false, error: 'timeout' };
  if (result.error === 'refused') return { ok: false, error: 'rejected' };
  return { ok: false, error: 'failed' };
}

export async function executeOperation(client: KvClient, operation: Operation, keySpace: KeySpace | null): Promise<OperationOutcome> {
  switch (operation.type) {
    case 'read':
      return outcomeOf(await client.get(operation.key));
    case 'update':
      return outcomeOf(await client.put(operation.key, operation.value));
    case 'insert': {
      const result = await client.put(operation.key, operation.value);
      // Acknowledged either way (YCSB does the same): a failed insert must not block the key space.
      keySpace?.acknowledgeInsert(operation.keyNumber);
      return outcomeOf(result);
    }
    case 'scan':
      return outcomeOf(await client.scan(operation.key, null, operation.scanLength));
    case 'readModifyWrite': {
      const read = await client.get(operation.key);
      if (!read.ok) return outcomeOf(read);
      return outcomeOf(await client.put(operation.key, operation.value));
    }
    case 'delete':
      return outcomeOf(await client.delete(operation.key));
  }
}

// Errors the core raises. Each names what was wrong precisely enough to act on without a debugger.

import type { NodeId } from './types.js';

/** A message handed to `step` was malformed; `field` is the path of the bad field, e.g. `entries[3].index`. */
export class MessageValidationError extends Error {
  override readonly name = 'MessageValidationError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid message: ${field}: ${reason}`);
  }
}

/** A RaftConfig (or restore state) was rejected; `field` is the path of the bad field. */
export class RaftConfigError extends Error {
  override readonly name = 'RaftConfigError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid raft config: ${field}: ${reason}`);
  }
}

/**
 * One of the core's own invariants broke. This is always a bug (in the core or in a host that
 * broke the Ready contract); the node stops at the first wrong state instead of corrupting data.
 */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
  constructor(
    readonly nodeId: NodeId,
    readonly term: number,
    readonly index: number,
    readonly invariant: string,
  ) {
    super(`raft invariant broken on node ${nodeId} (term ${term}, index ${index}): ${invariant}`);
  }
}

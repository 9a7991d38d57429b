// The one error every invariant checker throws. It names the invariant and says exactly which
// nodes, terms and indexes disagree, so a failing seed's report is actionable without a debugger.

import type { NodeId } from '../raft/types.js';

export type InvariantName =
  | 'election safety'
  | 'log matching'
  | 'leader completeness'
  | 'state-machine safety'
  | 'monotonic progress'
  | 'liveness'
  | 'durability'
  | 'lease safety'
  | 'check-quorum'
  | 'linearizability';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(
    readonly invariant: InvariantName,
    readonly nodes: readonly NodeId[],
    readonly detail: string,
  ) {
    super(`${invariant} violated: ${detail}`);
  }
}

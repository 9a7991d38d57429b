// The contract between a load driver and what it loads: a source of operations and a target that
// executes them. Both are structural, so the workload generators (src/bench/workload/) and the
// targets (an embedded cluster, a client over TCP, a test double) fit without importing this.
//
// The one rule a target must keep: the promise settles when the operation's outcome is known to
// the client — acknowledged, or failed with a kind — and never rejects for an expected failure
// (a rejection is recorded as an 'exception', a bug in the target, not a result).

/** Anything with a type name; latencies and errors are recorded per type. */
export interface Operation {
  readonly type: string;
}

/** Where the operations come from: the workload. Called once per operation, in issue order. */
export interface OperationSource<Op extends Operation = Operation> {
  next(): Op;
}

/** Why a target says an operation failed. */
export type TargetErrorKind =
  /** No answer within the client's deadline. */
  | 'timeout'
  /** No leader, node down, connection refused. */
  | 'unavailable'
  /** Refused on purpose: overload shedding, a failed precondition such as a cas mismatch. */
  | 'rejected'
  /** Any other failure the target can name. */
  | 'failed';

/** What the drivers add: failures of the run rather than of the target. */
export type DriverErrorKind =
  /** Due while `outstandingMax` operations were in flight: never sent, recorded, not skipped. */
  | 'dropped-overload'
  /** Still in flight when the drain after the run timed out. */
  | 'unfinished'
  /** The target threw or its promise rejected. */
  | 'exception';

export type ErrorKind = TargetErrorKind | DriverErrorKind;

export type OperationOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: TargetErrorKind };

export interface KvTarget<Op extends Operation = Operation> {
  execute(operation: Op): Promise<OperationOutcome>;
}

export const OUTCOME_OK: OperationOutcome = Object.freeze({ ok: true });

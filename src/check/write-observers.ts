// Which operations may have observed a write: shrinking a failure (linearizability-shrink.ts)
// removes a write only if no remaining operation can have observed it or refers to it, so that
// the piece it reports fails for a reason the original had.
//
// X refers to W if X returned W's value (a get) or reported W's version (a get, or a cas
// expecting or reporting it). W is then kept even where X cannot have observed it (X began
// after another write completed): that X read an overwritten value is the point of the report,
// and without W it would read as "a value never written".
//
// X may have observed W if X can come after W in real time (X is without a response, or
// responded no earlier than W's call), no write lies between them (none that took effect began
// strictly after W responded and responded strictly before X began — it would come between them
// in every order, so X sees it or something later), and:
//   - W is a delete and X relies on the key being absent (a get or delete that found nothing, a
//     cas expecting or reporting version 0);
//   - W is a put or cas and X is a delete that found the key;
//   - W's version is unknown and X is a cas that relies on a version no known write and no get
//     accounts for (two writes on a key never share a version, so a version some get reported
//     with another value, or some other write got, is not W's).
// An X without a response counts only if it is observed in turn: otherwise it can be left out of
// a linearization along with W.
// If none holds, take any linearization of the history and remove W from it: every operation
// between W and the next write saw W's state and none of them could tell, the next write checks
// only versions (which can only get looser), and the rest is unchanged — so if the piece without
// W cannot be linearized, neither could the piece with it.

import { type ModelOp, VERSION_UNKNOWN, isUnknownOutcome, knownWriteVersion, writtenValue } from './kv-model.js';
import type { SearchOp } from './linearizability-search.js';

/** A write that responded, saying it took effect. */
function tookEffect(op: ModelOp): boolean {
  return op.type === 'put' || op.type === 'cas-ok' || op.type === 'delete';
}

/** The version a cas relies on being current (0: absent), or null for other ops. */
function casReliedVersion(op: ModelOp): number | null {
  switch (op.type) {
    case 'cas-ok':
    case 'cas-unknown':
      return op.expectedVersion;
    case 'cas-mismatch':
      return op.currentVersion;
    default:
      return null;
  }
}

function reliesOnAbsence(op: ModelOp): boolean {
  return op.type === 'get-absent' || op.type === 'delete-absent' || casReliedVersion(op) === 0;
}

/** Whether some operation other than `ops[position]` (a write) returned its value or reported its known version. */
export function isReferredTo(ops: readonly SearchOp[], position: number): boolean {
  const { op: write } = ops[position]!;
  const value = writtenValue(write);
  const version = knownWriteVersion(write);
  return ops.some(({ op }, other) => {
    if (other === position) return false;
    if (op.type === 'get-value' && (op.value === value || op.version === version)) return true;
    return version !== VERSION_UNKNOWN && casReliedVersion(op) === version;
  });
}

/**
 * Whether some operation other than `ops[position]` (a write) refers to it or may have observed
 * it; with `observers`, only the operations at those positions count as observers.
 */
export function mayBeObserved(ops: readonly SearchOp[], position: number, observers?: ReadonlySet<number>): boolean {
  return observedWithin(ops, position, new Set([position]), new Set(), observers);
}

/** How deep the question "is that unknown observer observed in turn" is followed before it counts as yes. */
const UNKNOWN_OBSERVER_DEPTH_MAX = 3;

/**
 * An operation without a response counts as an observer only if it is observed in turn: if not,
 * it can be left out of any linearization together with W. Asking that in turn is cut short,
 * always towards "observed" (keeping a write is never wrong, only less small): `visiting` breaks
 * cycles, the depth is bounded, and `observed` remembers the operations found observed.
 */
function observedWithin(
  ops: readonly SearchOp[],
  position: number,
  visiting: Set<number>,
  observed: Set<number>,
  observers: ReadonlySet<number> | undefined,
): boolean {
  const counts = (other: number): boolean => {
    if (!isUnknownOutcome(ops[other]!.op) || observed.has(other)) return true;
    if (visiting.has(other) || visiting.size > UNKNOWN_OBSERVER_DEPTH_MAX) return true;
    visiting.add(other);
    const result = observedWithin(ops, other, visiting, observed, undefined);
    visiting.delete(other);
    if (result) observed.add(other);
    return result;
  };
  const write = ops[position]!;
  const value = writtenValue(write.op);
  const isDelete = value === null;
  const version = knownWriteVersion(write.op);
  const accounted = new Set<number>();
  const unknownVersionRelied: number[] = [];
  // The earliest response of a write that took effect after W responded.
  let shieldReturnUs = Infinity;
  if (write.returnUs !== null) {
    for (const { op, callUs, returnUs } of ops) {
      if (returnUs !== null && callUs > write.returnUs && tookEffect(op)) shieldReturnUs = Math.min(shieldReturnUs, returnUs);
    }
  }
  for (let other = 0; other < ops.length; other++) {
    if (other === position) continue;
    const { op, callUs, returnUs } = ops[other]!;
    const relied = op.type === 'get-value' ? op.version : casReliedVersion(op);
    if (knownWriteVersion(op) !== VERSION_UNKNOWN) accounted.add(knownWriteVersion(op));
    if (op.type === 'get-value') accounted.add(op.version);
    if (observers !== undefined && !observers.has(other)) continue;
    if (op.type === 'get-value' && op.value === value) return true;
    if (version !== VERSION_UNKNOWN && relied === version) return true;
    if ((returnUs !== null && returnUs < write.callUs) || shieldReturnUs < callUs) continue;
    if ((isDelete ? reliesOnAbsence(op) : op.type === 'delete') && counts(other)) return true;
    if (op.type !== 'get-value' && relied !== null && relied !== 0) unknownVersionRelied.push(other);
  }
  if (isDelete || version !== VERSION_UNKNOWN) return false;
  return unknownVersionRelied.some((other) => {
    const relied = casReliedVersion(ops[other]!.op);
    return relied !== null && !accounted.has(relied) && counts(other);
  });
}

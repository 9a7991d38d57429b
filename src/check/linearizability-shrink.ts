// Shrinking one key's non-linearizable history to a small piece that is still not linearizable,
// for the failure report: first the shortest failing time-prefix, then operations removed while
// the rest still fails — in halving chunks first (a long history loses most of itself in a few
// trials), then one at a time.
//
// The subtle thing: "still fails" must mean "fails for the reason the original did". Removing an
// arbitrary operation can *create* a failure — drop the put that wrote "a" and a get that
// returned "a" now reads a value never written; drop the put before a delete that found the key
// and the delete now finds nothing — and the report would blame the wrong thing. So:
//   - The cut at time T keeps the operations called by T; those whose response came later are
//     kept without it (a read without one is dropped). Linearizability is closed under such
//     prefixes, so if the cut fails, the whole history does. The responses at T — the culprits —
//     are what made it fail, and are always kept.
//   - The focused pass takes out any read, and any write that no operation refers to (by value or
//     version) and the culprits cannot have observed — but keeps the smaller piece only if it
//     still fails *and would pass without the culprits*. Then everything left is consistent on
//     its own and only the culprits' answers cannot be placed; a removal that broke something
//     else would make the piece fail without the culprits too.
//   - The sound pass (where the focused one cannot start, and to finish) takes out only what
//     makes a history easier to linearize: reads, and writes that no operation left may have
//     observed (write-observers.ts states the rule and why it suffices).

import { type ModelOp, isRead, withoutResponse } from './kv-model.js';
import type { SearchOp } from './linearizability-search.js';
import { isReferredTo, mayBeObserved } from './write-observers.js';

/** One operation of the key: the model op for its full answer, and its times. */
export interface KeyOperation {
  /** Index in the whole history. */
  readonly index: number;
  readonly op: ModelOp;
  readonly callUs: number;
  readonly returnUs: number | null;
}

/** An operation as a trial history holds it: as recorded, or cut off before its response came. */
export interface TrialOperation {
  readonly operation: KeyOperation;
  readonly responseCut: boolean;
}

export function searchOpsOf(trial: readonly TrialOperation[]): SearchOp[] {
  return trial.map(({ operation, responseCut }) =>
    responseCut ? { op: withoutResponse(operation.op)!, callUs: operation.callUs, returnUs: null } : operation,
  );
}

/** The operations as they were known at time `cutUs` (reads still in flight dropped). */
export function cutAt(operations: readonly KeyOperation[], cutUs: number): TrialOperation[] {
  const trial: TrialOperation[] = [];
  for (const operation of operations) {
    if (operation.callUs > cutUs) continue;
    const responded = operation.returnUs !== null && operation.returnUs <= cutUs;
    if (responded) trial.push({ operation, responseCut: false });
    else if (withoutResponse(operation.op) !== null) trial.push({ operation, responseCut: true });
  }
  return trial;
}

/** Which operations a removal pass may take out, and what a smaller trial must do to be taken. */
interface RemovalRule {
  /** Whether the operation at `position` of `remaining` may be taken out. */
  readonly removable: (remaining: readonly TrialOperation[], position: number) => boolean;
  readonly accepts: (candidate: readonly TrialOperation[]) => TrialVerdict;
}

/**
 * The trial without what `rule` lets go from positions [start, end), decided latest first (so an
 * observer removed first frees the write it observed); null once `spend` says the budget is out
 * (each decision looks at every operation left, and is charged so).
 */
function withoutRemovable(trial: readonly TrialOperation[], start: number, end: number, rule: RemovalRule, spend: (steps: number) => boolean): TrialOperation[] | null {
  let remaining = [...trial];
  for (let position = end - 1; position >= start; position--) {
    if (!spend(remaining.length)) return null;
    if (rule.removable(remaining, position)) remaining = remaining.filter((_, other) => other !== position);
  }
  return remaining;
}

/** 'undecided': the trial ran out of its own steps; 'budget-exhausted': shrinking ran out of its steps. */
export type TrialVerdict = 'fails' | 'passes' | 'undecided' | 'budget-exhausted';

/** Runs one trial within `stepsMax` search steps if given, charging the shrinking budget. */
export type TrialCheck = (trial: readonly TrialOperation[], stepsMax?: number) => TrialVerdict;

/** Charges other work to the shrinking budget; false once it is out. */
export type Spend = (steps: number) => boolean;

/** The budget for confirming that a piece passes: a linearizable piece is usually found to be so in a few steps per operation. */
const QUICK_STEPS_PER_OPERATION = 20;

export interface ShrunkHistory {
  readonly trial: readonly TrialOperation[];
  /** The time of the cut, or null if the whole history was needed. */
  readonly cutUs: number | null;
}

/**
 * Removal in chunks, halving (the first trials remove most of a long history at once), then one
 * at a time until a pass removes nothing. Returns the smaller trial and whether the budget ran out.
 */
function removeWhileFailing(initial: TrialOperation[], rule: RemovalRule, spend: (steps: number) => boolean): { trial: TrialOperation[]; exhausted: boolean } {
  let trial = initial;
  let exhausted = false;
  let chunk = Math.max(1, Math.ceil(trial.length / 2));
  let removedInPass = true;
  while (!exhausted && (chunk > 1 || removedInPass)) {
    removedInPass = false;
    for (let end = trial.length; end > 0 && !exhausted; end -= chunk) {
      const start = Math.max(0, end - chunk);
      const candidate = withoutRemovable(trial, start, end, rule, spend);
      if (candidate === null) return { trial, exhausted: true };
      if (candidate.length === trial.length) continue;
      const verdict = rule.accepts(candidate);
      exhausted = verdict === 'budget-exhausted';
      if (verdict === 'fails') {
        trial = candidate;
        removedInPass = true;
      }
    }
    chunk = Math.max(1, chunk >> 1);
  }
  return { trial, exhausted };
}

/**
 * Shrinks a failing history (`operations`, which `check` says fails). `check` runs one trial
 * and charges its cost, `spend` charges the rest; once either says the budget is out, shrinking
 * stops with what it has.
 */
export function shrinkFailure(operations: readonly KeyOperation[], check: TrialCheck, spend: Spend): ShrunkHistory {
  // Shortest failing prefix: failure is monotone in the cut time, so a binary search over the
  // response times finds it. `high` always indexes a cut known to fail.
  const responseTimes = [...new Set(operations.flatMap((operation) => (operation.returnUs === null ? [] : [operation.returnUs])))].sort((a, b) => a - b);
  let low = 0;
  let high = responseTimes.length - 1;
  let exhausted = false;
  while (low < high && !exhausted) {
    const middle = (low + high) >> 1;
    const verdict = check(cutAt(operations, responseTimes[middle]!));
    if (verdict === 'fails') high = middle;
    else low = middle + 1;
    exhausted = verdict === 'budget-exhausted';
  }
  const lastResponseUs = responseTimes[responseTimes.length - 1];
  const cutUs = responseTimes[high];
  let trial: TrialOperation[] = cutAt(operations, cutUs ?? Infinity);
  const cut = cutUs === undefined || cutUs === lastResponseUs ? null : cutUs;
  if (exhausted) return { trial, cutUs: cut };

  // The responses at the cut made the history fail: the culprits, always kept.
  const culprits = new Set(trial.filter(({ operation, responseCut }) => !responseCut && operation.returnUs === cutUs).map(({ operation }) => operation));
  const withoutCulprits = (candidate: readonly TrialOperation[]): TrialOperation[] => candidate.filter(({ operation }) => !culprits.has(operation));
  const culpritPositions = (remaining: readonly TrialOperation[]): Set<number> =>
    new Set(remaining.flatMap(({ operation }, position) => (culprits.has(operation) ? [position] : [])));

  // First pass: take out any read, and any write that no operation refers to (by value or
  // version) and the culprits cannot have observed, as long as the piece still fails and would
  // pass without the culprits — so what is left is consistent on its own, and only the culprits'
  // answers cannot be placed. (A removal that broke something else — a delete whose put was taken
  // out — would make the piece fail without the culprits too.) The second condition is checked
  // first, with a small budget: a piece that passes usually passes quickly, while proving that one
  // fails means searching all of it.
  if (check(withoutCulprits(trial)) === 'passes') {
    const focused = removeWhileFailing(trial, {
      removable: (remaining, position) => {
        const { operation } = remaining[position]!;
        if (culprits.has(operation)) return false;
        if (isRead(operation.op)) return true;
        const ops = searchOpsOf(remaining);
        return !isReferredTo(ops, position) && !mayBeObserved(ops, position, culpritPositions(remaining));
      },
      accepts: (candidate) => {
        const rest = check(withoutCulprits(candidate), candidate.length * QUICK_STEPS_PER_OPERATION);
        if (rest !== 'passes') return rest === 'budget-exhausted' ? rest : 'undecided';
        return check(candidate);
      },
    }, spend);
    trial = focused.trial;
    if (focused.exhausted) return { trial, cutUs: cut };
  }
  // Then what is always sound to take out: reads, and writes nobody left can have observed.
  trial = removeWhileFailing(trial, {
    removable: (remaining, position) => {
      const { operation } = remaining[position]!;
      if (culprits.has(operation)) return false;
      return isRead(operation.op) || !mayBeObserved(searchOpsOf(remaining), position);
    },
    accepts: check,
  }, spend).trial;
  return { trial, cutUs: cut };
}

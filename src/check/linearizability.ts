// The linearizability checker for key-value client histories: is there one order of all the
// operations, consistent with real time (an operation that responded before another was invoked
// comes first), in which every answer is what a single copy of the store would have given?
//
// Method: P-compositionality first — a KV history is linearizable iff each key's sub-history is,
// so each key is searched on its own (Porcupine's partitioning) — then, per key, Wing & Gong's
// backtracking search with Lowe's cache (linearizability-search.ts), against the model of one
// key (kv-model.ts). A failure is shrunk (linearizability-shrink.ts) to a small piece of history
// that still cannot be ordered, and explained in words.
//
// Versions, precisely. A write's version is the log index it got, so along the linearization of
// one key:
//   1. Writes (put, successful cas, delete that found the key) take strictly increasing versions.
//   2. A get reports the version of the write it observed; a cas mismatch reports the current
//      version (0: the key does not exist); a successful cas found exactly its expectedVersion.
//   3. A write without a known version (no response came, or a delete's response omitted it)
//      still took a log index between its neighbours': greater than the previous write's version
//      and smaller than the next's (so between writes answered 5 and 6 there is no room for it).
//      The first read that observes it fixes its version (which must respect that bound); every
//      later observation must agree, since the fixed version is part of the state from then on.
// Versions are compared per key only; that log indexes are unique across keys is not checked.
//
// Operations without a response may take effect at any point after their call, or never (a
// timed-out request may or may not have been applied); a get without a response tells nothing
// and is dropped. The store is assumed empty when the history starts.
//
// The one thing not to forget: the search is bounded. Each key may take `stepsMax` steps; past
// that the answer is 'unknown' with the reason, never a hang. Shrinking a failure has its own
// budget, and a failure is reported even if shrinking runs out of it (just less shrunk).

import { type CheckedOperation, type Operation, checkOperation, describeOperation, formatHistory, formatKey, formatMs, formatValue } from './kv-history.js';
import { type KeyState, VERSION_UNKNOWN, knownWriteVersion, modelOpOf, step, whyRejected } from './kv-model.js';
import { type DeepestPoint, searchLinearization } from './linearizability-search.js';
import { type KeyOperation, type TrialOperation, type TrialVerdict, searchOpsOf, shrinkFailure } from './linearizability-shrink.js';

export interface LinearizabilityOptions {
  /** Search steps allowed per key before the answer is 'unknown'. */
  readonly stepsMax?: number;
  /** Search steps allowed for shrinking a failure, over all the trial histories it checks. */
  readonly shrinkStepsMax?: number;
}

export const STEPS_MAX_DEFAULT = 1_000_000;
export const SHRINK_STEPS_MAX_DEFAULT = 2_000_000;

export type LinearizabilityResult =
  | {
      readonly ok: true;
      readonly keysChecked: number;
      /** Operations in the history (including reads without a response, which were dropped). */
      readonly operations: number;
      /** Search steps taken over all keys. */
      readonly steps: number;
    }
  | {
      readonly ok: false;
      readonly key: string;
      /** A small piece of the key's history (its operations as given) that cannot be ordered, in call order. */
      readonly minimal: readonly Operation[];
      /** What could not be ordered, in words, followed by `minimal` as a table. */
      readonly explanation: string;
    }
  | { readonly ok: 'unknown'; readonly key: string; readonly reason: string };

interface KeyHistory {
  readonly key: string;
  readonly operations: KeyOperation[];
  /** Every operation on the key, including dropped reads, for the counts in reports. */
  readonly checked: CheckedOperation[];
  /** Value text by id. */
  readonly values: string[];
}

function budgetOption(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field}: expected a positive integer, got ${String(value)}`);
  return value;
}

function partitionByKey(history: readonly Operation[]): Map<string, KeyHistory> {
  const keys = new Map<string, KeyHistory>();
  const valueIds = new Map<KeyHistory, Map<string, number>>();
  history.forEach((operation, index) => {
    const checked = checkOperation(operation, index);
    const key = checked.input.key;
    let entry = keys.get(key);
    if (entry === undefined) {
      entry = { key, operations: [], checked: [], values: [] };
      keys.set(key, entry);
      valueIds.set(entry, new Map());
    }
    const ids = valueIds.get(entry)!;
    const values = entry.values;
    const valueId = (value: string): number => {
      let id = ids.get(value);
      if (id === undefined) {
        id = values.length;
        values.push(value);
        ids.set(value, id);
      }
      return id;
    };
    entry.checked.push(checked);
    const op = modelOpOf(checked, valueId);
    if (op !== null) entry.operations.push({ index, op, callUs: operation.callUs, returnUs: operation.returnUs });
  });
  return keys;
}

/**
 * Checks a whole history. Throws HistoryFormatError (naming the field) on malformed input and
 * RangeError on a bad option; otherwise answers ok, not ok (with the smallest failing piece found
 * and an explanation), or unknown (a key's search ran out of steps).
 */
export function checkLinearizable(history: readonly Operation[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  const stepsMax = budgetOption(options.stepsMax, STEPS_MAX_DEFAULT, 'options.stepsMax');
  const shrinkStepsMax = budgetOption(options.shrinkStepsMax, SHRINK_STEPS_MAX_DEFAULT, 'options.shrinkStepsMax');
  const keys = partitionByKey(history);
  let steps = 0;
  let unknown: LinearizabilityResult | null = null;
  for (const key of keys.values()) {
    const outcome = searchLinearization(key.operations, stepsMax, false);
    steps += outcome.steps;
    if (outcome.verdict === 'not-linearizable') return reportFailure(history, key, stepsMax, shrinkStepsMax);
    if (outcome.verdict === 'budget-exhausted' && unknown === null) {
      // Keep going: a definite failure on another key is worth more than this 'unknown'.
      const withoutResponse = key.operations.filter((operation) => operation.returnUs === null).length;
      unknown = {
        ok: 'unknown',
        key: key.key,
        reason:
          `the search for key ${formatKey(key.key)} (${key.operations.length} operations, ${withoutResponse} without a response) ` +
          `gave up after ${stepsMax} steps (options.stepsMax) with ${outcome.cacheEntries} states cached: ` +
          'too much concurrency to decide within the budget; raise stepsMax or check a shorter history',
      };
    }
  }
  return unknown ?? { ok: true, keysChecked: keys.size, operations: history.length, steps };
}

function reportFailure(history: readonly Operation[], key: KeyHistory, stepsMax: number, shrinkStepsMax: number): LinearizabilityResult {
  let shrinkSteps = 0;
  const check = (trial: readonly TrialOperation[]): TrialVerdict => {
    const budget = shrinkStepsMax - shrinkSteps;
    if (budget <= 0) return 'budget-exhausted';
    const outcome = searchLinearization(searchOpsOf(trial), Math.min(stepsMax, budget), false);
    shrinkSteps += outcome.steps;
    if (outcome.verdict === 'not-linearizable') return 'fails';
    // A trial too hard to decide is not known to fail, so it is not taken.
    return outcome.verdict === 'budget-exhausted' && shrinkSteps >= shrinkStepsMax ? 'budget-exhausted' : 'passes';
  };
  const shrunk = shrinkFailure(key.operations, check);
  // The shrunk piece fails with the responses that came after the cut left out, so it fails with
  // them too (they only add constraints); shown with them, it reads as what happened.
  const trial = shrunk.trial.map(({ operation }) => ({ operation, responseCut: false })).sort((a, b) => a.operation.callUs - b.operation.callUs);
  const minimal = trial.map(({ operation }) => history[operation.index]!);
  const outcome = searchLinearization(searchOpsOf(trial), stepsMax, true);
  const deepest = outcome.verdict === 'not-linearizable' ? outcome.deepest : null;
  const lines = [
    summary(key, trial, shrunk.cutUs, shrinkSteps >= shrinkStepsMax),
    deepest === null ? 'The search could not re-derive why (its step budget ran out on the shrunk history).' : explainDeepest(key, trial, minimal, deepest),
    '',
    formatHistory(minimal),
  ];
  return { ok: false, key: key.key, minimal, explanation: lines.join('\n') };
}

function summary(key: KeyHistory, trial: readonly TrialOperation[], cutUs: number | null, shrinkExhausted: boolean): string {
  const scope = cutUs === null ? '' : `, all called by ${formatMs(cutUs)} ms (the history stops being linearizable with the response at ${formatMs(cutUs)} ms),`;
  const budget = shrinkExhausted ? ' Shrinking stopped at its step budget (options.shrinkStepsMax), so this piece may not be the smallest.' : '';
  return (
    `Key ${formatKey(key.key)} is not linearizable: these ${trial.length} of its ${key.checked.length} operations${scope} ` +
    `cannot be put in any order that respects both real time and the store's rules.${budget}`
  );
}

const ORDER_SHOWN_MAX = 12;

function explainDeepest(key: KeyHistory, trial: readonly TrialOperation[], minimal: readonly Operation[], deepest: DeepestPoint): string {
  const label = (position: number): string => `#${position + 1}`;
  const describe = (position: number): string => `${label(position)} ${describeOperation(minimal[position]!)}`;
  const blocked = trial[deepest.blocked]!;
  const shown = deepest.order.length <= ORDER_SHOWN_MAX ? deepest.order.map(label) : [...deepest.order.slice(0, 2).map(label), `… (${deepest.order.length} in all)`, ...deepest.order.slice(-ORDER_SHOWN_MAX + 3).map(label)];
  const order = deepest.order.length === 0 ? 'before any other operation' : `after ${shown.join(', ')}`;
  const why =
    whyRejected(deepest.state, blocked.operation.op, { valueText: (value) => formatValue(key.values[value] ?? '?'), describe }) ??
    versionOrderReason(trial, deepest, describe);
  const facts = [
    `${describe(deepest.blocked)} cannot take effect anywhere in its interval.`,
    why === null
      ? `The furthest the search got was to place it ${order}.`
      : `At the latest point it could take effect (${order}), ${why}${writerCompletedBefore(trial, deepest.state, blocked)}.`,
  ];
  const source = valueSource(key, blocked.operation);
  if (source !== null) facts.push(source);
  return facts.join(' ');
}

/**
 * Why the search refused an op the model alone accepts: the search also places writes in the
 * order of their reported versions, and never raises the version past an unplaced one.
 */
function versionOrderReason(trial: readonly TrialOperation[], deepest: DeepestPoint, describe: (position: number) => string): string | null {
  const placed = new Set(deepest.order);
  let lowest = -1;
  let lowestVersion = Infinity;
  trial.forEach(({ operation }, position) => {
    const version = knownWriteVersion(operation.op);
    if (placed.has(position) || position === deepest.blocked || version === VERSION_UNKNOWN || version >= lowestVersion) return;
    lowest = position;
    lowestVersion = version;
  });
  if (lowest === -1) return null;
  const blocked = trial[deepest.blocked]!.operation;
  const op = blocked.op;
  const own = knownWriteVersion(op);
  const pending = `${describe(lowest)}, which got version ${lowestVersion} and has not taken effect yet`;
  if (own !== VERSION_UNKNOWN && own >= lowestVersion) {
    const other = trial[lowest]!.operation;
    const later = blocked.returnUs !== null && other.callUs > blocked.returnUs ? ` — yet it was called at ${formatMs(other.callUs)} ms, after this one completed` : '';
    return own === lowestVersion
      ? `it got version ${own}, and so did ${describe(lowest)}: two writes never share a version`
      : `it got version ${own}, but ${describe(lowest)} got the lower version ${lowestVersion}, so must take effect first${later}: versions increase along the order`;
  }
  const after = step(deepest.state, op, -1);
  if (after !== null && after.versionFloor >= lowestVersion) {
    return `it means the key's version is already ${after.versionFloor} or more, which leaves no room for ${pending}: versions increase along the order`;
  }
  return null;
}

function writerCompletedBefore(trial: readonly TrialOperation[], state: KeyState, blocked: TrialOperation): string {
  if (state.writer === -1) return '';
  const writer = trial[state.writer]!;
  const writerReturnUs = writer.responseCut ? null : writer.operation.returnUs;
  if (writerReturnUs === null || writerReturnUs >= blocked.operation.callUs) return '';
  return ` — and that write completed at ${formatMs(writerReturnUs)} ms, before #${trial.indexOf(blocked) + 1} began at ${formatMs(blocked.operation.callUs)} ms`;
}

/** For a get of a value: a sentence when no write of that value could have come before it. */
function valueSource(key: KeyHistory, blocked: KeyOperation): string | null {
  const op = blocked.op;
  if (op.type !== 'get-value') return null;
  const value = key.values[op.value]!;
  const writes = key.checked.filter((operation) => (operation.type === 'put' || operation.type === 'cas') && operation.input.value === value);
  if (writes.length === 0) return `No operation on this key ever writes ${formatValue(value)}.`;
  const returnUs = blocked.returnUs ?? Infinity;
  if (writes.every((operation) => operation.source.callUs > returnUs)) {
    const first = writes[0]!.source;
    return writes.length === 1
      ? `The only write of ${formatValue(value)}, ${describeOperation(first)}, was called after the get responded.`
      : `Every write of ${formatValue(value)} (the first: ${describeOperation(first)}) was called after the get responded.`;
  }
  return null;
}

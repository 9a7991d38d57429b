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
// budget (linearizability-report.ts), and a failure is reported even if shrinking runs out of it
// (just less shrunk). Memory follows steps: the cache holds at most one entry per step, each a
// bitset of the key's operations (n/8 bytes) and 24 bytes more, and never more than
// CACHE_BYTES_MAX (256 MiB) in all — past that the answer is 'unknown' too.

import { type Operation, checkOperation, formatKey } from './kv-history.js';
import { modelOpOf } from './kv-model.js';
import { type KeyHistory, reportFailure } from './linearizability-report.js';
import { CACHE_BYTES_MAX, searchLinearization } from './linearizability-search.js';

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

function budgetOption(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field}: expected a positive integer, got ${String(value)}`);
  return value;
}

function partitionByKey(history: readonly Operation[]): Map<string, KeyHistory> {
  const keys = new Map<string, { readonly entry: KeyHistory; readonly valueId: (value: string) => number }>();
  history.forEach((operation, index) => {
    const checked = checkOperation(operation, index);
    const key = checked.input.key;
    let found = keys.get(key);
    if (found === undefined) {
      const entry: KeyHistory = { key, operations: [], checked: [], values: [] };
      const ids = new Map<string, number>();
      const valueId = (value: string): number => {
        let id = ids.get(value);
        if (id === undefined) {
          id = entry.values.length;
          entry.values.push(value);
          ids.set(value, id);
        }
        return id;
      };
      found = { entry, valueId };
      keys.set(key, found);
    }
    found.entry.checked.push(checked);
    const op = modelOpOf(checked, found.valueId);
    if (op !== null) found.entry.operations.push({ index, op, callUs: operation.callUs, returnUs: operation.returnUs });
  });
  return new Map([...keys].map(([key, { entry }]) => [key, entry]));
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
    if (outcome.verdict === 'not-linearizable') return { ok: false, ...reportFailure(history, key, stepsMax, shrinkStepsMax) };
    if (outcome.verdict === 'budget-exhausted' && unknown === null) {
      // Keep going: a definite failure on another key is worth more than this 'unknown'.
      const withoutResponse = key.operations.filter((operation) => operation.returnUs === null).length;
      const bound =
        outcome.exhausted === 'steps'
          ? `${stepsMax} steps (options.stepsMax) with ${outcome.cacheEntries} states cached`
          : `${outcome.steps} steps, when its cache of ${outcome.cacheEntries} states reached ${CACHE_BYTES_MAX / 1024 / 1024} MiB`;
      unknown = {
        ok: 'unknown',
        key: key.key,
        reason:
          `the search for key ${formatKey(key.key)} (${key.operations.length} operations, ${withoutResponse} without a response) ` +
          `gave up after ${bound}: too much concurrency to decide within the budget; raise stepsMax or check a shorter history`,
      };
    }
  }
  return unknown ?? { ok: true, keysChecked: keys.size, operations: history.length, steps };
}

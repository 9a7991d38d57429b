// A failure report for one key: the history shrunk to a small piece that still cannot be
// ordered (linearizability-shrink.ts), and what could not be ordered, in words.
//
// The subtle thing: the words come from the furthest point the search reached on the shrunk
// piece — the op whose response it could not get past, the state there, and why the model (or the
// version order) refused the op in that state. On a piece of three or four operations that point
// is the story a reader needs ("it returned a, but b had been written and completed before it
// began"); on a large piece it is still accurate, only less telling.

import { type CheckedOperation, type Operation, describeOperation, formatHistory, formatKey, formatMs, formatValue } from './kv-history.js';
import { type KeyState, VERSION_UNKNOWN, knownWriteVersion, step, whyRejected, writtenValue } from './kv-model.js';
import { type DeepestPoint, searchLinearization } from './linearizability-search.js';
import { type KeyOperation, type TrialCheck, searchOpsOf, shrinkFailure } from './linearizability-shrink.js';

/** One key's operations, as the checker holds them. */
export interface KeyHistory {
  readonly key: string;
  /** The operations the search sees (reads without a response dropped). */
  readonly operations: KeyOperation[];
  /** Every operation on the key, for the counts and value sources in reports. */
  readonly checked: CheckedOperation[];
  /** Value text by id. */
  readonly values: string[];
}

export interface FailureReport {
  readonly key: string;
  readonly minimal: readonly Operation[];
  readonly explanation: string;
}

const ORDER_SHOWN_MAX = 12;

/** Shrinks `key`'s failing history within `shrinkStepsMax` search steps (each trial within `stepsMax`) and explains it. */
export function reportFailure(history: readonly Operation[], key: KeyHistory, stepsMax: number, shrinkStepsMax: number): FailureReport {
  let shrinkSteps = 0;
  const check: TrialCheck = (trial, trialStepsMax = stepsMax) => {
    const budget = shrinkStepsMax - shrinkSteps;
    if (budget <= 0) return 'budget-exhausted';
    const outcome = searchLinearization(searchOpsOf(trial), Math.min(trialStepsMax, budget), false);
    shrinkSteps += outcome.steps;
    if (outcome.verdict === 'not-linearizable') return 'fails';
    if (outcome.verdict === 'linearizable') return 'passes';
    return shrinkSteps >= shrinkStepsMax ? 'budget-exhausted' : 'undecided';
  };
  const spend = (steps: number): boolean => {
    shrinkSteps += steps;
    return shrinkSteps < shrinkStepsMax;
  };
  const shrunk = shrinkFailure(key.operations, check, spend);
  // The shrunk piece fails with the responses that came after the cut left out, so it fails with
  // them too (they only add constraints); shown with them, it reads as what happened.
  const piece = shrunk.trial.map(({ operation }) => operation).sort((a, b) => a.callUs - b.callUs);
  const minimal = piece.map((operation) => history[operation.index]!);
  const outcome = searchLinearization(piece, stepsMax, true);
  const deepest = outcome.verdict === 'not-linearizable' ? outcome.deepest : null;
  const lines = [
    summary(key, piece, shrunk.cutUs, shrinkSteps >= shrinkStepsMax),
    deepest === null ? 'The search could not re-derive why (its step budget ran out on the shrunk piece).' : explainDeepest(key, piece, minimal, deepest),
    '',
    formatHistory(minimal),
  ];
  return { key: key.key, minimal, explanation: lines.join('\n') };
}

function summary(key: KeyHistory, piece: readonly KeyOperation[], cutUs: number | null, shrinkExhausted: boolean): string {
  const count = piece.length === 1 ? 'the 1 operation' : `the ${piece.length} operations`;
  const scope = cutUs === null ? '' : `; the history stops being linearizable with the response at ${formatMs(cutUs)} ms`;
  const budget = shrinkExhausted ? ' Shrinking stopped at its step budget (options.shrinkStepsMax), so this piece may not be the smallest.' : '';
  return (
    `Key ${formatKey(key.key)} is not linearizable: no order of ${count} below (out of ${key.checked.length} on the key${scope}) ` +
    `respects both real time and the store's rules.${budget}`
  );
}

function explainDeepest(key: KeyHistory, piece: readonly KeyOperation[], minimal: readonly Operation[], deepest: DeepestPoint): string {
  const label = (position: number): string => `#${position + 1}`;
  const describe = (position: number): string => `${label(position)} ${describeOperation(minimal[position]!)}`;
  const blocked = piece[deepest.blocked]!;
  const shown = deepest.order.length <= ORDER_SHOWN_MAX ? deepest.order.map(label) : [...deepest.order.slice(0, 2).map(label), `… (${deepest.order.length} in all)`, ...deepest.order.slice(-ORDER_SHOWN_MAX + 3).map(label)];
  const order = deepest.order.length === 0 ? 'before any other operation' : `after ${shown.join(', ')}`;
  const context = { valueText: (value: number) => formatValue(key.values[value] ?? '?'), describe };
  const placed = new Set(deepest.order);
  const reason = (state: KeyState, position: number): string | null =>
    whyRejected(state, piece[position]!.op, context) ?? versionOrderReason(piece, state, position, placed, describe);
  const facts: string[] = [];
  const reader = blocked.returnUs === null ? readerOf(piece, deepest.blocked) : -1;
  const afterWrite = reader === -1 ? null : step(deepest.state, blocked.op, deepest.blocked);
  if (reader !== -1) {
    facts.push(`${describe(deepest.blocked)} must have taken effect before ${label(reader)} responded (that get read the value only it writes), but cannot.`);
  } else {
    facts.push(`${describe(deepest.blocked)} cannot take effect anywhere in its interval.`);
  }
  if (afterWrite !== null) {
    // The write itself fits; what does not is the read of its value right after it.
    placed.add(deepest.blocked);
    const why = reason(afterWrite, reader);
    facts.push(
      why === null
        ? `The furthest the search got was to place it ${order}.`
        : `At the latest point it could take effect (${order}), it fits, but ${describe(reader)} cannot follow it: ${why}.`,
    );
  } else {
    const why = reason(deepest.state, deepest.blocked);
    facts.push(
      why === null
        ? `The furthest the search got was to place it ${order}.`
        : `At the latest point it could take effect (${order}), ${why}${writerCompletedBefore(piece, deepest.state, deepest.blocked)}.`,
    );
  }
  const source = valueSource(key, blocked);
  if (source !== null) facts.push(source);
  return facts.join(' ');
}

/**
 * Why the search refuses the op at `position` in `state` when the model alone accepts it: the
 * search also places writes in the order of their reported versions, and never raises the
 * version past that of a write not yet `placed`.
 */
function versionOrderReason(
  piece: readonly KeyOperation[],
  state: KeyState,
  position: number,
  placed: ReadonlySet<number>,
  describe: (position: number) => string,
): string | null {
  let lowest = -1;
  let lowestVersion = Infinity;
  piece.forEach((operation, other) => {
    const version = knownWriteVersion(operation.op);
    if (placed.has(other) || other === position || version === VERSION_UNKNOWN || version >= lowestVersion) return;
    lowest = other;
    lowestVersion = version;
  });
  if (lowest === -1) return null;
  const blocked = piece[position]!;
  const op = blocked.op;
  const own = knownWriteVersion(op);
  const pending = `${describe(lowest)}, which got version ${lowestVersion} and has not taken effect yet`;
  if (own !== VERSION_UNKNOWN && own >= lowestVersion) {
    const other = piece[lowest]!;
    const later = blocked.returnUs !== null && other.callUs > blocked.returnUs ? ` — yet it was called at ${formatMs(other.callUs)} ms, after this one completed` : '';
    return own === lowestVersion
      ? `it got version ${own}, and so did ${describe(lowest)}: two writes never share a version`
      : `it got version ${own}, but ${describe(lowest)} got the lower version ${lowestVersion}, so must take effect first${later}: versions increase along the order`;
  }
  const after = step(state, op, -1);
  if (after !== null && after.versionFloor >= lowestVersion) {
    return `it means the key's version is already ${after.versionFloor} or more, which leaves no room for ${pending}: versions increase along the order`;
  }
  return null;
}

/** For a write without a response that the search had to place by a deadline: the position of the get that set it, or -1. */
function readerOf(piece: readonly KeyOperation[], writer: number): number {
  const { op, callUs } = piece[writer]!;
  const value = writtenValue(op);
  let reader = -1;
  let readerReturnUs = Infinity;
  piece.forEach((operation, position) => {
    if (operation.op.type !== 'get-value' || operation.op.value !== value || operation.returnUs === null) return;
    if (operation.returnUs >= callUs && operation.returnUs < readerReturnUs) {
      reader = position;
      readerReturnUs = operation.returnUs;
    }
  });
  return reader;
}

function writerCompletedBefore(piece: readonly KeyOperation[], state: KeyState, blocked: number): string {
  if (state.writer === -1) return '';
  const writerReturnUs = piece[state.writer]!.returnUs;
  const { callUs } = piece[blocked]!;
  if (writerReturnUs === null || writerReturnUs >= callUs) return '';
  return ` — and that write completed at ${formatMs(writerReturnUs)} ms, before #${blocked + 1} began at ${formatMs(callUs)} ms`;
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

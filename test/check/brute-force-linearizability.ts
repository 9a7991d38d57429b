// A linearizability checker with no cleverness at all, to check the real one against on small
// histories: try every order of the operations that real time allows (an operation may go next
// if it was called before every unplaced operation with a response had responded), with every
// operation without a response free to be left out, against the same one-key model. Exponential;
// fine for the eight or so operations the differential test uses.

import { type Operation, checkOperation } from '../../src/check/kv-history.js';
import { type KeyState, type ModelOp, INITIAL_STATE, modelOpOf, step } from '../../src/check/kv-model.js';

interface Candidate {
  readonly op: ModelOp;
  readonly callUs: number;
  readonly returnUs: number | null;
}

function linearizableKey(candidates: readonly Candidate[]): boolean {
  const placed = new Array<boolean>(candidates.length).fill(false);
  const search = (state: KeyState): boolean => {
    let earliestReturnUs = Infinity;
    candidates.forEach((candidate, index) => {
      if (!placed[index] && candidate.returnUs !== null) earliestReturnUs = Math.min(earliestReturnUs, candidate.returnUs);
    });
    if (earliestReturnUs === Infinity) return true;
    return candidates.some((candidate, index) => {
      if (placed[index] || candidate.callUs > earliestReturnUs) return false;
      const after = step(state, candidate.op, index);
      if (after === null) return false;
      placed[index] = true;
      const found = search(after);
      placed[index] = false;
      return found;
    });
  };
  return search(INITIAL_STATE);
}

/** Whether every key's sub-history can be ordered. */
export function linearizableByBruteForce(history: readonly Operation[]): boolean {
  const keys = new Map<string, Candidate[]>();
  const values = new Map<string, number>();
  const valueId = (value: string): number => {
    const known = values.get(value);
    if (known !== undefined) return known;
    values.set(value, values.size);
    return values.size - 1;
  };
  history.forEach((operation, index) => {
    const op = modelOpOf(checkOperation(operation, index), valueId);
    if (op === null) return;
    const list = keys.get(operation.input.key) ?? [];
    list.push({ op, callUs: operation.callUs, returnUs: operation.returnUs });
    keys.set(operation.input.key, list);
  });
  return [...keys.values()].every(linearizableKey);
}

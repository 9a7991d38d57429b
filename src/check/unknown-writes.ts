// Writes whose response never came, sorted out before the search so that they cost it little.
// Such a write may take effect any time after its call, or never; left as it is, every one of
// them stays a candidate to the end of the history, and on a failing history the search pays for
// every subset of them. Two facts fix most of that, both exact (the search finds a linearization
// after them iff there was one before):
//
//   - A write whose value some get returned, when no other operation writes that value, must
//     have taken effect before that get responded (the get read its value, and only it wrote
//     it). So it gets a deadline — the earliest response of such a get that came after its call
//     — and becomes an operation the search must place, like one that responded.
//   - The others are grouped into kinds whose members no operation can tell apart: all unknown
//     deletes; all unknown puts of values no get returned; all unknown cas writes of such values
//     expecting the same version. In any linearization, members of one kind can swap places
//     without any other operation noticing, so the search only ever places the earliest called
//     member not yet placed — one candidate per kind instead of one per write.

import { type ModelOp, writtenValue } from './kv-model.js';
import type { SearchOp } from './linearizability-search.js';

export interface UnknownWritesPlan {
  /** Per op: the time by which it must be placed (its response, or a deadline), or null if it may be left out. */
  readonly mustPlaceByUs: readonly (number | null)[];
  /** The kinds of writes that may be left out, each's members in call order. */
  readonly kinds: readonly (readonly number[])[];
  /** Per op: its kind's index, or -1 for an op that must be placed. */
  readonly kindOf: Int32Array;
}

function kindKey(op: ModelOp, valueRead: boolean, position: number): string {
  if (op.type === 'delete-unknown') return 'delete';
  if (valueRead) return `own ${position}`;
  if (op.type === 'put-unknown') return 'put';
  if (op.type === 'cas-unknown') return `cas ${op.expectedVersion}`;
  return `own ${position}`;
}

export function planUnknownWrites(ops: readonly SearchOp[]): UnknownWritesPlan {
  const writers = new Map<number, number>();
  const readsUs = new Map<number, number[]>();
  for (const { op, returnUs } of ops) {
    const value = writtenValue(op);
    if (value !== null) writers.set(value, (writers.get(value) ?? 0) + 1);
    if (op.type !== 'get-value' || returnUs === null) continue;
    const reads = readsUs.get(op.value);
    if (reads === undefined) readsUs.set(op.value, [returnUs]);
    else reads.push(returnUs);
  }
  const mustPlaceByUs: (number | null)[] = [];
  const kindIndex = new Map<string, number>();
  const kinds: number[][] = [];
  const kindOf = new Int32Array(ops.length).fill(-1);
  ops.forEach(({ op, callUs, returnUs }, position) => {
    if (returnUs !== null) {
      mustPlaceByUs.push(returnUs);
      return;
    }
    const value = writtenValue(op);
    const reads = value === null ? undefined : readsUs.get(value);
    if (reads !== undefined && writers.get(value!) === 1) {
      // A get that responded before this write was called read a value not yet written: the
      // deadline then falls before the call, and the search reports it.
      const after = reads.filter((readUs) => readUs >= callUs);
      mustPlaceByUs.push(after.length > 0 ? Math.min(...after) : Math.min(...reads));
      return;
    }
    mustPlaceByUs.push(null);
    const key = kindKey(op, reads !== undefined, position);
    let kind = kindIndex.get(key);
    if (kind === undefined) {
      kind = kinds.length;
      kindIndex.set(key, kind);
      kinds.push([]);
    }
    kinds[kind]!.push(position);
    kindOf[position] = kind;
  });
  for (const members of kinds) members.sort((a, b) => ops[a]!.callUs - ops[b]!.callUs || a - b);
  return { mustPlaceByUs, kinds, kindOf };
}

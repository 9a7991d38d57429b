// The search for a linearization of one key's operations: Wing & Gong's backtracking search with
// Lowe's memoisation, the shape Porcupine gives it.
//
// Every operation that must be placed (it responded, or unknown-writes.ts gave it a deadline)
// becomes a call event and a return event, sorted by time (calls before returns at equal times,
// so touching intervals count as concurrent), in a doubly linked list. Walking it from the head,
// a call is a candidate to linearize next: if the model accepts it, the op is "lifted" out of the
// list (both events) and the walk restarts at the head. Reaching a return means its op had to be
// linearized by now and was not: undo the latest choice ("unlift" — its events go back where they
// were, dancing-links style) and try the next candidate after it. The list empty means every op
// found its place.
//
// Lowe's cache (visited-states.ts) remembers every (set of linearized ops, model state) reached;
// reaching one again means the rest of the search from there already failed, so that branch is
// cut. The set is a bitset, hashed with Zobrist keys (one random word per op, XORed in and out as
// ops are lifted and unlifted), so the hash costs O(1) per step.
//
// Writes without a response that may be left out have no return event: they come in kinds of
// interchangeable members (unknown-writes.ts), and a kind's earliest unplaced member is a
// candidate once called (no later than the first return left). Beyond Porcupine:
//   - A write W without a response is placed only right before an op X that needs it: one that
//     the state before W would refuse (a get of W's value, a cas expecting W's version, a delete
//     needing the key W created …), or a cas mismatch (which may fix W's unknown version). Any
//     linearization can be brought to that form: if X would also be legal without W, X is a read
//     of the same value, which leaves the same state either way, or a write, which leaves the same
//     state or a looser one (a lower version floor) — so W can be dropped if it is optional; and
//     if it has a deadline, its value is read later, which X, a write, would have hidden. The same
//     holds for a run of such writes and the op after it, against the state before the run. W is
//     not even tried unless something before the first return could follow it (through more such
//     writes, if need be). A node whose next op is constrained this way is not cached (its failure
//     says nothing about the same node unconstrained).
//   - Each node tries the ops that responded first, then the writes without a response, and
//     before a node is cached it is looked up with each placed optional write left out: if that
//     node was explored (and so failed) with the same state, this one fails too — the write could
//     have stayed out.
//   - Writes that reported their version are placed in version order, and a state whose version
//     floor has reached the next reported version is abandoned at once (that write could never
//     be placed after it). This is the model's rule, applied before it is too late to matter;
//     it cuts most wrong placements of writes without a response (no room for them) at once.
//   - A read that leaves the state exactly as it was (the common case) is committed without
//     branching: if the search fails after placing it at the first point it fits, it would also
//     fail without it there (moving such a read earlier keeps any linearization legal: it
//     changes no state and its call has already happened), so its failure is propagated up at
//     once. Without this, k concurrent reads of one value cost 2^k cache entries on a failing
//     history.
//
// Every walk step counts; the search gives up after `stepsMax`, so it never hangs.

import { type KeyState, type ModelOp, INITIAL_STATE, VERSION_UNKNOWN, hashState, isRead, isUnknownOutcome, knownWriteVersion, sameState, step } from './kv-model.js';
import { planUnknownWrites } from './unknown-writes.js';
import { VisitedStates } from './visited-states.js';

export interface SearchOp {
  readonly op: ModelOp;
  readonly callUs: number;
  /** null: no response — the op may take effect any time after its call, or never (unknown-outcome model ops only). */
  readonly returnUs: number | null;
}

/** The furthest the search got: the op whose return it could not pass, what it had placed, and the state there. */
export interface DeepestPoint {
  readonly blocked: number;
  readonly order: readonly number[];
  readonly state: KeyState;
}

export type SearchOutcome =
  | { readonly verdict: 'linearizable'; readonly steps: number; readonly cacheEntries: number }
  /** `deepest` only when asked for. */
  | { readonly verdict: 'not-linearizable'; readonly steps: number; readonly deepest: DeepestPoint | null }
  /** `exhausted`: which bound stopped it — `stepsMax`, or the cache's memory (CACHE_BYTES_MAX). */
  | { readonly verdict: 'budget-exhausted'; readonly exhausted: 'steps' | 'memory'; readonly steps: number; readonly cacheEntries: number };

/** The most memory the cache of one search may take: a key with very many operations exhausts this before its steps. */
export const CACHE_BYTES_MAX = 256 * 1024 * 1024;

const NONE = -1;
/** What backtrack answers when no choice is left to undo. */
const EXHAUSTED = -2;

/** splitmix32 of the op index: fixed Zobrist keys, so runs are deterministic. */
function zobristKey(index: number): number {
  let z = Math.imul(index + 1, 0x9e3779b9);
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return z ^ (z >>> 15);
}

/**
 * Searches for a linearization of `ops` (one key's operations). `recordDeepest` keeps the
 * furthest point reached, for explaining a failure; it costs a copy of the order each time the
 * search goes deeper, so leave it off when only the verdict matters.
 */
export function searchLinearization(ops: readonly SearchOp[], stepsMax: number, recordDeepest: boolean): SearchOutcome {
  const count = ops.length;
  const model = ops.map((entry) => entry.op);
  const { mustPlaceByUs, kinds, kindOf } = planUnknownWrites(ops);
  const optional = Uint8Array.from(mustPlaceByUs, (byUs) => (byUs === null ? 1 : 0));
  // Writes without a response: optional ones, and those with a deadline.
  const unknown = Uint8Array.from(model, (op) => (isUnknownOutcome(op) ? 1 : 0));
  const callUs = Float64Array.from(ops, (entry) => entry.callUs);
  const returnUs = Float64Array.from(mustPlaceByUs, (byUs) => byUs ?? Infinity);

  // Node ids: op i's call is 2i, its return 2i + 1; the head is 2n. Only ops that must be placed
  // are in the list.
  const head = count * 2;
  const next = new Int32Array(count * 2 + 1);
  const previous = new Int32Array(count * 2 + 1);
  const time = (node: number): number => ((node & 1) === 0 ? callUs[node >> 1]! : returnUs[node >> 1]!);
  const events = ops.flatMap((_, op) => (optional[op] === 1 ? [] : [op * 2, op * 2 + 1]));
  events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
  let last = head;
  for (const node of events) {
    next[last] = node;
    previous[node] = last;
    last = node;
  }
  next[last] = NONE;
  // Of each kind of optional write, `placedOfKind[k]` members (the earliest called) are placed.
  const placedOfKind = new Int32Array(kinds.length);
  const candidateOfKind = (kind: number): number => kinds[kind]![placedOfKind[kind]!] ?? NONE;

  const read = Uint8Array.from(model, (op) => (isRead(op) ? 1 : 0));
  const writeVersion = Float64Array.from(model, knownWriteVersion);
  // The reported write versions in increasing order, then +∞: such writes are placed in exactly
  // this order, and `knownPlaced` of them are placed.
  const knownVersions = Float64Array.from([...writeVersion.filter((version) => version !== VERSION_UNKNOWN).sort((a, b) => a - b), Infinity]);
  let knownPlaced = 0;
  const zobrist = Int32Array.from({ length: count }, (_, index) => zobristKey(index));
  const words = Math.max(1, Math.ceil(count / 32));
  const linearized = new Uint32Array(words);
  const visited = new VisitedStates(words);

  // The choices made, as a stack: which op, the state before it, whether it was committed
  // without branching (a state-preserving read), and for an optional write the return that
  // bounded the candidates when it was placed.
  const frameOp = new Int32Array(count);
  const frameState: KeyState[] = [];
  const frameCommitted = new Uint8Array(count);
  const frameBlocking = new Int32Array(count);
  const frameBlockStart: KeyState[] = [];
  const placedOptional: number[] = [];
  let depth = 0;
  let state = INITIAL_STATE;
  let linearizedHash = 0;
  let steps = 0;
  let deepest: DeepestPoint | null = null;
  // Walking the ops that responded in the list (`node`); then, after reaching the return of
  // `blocking`, the writes without a response: those with a deadline in the list (`node` again),
  // then the kinds of optional ones (`kind`).
  let phase: 'responded' | 'deadline' | 'kinds' = 'responded';
  let blocking = NONE;
  let kind = 0;

  const unlink = (event: number): void => {
    next[previous[event]!] = next[event]!;
    if (next[event] !== NONE) previous[next[event]!] = previous[event]!;
  };
  const relink = (event: number): void => {
    next[previous[event]!] = event;
    if (next[event] !== NONE) previous[next[event]!] = event;
  };
  const lift = (op: number): void => {
    if (optional[op] === 1) {
      placedOfKind[kindOf[op]!]!++;
      return;
    }
    unlink(op * 2);
    unlink(op * 2 + 1);
  };
  const unlift = (op: number): void => {
    if (optional[op] === 1) {
      placedOfKind[kindOf[op]!]!--;
      return;
    }
    relink(op * 2 + 1);
    relink(op * 2);
  };
  const toggle = (op: number): void => {
    linearized[op >> 5] = linearized[op >> 5]! ^ (1 << (op & 31));
    linearizedHash ^= zobrist[op]!;
  };
  const cacheHash = (after: KeyState): number => (linearizedHash ^ Math.imul(hashState(after), 0x27d4eb2f)) | 0;
  /** Whether (linearized, after) was explored already with one of the placed optional writes left out. */
  const dominated = (after: KeyState): boolean => {
    for (const placed of placedOptional) {
      toggle(placed);
      const seen = visited.has(linearized, cacheHash(after), after);
      toggle(placed);
      if (seen) return true;
    }
    return false;
  };

  /**
   * The state after `op` in `from`, or null if the model refuses it, or it is a write out of
   * version order, or it leaves no room for the next reported version. (Unknown writes never
   * change `knownPlaced`, so it holds for a state one of them led to as well.)
   */
  const accepted = (from: KeyState, op: number): KeyState | null => {
    const version = writeVersion[op]!;
    if (version !== VERSION_UNKNOWN && version !== knownVersions[knownPlaced]) return null;
    const after = step(from, model[op]!, op);
    if (after === null || after.versionFloor >= knownVersions[version === VERSION_UNKNOWN ? knownPlaced : knownPlaced + 1]!) return null;
    return after;
  };
  /** The state before the run of unknown writes that ends the current order, if it ends with one. */
  const blockStart = (): KeyState | null => (depth > 0 && unknown[frameOp[depth - 1]!] === 1 ? frameBlockStart[depth - 1]! : null);
  // Entering the writes without a response at a node: the ops that could need one of them placed
  // now — the ops before `blocking`'s return that the state before this run of unknown writes
  // refuses (or cas mismatches, which may fix an unknown version), and the unknown writes the
  // state refuses (which another may enable).
  const needers: number[] = [];
  const chained: number[] = [];
  const gatherNeeders = (): void => {
    needers.length = 0;
    chained.length = 0;
    const before = blockStart() ?? state;
    for (let call = next[head]!; call !== NONE && (call & 1) === 0; call = next[call]!) {
      const op = call >> 1;
      steps++;
      if (unknown[op] === 1) {
        if (step(state, model[op]!, op) === null) chained.push(op);
      } else if (model[op]!.type === 'cas-mismatch' || step(before, model[op]!, op) === null) {
        needers.push(op);
      }
    }
    for (let candidateKind = 0; candidateKind < kinds.length; candidateKind++) {
      const op = candidateOfKind(candidateKind);
      steps++;
      if (op !== NONE && callUs[op]! <= returnUs[blocking]! && step(state, model[op]!, op) === null) chained.push(op);
    }
  };
  /**
   * Whether, after `write` (leading to `after`), some needer can follow — directly or after more
   * of the chained unknown writes (each used once; every try counts as a step).
   */
  const chainUsed = new Uint8Array(count);
  const needed = (write: number, after: KeyState): boolean => {
    steps++;
    for (const op of needers) if (accepted(after, op) !== null) return true;
    chainUsed[write] = 1;
    let found = false;
    for (const op of chained) {
      if (chainUsed[op] === 1) continue;
      const further = accepted(after, op);
      if (further !== null && needed(op, further)) {
        found = true;
        break;
      }
    }
    chainUsed[write] = 0;
    return found;
  };

  const push = (op: number, after: KeyState, committed: boolean): void => {
    toggle(op);
    frameOp[depth] = op;
    frameState[depth] = state;
    frameCommitted[depth] = committed ? 1 : 0;
    frameBlocking[depth] = blocking;
    if (unknown[op] === 1) frameBlockStart[depth] = blockStart() ?? state;
    depth++;
    if (writeVersion[op] !== VERSION_UNKNOWN) knownPlaced++;
    if (optional[op] === 1) placedOptional.push(op);
    state = after;
    lift(op);
    phase = 'responded';
  };
  /**
   * Undoes choices until one that may be followed by another candidate, and sets the walk there
   * (the node after it, or the kind after its kind); false when no choice is left.
   */
  let node = next[head]!;
  const backtrack = (): boolean => {
    while (depth > 0) {
      depth--;
      const op = frameOp[depth]!;
      state = frameState[depth]!;
      toggle(op);
      unlift(op);
      if (writeVersion[op] !== VERSION_UNKNOWN) knownPlaced--;
      if (optional[op] === 1) placedOptional.pop();
      if (frameCommitted[depth] === 0) {
        blocking = frameBlocking[depth]!;
        if (optional[op] === 1) {
          phase = 'kinds';
          kind = kindOf[op]! + 1;
        } else {
          phase = unknown[op] === 1 ? 'deadline' : 'responded';
          node = next[op * 2]!;
        }
        if (phase !== 'responded') gatherNeeders();
        return true;
      }
    }
    return false;
  };

  for (;;) {
    if (++steps > stepsMax) return { verdict: 'budget-exhausted', exhausted: 'steps', steps, cacheEntries: visited.size };
    if (visited.bytes > CACHE_BYTES_MAX) return { verdict: 'budget-exhausted', exhausted: 'memory', steps, cacheEntries: visited.size };
    let op: number;
    if (phase === 'responded') {
      // The list ends with a return, so it runs out only when it is empty: everything is placed.
      if (node === NONE) return { verdict: 'linearizable', steps, cacheEntries: visited.size };
      if ((node & 1) === 1) {
        phase = 'deadline';
        blocking = node >> 1;
        node = next[head]!;
        gatherNeeders();
        continue;
      }
      op = node >> 1;
      node = next[node]!;
      if (unknown[op] === 1) continue;
    } else if (phase === 'deadline') {
      if ((node & 1) === 1) {
        phase = 'kinds';
        kind = 0;
        continue;
      }
      op = node >> 1;
      node = next[node]!;
      if (unknown[op] === 0) continue;
    } else {
      if (kind === kinds.length) {
        // No candidate left before the return of `blocking`, which had to be placed by then.
        if (recordDeepest && (deepest === null || depth > deepest.order.length)) {
          deepest = { blocked: blocking, order: Array.from(frameOp.subarray(0, depth)), state };
        }
        if (!backtrack()) return { verdict: 'not-linearizable', steps, deepest };
        continue;
      }
      op = candidateOfKind(kind);
      kind++;
      if (op === NONE || callUs[op]! > returnUs[blocking]!) continue;
    }

    const after = accepted(state, op);
    if (after === null) continue;
    // The unknown write(s) just placed would not be needed by this op: see the header.
    if (depth > 0 && unknown[frameOp[depth - 1]!] === 1 && model[op]!.type !== 'cas-mismatch') {
      if (step(frameState[depth - 1]!, model[op]!, op) !== null) continue;
      if (unknown[op] === 0 && step(frameBlockStart[depth - 1]!, model[op]!, op) !== null) continue;
    }
    if (unknown[op] === 1) {
      if (needed(op, after)) {
        push(op, after, false);
        node = next[head]!;
      }
      continue;
    }
    const committed = read[op] === 1 && sameState(after, state);
    toggle(op);
    const fresh = !dominated(after) && visited.addIfAbsent(linearized, cacheHash(after), after);
    toggle(op);
    if (fresh) {
      push(op, after, committed);
      node = next[head]!;
    } else if (committed) {
      // Placing this read here was already tried and failed, so every branch from here fails.
      if (!backtrack()) return { verdict: 'not-linearizable', steps, deepest };
    }
  }
}

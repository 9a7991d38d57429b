// The search for a linearization of one key's operations: Wing & Gong's backtracking search with
// Lowe's memoisation, the shape Porcupine gives it.
//
// Every operation that responded becomes a call event and a return event, sorted by time (calls
// before returns at equal times, so touching intervals count as concurrent), in a doubly linked
// list. Walking it from the head, a call is a candidate to linearize next: if the model accepts
// it, the op is "lifted" out of the list (both events) and the walk restarts at the head. Reaching
// a return means its op had to be linearized by now and was not: undo the latest choice
// ("unlift" — its events go back where they were, dancing-links style) and try the next candidate
// after it. The list empty means every op found its place.
//
// Lowe's cache remembers every (set of linearized ops, model state) reached; reaching one again
// means the rest of the search from there already failed, so that branch is cut. The set is a
// bitset, hashed with Zobrist keys (one random word per op, XORed in and out as ops are lifted and
// unlifted), so the hash costs O(1) per step.
//
// Operations without a response may take effect any time after their call, or never, so they
// have no return event: they wait in a second list, by call time, and are candidates once called
// (their call no later than the first return left). Beyond Porcupine:
//   - Such a write W is placed only right before an op X that needs it: one that the state before
//     W would refuse (a get of W's value, a cas expecting W's version, a delete needing the key W
//     created …), or a cas mismatch (which may fix W's unknown version). Any linearization can be
//     brought to that form: if X would also be legal without W, X is a read of the same value,
//     which leaves the same state either way, or a write, which leaves the same state or a looser
//     one (a lower version floor) — so W can be dropped, and the argument repeated. Without this,
//     each lost response doubles the search on a failing history (every subset of the pending
//     writes is a different set of linearized ops). A node whose next op is constrained this way
//     is not cached (its failure says nothing about the same node unconstrained).
//   - Each node tries the ops that responded first and those writes after, and before a node is
//     cached it is looked up with each placed write without a response left out: if that node was
//     explored (and so failed) with the same state, this one fails too — the write could have
//     stayed out.
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

import { type KeyState, type ModelOp, INITIAL_STATE, VERSION_UNKNOWN, hashState, isRead, knownWriteVersion, sameState, step } from './kv-model.js';

export interface SearchOp {
  readonly op: ModelOp;
  readonly callUs: number;
  /** null: no response, and no deadline — the op may be left out (only for unknown-outcome model ops). */
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
  | { readonly verdict: 'not-linearizable'; readonly steps: number; readonly deepest: DeepestPoint | null }
  | { readonly verdict: 'budget-exhausted'; readonly steps: number; readonly cacheEntries: number };

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
 * The set of (linearized ops, state) pairs seen, in flat typed arrays: entry i's bitset is
 * `bits[i * words … (i + 1) * words)`, and entries with the same hash are chained through
 * `chain`. A few bytes per op per entry, instead of an object and a bitset copy each.
 */
class VisitedSet {
  private readonly heads = new Map<number, number>();
  private chain = new Int32Array(256);
  private values = new Int32Array(256);
  private versions = new Float64Array(256);
  private versionFloors = new Float64Array(256);
  private bits: Uint32Array;
  size = 0;

  constructor(private readonly words: number) {
    this.bits = new Uint32Array(256 * words);
  }

  has(linearized: Uint32Array, hash: number, state: KeyState): boolean {
    const words = this.words;
    for (let entry = this.heads.get(hash) ?? NONE; entry !== NONE; entry = this.chain[entry]!) {
      if (this.values[entry] !== state.value || this.versions[entry] !== state.version || this.versionFloors[entry] !== state.versionFloor) continue;
      const base = entry * words;
      let word = 0;
      while (word < words && this.bits[base + word] === linearized[word]) word++;
      if (word === words) return true;
    }
    return false;
  }

  /** Adds the pair; false if it was already there. */
  addIfAbsent(linearized: Uint32Array, hash: number, state: KeyState): boolean {
    if (this.has(linearized, hash, state)) return false;
    const head = this.heads.get(hash) ?? NONE;
    if (this.size === this.chain.length) this.grow();
    const entry = this.size++;
    this.chain[entry] = head;
    this.values[entry] = state.value;
    this.versions[entry] = state.version;
    this.versionFloors[entry] = state.versionFloor;
    this.bits.set(linearized, entry * this.words);
    this.heads.set(hash, entry);
    return true;
  }

  private grow(): void {
    const capacity = this.chain.length * 2;
    const grown = <T extends Int32Array | Float64Array | Uint32Array>(array: T, make: (length: number) => T, length: number): T => {
      const copy = make(length);
      copy.set(array);
      return copy;
    };
    this.chain = grown(this.chain, (length) => new Int32Array(length), capacity);
    this.values = grown(this.values, (length) => new Int32Array(length), capacity);
    this.versions = grown(this.versions, (length) => new Float64Array(length), capacity);
    this.versionFloors = grown(this.versionFloors, (length) => new Float64Array(length), capacity);
    this.bits = grown(this.bits, (length) => new Uint32Array(length), capacity * this.words);
  }
}

/**
 * Searches for a linearization of `ops` (one key's operations). `recordDeepest` keeps the
 * furthest point reached, for explaining a failure; it costs a copy of the order each time the
 * search goes deeper, so leave it off when only the verdict matters.
 */
export function searchLinearization(ops: readonly SearchOp[], stepsMax: number, recordDeepest: boolean): SearchOutcome {
  const count = ops.length;
  // Node ids: op i's call is 2i, its return 2i + 1; then the heads of the two lists.
  const head = count * 2;
  const unknownHead = count * 2 + 1;
  const next = new Int32Array(count * 2 + 2);
  const previous = new Int32Array(count * 2 + 2);
  const callUs = Float64Array.from(ops, (entry) => entry.callUs);
  const returnUs = Float64Array.from(ops, (entry) => entry.returnUs ?? Infinity);
  const optional = Uint8Array.from(ops, (entry) => (entry.returnUs === null ? 1 : 0));
  const link = (listHead: number, nodes: number[]): void => {
    let last = listHead;
    for (const node of nodes) {
      next[last] = node;
      previous[node] = last;
      last = node;
    }
    next[last] = NONE;
  };
  const time = (node: number): number => ((node & 1) === 0 ? callUs[node >> 1]! : returnUs[node >> 1]!);
  const byTime = (a: number, b: number): number => time(a) - time(b) || (a & 1) - (b & 1) || a - b;
  const indexes = ops.map((_, index) => index);
  link(head, indexes.filter((op) => optional[op] === 0).flatMap((op) => [op * 2, op * 2 + 1]).sort(byTime));
  link(unknownHead, indexes.filter((op) => optional[op] === 1).map((op) => op * 2).sort(byTime));

  const model = ops.map((entry) => entry.op);
  const read = Uint8Array.from(model, (op) => (isRead(op) ? 1 : 0));
  const writeVersion = Float64Array.from(model, knownWriteVersion);
  // The reported write versions in increasing order, then +∞: such writes are placed in exactly
  // this order, and `knownPlaced` of them are placed.
  const knownVersions = Float64Array.from([...writeVersion.filter((version) => version !== VERSION_UNKNOWN).sort((a, b) => a - b), Infinity]);
  let knownPlaced = 0;
  const zobrist = Int32Array.from({ length: count }, (_, index) => zobristKey(index));
  const words = Math.max(1, Math.ceil(count / 32));
  const linearized = new Uint32Array(words);
  const visited = new VisitedSet(words);

  // The choices made, as a stack: which op, the state before it, whether it was committed
  // without branching (a state-preserving read), and for a write without a response the return
  // that bounded the candidates when it was placed.
  const frameOp = new Int32Array(count);
  const frameState: KeyState[] = [];
  const frameCommitted = new Uint8Array(count);
  const frameBlocking = new Int32Array(count);
  const placedUnknown: number[] = [];
  let depth = 0;
  let state = INITIAL_STATE;
  let linearizedHash = 0;
  let steps = 0;
  let deepest: DeepestPoint | null = null;
  // Walking the responded ops' list, or (after reaching the return `blocking`) the unknown ones.
  let phase: 'responded' | 'unknown' = 'responded';
  let blocking = NONE;

  const unlink = (node: number): void => {
    next[previous[node]!] = next[node]!;
    if (next[node] !== NONE) previous[next[node]!] = previous[node]!;
  };
  const relink = (node: number): void => {
    next[previous[node]!] = node;
    if (next[node] !== NONE) previous[next[node]!] = node;
  };
  const lift = (op: number): void => {
    unlink(op * 2);
    if (optional[op] === 0) unlink(op * 2 + 1);
  };
  const unlift = (op: number): void => {
    if (optional[op] === 0) relink(op * 2 + 1);
    relink(op * 2);
  };
  const toggle = (op: number): void => {
    linearized[op >> 5] = linearized[op >> 5]! ^ (1 << (op & 31));
    linearizedHash ^= zobrist[op]!;
  };
  const cacheHash = (after: KeyState): number => (linearizedHash ^ Math.imul(hashState(after), 0x27d4eb2f)) | 0;
  /** Whether (linearized, after) was explored already with one of the placed unknown writes left out. */
  const dominated = (after: KeyState): boolean => {
    for (const placed of placedUnknown) {
      toggle(placed);
      const seen = visited.has(linearized, cacheHash(after), after);
      toggle(placed);
      if (seen) return true;
    }
    return false;
  };
  const push = (op: number, after: KeyState, committed: boolean): void => {
    frameOp[depth] = op;
    frameState[depth] = state;
    frameCommitted[depth] = committed ? 1 : 0;
    frameBlocking[depth] = blocking;
    depth++;
    if (writeVersion[op] !== VERSION_UNKNOWN) knownPlaced++;
    if (optional[op] === 1) placedUnknown.push(op);
    state = after;
    lift(op);
    phase = 'responded';
  };
  /** Undoes choices until one that may be followed by another candidate; returns the node to try next (NONE: the end of its list), or EXHAUSTED. */
  const backtrack = (): number => {
    while (depth > 0) {
      depth--;
      const op = frameOp[depth]!;
      state = frameState[depth]!;
      toggle(op);
      unlift(op);
      if (writeVersion[op] !== VERSION_UNKNOWN) knownPlaced--;
      if (optional[op] === 1) placedUnknown.pop();
      if (frameCommitted[depth] === 0) {
        phase = optional[op] === 1 ? 'unknown' : 'responded';
        blocking = frameBlocking[depth]!;
        return next[op * 2]!;
      }
    }
    return EXHAUSTED;
  };

  let node = next[head]!;
  for (;;) {
    if (++steps > stepsMax) return { verdict: 'budget-exhausted', steps, cacheEntries: visited.size };
    if (phase === 'responded') {
      // The list ends with a return, so it runs out only when it is empty: everything is placed.
      if (node === NONE) return { verdict: 'linearizable', steps, cacheEntries: visited.size };
      if ((node & 1) === 1) {
        phase = 'unknown';
        blocking = node >> 1;
        node = next[unknownHead]!;
        continue;
      }
    } else if (node === NONE || callUs[node >> 1]! > returnUs[blocking]!) {
      // No candidate left before the return of `blocking`, which had to be placed by then.
      if (recordDeepest && (deepest === null || depth > deepest.order.length)) {
        deepest = { blocked: blocking, order: Array.from(frameOp.subarray(0, depth)), state };
      }
      node = backtrack();
      if (node === EXHAUSTED) return { verdict: 'not-linearizable', steps, deepest };
      continue;
    }

    const op = node >> 1;
    const version = writeVersion[op]!;
    const after = version === VERSION_UNKNOWN || version === knownVersions[knownPlaced] ? step(state, model[op]!, op) : null;
    if (after === null || after.versionFloor >= knownVersions[version === VERSION_UNKNOWN ? knownPlaced : knownPlaced + 1]!) {
      // Refused by the model, or out of version order, or leaving no room for the next reported version.
      node = next[node]!;
      continue;
    }
    if (depth > 0 && optional[frameOp[depth - 1]!] === 1 && model[op]!.type !== 'cas-mismatch' && step(frameState[depth - 1]!, model[op]!, op) !== null) {
      // The unknown write just placed would not be needed by this op: see the header.
      node = next[node]!;
      continue;
    }
    toggle(op);
    if (optional[op] === 1) {
      push(op, after, false);
      node = next[head]!;
      continue;
    }
    const committed = read[op] === 1 && sameState(after, state);
    if (!dominated(after) && visited.addIfAbsent(linearized, cacheHash(after), after)) {
      push(op, after, committed);
      node = next[head]!;
      continue;
    }
    toggle(op);
    if (committed) {
      // Placing this read here was already tried and failed, so every branch from here fails.
      node = backtrack();
      if (node === EXHAUSTED) return { verdict: 'not-linearizable', steps, deepest };
      continue;
    }
    node = next[node]!;
  }
}

// The sequential specification of one key of the store, as the linearizability checker runs it:
// a state, and a step that says whether an operation with the answer the client saw is legal in
// that state (and what the state becomes).
//
// The subtle thing is versions: the rule (stated in linearizability.ts) is that writes take
// strictly increasing versions along the order, reads report the version of the write they
// observed, and a write whose version nobody told us still occupies a log index — at least one
// more than the previous write's — and gets its version fixed by the first read that observes
// it. The state encodes that with three fields: the current value (or absent), its version (or
// "unknown", until observed), and `versionFloor`, the least version the latest write can have
// (its exact version once known). A write with a known version must exceed the floor; one with
// an unknown version raises it by one; observing an unknown version v needs v ≥ the floor and
// then fixes both to v.
//
// Values are small integers (interned per key by the caller), so states compare and hash cheaply.

import type { CheckedOperation } from './kv-history.js';

export const ABSENT = -1;
export const VERSION_UNKNOWN = -1;

/**
 * One operation as the model sees it: its input and the answer folded into one variant. The
 * `-unknown` variants are writes whose response never came; a read without a response tells
 * nothing and has no variant (the caller drops it).
 */
export type ModelOp =
  | { readonly type: 'put'; readonly value: number; readonly version: number }
  | { readonly type: 'put-unknown'; readonly value: number }
  | { readonly type: 'get-absent' }
  | { readonly type: 'get-value'; readonly value: number; readonly version: number }
  | { readonly type: 'delete-absent' }
  /** A delete that found the key; `version` is VERSION_UNKNOWN when the response omitted it. */
  | { readonly type: 'delete'; readonly version: number }
  | { readonly type: 'delete-unknown' }
  | { readonly type: 'cas-ok'; readonly expectedVersion: number; readonly value: number; readonly version: number }
  | { readonly type: 'cas-mismatch'; readonly expectedVersion: number; readonly currentVersion: number }
  | { readonly type: 'cas-unknown'; readonly expectedVersion: number; readonly value: number };

export interface KeyState {
  /** The current value's id, or ABSENT. */
  readonly value: number;
  /** The current version as a cas compares it: 0 when absent, VERSION_UNKNOWN when not yet observed. */
  readonly version: number;
  /** The least version the latest write can have; its exact version once known; 0 before any write. */
  readonly versionFloor: number;
  /** Index (in the caller's operation list) of the latest write, -1 before any: for explanations only, not part of equality. */
  readonly writer: number;
}

/** The store starts empty. */
export const INITIAL_STATE: KeyState = { value: ABSENT, version: 0, versionFloor: 0, writer: -1 };

/** The model op for a checked operation, or null for a read whose response never came. */
export function modelOpOf(operation: CheckedOperation, valueId: (value: string) => number): ModelOp | null {
  switch (operation.type) {
    case 'put':
      return operation.output === null
        ? { type: 'put-unknown', value: valueId(operation.input.value) }
        : { type: 'put', value: valueId(operation.input.value), version: operation.output.version };
    case 'get':
      if (operation.output === null) return null;
      return operation.output.found
        ? { type: 'get-value', value: valueId(operation.output.value), version: operation.output.version }
        : { type: 'get-absent' };
    case 'delete':
      if (operation.output === null) return { type: 'delete-unknown' };
      return operation.output.deleted ? { type: 'delete', version: operation.output.version ?? VERSION_UNKNOWN } : { type: 'delete-absent' };
    case 'cas': {
      const { expectedVersion } = operation.input;
      if (operation.output === null) return { type: 'cas-unknown', expectedVersion, value: valueId(operation.input.value) };
      return operation.output.ok
        ? { type: 'cas-ok', expectedVersion, value: valueId(operation.input.value), version: operation.output.version }
        : { type: 'cas-mismatch', expectedVersion, currentVersion: operation.output.currentVersion };
    }
  }
}

/** The model op as if its response had never come: null for a read (it would be dropped). */
export function withoutResponse(op: ModelOp): ModelOp | null {
  switch (op.type) {
    case 'put':
      return { type: 'put-unknown', value: op.value };
    case 'cas-ok':
      return { type: 'cas-unknown', expectedVersion: op.expectedVersion, value: op.value };
    case 'delete':
      return { type: 'delete-unknown' };
    case 'put-unknown':
    case 'delete-unknown':
    case 'cas-unknown':
      return op;
    case 'get-absent':
    case 'get-value':
    case 'delete-absent':
    case 'cas-mismatch':
      return null;
  }
}

/** Ops whose response never came: the search may linearize them anywhere after their call, or leave them out. */
export function isUnknownOutcome(op: ModelOp): boolean {
  return op.type === 'put-unknown' || op.type === 'delete-unknown' || op.type === 'cas-unknown';
}

/**
 * Reads (a failed cas and a delete of an absent key among them): they never change the value, at
 * most they fix an unknown version, so removing one from a history only makes it easier to
 * linearize — which is why shrinking may always drop them.
 */
export function isRead(op: ModelOp): boolean {
  return op.type === 'get-absent' || op.type === 'get-value' || op.type === 'delete-absent' || op.type === 'cas-mismatch';
}

/** The value a put or a successful (or unknown) cas writes, else null. */
export function writtenValue(op: ModelOp): number | null {
  return op.type === 'put' || op.type === 'put-unknown' || op.type === 'cas-ok' || op.type === 'cas-unknown' ? op.value : null;
}

/** The version a write reports (a put, a successful cas, a delete that says it), else VERSION_UNKNOWN. */
export function knownWriteVersion(op: ModelOp): number {
  return op.type === 'put' || op.type === 'cas-ok' || op.type === 'delete' ? op.version : VERSION_UNKNOWN;
}

/** `state` with the current (unknown) version fixed to `version`, or null if the versioning rule forbids it. */
function observeVersion(state: KeyState, version: number): KeyState | null {
  if (state.version !== VERSION_UNKNOWN) return state.version === version ? state : null;
  if (version < state.versionFloor) return null;
  return { value: state.value, version, versionFloor: version, writer: state.writer };
}

/** A write with a known version: it must exceed every version before it. */
function write(state: KeyState, value: number, version: number, writer: number): KeyState | null {
  if (version <= state.versionFloor) return null;
  return { value, version: value === ABSENT ? 0 : version, versionFloor: version, writer };
}

/** A write with an unknown version: it takes at least the next log index. */
function writeUnknownVersion(state: KeyState, value: number, writer: number): KeyState {
  return { value, version: value === ABSENT ? 0 : VERSION_UNKNOWN, versionFloor: state.versionFloor + 1, writer };
}

/**
 * The state after `op` (the operation at index `index` of the caller's list) in `state`, or
 * null if the model cannot produce the answer the client saw. For an op without a response,
 * null also when the op could only be a no-op here (a cas that would fail, a delete of an absent
 * key): linearizing it there is the same as leaving it out, which the search already does.
 */
export function step(state: KeyState, op: ModelOp, index: number): KeyState | null {
  switch (op.type) {
    case 'put':
      return write(state, op.value, op.version, index);
    case 'put-unknown':
      return writeUnknownVersion(state, op.value, index);
    case 'get-absent':
    case 'delete-absent':
      return state.value === ABSENT ? state : null;
    case 'get-value':
      return state.value === op.value ? observeVersion(state, op.version) : null;
    case 'delete':
      if (state.value === ABSENT) return null;
      return op.version === VERSION_UNKNOWN ? writeUnknownVersion(state, ABSENT, index) : write(state, ABSENT, op.version, index);
    case 'delete-unknown':
      return state.value === ABSENT ? null : writeUnknownVersion(state, ABSENT, index);
    case 'cas-ok': {
      const matched = matchVersion(state, op.expectedVersion);
      return matched === null ? null : write(matched, op.value, op.version, index);
    }
    case 'cas-mismatch': {
      if (op.currentVersion === op.expectedVersion) return null;
      if (state.value === ABSENT) return op.currentVersion === 0 ? state : null;
      return op.currentVersion === 0 ? null : observeVersion(state, op.currentVersion);
    }
    case 'cas-unknown': {
      const matched = matchVersion(state, op.expectedVersion);
      return matched === null ? null : writeUnknownVersion(matched, op.value, index);
    }
  }
}

/** The state if a cas expecting `expectedVersion` would succeed in it (fixing an unknown version), else null. */
function matchVersion(state: KeyState, expectedVersion: number): KeyState | null {
  if (state.value === ABSENT) return expectedVersion === 0 ? state : null;
  return expectedVersion === 0 ? null : observeVersion(state, expectedVersion);
}

export function sameState(a: KeyState, b: KeyState): boolean {
  return a.value === b.value && a.version === b.version && a.versionFloor === b.versionFloor;
}

/** A 32-bit hash of the parts sameState compares. Versions are safe integers: both halves count. */
export function hashState(state: KeyState): number {
  let hash = Math.imul(state.value ^ 0x5bd1e995, 0x9e3779b1);
  hash = Math.imul(hash ^ (state.version | 0) ^ ((state.version / 4294967296) | 0), 0x85ebca6b);
  hash = Math.imul(hash ^ (state.versionFloor | 0) ^ ((state.versionFloor / 4294967296) | 0), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

// ---------------------------------------------------------------------------------------------
// Explaining a rejection in words, for failure reports (never on the search's hot path).

export interface ExplainContext {
  /** The value text for a value id. */
  readonly valueText: (value: number) => string;
  /** A description of the operation at a caller index (the writer of a state). */
  readonly describe: (index: number) => string;
}

function holding(state: KeyState, context: ExplainContext): string {
  if (state.writer === -1) return 'the key does not exist yet (no write has taken effect)';
  const writer = context.describe(state.writer);
  if (state.value === ABSENT) return `the key does not exist: ${writer} deleted it`;
  const version = state.version === VERSION_UNKNOWN ? `an unobserved version ≥ ${state.versionFloor}` : `version ${state.version}`;
  return `the key holds ${context.valueText(state.value)} (${version}), written by ${writer}`;
}

function previousWrite(state: KeyState, context: ExplainContext): string {
  if (state.writer === -1) return 'no earlier write';
  const version = state.version === VERSION_UNKNOWN || state.value === ABSENT ? `a version of at least ${state.versionFloor}` : `version ${state.version}`;
  return `the previous write, ${context.describe(state.writer)}, has ${version}`;
}

/** Why `step(state, op)` refuses, in words; null if it does not. */
export function whyRejected(state: KeyState, op: ModelOp, context: ExplainContext): string | null {
  if (step(state, op, -1) !== null) return null;
  switch (op.type) {
    case 'put':
    case 'cas-ok':
    case 'delete': {
      if (op.type === 'delete' && state.value === ABSENT) return `it reports deleting the key, but ${holding(state, context)}`;
      if (op.type === 'cas-ok' && matchVersion(state, op.expectedVersion) === null) {
        return `it succeeded expecting version ${op.expectedVersion}, but ${holding(state, context)}`;
      }
      return `it got version ${op.version}, but ${previousWrite(state, context)}: versions must increase along the order`;
    }
    case 'get-absent':
    case 'delete-absent':
      return `it found no key, but ${holding(state, context)}`;
    case 'get-value':
      if (state.value !== op.value) return `it returned ${context.valueText(op.value)} (version ${op.version}), but ${holding(state, context)}`;
      return `it returned version ${op.version}, but ${holding(state, context)}`;
    case 'cas-mismatch':
      if (op.currentVersion === op.expectedVersion) return `it failed although the version it reports (${op.currentVersion}) is the one it expected`;
      return `it reports current version ${op.currentVersion}, but ${holding(state, context)}`;
    case 'cas-unknown':
      return `it expects version ${op.expectedVersion}, but ${holding(state, context)}`;
    case 'delete-unknown':
      return `it would find no key to delete: ${holding(state, context)}`;
    case 'put-unknown':
      return null;
  }
}

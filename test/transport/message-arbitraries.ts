// fast-check generators of *valid* Raft messages (every member of the Message union), and the
// helpers the transport tests share. Entry data are drawn as (size, kind, seed) and filled by a
// seeded PRNG: generating kilobytes byte by byte through fast-check would dominate the run time,
// and the kind (random / text / zeros) is what decides whether compression helps.

import fc from 'fast-check';
import type { Entry, Message, MessageType } from '../../src/raft/types.js';
import { createPrng } from '../../src/random/prng.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** Small values most of the time (where off-by-one bugs live), the whole safe range sometimes. */
export const countArbitrary = fc.oneof({ arbitrary: fc.nat(20), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: MAX }), weight: 1 });
export const nodeIdArbitrary = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 7 }), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: MAX }), weight: 1 });

export type DataKind = 'random' | 'text' | 'zeros';
const TEXT = 'leader follower commit term index snapshot entry quorum election heartbeat ';

export function fillData(size: number, kind: DataKind, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  if (kind === 'text') {
    for (let i = 0; i < size; i++) bytes[i] = TEXT.charCodeAt((i + seed) % TEXT.length);
  } else if (kind === 'random') {
    const prng = createPrng(seed);
    for (let i = 0; i < size; i += 4) {
      const word = prng.nextUint32();
      for (let j = 0; j < 4 && i + j < size; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
    }
  }
  return bytes;
}

interface Base {
  from: number;
  to: number;
  term: number;
}
const baseArbitrary: fc.Arbitrary<Base> = fc.record({ from: nodeIdArbitrary, to: nodeIdArbitrary, term: countArbitrary });

/** A log position (index, term) valid under message term `term`: term ≤ message term, 0 when the index is 0. */
function logPosition(term: number, index: number, termBelow: number): { index: number; term: number } {
  return index === 0 ? { index: 0, term: 0 } : { index, term: Math.max(0, term - termBelow) };
}

export interface EntriesShape {
  readonly countMax: number;
  readonly dataBytesMax: number;
  readonly kinds?: readonly DataKind[];
}

export function appendEntriesArbitrary(shape: EntriesShape): fc.Arbitrary<Message> {
  const entryArbitrary = fc.record({
    // Mostly the same term as the entry before, sometimes a step up: runs of varied length.
    termStep: fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 }),
    size: fc.oneof(fc.nat(16), fc.nat(shape.dataBytesMax)),
    kind: fc.constantFrom<DataKind>(...(shape.kinds ?? ['random', 'text', 'zeros'])),
    seed: fc.nat(),
  });
  return fc
    .record({
      base: baseArbitrary,
      prevLogIndex: fc.oneof(fc.nat(50), fc.integer({ min: 0, max: MAX - shape.countMax - 1 })),
      prevTermBelow: fc.oneof(fc.nat(3), fc.nat()),
      commit: countArbitrary,
      // fast-check's default size keeps arrays to about 10 elements; 'max' spreads lengths over the whole range.
      entries: fc.oneof(fc.array(entryArbitrary, { maxLength: shape.countMax }), fc.array(entryArbitrary, { maxLength: shape.countMax, size: 'max' })),
    })
    .map(({ base, prevLogIndex, prevTermBelow, commit, entries }): Message => {
      const previous = logPosition(base.term, prevLogIndex, prevTermBelow);
      let term = previous.term;
      const built: Entry[] = entries.map((entry, position) => {
        term = Math.min(base.term, term + entry.termStep);
        return { term, index: previous.index + 1 + position, data: fillData(entry.size, entry.kind, entry.seed) };
      });
      return { type: 'AppendEntries', ...base, prevLogIndex: previous.index, prevLogTerm: previous.term, entries: built, commit };
    });
}

/** One generator per message type, so a test can cover each by name. */
export const MESSAGE_ARBITRARIES: Readonly<Record<MessageType, fc.Arbitrary<Message>>> = {
  PreVote: fc.record({ base: baseArbitrary, index: countArbitrary, below: fc.nat() }).map(({ base, index, below }): Message => {
    const last = logPosition(base.term, index, below);
    return { type: 'PreVote', ...base, lastLogIndex: last.index, lastLogTerm: last.term };
  }),
  PreVoteResponse: fc.record({ base: baseArbitrary, granted: fc.boolean() }).map(({ base, granted }): Message => ({ type: 'PreVoteResponse', ...base, granted })),
  Vote: fc.record({ base: baseArbitrary, index: countArbitrary, below: fc.nat(), transfer: fc.boolean() }).map(({ base, index, below, transfer }): Message => {
    const last = logPosition(base.term, index, below);
    return { type: 'Vote', ...base, lastLogIndex: last.index, lastLogTerm: last.term, transfer };
  }),
  VoteResponse: fc.record({ base: baseArbitrary, granted: fc.boolean() }).map(({ base, granted }): Message => ({ type: 'VoteResponse', ...base, granted })),
  AppendEntries: appendEntriesArbitrary({ countMax: 8, dataBytesMax: 64 }),
  AppendEntriesResponse: fc
    .record({ base: baseArbitrary, success: fc.boolean(), matchIndex: countArbitrary, hintIndex: countArbitrary, hintTerm: countArbitrary })
    .map(({ base, ...rest }): Message => ({ type: 'AppendEntriesResponse', ...base, ...rest })),
  Heartbeat: fc.record({ base: baseArbitrary, commit: countArbitrary, round: countArbitrary }).map(({ base, ...rest }): Message => ({ type: 'Heartbeat', ...base, ...rest })),
  HeartbeatResponse: fc.record({ base: baseArbitrary, round: countArbitrary }).map(({ base, round }): Message => ({ type: 'HeartbeatResponse', ...base, round })),
  InstallSnapshot: fc
    .record({
      base: baseArbitrary,
      index: fc.integer({ min: 1, max: MAX }),
      term: fc.integer({ min: 1, max: MAX }),
      voters: fc.array(nodeIdArbitrary, { minLength: 1, maxLength: 9 }),
    })
    .map(({ base, index, term, voters }): Message => ({ type: 'InstallSnapshot', ...base, snapshot: { index, term, config: { voters } } })),
  InstallSnapshotResponse: fc
    .record({ base: baseArbitrary, matchIndex: countArbitrary, success: fc.boolean() })
    .map(({ base, ...rest }): Message => ({ type: 'InstallSnapshotResponse', ...base, ...rest })),
  TimeoutNow: baseArbitrary.map((base): Message => ({ type: 'TimeoutNow', ...base })),
  ReadIndex: fc.record({ base: baseArbitrary, context: countArbitrary }).map(({ base, context }): Message => ({ type: 'ReadIndex', ...base, context })),
  ReadIndexResponse: fc
    .record({ base: baseArbitrary, context: countArbitrary, index: countArbitrary, success: fc.boolean() })
    .map(({ base, ...rest }): Message => ({ type: 'ReadIndexResponse', ...base, ...rest })),
};

export const MESSAGE_TYPES = Object.keys(MESSAGE_ARBITRARIES) as MessageType[];

/** Any valid message, small (AppendEntries with up to 8 entries of up to 64 bytes). */
export const messageArbitrary: fc.Arbitrary<Message> = fc.oneof(...MESSAGE_TYPES.map((type) => MESSAGE_ARBITRARIES[type]));

/** Byte arrays as hex strings and key order ignored, so deepEqual compares contents (Buffer vs Uint8Array alike). */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, item]) => [key, plain(item)]),
    );
  }
  return value;
}

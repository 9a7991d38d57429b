// An append is all-or-nothing on recovery under 'batched' and 'none' (one record per append; under
// 'always' every entry is its own record, the naive per-write baseline, and crash.test.ts accepts
// entry prefixes there). A torn write (a kill mid-write(), or power loss while a
// batched write was in flight) can end anywhere; for EVERY byte offset inside the last append's
// bytes (and inside the last two appends of one batched write) a copy of the segment cut there
// must reopen to exactly the state before or after each append — never entries without the hard
// state written with them — and the Raft core must accept that state as a restore state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Storage, type RecoveredState } from '../../src/storage/storage.js';
import type { FsyncPolicy } from '../../src/storage/options.js';
import type { Entry, HardState } from '../../src/raft/types.js';
import { assertRestorable, collectWarnings, entryData, withTempDir } from './fixtures.js';

interface Step {
  readonly label: string;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

/** Small entries keep every record short, so sweeping every byte offset stays cheap. */
function smallEntries(firstIndex: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: firstIndex + i, term, data: entryData(firstIndex + i, term, 20 + i * 5) }));
}

// A follower's history: entries-only appends, hard-state-only appends (a vote, a commit), and
// appends whose hard state adopts a term above every earlier entry's term together with entries of
// that term (the case where keeping the entries without the hard state makes the node unable to
// restart: its entries would have a term above its hard state's).
const STEPS: readonly Step[] = [
  { label: 'entries 1..3 @1 + hard state term 1', entries: smallEntries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 0 } },
  { label: 'entries-only 4..5 @1', entries: smallEntries(4, 2, 1), hardState: null },
  { label: 'hard-state-only term 2', entries: [], hardState: { term: 2, vote: 2, commit: 3 } },
  { label: 'entries 6..7 @2 + hard state', entries: smallEntries(6, 2, 2), hardState: { term: 2, vote: 2, commit: 5 } },
  { label: 'overwrite 6..8 @4 + hard state term 4', entries: smallEntries(6, 3, 4), hardState: { term: 4, vote: 3, commit: 5 } },
  { label: 'entries-only 9..10 @4', entries: smallEntries(9, 2, 4), hardState: null },
  { label: 'hard-state-only term 5', entries: [], hardState: { term: 5, vote: 1, commit: 8 } },
  { label: 'entries 11..12 @6 + hard state term 6', entries: smallEntries(11, 2, 6), hardState: { term: 6, vote: 2, commit: 10 } },
];

interface ModelState {
  readonly hardState: HardState;
  readonly entries: readonly Entry[];
}

/** The state after the first `count` steps, by the Raft log rules (an overlap overwrites the suffix). */
function stateAfter(count: number): ModelState {
  let hardState: HardState = { term: 0, vote: 0, commit: 0 };
  let entries: Entry[] = [];
  for (const step of STEPS.slice(0, count)) {
    const first = step.entries[0];
    if (first !== undefined) entries = [...entries.slice(0, first.index - 1), ...step.entries];
    if (step.hardState !== null) hardState = step.hardState;
  }
  return { hardState, entries };
}

function sameState(recovered: RecoveredState, expected: ModelState): boolean {
  const hard = recovered.hardState;
  if (hard.term !== expected.hardState.term || hard.vote !== expected.hardState.vote || hard.commit !== expected.hardState.commit) return false;
  if (recovered.entries.length !== expected.entries.length) return false;
  return recovered.entries.every((entry, i) => {
    const want = expected.entries[i]!;
    return entry.index === want.index && entry.term === want.term && Buffer.from(entry.data).equals(Buffer.from(want.data));
  });
}

function describeState(state: RecoveredState | ModelState): string {
  return `hard state ${JSON.stringify(state.hardState)}, entries [${state.entries.map((entry) => `${entry.index}@${entry.term}`).join(' ')}]`;
}

interface WrittenLog {
  readonly segmentBytes: Uint8Array;
  readonly segmentName: string;
  /** Where the appends under test start in the segment, and where each of them ends. */
  readonly startOffset: number;
  readonly endOffset: number;
}

/**
 * Writes STEPS[0 .. first) one by one, then STEPS[first .. first + count) together (count 2 under
 * 'batched' with a window: one write() and one fdatasync for both, checked through the counters).
 */
async function writeSteps(dir: string, codec: string, policy: FsyncPolicy, first: number, count: number): Promise<WrittenLog> {
  const { storage } = await Storage.open(dir, { fsync: policy, logCodec: codec, batchWindowUs: policy === 'batched' ? 5_000 : 0, onWarning: () => undefined });
  try {
    for (const step of STEPS.slice(0, first)) await storage.append(step.entries, step.hardState);
    const segments = storage.segmentFiles();
    assert.equal(segments.length, 1, 'the whole history fits one segment');
    const segment = segments[0]!;
    const startOffset = (await stat(segment)).size;
    const syncsBefore = storage.counters().syncs;
    await Promise.all(STEPS.slice(first, first + count).map((step) => storage.append(step.entries, step.hardState)));
    assert.equal(storage.counters().syncs - syncsBefore, 1, `the ${count} appends under test were written and synced together`);
    const endOffset = (await stat(segment)).size;
    assert.ok(endOffset > startOffset);
    return { segmentBytes: new Uint8Array(await readFile(segment)), segmentName: basename(segment), startOffset, endOffset };
  } finally {
    await storage.close();
  }
}

/** Reopens a store whose only segment is `log`'s cut to `cutBytes` bytes. */
async function recoverCut(scratchDir: string, log: WrittenLog, cutBytes: number): Promise<{ recovered: RecoveredState; warningKinds: string[] }> {
  await mkdir(join(scratchDir, 'wal'), { recursive: true });
  await writeFile(join(scratchDir, 'wal', log.segmentName), log.segmentBytes.subarray(0, cutBytes));
  const { warnings, onWarning } = collectWarnings();
  const { storage, recovered } = await Storage.open(scratchDir, { onWarning });
  await storage.close();
  return { recovered, warningKinds: warnings.map((warning) => warning.kind) };
}

const SWEPT_STEPS = [4, 5, 6, 7];

for (const codec of ['none', 'lz4']) {
  test(`log codec ${codec}: a cut at any byte of the last append recovers exactly the state before or after it, and the core restores from it`, async () => {
    await withTempDir(async (dir) => {
      for (const last of SWEPT_STEPS) {
        const log = await writeSteps(join(dir, `written-${last}`), codec, 'batched', last, 1);
        const before = stateAfter(last);
        const after = stateAfter(last + 1);
        const scratchDir = join(dir, `scratch-${last}`);
        for (let cut = log.startOffset; cut <= log.endOffset; cut++) {
          const label = `last append "${STEPS[last]!.label}" (bytes ${log.startOffset}..${log.endOffset}) cut at ${cut}`;
          const { recovered, warningKinds } = await recoverCut(scratchDir, log, cut);
          assertRestorable(recovered, label);
          const expected = cut < log.endOffset ? before : after;
          assert.ok(sameState(recovered, expected), `${label}: recovered ${describeState(recovered)}, expected ${describeState(expected)}`);
          assert.deepEqual(warningKinds, cut > log.startOffset && cut < log.endOffset ? ['torn-tail'] : [], `${label}: warnings`);
        }
      }
    });
  });
}

// Two appends in one batched write: a torn write loses a suffix of the batch, each append whole.
const BATCHED_PAIRS = [
  { first: 4, codec: 'none' },
  { first: 6, codec: 'none' },
  { first: 4, codec: 'zstd:3' },
  { first: 6, codec: 'zstd:3' },
];

for (const { first, codec } of BATCHED_PAIRS) {
  test(`batched, log codec ${codec}: a cut at any byte of "${STEPS[first]!.label}" + "${STEPS[first + 1]!.label}" (one write) loses a whole suffix of the two`, async () => {
    await withTempDir(async (dir) => {
      const log = await writeSteps(join(dir, 'written'), codec, 'batched', first, 2);
      const candidates = [stateAfter(first), stateAfter(first + 1), stateAfter(first + 2)];
      const scratchDir = join(dir, 'scratch');
      let previousMatch = 0;
      const seen = new Set<number>();
      for (let cut = log.startOffset; cut <= log.endOffset; cut++) {
        const label = `batched pair (bytes ${log.startOffset}..${log.endOffset}) cut at ${cut}`;
        const { recovered, warningKinds } = await recoverCut(scratchDir, log, cut);
        assertRestorable(recovered, label);
        const match = candidates.findIndex((candidate) => sameState(recovered, candidate));
        assert.ok(match >= 0, `${label}: recovered ${describeState(recovered)} is none of: ${candidates.map(describeState).join(' | ')}`);
        assert.ok(match >= previousMatch, `${label}: a longer file recovered fewer appends (${match} < ${previousMatch})`);
        assert.equal(match === 2, cut === log.endOffset, `${label}: both appends are recovered exactly when the write is complete`);
        for (const kind of warningKinds) assert.equal(kind, 'torn-tail', `${label}: warnings`);
        if (match === 0 && cut > log.startOffset) assert.deepEqual(warningKinds, ['torn-tail'], `${label}: a cut inside the first append is reported`);
        previousMatch = match;
        seen.add(match);
      }
      assert.ok(seen.has(1), 'some cut (the end of the first append) recovers exactly the first append');
    });
  });
}

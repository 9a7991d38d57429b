// Shared by the storage tests and the crash child: temporary directories, deterministic entries,
// and the seeded operation script the crash test replays.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrng } from '../../src/random/prng.js';
import { RaftNode } from '../../src/raft/raft.js';
import type { Entry, HardState, RaftConfig } from '../../src/raft/types.js';
import type { StorageWarning } from '../../src/storage/options.js';
import type { RecoveredState } from '../../src/storage/storage.js';

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbench-storage-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The data of the entry at (index, term): a pure function of both, so any reader can check it. */
export function entryData(index: number, term: number, sizeBytes = 24 + ((index * 7 + term * 13) % 200)): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) data[i] = (index * 31 + term * 17 + i * 3) & 255;
  // Some repetition, so compressing codecs have something to find.
  return data;
}

export function makeEntries(firstIndex: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: firstIndex + i, term, data: entryData(firstIndex + i, term) }));
}

const RESTORE_CHECK_CONFIG: RaftConfig = {
  id: 1,
  voters: [1, 2, 3],
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  inflightMax: 4,
  batchEntriesMax: 64,
  batchBytesMax: 1 << 20,
  prng: createPrng(1),
};

/**
 * Asserts that the Raft core accepts what storage recovered as its restore state: a node must be
 * able to restart from whatever a crash left (the core refuses, for instance, entries whose term
 * is above the hard state's term).
 */
export function assertRestorable(recovered: RecoveredState, label: string): void {
  assert.doesNotThrow(
    () => new RaftNode(RESTORE_CHECK_CONFIG, { hardState: recovered.hardState, snapshot: recovered.snapshot, entries: recovered.entries, applied: recovered.snapshot?.index ?? 0 }),
    `${label}: the Raft core refuses to restart from the recovered state`,
  );
}

export function collectWarnings(): { warnings: StorageWarning[]; onWarning: (warning: StorageWarning) => void } {
  const warnings: StorageWarning[] = [];
  return { warnings, onWarning: (warning) => warnings.push(warning) };
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

/** A body of `totalBytes` yielded in `chunkBytes` chunks, deterministic from `seed`, half compressible. */
export async function* generatedBody(seed: number, totalBytes: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const prng = createPrng(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'raft', 'log', 'entry', 'commit', 'term', 'vote'];
  let produced = 0;
  while (produced < totalBytes) {
    const size = Math.min(chunkBytes, totalBytes - produced);
    const chunk = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      if (prng.chance(0.5)) {
        const word = words[prng.nextInt(0, words.length)]!;
        for (let i = 0; i < word.length && offset < size; i++) chunk[offset++] = word.charCodeAt(i);
      } else {
        chunk[offset++] = prng.nextInt(0, 256);
      }
    }
    produced += size;
    yield chunk;
  }
}

export async function bodyOf(seed: number, totalBytes: number, chunkBytes: number): Promise<Uint8Array> {
  return readAll(generatedBody(seed, totalBytes, chunkBytes));
}

/** One step of the crash test's script: append these entries and this hard state. */
export interface ScriptedAppend {
  readonly entries: Entry[];
  readonly hardState: HardState;
}

/**
 * The deterministic script the crash child runs and the parent replays: mostly appends at the
 * end of the log, sometimes (a Raft conflict) an overwrite of the last few entries at a new term.
 */
export function* appendScript(seed: number): Generator<ScriptedAppend> {
  const prng = createPrng(seed);
  let lastIndex = 0;
  let term = 1;
  for (;;) {
    let firstIndex = lastIndex + 1;
    if (lastIndex > 8 && prng.chance(0.08)) {
      firstIndex = lastIndex - prng.nextInt(0, 4);
      term++;
    }
    const count = prng.nextInt(1, 5);
    const entries = makeEntries(firstIndex, count, term);
    lastIndex = firstIndex + count - 1;
    yield { entries, hardState: { term, vote: 1 + (term % 3), commit: Math.max(0, firstIndex - 1) } };
  }
}

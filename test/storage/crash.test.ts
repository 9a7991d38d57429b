// Real processes, real files: a child appends under each fsync policy and is killed with SIGKILL
// at a seeded moment, or kills itself right after a write torn at a seeded byte; the parent reopens the store and checks that every acknowledged append is
// there, in order, that what was recovered is exactly the state after some prefix of the script
// (nothing half-applied: an unacknowledged append is there whole, entries and hard state, or not
// at all; nothing after a torn record), and that the Raft core accepts it as a restore state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPrng } from '../../src/random/prng.js';
import { Storage } from '../../src/storage/storage.js';
import type { FsyncPolicy } from '../../src/storage/options.js';
import { appendScript, assertRestorable, collectWarnings, entryData, withTempDir } from './fixtures.js';
import type { HardState } from '../../src/raft/types.js';

const CHILD_PATH = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const CHILD_TIMEOUT_MS = 10_000;
// Per test: every round's child is bounded by CHILD_TIMEOUT_MS; this bounds the whole test (up to
// 7 rounds of a child plus recovery) so that a stuck await in the parent fails instead of hanging.
const CRASH_TEST_TIMEOUT_MS = 180_000;

interface ChildRun {
  readonly acked: number;
  /** The parent's SIGKILL reached the child. */
  readonly killed: boolean;
  /** The child tore a write and killed itself (see crash-child.ts), with what it printed about it. */
  readonly tore: string | null;
}

/** How the child dies: SIGKILL from the parent once it has been up `afterMs`, or mid-write by its own hand. */
type Kill = { readonly kind: 'timed'; readonly afterMs: number } | { readonly kind: 'tear'; readonly atWrite: number; readonly seed: number };

/** Runs the child until it is killed as `kill` says and returns the last ack it printed. */
function runChild(dir: string, policy: FsyncPolicy, seed: number, concurrency: number, codec: string, kill: Kill): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const args = [CHILD_PATH, dir, policy, String(seed), String(concurrency), codec];
    if (kill.kind === 'tear') args.push(`${kill.atWrite}:${kill.seed}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0;
    let buffered = '';
    let stderr = '';
    let killed = false;
    let tore: string | null = null;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash child did not finish within ${CHILD_TIMEOUT_MS} ms`));
    }, CHILD_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line === 'ready') {
          if (kill.kind === 'timed') {
            setTimeout(() => {
              killed = child.kill('SIGKILL');
            }, kill.afterMs);
          }
        } else if (line.startsWith('tearing ')) {
          tore = line;
        } else if (line.startsWith('ack ')) {
          const number = Number(line.slice(4));
          if (number !== acked + 1) reject(new Error(`acks out of order: ${number} after ${acked}`));
          acked = number;
        }
        newline = buffered.indexOf('\n');
      }
    });
    child.stderr.on('data', (text: Buffer) => (stderr += text.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`crash child exited with ${code}: ${stderr}`));
      else resolve({ acked, killed: killed && signal === 'SIGKILL', tore });
    });
  });
}

/**
 * Some k in [minAppends, searchLimit] such that the state after the first k scripted appends
 * equals what was recovered, or -1. Walks the script once, comparing after each step.
 *
 * An append that had not resolved when the kill came is recovered whole (its entries AND its hard
 * state) or not at all: a kill can cut a write() short anywhere, but each append is one checksummed
 * record, so recovery never keeps part of one.
 */
/**
 * The number of script appends whose effect the recovered state shows, or -1. Under 'always' each
 * entry is its own record and the hard state rides with the last, so a kill may also leave the
 * first j < n entries of an append without its hard state (`entryPrefixes`); that state counts as
 * the appends before it.
 */
function matchingPrefix(seed: number, recoveredTerms: number[], recoveredHard: HardState, minAppends: number, searchLimit: number, entryPrefixes: boolean): number {
  const terms: number[] = [];
  let hardState: HardState = { term: 0, vote: 0, commit: 0 };
  const sameHardState = (candidate: HardState): boolean =>
    candidate.term === recoveredHard.term && candidate.vote === recoveredHard.vote && candidate.commit === recoveredHard.commit;
  const sameTerms = (): boolean => terms.length === recoveredTerms.length && terms.every((term, i) => term === recoveredTerms[i]);
  if (minAppends === 0 && sameTerms() && sameHardState(hardState)) return 0;
  let k = 0;
  for (const step of appendScript(seed)) {
    if (++k > searchLimit) break;
    terms.length = step.entries[0]!.index - 1;
    for (let j = 0; j < step.entries.length; j++) {
      terms.push(step.entries[j]!.term);
      const partial = j < step.entries.length - 1;
      if (partial && entryPrefixes && k - 1 >= minAppends && sameTerms() && sameHardState(hardState)) return k - 1;
    }
    hardState = step.hardState;
    if (k >= minAppends && sameTerms() && sameHardState(hardState)) return k;
  }
  return -1;
}

// `rounds` kills from the parent at a seeded moment, then `tornRounds` writes torn at a seeded byte.
const SCENARIOS: { policy: FsyncPolicy; concurrency: number; codec: string; rounds: number; tornRounds: number }[] = [
  { policy: 'always', concurrency: 4, codec: 'none', rounds: 3, tornRounds: 3 },
  { policy: 'batched', concurrency: 32, codec: 'lz4', rounds: 4, tornRounds: 3 },
  { policy: 'batched', concurrency: 8, codec: 'zstd:3', rounds: 2, tornRounds: 3 },
  { policy: 'none', concurrency: 16, codec: 'none', rounds: 2, tornRounds: 3 },
];

for (const scenario of SCENARIOS) {
  test(`SIGKILL during ${scenario.policy} appends (${scenario.concurrency} in flight, ${scenario.codec}): acknowledged appends survive, in order`, { timeout: CRASH_TEST_TIMEOUT_MS }, async () => {
    const prng = createPrng(0x5eed + scenario.rounds * 97 + scenario.concurrency);
    await withTempDir(async (dir) => {
      const seed = prng.nextInt(1, 1_000_000);
      let ackedSoFar = 0;
      // Several kills into the same directory: each restart recovers, then appends more.
      for (let round = 0; round < scenario.rounds + scenario.tornRounds; round++) {
        const kill: Kill =
          round < scenario.rounds
            ? { kind: 'timed', afterMs: prng.nextInt(30, 250) }
            : { kind: 'tear', atWrite: prng.nextInt(2, 40), seed: prng.nextInt(1, 1_000_000) };
        // Each round restarts the script from the beginning: it rewrites the log from index 1,
        // which also exercises the overwrite-from-index-1 path on top of a recovered log.
        const run = await runChild(dir, scenario.policy, seed, scenario.concurrency, scenario.codec, kill);
        if (kill.kind === 'tear') assert.ok(run.tore !== null, `round ${round}: the child was to tear WAL write ${kill.atWrite} but exited without tearing`);
        const { warnings, onWarning } = collectWarnings();
        const { storage, recovered } = await Storage.open(dir, { fsync: 'always', onWarning });
        try {
          const recoveredTerms = recovered.entries.map((entry) => entry.term);
          recovered.entries.forEach((entry, i) => {
            assert.equal(entry.index, i + 1, 'recovered entries are contiguous from 1');
            assert.deepEqual(entry.data, entryData(entry.index, entry.term), `data of entry ${entry.index}`);
          });
          // Under 'none' a process kill loses nothing from the page cache, but the policy promises
          // nothing, so only consistency is required; under always/batched every ack must be there.
          const minAppends = scenario.policy === 'none' ? 0 : run.acked;
          const searchLimit = run.acked + scenario.concurrency * 4 + 64;
          const k = matchingPrefix(seed, recoveredTerms, recovered.hardState, minAppends, searchLimit, scenario.policy === 'always');
          assert.ok(
            k >= 0,
            `round ${round}: recovered ${recovered.entries.length} entries / hard state ${JSON.stringify(recovered.hardState)} ` +
              `is not the state after any prefix of at least ${minAppends} appends (acked ${run.acked}, killed ${run.killed}, ${run.tore ?? 'no torn write'}, warnings ${warnings.map((w) => w.kind).join(',')})`,
          );
          for (const warning of warnings) assert.equal(warning.kind, 'torn-tail', `only torn tails are expected, got ${warning.message}`);
          assertRestorable(recovered, `round ${round}`);
          ackedSoFar += run.acked;
        } finally {
          await storage.close();
        }
      }
      assert.ok(ackedSoFar > 0, 'the children acknowledged some appends before being killed');
    });
  });
}

const SNAPSHOT_CHILD_PATH = fileURLToPath(new URL('./snapshot-crash-child.js', import.meta.url));

/** Runs the snapshot child and SIGKILLs it `killAfterMs` after it reports streaming the second snapshot. */
function runSnapshotChild(dir: string, codec: string, killAfterMs: number): Promise<{ sawSaved: boolean; sawDone: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SNAPSHOT_CHILD_PATH, dir, codec], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`snapshot child did not finish within ${CHILD_TIMEOUT_MS} ms`));
    }, CHILD_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      output += text;
      if (text.includes('streaming')) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (text: Buffer) => (stderr += text.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`snapshot child exited with ${code}: ${stderr}`));
      else resolve({ sawSaved: output.includes('saved'), sawDone: output.includes('done') });
    });
  });
}

test('SIGKILL while a snapshot streams to disk leaves the previous snapshot as the newest', { timeout: CRASH_TEST_TIMEOUT_MS }, async () => {
  const prng = createPrng(0xc0de);
  for (const codec of ['none', 'zstd:3']) {
    await withTempDir(async (dir) => {
      const run = await runSnapshotChild(dir, codec, prng.nextInt(0, 40));
      assert.ok(run.sawSaved, 'the first snapshot was saved');
      assert.ok(!run.sawDone, 'the child was killed before the second snapshot finished');
      const { warnings, onWarning } = collectWarnings();
      const { storage, recovered } = await Storage.open(dir, { onWarning });
      try {
        assert.deepEqual(recovered.snapshot, { index: 20, term: 1, config: { voters: [1, 2, 3] } });
        assert.deepEqual(recovered.entries.map((entry) => entry.index), Array.from({ length: 20 }, (_, i) => 21 + i));
        assert.deepEqual(warnings.map((warning) => warning.kind), ['stale-temporary-file']);
        let bodyBytes = 0;
        for await (const chunk of storage.readSnapshotBody()) bodyBytes += chunk.byteLength;
        assert.equal(bodyBytes, 3 * 64 * 1024);
      } finally {
        await storage.close();
      }
    });
  }
});

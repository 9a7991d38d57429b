// The simulated file system (src/sim/file-system.ts): FileOps semantics side by side with the real
// file system; the durability model (what syncs cover, directory entries, crash cuts, dead
// incarnations); and the REAL storage layer on top of it — the write-ahead log under seeded crashes
// over many seeds (every acknowledged append survives, the recovered log is the state after some
// prefix of the appends), snapshots crashed at every step of a save, and injected faults.
// Everything runs on a miniature of the simulation's event loop (TestLoop), so no test depends on
// real time or on how the machine schedules threads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrng } from '../../src/random/prng.js';
import type { HardState, SnapshotMeta } from '../../src/raft/types.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { describeFileSystemCrashOutcome, SimFileSystem, type FileSystemCrashCut, type SimFileSystemOptions, type SimScheduler } from '../../src/sim/file-system.js';
import { StorageIoError, errorCodeOf } from '../../src/storage/errors.js';
import { FaultInjectingFileOps, realFileOps, type FileOps, type OpenMode, type StorageFile } from '../../src/storage/file-ops.js';
import type { FsyncPolicy, StorageWarning } from '../../src/storage/options.js';
import { Storage, type RecoveredState } from '../../src/storage/storage.js';
import { assertRestorable, bodyOf, collectWarnings, entryData, generatedBody, makeEntries, readAll, type ScriptedAppend } from '../storage/fixtures.js';

// ---------------------------------------------------------------------------------------------
// A miniature of the simulation's event loop
// ---------------------------------------------------------------------------------------------

/** Every promise continuation queued so far runs before a macrotask does: this lets them settle. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One (time, sequence) queue; after each event, the continuations it released settle before the next. */
class TestLoop implements SimScheduler {
  private readonly queue = new EventQueue<() => void>();
  private now = 0;

  nowUs(): number {
    return this.now;
  }

  after(delayUs: number, run: () => void): void {
    this.queue.push(this.now + delayUs, run);
  }

  get pendingEvents(): number {
    return this.queue.size;
  }

  /** Runs one event; false if there was none. */
  private step(): boolean {
    const event = this.queue.pop();
    if (event === undefined) return false;
    this.now = event.timeUs;
    event.payload();
    return true;
  }

  /** Runs events (settling after each) while `going()` holds and events remain, at most `eventsMax`; returns how many ran. */
  async runWhile(going: () => boolean, eventsMax: number): Promise<number> {
    await settle();
    let ran = 0;
    while (ran < eventsMax && going() && this.step()) {
      ran++;
      await settle();
    }
    return ran;
  }

  /** Runs events until `promise` settles, and returns its outcome; fails on a hang (no events left) or a runaway. */
  async until<T>(promise: Promise<T>, eventsMax = 100_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    const ran = await this.runWhile(() => !settled, eventsMax);
    if (!settled) throw new Error(ran >= eventsMax ? `still pending after ${eventsMax} events` : `still pending with no events left (a hang)`);
    return promise;
  }
}

const DIR = '/node1';

function simFileSystem(loop: TestLoop, seed: number, options: Partial<SimFileSystemOptions> = {}): SimFileSystem {
  return new SimFileSystem({ scheduler: loop, prng: createPrng(seed), ...options });
}

function openStorage(loop: TestLoop, fs: SimFileSystem, fsync: FsyncPolicy, onWarning: (warning: StorageWarning) => void = () => undefined, fileOps: FileOps = fs) {
  return loop.until(Storage.open(DIR, { fileOps, clock: fs.clock(), fsync, allowUnsafe: fsync === 'none', segmentSizeBytes: 4096, onWarning }));
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));

// ---------------------------------------------------------------------------------------------
// FileOps semantics, side by side with the real file system
// ---------------------------------------------------------------------------------------------

/**
 * A script of FileOps calls; each step's result or error (code and syscall) goes into the
 * transcript, so the simulated and the real file system can be compared line by line.
 */
async function fileOpsScript(ops: FileOps, root: string, run: <T>(promise: Promise<T>) => Promise<T>): Promise<string[]> {
  const transcript: string[] = [];
  const step = async (label: string, action: () => Promise<unknown> | unknown): Promise<void> => {
    try {
      const value = await run(Promise.resolve().then(action));
      transcript.push(`${label}: ${value instanceof Uint8Array ? JSON.stringify([...value]) : JSON.stringify(value ?? null)}`);
    } catch (error) {
      const { code, syscall } = error as { code?: string; syscall?: string };
      transcript.push(`${label}: ${code ?? 'no code'} ${syscall ?? 'no syscall'}`);
    }
  };
  const readAt = async (file: StorageFile, lengthBytes: number, positionBytes: number): Promise<Uint8Array> => {
    const target = new Uint8Array(lengthBytes);
    return target.subarray(0, await file.read(target, positionBytes));
  };
  const dir = join(root, 'a');
  await step('mkdir recursive', () => ops.mkdir(join(dir, 'b')));
  await step('mkdir again', () => ops.mkdir(join(dir, 'b')));
  await step('open missing', () => ops.open(join(dir, 'missing'), 'read'));
  await step('create in missing dir', () => ops.open(join(root, 'nope', 'f'), 'create-exclusive'));
  await step('open a directory read-write', () => ops.open(dir, 'read-write'));
  const file = await run(ops.open(join(dir, 'f'), 'create-exclusive'));
  await step('create again', () => ops.open(join(dir, 'f'), 'create-exclusive'));
  await step('write at 0', () => file.write(text('hello'), 0));
  await step('write past the end', () => file.write(text('XY'), 10));
  await step('size', () => file.sizeBytes());
  await step('read all', () => readAt(file, 32, 0));
  await step('read in the middle', () => readAt(file, 3, 3));
  await step('read past the end', () => readAt(file, 4, 40));
  await step('overwrite', () => file.write(text('J'), 0));
  await step('truncate down', () => file.truncate(3));
  await step('truncate up', () => file.truncate(6));
  await step('read after truncates', () => readAt(file, 32, 0));
  await step('datasync', () => file.datasync());
  await step('sync', () => file.sync());
  await step('readSync', () => {
    const target = new Uint8Array(8);
    return target.subarray(0, ops.readSync(join(dir, 'f'), target, 1));
  });
  await step('readSync missing', () => ops.readSync(join(dir, 'missing'), new Uint8Array(4), 0));
  await step('readdir', () => ops.readdir(dir));
  await step('readdir missing', () => ops.readdir(join(root, 'nope')));
  await step('readdir of a file', () => ops.readdir(join(dir, 'f')));
  await step('create under a file', () => ops.open(join(dir, 'f', 'x'), 'create-exclusive'));
  await step('mkdir over a file', () => ops.mkdir(join(dir, 'f')));
  const reader = await run(ops.open(join(dir, 'f'), 'read'));
  await step('write on a read-only handle', () => reader.write(text('no'), 0));
  await step('truncate on a read-only handle', () => reader.truncate(0));
  await step('read-only read', () => readAt(reader, 8, 0));
  await step('close reader', () => reader.close());
  await step('read after close', () => readAt(reader, 8, 0));
  await step('write after close', () => reader.write(text('no'), 0));
  await step('datasync after close', () => reader.datasync());
  await step('close twice', () => reader.close());
  await step('close', () => file.close());
  const other = await run(ops.open(join(dir, 'g'), 'create-exclusive'));
  await step('write other', () => other.write(text('other'), 0));
  await step('close other', () => other.close());
  await step('rename over an existing file', () => ops.rename(join(dir, 'f'), join(dir, 'g')));
  await step('readdir after rename', () => ops.readdir(dir));
  await step('renamed content', async () => {
    const renamed = await ops.open(join(dir, 'g'), 'read');
    const content = await readAt(renamed, 16, 0);
    await renamed.close();
    return content;
  });
  await step('rename missing', () => ops.rename(join(dir, 'f'), join(dir, 'h')));
  await step('rename into a missing dir', () => ops.rename(join(dir, 'g'), join(root, 'nope', 'g')));
  await step('rename over a directory', () => ops.rename(join(dir, 'g'), join(dir, 'b')));
  await step('unlink missing', () => ops.unlink(join(dir, 'f')));
  await step('unlink a directory', () => ops.unlink(join(dir, 'b')));
  await step('unlink', () => ops.unlink(join(dir, 'g')));
  await step('readdir after unlink', () => ops.readdir(dir));
  await step('syncDirectory', () => ops.syncDirectory(dir));
  await step('syncDirectory missing', () => ops.syncDirectory(join(root, 'nope')));
  return transcript;
}

test('FileOps semantics and error codes match the real file system, step by step', async () => {
  const root = await mkdtemp(join(tmpdir(), 'raftbench-simfs-'));
  let real: string[];
  try {
    real = await fileOpsScript(realFileOps, root, (promise) => promise);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const loop = new TestLoop();
  const simulated = await fileOpsScript(simFileSystem(loop, 1), '/root', (promise) => loop.until(promise));
  assert.deepEqual(simulated, real);
  // The script must exercise errors as well as results, or the comparison proves little.
  assert.ok(real.filter((line) => / E[A-Z]+ /.test(line)).length >= 15, `the script provokes errors: ${real.join('\n')}`);
});

test('bad positions are refused with the field named; missing directories and ENOTDIR as on Linux', async () => {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, 1);
  await fs.mkdir('/d');
  const file = await fs.open('/d/f', 'create-exclusive');
  await assert.rejects(file.write(text('x'), -1), /write position on '\/d\/f' must be a non-negative safe integer, got -1/);
  await assert.rejects(file.read(new Uint8Array(1), 1.5), /read position on '\/d\/f'/);
  await assert.rejects(file.truncate(Number.NaN), /truncate length on '\/d\/f'/);
  assert.throws(() => new SimFileSystem({ scheduler: loop, prng: createPrng(1), syncLatencyUsMin: 10, syncLatencyUsMax: 5 }), /syncLatencyUsMax must be an integer ≥ syncLatencyUsMin \(10\), got 5/);
  assert.throws(() => fs.setFaultRates([{ operation: 'write', code: 'EIO', probability: 2 }]), /faultRates\[0\]\.probability must be in \[0, 1\], got 2/);
  assert.throws(() => fs.crash(createPrng(1), { kind: 'seeded', tornProbability: -1 }), /tornProbability must be in \[0, 1\], got -1/);
});

// ---------------------------------------------------------------------------------------------
// The durability model
// ---------------------------------------------------------------------------------------------

/** A file system with one durably created, empty file /d/f, open read-write. */
async function withDurableFile(seed = 1): Promise<{ loop: TestLoop; fs: SimFileSystem; file: StorageFile }> {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, seed);
  await fs.mkdir('/d');
  const file = await fs.open('/d/f', 'create-exclusive');
  await loop.until(fs.syncDirectory('/d'));
  assert.equal(fs.hasUnsyncedWrites(), false);
  return { loop, fs, file };
}

test('a sync makes durable what was written before it was called, not what is written while it is in flight', async () => {
  const { loop, fs, file } = await withDurableFile();
  await file.write(text('before '), 0);
  const synced = file.datasync();
  await file.write(text('during'), 7);
  assert.equal(fs.syncsInFlight, 1);
  await loop.until(synced);
  assert.equal(decode(fs.readDurable('/d/f')), 'before ');
  assert.ok(fs.hasUnsyncedWrites(), 'the write issued during the sync is still unsynced');
  assert.deepEqual(fs.fileStates(), [{ path: '/d/f', volatileBytes: 13, durableBytes: 7 }]);
  const outcome = fs.crash(createPrng(1), { kind: 'clean' });
  assert.deepEqual(outcome, { cut: 'clean', unsyncedOperations: 1, keptOperations: 0, tornWrite: null, abandonedSyncs: 0 });
  const reopened = await fs.open('/d/f', 'read');
  assert.equal(await reopened.sizeBytes(), 7);
  assert.equal(fs.counters.syncs, 1);
  assert.equal(fs.counters.lostOperations, 1);
});

test('a created file whose directory was never synced is gone after a crash, even with its data synced', async () => {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, 1);
  await fs.mkdir('/d');
  const file = await fs.open('/d/new', 'create-exclusive');
  await file.write(text('data'), 0);
  await loop.until(file.sync());
  assert.equal(fs.readDurable('/d/new'), null, 'no durable name yet');
  assert.deepEqual(fs.fileStates(), [{ path: '/d/new', volatileBytes: 4, durableBytes: null }]);
  fs.crash(createPrng(1), { kind: 'clean' });
  assert.deepEqual(await fs.readdir('/d'), []);
  await assert.rejects(fs.open('/d/new', 'read'), { code: 'ENOENT' });

  // The same with the directory synced: the file and its synced data survive.
  const again = await fs.open('/d/new', 'create-exclusive');
  await again.write(text('data'), 0);
  await loop.until(again.sync());
  await loop.until(fs.syncDirectory('/d'));
  fs.crash(createPrng(1), { kind: 'clean' });
  assert.equal(decode(fs.readDurable('/d/new')), 'data');
  assert.deepEqual(await fs.readdir('/d'), ['new']);
});

test('a rename or unlink without a directory sync is undone by a clean crash and kept when everything written survives', async () => {
  for (const cut of [{ kind: 'clean' }, { kind: 'keep-all' }] as const) {
    const { loop, fs, file } = await withDurableFile();
    await file.write(text('old'), 0);
    await loop.until(file.datasync());
    const next = await fs.open('/d/f.tmp', 'create-exclusive');
    await next.write(text('new'), 0);
    await loop.until(next.sync());
    await fs.rename('/d/f.tmp', '/d/f');
    const doomed = await fs.open('/d/g', 'create-exclusive');
    await loop.until(fs.syncDirectory('/d'));
    await doomed.close();
    await fs.unlink('/d/g');
    assert.deepEqual(await fs.readdir('/d'), ['f']);
    fs.crash(createPrng(1), cut);
    if (cut.kind === 'clean') {
      // The directory sync above made the rename and the create of g durable, not the unlink after it.
      assert.deepEqual(await fs.readdir('/d'), ['f', 'g']);
    } else {
      assert.deepEqual(await fs.readdir('/d'), ['f']);
    }
    assert.equal(decode(fs.readDurable('/d/f')), 'new');
  }

  // And a rename whose directory was never synced goes back to the old name and content.
  const { loop, fs, file } = await withDurableFile();
  await file.write(text('old'), 0);
  await loop.until(file.datasync());
  const next = await fs.open('/d/f.tmp', 'create-exclusive');
  await loop.until(fs.syncDirectory('/d'));
  await next.write(text('new'), 0);
  await loop.until(next.sync());
  await fs.rename('/d/f.tmp', '/d/f');
  assert.equal(decode(fs.readDurable('/d/f')), 'old');
  fs.crash(createPrng(1), { kind: 'clean' });
  assert.deepEqual(await fs.readdir('/d'), ['f', 'f.tmp']);
  assert.equal(decode(fs.readDurable('/d/f')), 'old');
  assert.equal(decode(fs.readDurable('/d/f.tmp')), 'new');
});

test('a crash ends the incarnation: pending syncs and delays never settle, old handles fail with EBADF', async () => {
  const { loop, fs, file } = await withDurableFile();
  await file.write(text('unsynced'), 0);
  let syncSettled = false;
  let delaySettled = false;
  file.datasync().then(
    () => (syncSettled = true),
    () => (syncSettled = true),
  );
  void fs.clock().delayMs(1).then(() => (delaySettled = true));
  fs.crash(createPrng(1), { kind: 'clean' });
  assert.equal(fs.counters.abandonedSyncs, 1);
  await loop.runWhile(() => true, 100);
  assert.equal(loop.pendingEvents, 0);
  assert.equal(syncSettled, false, 'an abandoned sync never settles');
  assert.equal(delaySettled, false, 'a delay of the dead incarnation never settles');
  // A zombie cannot write, read or sync through its old handle.
  await assert.rejects(file.write(text('zombie'), 0), { code: 'EBADF', syscall: 'write' });
  await assert.rejects(file.read(new Uint8Array(1), 0), { code: 'EBADF' });
  await assert.rejects(file.datasync(), { code: 'EBADF', syscall: 'fdatasync' });
  await assert.rejects(file.close(), { code: 'EBADF' });
  assert.equal(fs.readDurable('/d/f')?.byteLength, 0);
  assert.equal(fs.hasUnsyncedWrites(), false);
  // The new incarnation's clock works.
  const clock = fs.clock();
  const startUs = clock.nowUs();
  await loop.until(clock.delayMs(2));
  assert.equal(clock.nowUs() - startUs, 2_000);
});

test('a failed sync makes nothing durable; what it covered stays at the mercy of the crash cut', async () => {
  const { loop, fs, file } = await withDurableFile();
  await file.write(text('abc'), 0);
  fs.armFault({ operation: 'datasync', code: 'EIO' });
  await assert.rejects(loop.until(file.datasync()), { code: 'EIO', syscall: 'datasync', path: '/d/f' });
  assert.equal(fs.readDurable('/d/f')?.byteLength, 0);
  assert.ok(fs.hasUnsyncedWrites());
  await loop.until(file.datasync());
  assert.equal(decode(fs.readDurable('/d/f')), 'abc');
});

/** The i-th test write: distinct bytes, so a file's content shows which writes (and how much of each) survived. */
function numberedWrite(i: number): Uint8Array {
  return text(`<${i}:${'x'.repeat(i % 7)}>`);
}

test('a seeded cut keeps a prefix of the unsynced operations in issue order and may tear the next write', async () => {
  const writesCount = 12;
  const seen = { none: 0, all: 0, torn: 0, middle: 0 };
  for (let seed = 1; seed <= 300; seed++) {
    const { fs, file } = await withDurableFile(seed);
    let offset = 0;
    const expected: Uint8Array[] = [];
    for (let i = 0; i < writesCount; i++) {
      const bytes = numberedWrite(i);
      await file.write(bytes, offset);
      offset += bytes.byteLength;
      expected.push(bytes);
    }
    const outcome = fs.crash(createPrng(seed), { kind: 'seeded', tornProbability: 0.9 });
    const content = fs.readDurable('/d/f')!;
    const whole = Buffer.concat(expected.slice(0, outcome.keptOperations));
    const tornBytes = outcome.tornWrite?.keptBytes ?? 0;
    const label = `seed ${seed}: ${describeFileSystemCrashOutcome(outcome)}`;
    assert.equal(outcome.unsyncedOperations, writesCount, label);
    assert.deepEqual(Buffer.from(content.subarray(0, whole.byteLength)), whole, `${label}: the first ${outcome.keptOperations} writes, whole and in order`);
    assert.equal(content.byteLength, whole.byteLength + tornBytes, label);
    if (outcome.tornWrite !== null) {
      const next = expected[outcome.keptOperations]!;
      assert.ok(tornBytes >= 1 && tornBytes < next.byteLength, label);
      assert.deepEqual(Buffer.from(content.subarray(whole.byteLength)), Buffer.from(next.subarray(0, tornBytes)), `${label}: a prefix of the next write`);
    }
    if (content.byteLength === 0) seen.none++;
    else if (outcome.keptOperations === writesCount) seen.all++;
    else if (outcome.tornWrite !== null) seen.torn++;
    else seen.middle++;
  }
  // Every shape of outcome occurs, so the assertions above were exercised on each.
  for (const [shape, count] of Object.entries(seen)) assert.ok(count >= 3, `outcome '${shape}' seen ${count} times in 300 seeds: ${JSON.stringify(seen)}`);
});

test('drop-last-write and tear-last-write cut at the last write (to a matching path); keep-all keeps everything', async () => {
  const build = async (): Promise<SimFileSystem> => {
    const { loop, fs, file } = await withDurableFile();
    const other = await fs.open('/d/other', 'create-exclusive');
    await loop.until(fs.syncDirectory('/d'));
    await file.write(text('one'), 0);
    await file.write(text('two'), 3);
    await other.write(text('three'), 0);
    await fs.unlink('/d/other');
    return fs;
  };
  let fs = await build();
  assert.equal(fs.crash(createPrng(1), { kind: 'drop-last-write' }).keptOperations, 2);
  assert.equal(decode(fs.readDurable('/d/f')), 'onetwo');
  assert.equal(fs.readDurable('/d/other')?.byteLength, 0, 'the last write and the unlink after it are lost');

  fs = await build();
  fs.crash(createPrng(1), { kind: 'drop-last-write', pathIncludes: '/f' });
  assert.equal(decode(fs.readDurable('/d/f')), 'one');
  assert.equal(fs.readDurable('/d/other')?.byteLength, 0);

  fs = await build();
  const torn = fs.crash(createPrng(1), { kind: 'tear-last-write', pathIncludes: '/f' });
  assert.equal(torn.tornWrite?.path, '/d/f');
  assert.equal(decode(fs.readDurable('/d/f')), `one${'two'.slice(0, torn.tornWrite!.keptBytes)}`);

  fs = await build();
  assert.equal(fs.crash(createPrng(1), { kind: 'keep-all' }).keptOperations, 4);
  assert.equal(decode(fs.readDurable('/d/f')), 'onetwo');
  assert.equal(fs.readDurable('/d/other'), null);
});

// ---------------------------------------------------------------------------------------------
// The real write-ahead log on the simulated file system, crashed over many seeds
// ---------------------------------------------------------------------------------------------

/**
 * The appends a Raft follower might make: mostly at the end of the log, sometimes (a conflict) an
 * overwrite of the last few entries at a new term, but — unlike the storage tests' appendScript,
 * whose overwrites may reach below the commit index an earlier append stored — never at or below
 * the commit index. That matters under 'always', where an append's entries are records of their
 * own: a crash after the first of them keeps the old hard state over a log the overwrite already
 * shortened, and a commit index above the last index is a state the Raft core rightly refuses.
 */
function* followerScript(seed: number): Generator<ScriptedAppend> {
  const prng = createPrng(seed);
  let lastIndex = 0;
  let term = 1;
  let commit = 0;
  for (;;) {
    let firstIndex = lastIndex + 1;
    if (lastIndex > commit + 1 && prng.chance(0.08)) {
      firstIndex = Math.max(commit + 1, lastIndex - prng.nextInt(0, 4));
      term++;
    }
    const count = prng.nextInt(1, 5);
    const entries = makeEntries(firstIndex, count, term);
    lastIndex = firstIndex + count - 1;
    commit = Math.max(commit, firstIndex - 1 - prng.nextInt(0, 3));
    yield { entries, hardState: { term, vote: 1 + (term % 3), commit } };
  }
}

/** The script of one seed, generated once (the checks walk it again after every crash). */
class Script {
  private readonly steps: ScriptedAppend[] = [];
  private readonly generator: Generator<ScriptedAppend>;
  constructor(readonly seed: number) {
    this.generator = followerScript(seed);
  }
  /** Step `number` (from 1). */
  step(number: number): ScriptedAppend {
    while (this.steps.length < number) this.steps.push(this.generator.next().value as ScriptedAppend);
    return this.steps[number - 1]!;
  }
}

/**
 * How many appends of `script` the recovered state is the state after — the smallest
 * such count from `minAppends` to `searchLimit` — or -1. Each append is one record, so an append
 * is recovered whole or not at all, except under 'always' (`entryPrefixes`), where each entry is a
 * record of its own and a crash may leave the first entries of an append without its hard state.
 */
function scriptPrefixOf(script: Script, recovered: RecoveredState, minAppends: number, searchLimit: number, entryPrefixes: boolean): number {
  const recoveredTerms = recovered.entries.map((entry) => entry.term);
  const want = recovered.hardState;
  const terms: number[] = [];
  let hardState: HardState = { term: 0, vote: 0, commit: 0 };
  const matches = (): boolean =>
    hardState.term === want.term && hardState.vote === want.vote && hardState.commit === want.commit && terms.length === recoveredTerms.length && terms.every((term, i) => term === recoveredTerms[i]);
  if (minAppends === 0 && matches()) return 0;
  for (let count = 1; count <= searchLimit; count++) {
    const step = script.step(count);
    terms.length = step.entries[0]!.index - 1;
    for (let j = 0; j < step.entries.length; j++) {
      terms.push(step.entries[j]!.term);
      if (entryPrefixes && j < step.entries.length - 1 && count - 1 >= minAppends && matches()) return count - 1;
    }
    hardState = step.hardState;
    if (count >= minAppends && matches()) return count;
  }
  return -1;
}

/**
 * Appends steps fromStep+1, fromStep+2 … of the script with `concurrency` appends in flight,
 * at most `appendsMax`; counts acknowledgements, which must come in order.
 */
function startAppending(storage: Storage, script: Script, fromStep: number, concurrency: number, appendsMax: number): { readonly acked: () => number; readonly failures: unknown[] } {
  const failures: unknown[] = [];
  let issued = 0;
  let acked = 0;
  const issue = (): void => {
    while (issued - acked < concurrency && issued < appendsMax && failures.length === 0) {
      const number = ++issued;
      const step = script.step(fromStep + number);
      storage.append(step.entries, step.hardState).then(
        () => {
          if (number !== acked + 1) failures.push(new Error(`append ${number} acknowledged after ${acked}`));
          acked = number;
          issue();
        },
        (error: unknown) => failures.push(error),
      );
    }
  };
  issue();
  return { acked: () => acked, failures };
}

const APPENDS_PER_ROUND_MAX = 200;

const CUTS: readonly FileSystemCrashCut[] = [
  { kind: 'clean' },
  { kind: 'seeded', tornProbability: 0.5 },
  { kind: 'seeded', tornProbability: 1 },
  { kind: 'keep-all' },
  { kind: 'drop-last-write', pathIncludes: '.wal' },
  { kind: 'tear-last-write', pathIncludes: '.wal' },
];

interface CrashRunSummary {
  readonly digests: string[];
  readonly outcomes: string[];
  ackedTotal: number;
  /** Rounds where appends that were never acknowledged survived the crash. */
  unackedSurvived: number;
  /** Rounds where acknowledged appends were lost (only 'none' may do that). */
  ackedLost: number;
  tornTails: number;
  lostOperations: number;
}

/**
 * One seed: `rounds` times, go on appending the script from where the recovered log stands, with
 * several appends in flight; crash after a seeded number of events with a seeded cut; reopen, and
 * check that the recovered state is the state after some prefix of the script that includes every
 * acknowledged append.
 */
async function crashRun(seed: number, policy: FsyncPolicy, rounds: number, digests = false): Promise<CrashRunSummary> {
  const prng = createPrng(seed);
  const script = new Script(seed);
  const loop = new TestLoop();
  const fs = simFileSystem(loop, seed, { syncLatencyUsMin: 50, syncLatencyUsMax: 2_000 });
  const summary: CrashRunSummary = { digests: [], outcomes: [], ackedTotal: 0, unackedSurvived: 0, ackedLost: 0, tornTails: 0, lostOperations: 0 };
  let { storage } = await openStorage(loop, fs, policy);
  let stepsDone = 0;
  for (let round = 0; round < rounds; round++) {
    const concurrency = prng.nextInt(1, 12);
    const appending = startAppending(storage, script, stepsDone, concurrency, APPENDS_PER_ROUND_MAX);
    await loop.runWhile(() => true, prng.nextInt(0, 60));
    const cut = CUTS[prng.nextInt(0, CUTS.length)]!;
    const acked = appending.acked();
    assert.deepEqual(appending.failures, [], `seed ${seed} round ${round}: appends failed`);
    const outcome = fs.crash(prng, cut);
    const label = `seed ${seed} round ${round} (${policy}, from step ${stepsDone}, ${concurrency} in flight, acked ${acked}, ${describeFileSystemCrashOutcome(outcome)})`;
    summary.outcomes.push(describeFileSystemCrashOutcome(outcome));
    if (digests) summary.digests.push(fs.durableDigest());

    const { warnings, onWarning } = collectWarnings();
    const reopened = await openStorage(loop, fs, policy, onWarning);
    storage = reopened.storage;
    const recovered = reopened.recovered;
    recovered.entries.forEach((entry, i) => {
      assert.equal(entry.index, i + 1, `${label}: recovered entries are contiguous from 1`);
      assert.ok(Buffer.from(entryData(entry.index, entry.term)).equals(entry.data), `${label}: data of entry ${entry.index}`);
    });
    // 'none' promises nothing, not even what earlier rounds wrote: only consistency is required.
    const minAppends = policy === 'none' ? 0 : stepsDone + acked;
    const steps = scriptPrefixOf(script, recovered, minAppends, stepsDone + APPENDS_PER_ROUND_MAX, policy === 'always');
    assert.ok(
      steps >= 0,
      `${label}: recovered ${recovered.entries.length} entries / hard state ${JSON.stringify(recovered.hardState)} is not the state after any prefix of at least ${minAppends} appends`,
    );
    for (const warning of warnings) {
      assert.ok(warning.kind === 'torn-tail' || (policy === 'none' && warning.kind === 'unsafe-fsync'), `${label}: only torn tails are expected, got ${warning.message}`);
    }
    assertRestorable(recovered, label);
    summary.ackedTotal += acked;
    if (steps > stepsDone + acked) summary.unackedSurvived++;
    if (steps < stepsDone + acked) summary.ackedLost++;
    summary.tornTails += warnings.filter((warning) => warning.kind === 'torn-tail').length;
    stepsDone = steps;
  }
  summary.lostOperations = fs.counters.lostOperations;
  return summary;
}

for (const policy of ['batched', 'always'] as const) {
  test(`${policy}: seeded crashes of the real WAL never lose an acknowledged append and recover a prefix of the appends`, { timeout: 120_000 }, async () => {
    const seeds = policy === 'batched' ? 100 : 60;
    const total = { acked: 0, unackedSurvived: 0, tornTails: 0, lostOperations: 0 };
    for (let seed = 1; seed <= seeds; seed++) {
      const summary = await crashRun(seed, policy, 3);
      total.acked += summary.ackedTotal;
      total.unackedSurvived += summary.unackedSurvived;
      total.tornTails += summary.tornTails;
      total.lostOperations += summary.lostOperations;
    }
    // The checks above bite only if crashes really lost unsynced writes, kept some that were never
    // acknowledged, and tore records.
    assert.ok(total.acked > seeds * 10, `appends were acknowledged: ${JSON.stringify(total)}`);
    assert.ok(total.lostOperations > seeds, `crashes lost unsynced operations: ${JSON.stringify(total)}`);
    assert.ok(total.unackedSurvived >= 10, `unacknowledged appends sometimes survived: ${JSON.stringify(total)}`);
    assert.ok(total.tornTails >= 10, `torn tails were recovered: ${JSON.stringify(total)}`);
  });
}

test("fsync 'none': crashes keep the log consistent and do lose acknowledged appends (the model is not kinder than a disk)", { timeout: 60_000 }, async () => {
  let ackedLost = 0;
  for (let seed = 1; seed <= 30; seed++) ackedLost += (await crashRun(seed, 'none', 3)).ackedLost;
  assert.ok(ackedLost >= 10, `rounds that lost acknowledged appends: ${ackedLost} of 90`);
});

test('the same seed and the same operations give the same durable state; other seeds differ', async () => {
  const first = await crashRun(7, 'batched', 3, true);
  const again = await crashRun(7, 'batched', 3, true);
  assert.deepEqual(again.digests, first.digests);
  assert.deepEqual(again.outcomes, first.outcomes);
  const other = await crashRun(8, 'batched', 3, true);
  assert.notDeepEqual(other.digests, first.digests);
});

// ---------------------------------------------------------------------------------------------
// Snapshots crashed at every step of a save
// ---------------------------------------------------------------------------------------------

/**
 * The file system with a tripwire: once armed, the `crashAtCall`-th FileOps or handle call (from
 * 0) crashes the file system instead of running, and never settles — the process died there.
 * Records the calls made after arming.
 */
class CrashTripwire implements FileOps {
  calls: string[] = [];
  crashed = false;
  private armed = false;

  constructor(
    private readonly fs: SimFileSystem,
    private readonly crashAtCall: number,
    private readonly crash: () => void,
  ) {}

  arm(): void {
    this.armed = true;
  }

  private pass<T>(name: string, path: string, call: () => Promise<T>): Promise<T> {
    if (this.crashed) return new Promise<T>(() => undefined);
    if (this.armed) {
      if (this.calls.length === this.crashAtCall) {
        this.crashed = true;
        this.crash();
        return new Promise<T>(() => undefined);
      }
      this.calls.push(`${name} ${path.slice(DIR.length + 1)}`);
    }
    return call();
  }

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    const file = await this.pass('open', path, () => this.fs.open(path, mode));
    const pass = <T>(name: string, call: () => Promise<T>): Promise<T> => this.pass(name, path, call);
    return {
      path: file.path,
      write: (data, positionBytes) => pass('write', () => file.write(data, positionBytes)),
      read: (target, positionBytes) => file.read(target, positionBytes),
      datasync: () => pass('datasync', () => file.datasync()),
      sync: () => pass('sync', () => file.sync()),
      truncate: (lengthBytes) => pass('truncate', () => file.truncate(lengthBytes)),
      sizeBytes: () => file.sizeBytes(),
      close: () => pass('close', () => file.close()),
    };
  }
  readdir(dir: string): Promise<string[]> {
    return this.fs.readdir(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.fs.mkdir(dir);
  }
  rename(fromPath: string, toPath: string): Promise<void> {
    return this.pass('rename', toPath, () => this.fs.rename(fromPath, toPath));
  }
  unlink(path: string): Promise<void> {
    return this.pass('unlink', path, () => this.fs.unlink(path));
  }
  syncDirectory(dir: string): Promise<void> {
    return this.pass('syncDirectory', `${dir}/`, () => this.fs.syncDirectory(dir));
  }
  readSync(path: string, target: Uint8Array, positionBytes: number): number {
    return this.fs.readSync(path, target, positionBytes);
  }
}

const SNAPSHOT_BODY_BYTES = 40_000;
const snapshotMeta = (index: number): SnapshotMeta => ({ index, term: 1, config: { voters: [1, 2, 3] } });

/** Saves snapshot 20 and appends 1..40, then saves snapshot 40 with the tripwire armed; returns what the save called. */
async function interruptedSave(crashAtCall: number, cut: FileSystemCrashCut, seed: number): Promise<{ fs: SimFileSystem; loop: TestLoop; tripwire: CrashTripwire }> {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, seed);
  const tripwire = new CrashTripwire(fs, crashAtCall, () => fs.crash(createPrng(seed), cut));
  const { storage } = await openStorage(loop, fs, 'batched', () => undefined, tripwire);
  await loop.until(storage.append(makeEntries(1, 40, 1), { term: 1, vote: 1, commit: 40 }));
  await loop.until(storage.saveSnapshot(snapshotMeta(20), generatedBody(20, SNAPSHOT_BODY_BYTES, 7_000)));
  tripwire.arm();
  let settled = false;
  storage.saveSnapshot(snapshotMeta(40), generatedBody(40, SNAPSHOT_BODY_BYTES, 7_000)).then(
    () => (settled = true),
    (error: unknown) => assert.fail(`the save failed instead of crashing: ${String(error)}`),
  );
  await loop.runWhile(() => !settled && !tripwire.crashed, 10_000);
  return { fs, loop, tripwire };
}

test('a crash at any step of saveSnapshot leaves the previous snapshot the newest until the new one is durably renamed into place', { timeout: 60_000 }, async () => {
  const complete = await interruptedSave(Number.POSITIVE_INFINITY, { kind: 'clean' }, 1);
  const steps = complete.tripwire.calls;
  const renameAt = steps.findIndex((call) => call.startsWith('rename'));
  const directorySyncAt = steps.findIndex((call, i) => i > renameAt && call === 'syncDirectory snap/');
  assert.ok(renameAt > 0 && directorySyncAt > renameAt, `the save renames, then syncs the directory: ${steps.join(', ')}`);
  const newest = { previous: 0, next: 0 };
  for (let crashAtCall = 0; crashAtCall <= steps.length; crashAtCall++) {
    for (const [k, cut] of [{ kind: 'clean' }, { kind: 'keep-all' }, ...Array.from({ length: 6 }, () => ({ kind: 'seeded', tornProbability: 1 }))].entries()) {
      const seed = crashAtCall * 100 + k;
      const { fs, loop, tripwire } = await interruptedSave(crashAtCall, cut as FileSystemCrashCut, seed);
      const label = `crash instead of step ${crashAtCall} (${steps[crashAtCall] ?? 'after the save'}), cut ${cut.kind}, seed ${seed}`;
      assert.equal(tripwire.crashed, crashAtCall < steps.length, label);
      if (!tripwire.crashed) fs.crash(createPrng(seed), cut as FileSystemCrashCut);
      const { warnings, onWarning } = collectWarnings();
      const { storage, recovered } = await openStorage(loop, fs, 'batched', onWarning);
      const index = recovered.snapshot?.index;
      if (crashAtCall <= renameAt || (cut.kind === 'clean' && crashAtCall <= directorySyncAt)) assert.equal(index, 20, `${label}: the previous snapshot is the newest`);
      else if (crashAtCall > directorySyncAt || cut.kind === 'keep-all') assert.equal(index, 40, `${label}: the new snapshot is in place`);
      else assert.ok(index === 20 || index === 40, `${label}: snapshot ${index}`);
      newest[index === 20 ? 'previous' : 'next']++;
      // Whichever is newest is whole, and the log goes on from it.
      assert.deepEqual(Buffer.from(await loop.until(readAll(storage.readSnapshotBody()))), Buffer.from(await bodyOf(index!, SNAPSHOT_BODY_BYTES, 7_000)), `${label}: body`);
      assert.deepEqual(
        recovered.entries.map((entry) => entry.index),
        index === 20 ? Array.from({ length: 20 }, (_, i) => 21 + i) : [],
        `${label}: entries after the snapshot`,
      );
      for (const warning of warnings) assert.ok(warning.kind === 'stale-temporary-file' || warning.kind === 'torn-tail', `${label}: ${warning.message}`);
    }
  }
  assert.ok(newest.previous > 0 && newest.next > 0, JSON.stringify(newest));
});

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

test('injected errors have the shape FaultInjectingFileOps gives around real files (code, syscall, path)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'raftbench-simfs-'));
  const rule = { operation: 'write', pathIncludes: '.wal', code: 'ENOSPC' } as const;
  let realError: unknown;
  try {
    const faults = new FaultInjectingFileOps(realFileOps, [rule]);
    const file = await faults.open(join(root, 'x.wal'), 'create-exclusive');
    realError = await file.write(text('abc'), 0).catch((error: unknown) => error);
    await file.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const loop = new TestLoop();
  const fs = simFileSystem(loop, 1);
  fs.armFault(rule);
  const file = await fs.open('/x.wal', 'create-exclusive');
  const simulatedError = await file.write(text('abc'), 0).catch((error: unknown) => error);
  const shape = (error: unknown, root: string) => {
    const { code, syscall, path, message } = error as { code: string; syscall: string; path: string; message: string };
    return { code, syscall, path: path.slice(root.length), message: message.replace(root, '') };
  };
  assert.deepEqual(shape(simulatedError, ''), shape(realError, root));
  assert.deepEqual(fs.injectedFaults, [{ operation: 'write', path: '/x.wal', code: 'ENOSPC' }]);
});

for (const policy of ['batched', 'always'] as const) {
  test(`${policy}: ENOSPC in the middle of a write fails the pending appends; the process goes on; reopening recovers exactly the acknowledged entries`, async () => {
    const loop = new TestLoop();
    const fs = simFileSystem(loop, 3);
    const { storage } = await openStorage(loop, fs, policy);
    await loop.until(storage.append(makeEntries(1, 10, 1), { term: 1, vote: 1, commit: 0 }));
    fs.armFault({ operation: 'write', pathIncludes: '.wal', code: 'ENOSPC', partialWriteBytes: 30 });
    const results = await loop.until(Promise.allSettled(Array.from({ length: 6 }, (_, i) => storage.append(makeEntries(11 + i, 1, 1), null))));
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      const reason = (result as PromiseRejectedResult).reason as unknown;
      assert.ok(reason instanceof StorageIoError, String(reason));
      assert.equal(reason.code, 'ENOSPC');
      assert.match(reason.message, /storage write failed on .*\.wal \(ENOSPC\).*truncated back to \d+ bytes/);
    }
    assert.equal(storage.entries(1, 11).length, 10, 'the log still reads what it acknowledged');
    fs.clearArmedFaults();
    await loop.until(storage.close());
    const { warnings, onWarning } = collectWarnings();
    const reopened = await openStorage(loop, fs, policy, onWarning);
    assert.equal(reopened.recovered.entries.length, 10);
    assert.deepEqual(warnings, [], 'the short write was rolled back');
    await loop.until(reopened.storage.append(makeEntries(11, 1, 1), null));
    // And a crash now loses nothing acknowledged.
    fs.crash(createPrng(3), { kind: 'seeded', tornProbability: 1 });
    assert.equal((await openStorage(loop, fs, policy)).recovered.entries.length, 11);
  });
}

test('a full disk fails appends with ENOSPC (what fits is written, then rolled back); with room again the log reopens whole', async () => {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, 4);
  const { storage } = await openStorage(loop, fs, 'batched');
  await loop.until(storage.append(makeEntries(1, 5, 1), { term: 1, vote: 1, commit: 0 }));
  const capacityBytes = fs.usedBytes + 2_000;
  fs.setCapacityBytes(capacityBytes);
  let acked = 5;
  let failure: unknown = null;
  for (let index = 6; failure === null && index < 1_000; index++) {
    try {
      await loop.until(storage.append(makeEntries(index, 1, 1), null));
      acked = index;
    } catch (error) {
      failure = error;
    }
  }
  assert.ok(failure instanceof StorageIoError, String(failure));
  assert.equal(failure.code, 'ENOSPC');
  assert.ok(fs.usedBytes <= capacityBytes, `used ${fs.usedBytes} of ${capacityBytes}`);
  assert.ok(acked > 6 && acked < 30, `some appends fitted before the disk was full: ${acked}`);
  fs.setCapacityBytes(Number.POSITIVE_INFINITY);
  fs.crash(createPrng(4), { kind: 'keep-all' });
  const { recovered } = await openStorage(loop, fs, 'batched');
  assert.equal(recovered.entries.length, acked);
});

test('a failing fdatasync (seeded, EIO) fails the appends it covered; with the fault gone a reopen recovers every acknowledged one', async () => {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, 5);
  const { storage } = await openStorage(loop, fs, 'batched');
  await loop.until(storage.append(makeEntries(1, 3, 1), null));
  fs.setFaultRates([{ operation: 'datasync', pathIncludes: '.wal', code: 'EIO', probability: 1 }]);
  const rejected = await loop.until(storage.append(makeEntries(4, 1, 1), null).catch((error: unknown) => error));
  assert.ok(rejected instanceof StorageIoError);
  assert.equal(rejected.operation, 'fdatasync');
  assert.equal(rejected.code, 'EIO');
  fs.setFaultRates([]);
  fs.crash(createPrng(5), { kind: 'clean' });
  const { recovered } = await openStorage(loop, fs, 'batched');
  assert.deepEqual(recovered.entries.map((entry) => entry.index), [1, 2, 3]);
});

test('a failing open surfaces with its code from Storage.open', async () => {
  const loop = new TestLoop();
  const fs = simFileSystem(loop, 6);
  await openStorage(loop, fs, 'batched');
  fs.armFault({ operation: 'open', pathIncludes: '.wal', code: 'EIO' });
  const error = await loop.until(Storage.open(DIR, { fileOps: fs, clock: fs.clock() })).catch((caught: unknown) => caught);
  assert.equal(errorCodeOf(error), 'EIO');
  assert.equal((error as { syscall?: string }).syscall, 'open');
});

test('seeded write and sync faults over many seeds: every failure is a StorageIoError and a crash after it keeps every acknowledged append', { timeout: 60_000 }, async () => {
  let failedRuns = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const loop = new TestLoop();
    const fs = simFileSystem(loop, seed);
    const { storage } = await openStorage(loop, fs, 'batched');
    fs.setFaultRates([
      { operation: 'write', pathIncludes: '.wal', code: 'ENOSPC', probability: 0.01 },
      { operation: 'datasync', code: 'EIO', probability: 0.01 },
    ]);
    const script = new Script(seed);
    const appending = startAppending(storage, script, 0, 4, 300);
    await loop.runWhile(() => appending.failures.length === 0, 500);
    const acked = appending.acked();
    for (const failure of appending.failures) assert.ok(failure instanceof StorageIoError && ['ENOSPC', 'EIO'].includes(failure.code), `seed ${seed}: ${String(failure)}`);
    if (appending.failures.length > 0) failedRuns++;
    fs.setFaultRates([]);
    fs.crash(createPrng(seed), { kind: 'seeded', tornProbability: 0.5 });
    const { recovered } = await openStorage(loop, fs, 'batched');
    assert.ok(scriptPrefixOf(script, recovered, acked, acked + 64, false) >= 0, `seed ${seed}: acked ${acked}, recovered ${recovered.entries.length} entries`);
  }
  assert.ok(failedRuns >= 10, `faults were injected in ${failedRuns} of 60 runs`);
});

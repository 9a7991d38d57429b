import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '../../src/storage/storage.js';
import { StorageUsageError } from '../../src/storage/errors.js';
import type { Entry } from '../../src/raft/types.js';
import { collectWarnings, entryData, makeEntries, withTempDir } from './fixtures.js';

function indexesAndTerms(entries: readonly Entry[]): string {
  return entries.map((entry) => `${entry.index}@${entry.term}`).join(' ');
}

test('appended entries and hard state come back after reopen', async () => {
  await withTempDir(async (dir) => {
    const first = await Storage.open(dir, { fsync: 'always' });
    assert.deepEqual(first.recovered, { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: null, entries: [] });
    await first.storage.append(makeEntries(1, 5, 1), { term: 1, vote: 2, commit: 3 });
    await first.storage.append(makeEntries(6, 2, 2), null);
    await first.storage.append([], { term: 2, vote: 3, commit: 7 });
    await first.storage.close();
    const { storage, recovered } = await Storage.open(dir, { fsync: 'always' });
    assert.deepEqual(recovered.hardState, { term: 2, vote: 3, commit: 7 });
    assert.equal(indexesAndTerms(recovered.entries), '1@1 2@1 3@1 4@1 5@1 6@2 7@2');
    for (const entry of recovered.entries) assert.deepEqual(entry.data, entryData(entry.index, entry.term));
    assert.equal(storage.lastIndex(), 7);
    assert.equal(storage.term(6), 2);
    assert.equal(storage.term(8), null);
    assert.equal(indexesAndTerms(storage.entries(2, 5)), '2@1 3@1 4@1');
    await storage.close();
  });
});

test('an append at or below the last index overwrites the suffix, in memory and after reopen', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, { fsync: 'batched' });
    await storage.append(makeEntries(1, 10, 1), null);
    await storage.append(makeEntries(6, 2, 3), { term: 3, vote: 0, commit: 5 });
    assert.equal(storage.lastIndex(), 7);
    assert.equal(indexesAndTerms(storage.entries(5, 8)), '5@1 6@3 7@3');
    await storage.append(makeEntries(8, 3, 3), null);
    await storage.close();
    const reopened = await Storage.open(dir, { fsync: 'batched' });
    assert.equal(indexesAndTerms(reopened.recovered.entries), '1@1 2@1 3@1 4@1 5@1 6@3 7@3 8@3 9@3 10@3');
    await reopened.storage.close();
  });
});

test('appends that leave a gap or are not contiguous are refused with the reason', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, {});
    await storage.append(makeEntries(1, 3, 1), null);
    await assert.rejects(storage.append(makeEntries(5, 1, 1), null), /entries\[0\]\.index 5 leaves a gap after the last index 3/);
    const broken = [...makeEntries(4, 1, 1), ...makeEntries(6, 1, 1)];
    await assert.rejects(storage.append(broken, null), /entries\[1\]\.index is 6, expected 5/);
    await assert.rejects(storage.append([], { term: -1, vote: 0, commit: 0 }), StorageUsageError);
    assert.equal(storage.lastIndex(), 3);
    await storage.close();
    await assert.rejects(storage.append(makeEntries(4, 1, 1), null), /closed/);
  });
});

test('segments roll over, compaction drops only whole segments below the snapshot, reopen agrees', async () => {
  await withTempDir(async (dir) => {
    const options = { fsync: 'batched' as const, segmentSizeBytes: 4096 };
    const { storage } = await Storage.open(dir, options);
    for (let index = 1; index <= 300; index += 10) await storage.append(makeEntries(index, 10, 1), { term: 1, vote: 1, commit: index + 9 });
    const segmentsBefore = storage.segmentFiles();
    assert.ok(segmentsBefore.length >= 5, `expected several segments, got ${segmentsBefore.length}`);
    await assert.rejects(storage.compact(150), /newest saved snapshot is at 0/);
    await storage.saveSnapshot({ index: 150, term: 1, config: { voters: [1, 2, 3] } }, (async function* () {
      yield new Uint8Array([1, 2, 3]);
    })());
    const removed = await storage.compact(150);
    assert.ok(removed.length >= 1, 'some segments removed');
    const remaining = storage.segmentFiles();
    assert.deepEqual(removed, segmentsBefore.slice(0, removed.length), 'the oldest segments go, in order');
    assert.equal(remaining[0], segmentsBefore[removed.length]);
    const onDisk = (await readdir(join(dir, 'wal'))).sort();
    assert.deepEqual(onDisk, remaining.map((path) => path.slice(path.lastIndexOf('/') + 1)));
    assert.equal(storage.firstIndex(), 151);
    assert.equal(storage.term(150), 1);
    assert.throws(() => storage.entries(140, 160), /log starts at 151/);
    await storage.append(makeEntries(301, 5, 2), { term: 2, vote: 1, commit: 305 });
    await storage.close();
    const reopened = await Storage.open(dir, options);
    assert.deepEqual(reopened.recovered.snapshot, { index: 150, term: 1, config: { voters: [1, 2, 3] } });
    assert.equal(reopened.recovered.entries[0]!.index, 151);
    assert.equal(reopened.recovered.entries.length, 155);
    assert.deepEqual(reopened.recovered.hardState, { term: 2, vote: 1, commit: 305 });
    await reopened.storage.close();
  });
});

test('a snapshot that conflicts with the log discards it; one that matches keeps the suffix', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, {});
    await storage.append(makeEntries(1, 20, 1), null);
    const body = async function* () {
      yield new Uint8Array(10);
    };
    await storage.saveSnapshot({ index: 10, term: 1, config: { voters: [1] } }, body());
    assert.equal(storage.firstIndex(), 11);
    assert.equal(storage.lastIndex(), 20);
    // A leader's snapshot at 15 with term 2: the local entry 15 has term 1, so the log goes.
    await storage.saveSnapshot({ index: 15, term: 2, config: { voters: [1] } }, body());
    assert.equal(storage.lastIndex(), 15);
    await storage.append(makeEntries(16, 2, 2), null);
    await storage.close();
    const { storage: reopened, recovered } = await Storage.open(dir, {});
    assert.equal(recovered.snapshot?.index, 15);
    assert.equal(indexesAndTerms(recovered.entries), '16@2 17@2');
    await reopened.close();
  });
});

test('batched appends share syncs; always syncs each append; counters add up', async () => {
  await withTempDir(async (dir) => {
    const always = await Storage.open(join(dir, 'always'), { fsync: 'always' });
    await Promise.all(Array.from({ length: 16 }, (_, i) => always.storage.append(makeEntries(i + 1, 1, 1), null)));
    const alwaysCounters = always.storage.counters();
    assert.equal(alwaysCounters.appends, 16);
    assert.equal(alwaysCounters.syncs, 16);
    assert.equal(alwaysCounters.syncLatencyUs.count, 16);
    await always.storage.close();

    const batched = await Storage.open(join(dir, 'batched'), { fsync: 'batched', logCodec: 'lz4' });
    await Promise.all(Array.from({ length: 64 }, (_, i) => batched.storage.append(makeEntries(i + 1, 1, 1), { term: 1, vote: 0, commit: i })));
    const counters = batched.storage.counters();
    assert.equal(counters.appends, 64);
    assert.equal(counters.records, 64, 'one record per append: entries and hard state together');
    assert.ok(counters.syncs >= 1 && counters.syncs < 8, `64 concurrent appends should share a few syncs, took ${counters.syncs}`);
    assert.ok(counters.payloadBytesStored < counters.payloadBytesRaw, 'lz4 shrinks the entries');
    assert.ok(counters.bytesWritten > counters.payloadBytesStored, 'headers are counted in bytes written');
    await batched.storage.close();

    const { warnings, onWarning } = collectWarnings();
    const none = await Storage.open(join(dir, 'none'), { fsync: 'none', allowUnsafe: true, onWarning });
    assert.equal(none.storage.safety, 'unsafe');
    assert.match(none.storage.describe(), /UNSAFE/);
    assert.equal(warnings[0]?.kind, 'unsafe-fsync');
    await Promise.all(Array.from({ length: 8 }, (_, i) => none.storage.append(makeEntries(i + 1, 1, 1), null)));
    assert.equal(none.storage.counters().syncs, 0);
    await none.storage.close();
  });
});

test('a log written with one codec reads back after the profile changes codec', async () => {
  await withTempDir(async (dir) => {
    const codecs = ['lz4', 'zstd:3', 'none', 'zstd:9'];
    for (let i = 0; i < codecs.length; i++) {
      const { storage, recovered } = await Storage.open(dir, { logCodec: codecs[i] });
      assert.equal(recovered.entries.length, i * 10);
      for (const entry of recovered.entries) assert.deepEqual(entry.data, entryData(entry.index, entry.term));
      await storage.append(makeEntries(i * 10 + 1, 10, 1), null);
      await storage.close();
    }
    const { storage, recovered } = await Storage.open(dir, {});
    assert.equal(recovered.entries.length, 40);
    await storage.close();
  });
});

test('group commit respects batchAppendsMax and batchBytesMax; a window gathers sequential appenders', async () => {
  await withTempDir(async (dir) => {
    const limited = await Storage.open(join(dir, 'by-count'), { fsync: 'batched', batchAppendsMax: 8 });
    await Promise.all(Array.from({ length: 64 }, (_, i) => limited.storage.append(makeEntries(i + 1, 1, 1), null)));
    assert.ok(limited.storage.counters().syncs >= 8, `at most 8 appends per sync: ${limited.storage.counters().syncs} syncs`);
    await limited.storage.close();

    const bySize = await Storage.open(join(dir, 'by-bytes'), { fsync: 'batched', batchBytesMax: 1024 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => bySize.storage.append(makeEntries(i + 1, 1, 1), null)));
    const { syncs, bytesWritten } = bySize.storage.counters();
    assert.ok(bytesWritten > 3000);
    assert.ok(syncs >= Math.ceil(bytesWritten / 1024), `no group commit over 1024 bytes: ${bytesWritten} bytes in ${syncs} syncs`);
    await bySize.storage.close();

    // Appenders that each issue their append a little apart share a sync when the window covers them.
    const windowed = await Storage.open(join(dir, 'window'), { fsync: 'batched', batchWindowUs: 20_000 });
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      appends.push(windowed.storage.append(makeEntries(i + 1, 1, 1), null));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(appends);
    assert.equal(windowed.storage.counters().syncs, 1, 'five appends a loop turn apart share one sync within a 20 ms window');
    await windowed.storage.close();
  });
});

test("'always' is the naive per-write baseline: one fsync for every entry written; 'batched' syncs a batch once", async () => {
  for (const [fsync, syncsExpected] of [['always', 8], ['batched', 1]] as const) {
    await withTempDir(async (dir) => {
      const { storage } = await Storage.open(dir, { fsync });
      const before = storage.counters().syncs;
      await storage.append(makeEntries(1, 8, 1), { term: 1, vote: 1, commit: 0 });
      assert.equal(storage.counters().syncs - before, syncsExpected, fsync);
      await storage.close();
      const reopened = await Storage.open(dir, { fsync });
      assert.equal(indexesAndTerms(reopened.recovered.entries), '1@1 2@1 3@1 4@1 5@1 6@1 7@1 8@1');
      assert.deepEqual(reopened.recovered.hardState, { term: 1, vote: 1, commit: 0 });
      await reopened.storage.close();
    });
  }
});

test('a hard state that moves only the commit index is written without a sync of its own; a new term or vote is synced', async () => {
  for (const fsync of ['always', 'batched'] as const) {
    await withTempDir(async (dir) => {
      const { storage } = await Storage.open(dir, { fsync });
      await storage.append(makeEntries(1, 3, 1), { term: 1, vote: 1, commit: 0 });
      const syncsBefore = storage.counters().syncs;
      const recordsBefore = storage.counters().records;
      await storage.append([], { term: 1, vote: 1, commit: 2 });
      await storage.append([], { term: 1, vote: 1, commit: 3 });
      assert.equal(storage.counters().syncs, syncsBefore, `${fsync}: commit-only hard states cost no sync`);
      assert.equal(storage.counters().records, recordsBefore + 2, 'but they are written');
      // Term and vote are what a voter promised: they must be durable before anyone hears of them.
      await storage.append([], { term: 2, vote: 3, commit: 3 });
      assert.equal(storage.counters().syncs, syncsBefore + 1, `${fsync}: a new term and vote is synced`);
      await storage.append([], { term: 2, vote: 2, commit: 3 });
      assert.equal(storage.counters().syncs, syncsBefore + 2, `${fsync}: a changed vote alone is synced`);
      await storage.close();
      const reopened = await Storage.open(dir, { fsync });
      assert.deepEqual(reopened.recovered.hardState, { term: 2, vote: 2, commit: 3 });
      await reopened.storage.close();
    });
  }
});

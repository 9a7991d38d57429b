import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '../../src/storage/storage.js';
import { StorageCorruptionError } from '../../src/storage/errors.js';
import { FaultInjectingFileOps, realFileOps } from '../../src/storage/file-ops.js';
import type { SnapshotMeta } from '../../src/raft/types.js';
import { bodyOf, collectWarnings, generatedBody, makeEntries, readAll, withTempDir } from './fixtures.js';

const BODY_BYTES = 3 * 1024 * 1024 + 12_345;
/** Per test: these run in-process against the real disk; a stuck await fails instead of hanging. */
const TEST_TIMEOUT_MS = 60_000;

function meta(index: number, term = 1): SnapshotMeta {
  return { index, term, config: { voters: [1, 2, 3] } };
}

for (const codec of ['none', 'lz4', 'zstd:3']) {
  test(`a ${codec} snapshot streamed in odd-sized chunks reads back identical, with its header`, { timeout: TEST_TIMEOUT_MS }, async () => {
    await withTempDir(async (dir) => {
      const { storage } = await Storage.open(dir, { snapshotCodec: codec });
      await storage.append(makeEntries(1, 50, 2), null);
      const info = await storage.saveSnapshot(meta(40, 2), generatedBody(7, BODY_BYTES, 99_991));
      assert.equal(info.bodyRawBytes, BODY_BYTES);
      assert.equal(info.codec, codec);
      if (codec !== 'none') assert.ok(info.bodyStoredBytes < BODY_BYTES, `${codec} shrinks the body`);
      await storage.close();
      // Reopen with a different codec setting: the stored codec decides how it is read.
      const { storage: reopened, recovered } = await Storage.open(dir, { snapshotCodec: codec === 'none' ? 'zstd:9' : 'none' });
      assert.deepEqual(recovered.snapshot, meta(40, 2));
      assert.equal(recovered.entries[0]?.index, 41);
      const chunks: number[] = [];
      const received: Uint8Array[] = [];
      for await (const chunk of reopened.readSnapshotBody()) {
        chunks.push(chunk.byteLength);
        received.push(chunk);
      }
      assert.ok(Math.max(...chunks) <= 1024 * 1024, 'the body streams in bounded frames');
      assert.deepEqual(Buffer.concat(received), Buffer.from(await bodyOf(7, BODY_BYTES, 99_991)));
      await reopened.close();
    });
  });
}

test('only the newest K snapshots are kept', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, { snapshotsToKeep: 2 });
    await storage.append(makeEntries(1, 40, 1), null);
    for (const index of [10, 20, 30, 40]) await storage.saveSnapshot(meta(index), generatedBody(index, 1000, 100));
    const names = (await readdir(join(dir, 'snap'))).sort();
    assert.equal(names.length, 2);
    assert.deepEqual(storage.snapshotFiles().map((info) => info.meta.index), [30, 40]);
    assert.match(names[0]!, /^0+30-0+1\.snap$/);
    await assert.rejects(storage.saveSnapshot(meta(25), generatedBody(1, 10, 10)), /older than the stored one at 40/);
    await storage.close();
  });
});

test('a crash before the rename leaves the previous snapshot; the temporary file is removed on open', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir(async (dir) => {
    const faults = new FaultInjectingFileOps(realFileOps);
    const { storage } = await Storage.open(dir, { fileOps: faults });
    await storage.append(makeEntries(1, 30, 1), null);
    await storage.saveSnapshot(meta(10), generatedBody(10, 5000, 1000));
    // The rename fails, as a crash between fsync and rename would leave it: new file not in place.
    faults.addRule({ operation: 'rename', pathIncludes: '.snap', code: 'EIO' });
    await assert.rejects(storage.saveSnapshot(meta(20), generatedBody(20, 5000, 1000)), /EIO/);
    await storage.close();
    // Simulate the process dying after writing the temporary file: leave one behind.
    const snapDir = join(dir, 'snap');
    await writeFile(join(snapDir, '00000000000000000020-00000000000000000001.snap.tmp'), new Uint8Array(100));
    const { warnings, onWarning } = collectWarnings();
    const { storage: reopened, recovered } = await Storage.open(dir, { onWarning });
    assert.deepEqual(recovered.snapshot, meta(10));
    assert.equal(recovered.entries[0]?.index, 11);
    assert.equal(recovered.entries.length, 20);
    assert.deepEqual(warnings.map((warning) => warning.kind), ['stale-temporary-file']);
    assert.deepEqual((await readdir(snapDir)).filter((name) => name.endsWith('.tmp')), []);
    await reopened.close();
  });
});

test('a snapshot killed mid-stream never becomes visible', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, {});
    await storage.append(makeEntries(1, 30, 1), null);
    async function* failingBody(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(2 * 1024 * 1024);
      throw new Error('state machine stopped mid-snapshot');
    }
    await assert.rejects(storage.saveSnapshot(meta(20), failingBody()), /stopped mid-snapshot/);
    assert.equal(storage.newestSnapshot(), null);
    assert.deepEqual(await readdir(join(dir, 'snap')), []);
    await storage.close();
  });
});

test('a corrupted snapshot body fails verification at open and while streaming, naming the file', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, { snapshotCodec: 'lz4' });
    await storage.append(makeEntries(1, 30, 1), null);
    const info = await storage.saveSnapshot(meta(20), generatedBody(3, 2 * 1024 * 1024, 65_536));
    await storage.close();
    const bytes = await readFile(info.path);
    const flipAt = info.headerBytes + Math.floor(info.bodyStoredBytes * 0.7);
    bytes[flipAt] = bytes[flipAt]! ^ 0x01;
    await writeFile(info.path, bytes);
    await assert.rejects(Storage.open(dir, {}), (error: unknown) => {
      assert.ok(error instanceof StorageCorruptionError);
      assert.equal(error.file, info.path);
      assert.match(error.message, /body checksum mismatch/);
      return true;
    });
    // Streaming the same file checks as it goes and fails before declaring the body good.
    const faults = new FaultInjectingFileOps(realFileOps);
    const { SnapshotStore } = await import('../../src/storage/snapshot-store.js');
    const { resolveStorageOptions } = await import('../../src/storage/options.js');
    const settings = resolveStorageOptions({ fileOps: faults, repair: true, onWarning: () => undefined });
    const store = await SnapshotStore.open(dir, settings);
    assert.equal(store.newest(), null, 'repair set the damaged snapshot aside');
    await writeFile(info.path, bytes);
    await assert.rejects(readAll(store.readBody(info)), (error: unknown) => error instanceof StorageCorruptionError && error.file === info.path);
  });
});

test('a corrupted snapshot header is caught by its checksum', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir(async (dir) => {
    const { storage } = await Storage.open(dir, {});
    const info = await storage.saveSnapshot(meta(5), generatedBody(3, 1000, 1000));
    await storage.close();
    const bytes = await readFile(info.path);
    bytes[17] = bytes[17]! ^ 0x10; // inside the index field
    await writeFile(info.path, bytes);
    await assert.rejects(Storage.open(dir, {}), /snapshot header checksum mismatch/);
  });
});

test('a snapshot saved without its log marker (crash between the two) still decides the log on open', { timeout: TEST_TIMEOUT_MS }, async () => {
  for (const conflicting of [false, true]) {
    await withTempDir(async (dir) => {
      const faults = new FaultInjectingFileOps(realFileOps);
      const { storage } = await Storage.open(dir, { fileOps: faults, onWarning: () => undefined });
      await storage.append(makeEntries(1, 20, 1), { term: 1, vote: 1, commit: 12 });
      // The marker's write fails after the snapshot file is in place, as a crash there would leave it.
      faults.addRule({ operation: 'write', pathIncludes: '.wal', code: 'EIO' });
      await assert.rejects(storage.saveSnapshot(meta(15, conflicting ? 2 : 1), generatedBody(1, 100, 100)), /EIO/);
      await storage.close();
      const { storage: reopened, recovered } = await Storage.open(dir, { onWarning: () => undefined });
      assert.equal(recovered.snapshot?.index, 15);
      // Matching term: the entries above the snapshot stay. Conflicting: the log is discarded (Raft §7).
      assert.deepEqual(recovered.entries.map((entry) => entry.index), conflicting ? [] : [16, 17, 18, 19, 20]);
      await reopened.close();
    });
  }
});

// Failing writes and syncs, injected through the file-operations seam around the real file
// system: pending appends fail with a clear error, the process carries on, and the files stay
// readable by a fresh open.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Storage } from '../../src/storage/storage.js';
import { StorageIoError } from '../../src/storage/errors.js';
import { FaultInjectingFileOps, realFileOps } from '../../src/storage/file-ops.js';
import type { FsyncPolicy } from '../../src/storage/options.js';
import { collectWarnings, entryData, makeEntries, withTempDir } from './fixtures.js';

async function settle(promises: Promise<void>[]): Promise<PromiseSettledResult<void>[]> {
  return Promise.allSettled(promises);
}

for (const policy of ['always', 'batched'] as FsyncPolicy[]) {
  test(`${policy}: ENOSPC in the middle of a write fails every pending append and leaves the log readable`, async () => {
    await withTempDir(async (dir) => {
      const faults = new FaultInjectingFileOps(realFileOps);
      const { storage } = await Storage.open(dir, { fsync: policy, fileOps: faults, onWarning: () => undefined });
      await storage.append(makeEntries(1, 10, 1), { term: 1, vote: 1, commit: 0 });
      faults.addRule({ operation: 'write', pathIncludes: '.wal', code: 'ENOSPC', partialWriteBytes: 30 });
      const results = await settle(Array.from({ length: 8 }, (_, i) => storage.append(makeEntries(11 + i, 1, 1), null)));
      assert.equal(faults.injected.length, 1);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const reason = (result as PromiseRejectedResult).reason as unknown;
        assert.ok(reason instanceof StorageIoError);
        assert.equal(reason.code, 'ENOSPC');
        assert.match(reason.message, /storage write failed on .*\.wal \(ENOSPC\).*truncated back to \d+ bytes.*no more appends until reopened/);
      }
      await assert.rejects(storage.append(makeEntries(19, 1, 1), null), StorageIoError);
      assert.equal(storage.entries(1, 11).length, 10, 'reads of memory keep working');
      await storage.close();
      const { warnings, onWarning } = collectWarnings();
      const reopened = await Storage.open(dir, { fsync: policy, onWarning });
      assert.equal(reopened.recovered.entries.length, 10, 'exactly the acknowledged entries');
      assert.equal(warnings.length, 0, 'the failed write was rolled back, so there is no torn tail');
      await reopened.storage.append(makeEntries(11, 1, 1), null);
      await reopened.storage.close();
    });
  });
}

test('a failed write whose rollback also fails leaves a torn tail that the next open truncates', async () => {
  await withTempDir(async (dir) => {
    const faults = new FaultInjectingFileOps(realFileOps);
    const { storage } = await Storage.open(dir, { fsync: 'batched', fileOps: faults });
    await storage.append(makeEntries(1, 5, 1), null);
    faults.addRule({ operation: 'write', pathIncludes: '.wal', code: 'ENOSPC', partialWriteBytes: 21 });
    faults.addRule({ operation: 'truncate', code: 'EIO' });
    await assert.rejects(storage.append(makeEntries(6, 5, 1), null), /ENOSPC.*could not truncate back/);
    await storage.close();
    const { warnings, onWarning } = collectWarnings();
    const reopened = await Storage.open(dir, { onWarning });
    assert.equal(reopened.recovered.entries.length, 5);
    assert.deepEqual(warnings.map((warning) => warning.kind), ['torn-tail']);
    await reopened.storage.close();
  });
});

for (const policy of ['always', 'batched'] as FsyncPolicy[]) {
  test(`${policy}: a failing fdatasync (EIO) fails the appends it covered and stops the log`, async () => {
    await withTempDir(async (dir) => {
      const faults = new FaultInjectingFileOps(realFileOps);
      const { storage } = await Storage.open(dir, { fsync: policy, fileOps: faults });
      await storage.append(makeEntries(1, 3, 1), null);
      faults.addRule({ operation: 'datasync', pathIncludes: '.wal', code: 'EIO' });
      const results = await settle(Array.from({ length: 4 }, (_, i) => storage.append(makeEntries(4 + i, 1, 1), null)));
      assert.ok(results.every((result) => result.status === 'rejected'));
      const reason = (results[0] as PromiseRejectedResult).reason as StorageIoError;
      assert.equal(reason.operation, 'fdatasync');
      assert.match(reason.message, /fdatasync failed on .*\(EIO\).*may be lost/);
      await storage.close();
      const reopened = await Storage.open(dir, {});
      const recovered = reopened.recovered.entries;
      // The three acknowledged entries are there; what the failed sync covered may or may not be.
      assert.ok(recovered.length >= 3);
      recovered.forEach((entry, i) => {
        assert.equal(entry.index, i + 1);
        assert.deepEqual(entry.data, entryData(entry.index, entry.term));
      });
      await reopened.storage.close();
    });
  });
}

test('ENOSPC while creating the next segment fails the append cleanly', async () => {
  await withTempDir(async (dir) => {
    const faults = new FaultInjectingFileOps(realFileOps);
    const options = { fsync: 'batched' as const, segmentSizeBytes: 4096, fileOps: faults };
    const { storage } = await Storage.open(dir, options);
    let index = 1;
    while (storage.segmentFiles().length < 2) {
      await storage.append(makeEntries(index, 10, 1), null);
      index += 10;
    }
    faults.addRule({ operation: 'open', pathIncludes: '.wal', code: 'ENOSPC', failCalls: 100 });
    const appended = index - 1;
    let failed: unknown = null;
    for (let attempt = 0; attempt < 100 && failed === null; attempt++) {
      try {
        await storage.append(makeEntries(index, 10, 1), null);
        index += 10;
      } catch (error) {
        failed = error;
      }
    }
    assert.ok(failed instanceof StorageIoError);
    assert.equal(failed.operation, 'segment rollover');
    assert.equal(failed.code, 'ENOSPC');
    await storage.close();
    const reopened = await Storage.open(dir, {});
    assert.equal(reopened.recovered.entries.length, index - 1);
    assert.ok(index - 1 >= appended);
    await reopened.storage.close();
  });
});

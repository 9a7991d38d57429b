// Damage on disk: torn tails are truncated with a warning; damage anywhere else refuses to open,
// naming the file and the byte offset, unless repair is asked for (which says what it drops).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '../../src/storage/storage.js';
import { StorageCorruptionError, StorageFormatError } from '../../src/storage/errors.js';
import { RECORD_TYPE, WAL_FORMAT_VERSION, frameRecord, parseRecordAt } from '../../src/storage/record.js';
import { crc32c } from '@node-rs/crc32';
import { collectWarnings, makeEntries, withTempDir } from './fixtures.js';

/** Writes `appends` appends of 3 entries and a hard state each (one append record each). */
async function writeLog(dir: string, appends: number, segmentSizeBytes?: number): Promise<string[]> {
  const { storage } = await Storage.open(dir, { fsync: 'batched', ...(segmentSizeBytes === undefined ? {} : { segmentSizeBytes }) });
  for (let i = 0; i < appends; i++) await storage.append(makeEntries(i * 3 + 1, 3, 1), { term: 1, vote: 1, commit: i * 3 });
  const segments = storage.segmentFiles();
  await storage.close();
  return segments;
}

/** Record start offsets of a segment file. */
async function recordOffsets(path: string): Promise<number[]> {
  const bytes = new Uint8Array(await readFile(path));
  const offsets: number[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const parsed = parseRecordAt(bytes, offset);
    if (parsed.kind !== 'record') throw new Error(`unexpected damage at ${offset}`);
    offsets.push(offset);
    offset = parsed.nextOffset;
  }
  return offsets;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[offset] = bytes[offset]! ^ 0x5a;
  await writeFile(path, bytes);
}

test('a torn last record (partial write) is truncated with a warning; everything before it survives', async () => {
  await withTempDir(async (dir) => {
    const [segment] = await writeLog(dir, 20);
    const offsets = await recordOffsets(segment!);
    const lastRecord = offsets[offsets.length - 1]!;
    const sizeBytes = (await stat(segment!)).size;
    // Cut the last record (append 20: entries 58..60 and hard state commit 57) inside its payload.
    await truncate(segment!, lastRecord + 20);
    const { warnings, onWarning } = collectWarnings();
    const { storage, recovered } = await Storage.open(dir, { onWarning });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.kind, 'torn-tail');
    assert.match(warnings[0]!.message, new RegExp(`${segment}.*byte offset ${lastRecord}`));
    assert.equal((await stat(segment!)).size, lastRecord, 'the file is truncated at the torn record');
    assert.ok(lastRecord < sizeBytes);
    assert.equal(recovered.entries.length, 57, 'the torn append is gone whole: its entries too');
    assert.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: 54 }, 'the previous hard state is the last trusted one');
    // The log keeps working after the truncation.
    await storage.append(makeEntries(58, 1, 2), null);
    await storage.close();
    const again = await Storage.open(dir, { onWarning });
    assert.equal(again.recovered.entries.length, 58);
    assert.equal(warnings.length, 1, 'no new warning: the tail is clean now');
    await again.storage.close();
  });
});

test('a tail of garbage or zeros after the last good record is a torn tail', async () => {
  for (const tail of [new Uint8Array(7).fill(0xff), new Uint8Array(4096), new Uint8Array([3, 0, 0, 0, 2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]) {
    await withTempDir(async (dir) => {
      const [segment] = await writeLog(dir, 5);
      const sizeBytes = (await stat(segment!)).size;
      await appendFile(segment!, tail);
      const { warnings, onWarning } = collectWarnings();
      const { storage, recovered } = await Storage.open(dir, { onWarning });
      assert.equal(recovered.entries.length, 15);
      assert.equal(warnings[0]?.kind, 'torn-tail');
      assert.equal((await stat(segment!)).size, sizeBytes);
      await storage.close();
    });
  }
});

test('a flipped byte in the middle of a segment refuses to open, naming the file and offset', async () => {
  await withTempDir(async (dir) => {
    const [segment] = await writeLog(dir, 30);
    const offsets = await recordOffsets(segment!);
    const damagedRecord = offsets[20]!;
    await flipByte(segment!, damagedRecord + 30);
    await assert.rejects(Storage.open(dir, { onWarning: () => undefined }), (error: unknown) => {
      assert.ok(error instanceof StorageCorruptionError);
      assert.equal(error.file, segment);
      assert.equal(error.offsetBytes, damagedRecord);
      assert.match(error.message, new RegExp(`${segment} at byte offset ${damagedRecord}: record payload checksum mismatch`));
      return true;
    });
  });
});

test('a flipped byte in a record header is caught by the header checksum, not followed as a length', async () => {
  await withTempDir(async (dir) => {
    const [segment] = await writeLog(dir, 30);
    const offsets = await recordOffsets(segment!);
    await flipByte(segment!, offsets[10]! + 2); // a high byte of the length field
    await assert.rejects(Storage.open(dir, { onWarning: () => undefined }), /at byte offset \d+: record header checksum mismatch/);
  });
});

test('repair truncates at mid-log damage and says what is lost', async () => {
  await withTempDir(async (dir) => {
    const [segment] = await writeLog(dir, 30);
    const offsets = await recordOffsets(segment!);
    // Records: 0 segment header, 1 initial hard state, then one record per append.
    const damagedRecord = offsets[2 + 12]!; // append 12 (indexes 37..39)
    await flipByte(segment!, damagedRecord + 40);
    const { warnings, onWarning } = collectWarnings();
    const { storage, recovered } = await Storage.open(dir, { repair: true, onWarning });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.kind, 'repair-truncated');
    assert.match(warnings[0]!.message, new RegExp(`truncated ${segment} at byte offset ${damagedRecord}.*the log now ends at index 36`));
    assert.equal(recovered.entries.length, 36);
    await storage.close();
  });
});

test('damage in an older segment is corruption even at its end; repair removes the later segments', async () => {
  await withTempDir(async (dir) => {
    const segments = await writeLog(dir, 200, 4096);
    assert.ok(segments.length >= 3);
    const older = segments[1]!;
    const olderSize = (await stat(older)).size;
    await truncate(older, olderSize - 5);
    await assert.rejects(Storage.open(dir, { onWarning: () => undefined }), (error: unknown) => {
      assert.ok(error instanceof StorageCorruptionError);
      assert.equal(error.file, older);
      return true;
    });
    const { warnings, onWarning } = collectWarnings();
    const { storage, recovered } = await Storage.open(dir, { repair: true, onWarning });
    assert.deepEqual(warnings.map((w) => w.kind), ['repair-truncated', ...segments.slice(2).map(() => 'repair-removed-segment')]);
    assert.deepEqual(await readdir(join(dir, 'wal')), segments.slice(0, 2).map((path) => path.slice(path.lastIndexOf('/') + 1)));
    assert.ok(recovered.entries.length > 0 && recovered.entries.length < 600);
    await storage.append(makeEntries(recovered.entries.length + 1, 1, 1), null);
    await storage.close();
  });
});

test('a missing segment in the middle is reported by name', async () => {
  await withTempDir(async (dir) => {
    const segments = await writeLog(dir, 200, 4096);
    await unlink(segments[1]!);
    await assert.rejects(Storage.open(dir, { onWarning: () => undefined }), /segment 2 is missing/);
  });
});

test('an empty last segment (a crash while it was being created) is removed and the log goes on', async () => {
  await withTempDir(async (dir) => {
    const segments = await writeLog(dir, 100, 4096);
    const next = join(dir, 'wal', `${String(segments.length + 1).padStart(16, '0')}.wal`);
    await writeFile(next, new Uint8Array(0));
    const { storage, recovered } = await Storage.open(dir, { segmentSizeBytes: 4096, onWarning: () => undefined });
    assert.equal(recovered.entries.length, 300);
    await storage.append(makeEntries(301, 3, 1), null);
    await storage.close();
    const again = await Storage.open(dir, { onWarning: () => undefined });
    assert.equal(again.recovered.entries.length, 303);
    await again.storage.close();
  });
});

/** A segment header payload claiming `version`, as any build would write it. */
function segmentHeaderPayload(version: number, sequence: number): Uint8Array {
  const payload = new Uint8Array(20);
  payload.set(new TextEncoder().encode('RBWALSG1'), 0);
  const view = new DataView(payload.buffer);
  view.setUint32(8, version, true);
  view.setUint32(12, sequence, true);
  return payload;
}

/** A record frame with any type byte (format version 1's types 2 and 3 are not RecordTypes any more). */
function frameAnyType(type: number, payload: Uint8Array): Uint8Array {
  const framed = new Uint8Array(16 + payload.byteLength);
  const view = new DataView(framed.buffer);
  view.setUint32(0, payload.byteLength, true);
  framed[4] = type;
  view.setUint32(8, crc32c(payload), true);
  view.setUint32(12, crc32c(framed.subarray(0, 12)), true);
  framed.set(payload, 16);
  return framed;
}

test('a segment of another format version is refused, naming the file and the version, even with repair', async () => {
  for (const version of [1, WAL_FORMAT_VERSION + 1]) {
    await withTempDir(async (dir) => {
      const path = join(dir, 'wal', '0000000000000001.wal');
      await mkdir(join(dir, 'wal'));
      // Format version 1 laid an append out as an entries record (type 2) then a hard-state record (type 3).
      const entriesV1 = new Uint8Array(12 + 12 + 4);
      entriesV1[0] = 1; // first index 1
      entriesV1[8] = 1; // one entry
      entriesV1[12] = 1; // term 1
      entriesV1[20] = 4; // 4 data bytes
      const hardStateV1 = new Uint8Array(24);
      hardStateV1[0] = 1;
      const bytes = Buffer.concat([
        frameRecord(RECORD_TYPE.segmentHeader, 0, segmentHeaderPayload(version, 1)),
        frameAnyType(3, new Uint8Array(24)),
        frameAnyType(2, entriesV1),
        frameAnyType(3, hardStateV1),
      ]);
      await writeFile(path, bytes);
      for (const repair of [false, true]) {
        await assert.rejects(Storage.open(dir, { repair, onWarning: () => undefined }), (error: unknown) => {
          assert.ok(error instanceof StorageFormatError, `version ${version}, repair ${repair}: ${String(error)}`);
          assert.equal(error.file, path);
          assert.equal(error.foundVersion, version);
          assert.match(error.message, new RegExp(`${path}: segment header says format version ${version}, this build reads only version ${WAL_FORMAT_VERSION}`));
          return true;
        });
        assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array(bytes), 'the file is left exactly as it was');
      }
    });
  }
});

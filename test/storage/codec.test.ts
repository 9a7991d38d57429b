import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODEC_ID, CodecNameError, codecName, createCodec, decompressWith, parseCodecName } from '../../src/storage/codec.js';
import { resolveStorageOptions } from '../../src/storage/options.js';
import { StorageOptionsError } from '../../src/storage/errors.js';
import { bodyOf } from './fixtures.js';

test('codec names parse to specs and back', () => {
  assert.deepEqual(parseCodecName('none'), { kind: 'none' });
  assert.deepEqual(parseCodecName('lz4'), { kind: 'lz4' });
  assert.deepEqual(parseCodecName('zstd:3'), { kind: 'zstd', level: 3 });
  assert.equal(codecName(parseCodecName('zstd:19')), 'zstd:19');
});

test('bad codec names are rejected with the reason and the valid names', () => {
  assert.throws(() => parseCodecName('zstd:30', 'storage.logCodec'), (error: unknown) => {
    assert.ok(error instanceof CodecNameError);
    assert.match(error.message, /storage\.logCodec: zstd level 30 is out of range 1\.\.22/);
    assert.match(error.message, /valid codecs: 'none', 'lz4', 'zstd:N'/);
    return true;
  });
  assert.throws(() => parseCodecName('gzip'), /unknown codec \(got 'gzip'; valid codecs: 'none', 'lz4', 'zstd:N'/);
  assert.throws(() => parseCodecName('zstd:0'), /level 0 is out of range/);
  assert.throws(() => parseCodecName('zstd:fast'), /zstd level 'fast' is not an integer/);
  assert.throws(() => parseCodecName('zstd'), /zstd needs a level/);
});

test('storage options name the bad field', () => {
  assert.throws(() => resolveStorageOptions({ snapshotCodec: 'gzip' }), (error: unknown) => {
    assert.ok(error instanceof StorageOptionsError);
    assert.equal(error.field, 'storage.snapshotCodec');
    return true;
  });
  assert.throws(() => resolveStorageOptions({ fsync: 'none' }), /storage\.fsync: 'none' never syncs.*allowUnsafe/);
  assert.equal(resolveStorageOptions({ fsync: 'none', allowUnsafe: true }).safety, 'unsafe');
  assert.equal(resolveStorageOptions({ fsync: 'batched' }).safety, 'safe');
  assert.throws(() => resolveStorageOptions({ batchAppendsMax: 0 }), /storage\.batchAppendsMax: must be an integer from 1/);
});

for (const name of ['none', 'lz4', 'zstd:1', 'zstd:3', 'zstd:9']) {
  test(`${name} round-trips empty, small and large inputs and records its id`, async () => {
    const codec = createCodec(parseCodecName(name));
    for (const size of [0, 1, 300, 70_000, 600_000]) {
      const raw = await bodyOf(size + 1, size, 65_536);
      const stored = await codec.compress(raw);
      const back = await decompressWith(codec.id, stored);
      assert.deepEqual(back, raw, `${name} round trip of ${size} bytes`);
      if (name !== 'none' && size >= 70_000) assert.ok(stored.byteLength < raw.byteLength, `${name} shrinks half-compressible data`);
    }
  });
}

test('zstd levels take effect (higher levels are smaller on compressible data)', async () => {
  const raw = await bodyOf(11, 256 * 1024, 65_536);
  const sizes: number[] = [];
  for (const level of [1, 9, 19]) sizes.push((await createCodec({ kind: 'zstd', level }).compress(raw)).byteLength);
  assert.ok(sizes[0]! > sizes[1]! && sizes[1]! > sizes[2]!, `sizes at levels 1, 9, 19: ${sizes.join(', ')}`);
});

test('decompression follows the stored codec id, not the configured codec', async () => {
  const raw = await bodyOf(9, 10_000, 10_000);
  const viaLz4 = await createCodec({ kind: 'lz4' }).compress(raw);
  const viaZstd = await createCodec({ kind: 'zstd', level: 5 }).compress(raw);
  assert.deepEqual(await decompressWith(CODEC_ID.lz4, viaLz4), raw);
  assert.deepEqual(await decompressWith(CODEC_ID.zstd, viaZstd), raw);
  await assert.rejects(() => decompressWith(CODEC_ID.zstd, viaLz4));
});

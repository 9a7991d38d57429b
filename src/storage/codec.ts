// The codec slot: one small interface, its implementations side by side (none, lz4, zstd:N),
// chosen by name from a profile (`storage.logCodec`, `storage.snapshotCodec`, and later the
// transport's message codec). Every stored record and snapshot carries the one-byte codec id it
// was written with, so data written under one profile stays readable after the profile changes
// codec: decompression is chosen by the stored id, never by the current setting.
//
// The interface is async because zstd's binding is: @mongodb-js/zstd 1.2.x exposes only
// `compress(buf, level)` / `decompress(buf)` returning promises (the work runs on libuv's thread
// pool). LZ4 (lz4-napi) is fast enough that small buffers are compressed synchronously — a trip
// through the thread pool costs more than compressing a few KiB — and large ones asynchronously so
// a big snapshot chunk does not stall the event loop.
//
// Install note: @mongodb-js/zstd 7.x does not install on machines without outside network (its
// install step downloads a prebuilt binary or the zstd sources from outside the npm registry); the
// 1.2.x line ships its prebuilt binary as npm packages, so it is pinned (~1.2.2) in package.json.
//
// Level note: in @mongodb-js/zstd 1.2.2 the package's JS entry point (index.js) wraps the native
// binding as `compress(data)` and drops the level, so every level compresses at zstd's default (3)
// — found because zstd:1, zstd:3 and zstd:9 gave byte-identical output in the micro-benchmark. The
// native binding underneath (bindings.js, which index.js itself loads) does take the level, so we
// call it directly; test/storage/codec.test.ts checks that levels change the output.

import { createRequire } from 'node:module';
import { compressSync as lz4CompressSync, compress as lz4Compress, uncompress as lz4Uncompress, uncompressSync as lz4UncompressSync } from 'lz4-napi';

interface ZstdBinding {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}
const zstdBinding = createRequire(import.meta.url)('@mongodb-js/zstd/bindings.js') as ZstdBinding;

async function zstdCompress(data: Buffer, level: number): Promise<Buffer> {
  try {
    return await zstdBinding.compress(data, level);
  } catch (error) {
    throw new Error(`zstd: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function zstdDecompress(data: Buffer): Promise<Buffer> {
  try {
    return await zstdBinding.decompress(data);
  } catch (error) {
    throw new Error(`zstd: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The id stored on disk (and on the wire) with each compressed unit. Never renumber. */
export const CODEC_ID = { none: 0, lz4: 1, zstd: 2 } as const;
export type CodecId = (typeof CODEC_ID)[keyof typeof CODEC_ID];

export type CodecSpec =
  | { readonly kind: 'none' }
  | { readonly kind: 'lz4' }
  | { readonly kind: 'zstd'; readonly level: number };

export const ZSTD_LEVEL_MIN = 1;
export const ZSTD_LEVEL_MAX = 22;
export const VALID_CODEC_NAMES = `'none', 'lz4', 'zstd:N' (N an integer from ${ZSTD_LEVEL_MIN} to ${ZSTD_LEVEL_MAX})`;

/** Below this size LZ4 runs synchronously: the thread-pool hop would cost more than the work. */
const LZ4_SYNC_LIMIT_BYTES = 256 * 1024;

export interface Codec {
  readonly spec: CodecSpec;
  /** The canonical name: 'none', 'lz4', 'zstd:3'. */
  readonly name: string;
  readonly id: CodecId;
  compress(raw: Uint8Array): Promise<Uint8Array>;
}

export class CodecNameError extends Error {
  override readonly name = 'CodecNameError';
  constructor(
    readonly field: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason} (got '${value}'; valid codecs: ${VALID_CODEC_NAMES})`);
  }
}

/** Parses 'none' | 'lz4' | 'zstd:N'. `field` names the option in errors (e.g. 'storage.logCodec'). */
export function parseCodecName(value: string, field = 'codec'): CodecSpec {
  if (value === 'none') return { kind: 'none' };
  if (value === 'lz4') return { kind: 'lz4' };
  if (value === 'zstd') throw new CodecNameError(field, value, "zstd needs a level, e.g. 'zstd:3'");
  if (value.startsWith('zstd:')) {
    const levelText = value.slice('zstd:'.length);
    if (!/^-?\d+$/.test(levelText)) throw new CodecNameError(field, value, `zstd level '${levelText}' is not an integer`);
    const level = Number(levelText);
    if (level < ZSTD_LEVEL_MIN || level > ZSTD_LEVEL_MAX) {
      throw new CodecNameError(field, value, `zstd level ${level} is out of range ${ZSTD_LEVEL_MIN}..${ZSTD_LEVEL_MAX}`);
    }
    return { kind: 'zstd', level };
  }
  throw new CodecNameError(field, value, 'unknown codec');
}

export function codecName(spec: CodecSpec): string {
  return spec.kind === 'zstd' ? `zstd:${spec.level}` : spec.kind;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class NoneCodec implements Codec {
  readonly spec: CodecSpec = { kind: 'none' };
  readonly name = 'none';
  readonly id = CODEC_ID.none;
  compress(raw: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(raw);
  }
}

class Lz4Codec implements Codec {
  readonly spec: CodecSpec = { kind: 'lz4' };
  readonly name = 'lz4';
  readonly id = CODEC_ID.lz4;
  compress(raw: Uint8Array): Promise<Uint8Array> {
    if (raw.byteLength <= LZ4_SYNC_LIMIT_BYTES) return Promise.resolve(lz4CompressSync(asBuffer(raw)));
    return lz4Compress(raw);
  }
}

class ZstdCodec implements Codec {
  readonly spec: CodecSpec;
  readonly name: string;
  readonly id = CODEC_ID.zstd;
  constructor(readonly level: number) {
    this.spec = { kind: 'zstd', level };
    this.name = `zstd:${level}`;
  }
  compress(raw: Uint8Array): Promise<Uint8Array> {
    return zstdCompress(asBuffer(raw), this.level);
  }
}

export function createCodec(spec: CodecSpec): Codec {
  switch (spec.kind) {
    case 'none':
      return new NoneCodec();
    case 'lz4':
      return new Lz4Codec();
    case 'zstd':
      return new ZstdCodec(spec.level);
  }
}

export function isCodecId(value: number): value is CodecId {
  return value === CODEC_ID.none || value === CODEC_ID.lz4 || value === CODEC_ID.zstd;
}

/**
 * Decompresses bytes stored with `codecId` (whatever codec is configured now). Throws a plain
 * Error on malformed input; callers wrap it with the file and offset they read from.
 */
export async function decompressWith(codecId: CodecId, stored: Uint8Array): Promise<Uint8Array> {
  switch (codecId) {
    case CODEC_ID.none:
      return plainView(stored);
    case CODEC_ID.lz4:
      return plainView(stored.byteLength <= LZ4_SYNC_LIMIT_BYTES ? lz4UncompressSync(stored) : await lz4Uncompress(stored));
    case CODEC_ID.zstd:
      return plainView(await zstdDecompress(asBuffer(stored)));
  }
}

/** A plain Uint8Array over the same memory, so readers get the same type whatever codec wrote the bytes. */
function plainView(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
}

/**
 * The same, synchronously — for reading log entries back on the Raft core's synchronous path.
 * zstd's binding (1.2.x) offers no synchronous call, so zstd-stored bytes throw: the caller then
 * treats the entries as unavailable (the core sends a snapshot instead).
 */
export function decompressSync(codecId: CodecId, stored: Uint8Array): Uint8Array {
  switch (codecId) {
    case CODEC_ID.none:
      return plainView(stored);
    case CODEC_ID.lz4:
      return plainView(lz4UncompressSync(stored));
    case CODEC_ID.zstd:
      throw new Error('zstd-compressed bytes cannot be decompressed synchronously (the zstd binding is asynchronous only)');
  }
}

// An upper bound on what one zstd frame decompresses to, read from its block headers without
// decompressing anything — so a receiver can refuse a decompression bomb before the binding
// allocates the output. Frame layout (RFC 8878 §3.1.1), all little-endian:
//
//   u32  magic 0xFD2FB528
//   u8   frame header descriptor: bits 7-6 content-size flag, bit 5 single segment, bit 4 unused,
//        bit 3 reserved (must be 0), bit 2 content checksum present, bits 1-0 dictionary id size
//   [u8 window descriptor]        unless single segment
//   [dictionary id, 1/2/4 bytes]  by bits 1-0 (refused here: our encoder never uses dictionaries)
//   [content size, 1/2/4/8 bytes] flag 0: 1 byte if single segment else absent; 1: 2 bytes (+256);
//                                 2: 4 bytes; 3: 8 bytes
//   blocks, each a u24 header: bit 0 last block, bits 2-1 type (0 raw, 1 RLE, 2 compressed,
//        3 reserved), bits 23-3 size. Raw: `size` bytes follow and decode to themselves. RLE: one
//        byte follows and decodes to `size` copies. Compressed: `size` bytes follow and decode to
//        at most the block maximum, 128 KiB.
//   [u32 content checksum]        if bit 2
//
// The subtle thing: @mongodb-js/zstd 1.2.x writes no content size (except for empty input) and
// decodes every concatenated frame it is given, so neither a declared size nor "one frame" can be
// taken on trust. Summing the block headers gives a bound the real output can never exceed
// (a compressed block counts as the full 128 KiB), and exactly one frame with nothing after it is
// required.

/** What a frame's headers say about its output. */
export interface ZstdFrameBound {
  /** The output can be no larger than this. */
  readonly decodedBytesMax: number;
  /** The content size the frame declares, or null when it declares none. */
  readonly contentBytes: number | null;
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Block_Maximum_Size: no block decodes to more (RFC 8878 §3.1.1.2.3). */
export const ZSTD_BLOCK_DECODED_BYTES_MAX = 128 * 1024;
const FRAME_CONTENT_SIZE_BYTES: readonly number[] = [0, 2, 4, 8];

function readUintLE(bytes: Uint8Array, offset: number, count: number): number {
  let value = 0;
  for (let i = count - 1; i >= 0; i--) value = value * 256 + bytes[offset + i]!;
  return value;
}

/** The bound for `frame`, or why it is not exactly one well-formed, dictionary-free zstd frame. */
export function inspectZstdFrame(frame: Uint8Array): ZstdFrameBound | string {
  const length = frame.length;
  if (length < 5) return `a zstd frame needs at least 5 bytes, got ${length}`;
  if (readUintLE(frame, 0, 4) !== ZSTD_MAGIC) return 'not a zstd frame (bad magic number)';
  const descriptor = frame[4]!;
  if ((descriptor & 0x08) !== 0) return 'zstd frame header descriptor has its reserved bit set';
  if ((descriptor & 0x03) !== 0) return 'zstd frame names a dictionary (never used on this wire)';
  const singleSegment = (descriptor & 0x20) !== 0;
  const contentSizeFlag = descriptor >>> 6;
  const hasChecksum = (descriptor & 0x04) !== 0;
  let offset = 5 + (singleSegment ? 0 : 1);
  const contentSizeBytes = contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : FRAME_CONTENT_SIZE_BYTES[contentSizeFlag]!;
  if (offset + contentSizeBytes > length) return 'zstd frame header is cut short';
  let contentBytes: number | null = null;
  if (contentSizeBytes > 0) {
    contentBytes = readUintLE(frame, offset, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    offset += contentSizeBytes;
  }
  let decodedBytesMax = 0;
  // Every block consumes at least its 3-byte header, so this loop ends within length / 3 rounds.
  for (;;) {
    const blockStart = offset;
    if (blockStart + 3 > length) return `zstd block header at byte ${blockStart} is cut short`;
    const header = readUintLE(frame, blockStart, 3);
    offset += 3;
    const blockType = (header >>> 1) & 0x03;
    const blockSize = header >>> 3;
    if (blockSize > ZSTD_BLOCK_DECODED_BYTES_MAX) return `zstd block of ${blockSize} bytes exceeds the 128 KiB block maximum`;
    switch (blockType) {
      case 0:
        decodedBytesMax += blockSize;
        offset += blockSize;
        break;
      case 1:
        decodedBytesMax += blockSize;
        offset += 1;
        break;
      case 2:
        decodedBytesMax += ZSTD_BLOCK_DECODED_BYTES_MAX;
        offset += blockSize;
        break;
      default:
        return `zstd block at byte ${blockStart} has the reserved block type`;
    }
    if (offset > length) return `zstd block at byte ${blockStart} runs past the end of the frame`;
    if ((header & 0x01) !== 0) break;
  }
  if (hasChecksum) offset += 4;
  if (offset > length) return 'zstd content checksum is cut short';
  if (offset !== length) return `${length - offset} bytes follow the zstd frame (exactly one frame is allowed)`;
  return { decodedBytesMax, contentBytes };
}

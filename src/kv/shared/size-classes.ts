// Block size classes for the shared arena. Every block is a multiple of 8 bytes (so node words
// and 64-bit fields stay aligned). Classes step by 8 bytes up to 64 B, then by a quarter of the
// power of two below (80, 96, 112, 128, 160, 192, 224, 256, 320, …). A request is rounded up to
// its class, so a block above 64 B wastes less than 20 % of itself, and one of 64 B or less at
// most 7 bytes of padding. Four classes per doubling keeps the table short (about 4 per bit of
// the largest size) while bounding that internal waste.

export const BLOCK_ALIGN_BYTES = 8;
export const SMALLEST_BLOCK_BYTES = 16;

export class SizeClasses {
  /** blockBytes[c] is the size of every block of class c, ascending. */
  readonly blockBytes: readonly number[];

  constructor(readonly largestBlockBytes: number) {
    if (!Number.isSafeInteger(largestBlockBytes) || largestBlockBytes < 64 || largestBlockBytes % BLOCK_ALIGN_BYTES !== 0) {
      throw new RangeError(`largestBlockBytes must be a multiple of 8 and at least 64, got ${largestBlockBytes}`);
    }
    const sizes: number[] = [];
    for (let size = SMALLEST_BLOCK_BYTES; size <= 64; size += 8) sizes.push(size);
    let powerOfTwo = 64;
    // Bounded: powerOfTwo doubles each turn and stops past largestBlockBytes (< 2^53).
    while (powerOfTwo < largestBlockBytes) {
      const step = powerOfTwo / 4;
      for (let i = 1; i <= 4; i++) {
        const size = powerOfTwo + i * step;
        if (size > largestBlockBytes) break;
        sizes.push(size);
      }
      powerOfTwo *= 2;
    }
    if (sizes[sizes.length - 1] !== largestBlockBytes) sizes.push(largestBlockBytes);
    this.blockBytes = sizes;
  }

  get count(): number {
    return this.blockBytes.length;
  }

  /** The smallest class whose blocks hold `sizeBytes`; throws past the largest block. */
  classFor(sizeBytes: number): number {
    if (sizeBytes <= 64) return sizeBytes <= SMALLEST_BLOCK_BYTES ? 0 : ((sizeBytes + 7) >>> 3) - 2;
    if (sizeBytes > this.largestBlockBytes) {
      throw new RangeError(`a block of ${sizeBytes} bytes exceeds the arena's largest block (${this.largestBlockBytes} bytes)`);
    }
    // Binary search over the ~4·log2 classes above 64 B.
    const sizes = this.blockBytes;
    let low = 7;
    let high = sizes.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sizes[middle]! >= sizeBytes) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

// The shared arena the skip list lives in: fixed-size segments (SharedArrayBuffers), each carved
// into 8-byte-aligned blocks, plus one small control buffer that holds the arena's bookkeeping.
//
// References. A block is named by a 32-bit reference (stored as a uint32 in the node words):
//     ref = segmentIndex · 2^unitBits + offsetBytes / 8,    unitBits = log2(segmentSizeBytes) − 3
// so a reference resolves to (segment, offset) with a shift and a mask, and 0 is the null
// reference: every segment's first 8 bytes are never handed out.
//
// Allocation (writer thread only, under the write lock). One free list per size class
// (size-classes.ts); a freed block goes on its class's list (its first word links to the next
// free block) and is reused by the next request of that class. With no free block of the class,
// the block is cut from the current segment's unused tail (bump allocation). When that tail cannot
// hold the block, it is cut into free blocks of the largest classes that fit (so at most 8 bytes
// of a segment are ever lost) and bump allocation moves to the next segment, adding one if needed.
//
// Fragmentation bound. Internal: a block wastes < 20 % of itself above 64 B, < 8 B at or below
// (see size-classes.ts). External: a free block is only reused for its own class and blocks are
// never merged or split, so the bytes carved from segments never exceed, summed over classes,
// the peak bytes that class ever had live at once (plus the carved tail of each segment, which
// lands on free lists and is reused like any freed block). A workload whose value sizes shift
// over time can therefore hold up to that sum; `clear()` returns everything.
//
// Growth, and what happens when the arena is full. The arena grows by whole segments up to
// `segmentsMax`, then `allocate` throws ArenaFullError (naming the sizes) without changing
// anything, so the caller's operation fails cleanly and the map stays as it was. Segments are
// separate SharedArrayBuffers rather than one growable buffer so that readers never see a buffer
// change size under them: a reader that meets a reference into a segment it has not seen attaches
// it (the writer announces each new segment to every attached reader before any reference into it
// is published — see shared-skip-list.ts).

import { BLOCK_ALIGN_BYTES, SMALLEST_BLOCK_BYTES, SizeClasses } from './size-classes.js';

export const NULL_REF = 0;

/** Word indices in the control buffer (a Uint32Array). */
export const CONTROL = {
  MAGIC: 0,
  LAYOUT_VERSION: 1,
  SEGMENT_SIZE_BYTES: 2,
  SEGMENTS_MAX: 3,
  /** Segments readers may use; raised only after every attached reader was sent the new segment. */
  SEGMENT_COUNT: 4,
  BUMP_OFFSET_BYTES: 5,
  /** The segment bump allocation cuts from (after clear() it restarts at 0 and walks forward). */
  BUMP_SEGMENT: 10,
  HEAD_REF: 6,
  KEY_COUNT: 7,
  TOP_LEVEL: 8,
  /** Bumped by every mutation; entries() uses it to detect writes while iterating. */
  MODIFICATION_COUNT: 9,
  FREE_LIST_HEADS: 16,
} as const;

export const CONTROL_MAGIC = 0x6b767368; // "kvsh"
export const CONTROL_LAYOUT_VERSION = 1;

export const MIN_SEGMENT_BYTES = 1 << 16;
export const SEGMENT_BYTES_MAX = 1 << 30;

export class ArenaFullError extends Error {
  override readonly name = 'ArenaFullError';
  constructor(
    readonly requestedBytes: number,
    readonly segmentCount: number,
    readonly segmentSizeBytes: number,
  ) {
    super(
      `shared arena full: cannot allocate ${requestedBytes} bytes; all ${segmentCount} segments of ` +
        `${segmentSizeBytes} bytes are in use (raise segmentsMax or segmentSizeBytes)`,
    );
  }
}

/** What another thread needs to read the arena: structured-cloneable. */
export interface ArenaDescriptor {
  readonly control: SharedArrayBuffer;
  readonly segments: readonly SharedArrayBuffer[];
}

function log2Exact(value: number): number {
  const bits = Math.log2(value);
  return Number.isInteger(bits) ? bits : -1;
}

/**
 * A reader's window on the arena: typed-array views of each segment it has attached. Readers
 * use plain (non-atomic) loads; the lock orders them after the writer's stores.
 */
export class ArenaView {
  readonly controlWords: Uint32Array;
  readonly segmentBytes: Uint8Array[] = [];
  readonly segmentWords: Uint32Array[] = [];
  readonly segmentSizeBytes: number;
  readonly unitBits: number;
  readonly unitMask: number;

  constructor(control: SharedArrayBuffer, segments: readonly SharedArrayBuffer[]) {
    if (!(control instanceof SharedArrayBuffer)) throw new TypeError('arena descriptor: control must be a SharedArrayBuffer');
    this.controlWords = new Uint32Array(control);
    if (this.controlWords[CONTROL.MAGIC] !== CONTROL_MAGIC) {
      throw new TypeError('arena descriptor: control buffer does not hold a shared skip list (bad magic)');
    }
    if (this.controlWords[CONTROL.LAYOUT_VERSION] !== CONTROL_LAYOUT_VERSION) {
      throw new TypeError(`arena descriptor: layout version ${this.controlWords[CONTROL.LAYOUT_VERSION]}, expected ${CONTROL_LAYOUT_VERSION}`);
    }
    this.segmentSizeBytes = this.controlWords[CONTROL.SEGMENT_SIZE_BYTES]!;
    this.unitBits = log2Exact(this.segmentSizeBytes) - 3;
    this.unitMask = (1 << this.unitBits) - 1;
    for (const segment of segments) this.attachSegment(segment);
  }

  get attachedSegmentCount(): number {
    return this.segmentBytes.length;
  }

  attachSegment(segment: SharedArrayBuffer): void {
    if (!(segment instanceof SharedArrayBuffer) || segment.byteLength !== this.segmentSizeBytes) {
      throw new TypeError(`arena segment ${this.segmentBytes.length}: expected a SharedArrayBuffer of ${this.segmentSizeBytes} bytes`);
    }
    this.segmentBytes.push(new Uint8Array(segment));
    this.segmentWords.push(new Uint32Array(segment));
  }

  /** Segments published by the writer (read under the lock). */
  publishedSegmentCount(): number {
    return this.controlWords[CONTROL.SEGMENT_COUNT]!;
  }
}

export interface ArenaOptions {
  /** Bytes per segment, a power of two in [64 KiB, 1 GiB]. */
  readonly segmentSizeBytes: number;
  /** Segments the arena may grow to; it starts with one. */
  readonly segmentsMax: number;
}

export interface ArenaStats {
  readonly segmentCount: number;
  readonly segmentSizeBytes: number;
  readonly segmentsMax: number;
  /** Bytes carved from segments so far (live blocks + free-listed blocks). */
  readonly carvedBytes: number;
  /** Bytes in blocks currently handed out. */
  readonly liveBytes: number;
  /** Bytes in blocks waiting on free lists for reuse. */
  readonly freeListBytes: number;
  /**
   * Σ over size classes of the most bytes that class had live at once (since creation or clear).
   * The fragmentation bound: carvedBytes ≤ peakLiveBytesSumOverClasses + tailCarvedBytes.
   */
  readonly peakLiveBytesSumOverClasses: number;
  /** Bytes of segment tails cut into free blocks when bump allocation moved on. */
  readonly tailCarvedBytes: number;
}

/** The writer's side of the arena: allocation, freeing, growth. Single-threaded by contract. */
export class Arena {
  readonly view: ArenaView;
  readonly classes: SizeClasses;
  readonly segments: SharedArrayBuffer[] = [];
  private readonly control: SharedArrayBuffer;
  private readonly controlWords: Uint32Array;
  private readonly segmentsMax: number;
  private carvedBytes = 0;
  private liveBytes = 0;
  private freeListBytes = 0;
  private tailCarvedBytes = 0;
  private liveBytesByClass: number[] = [];
  private peakLiveBytesByClass: number[] = [];
  /** Called with each new segment before any reference into it can be published. */
  onSegmentAdded: ((index: number, segment: SharedArrayBuffer) => void) | null = null;

  constructor(options: ArenaOptions) {
    const { segmentSizeBytes, segmentsMax } = options;
    if (log2Exact(segmentSizeBytes) < 0 || segmentSizeBytes < MIN_SEGMENT_BYTES || segmentSizeBytes > SEGMENT_BYTES_MAX) {
      throw new RangeError(`segmentSizeBytes must be a power of two in [${MIN_SEGMENT_BYTES}, ${SEGMENT_BYTES_MAX}], got ${segmentSizeBytes}`);
    }
    const unitBits = log2Exact(segmentSizeBytes) - 3;
    const addressableSegmentsMax = 2 ** (32 - unitBits);
    if (!Number.isSafeInteger(segmentsMax) || segmentsMax < 1 || segmentsMax > Math.min(addressableSegmentsMax, 65536)) {
      throw new RangeError(
        `segmentsMax must be an integer in [1, ${Math.min(addressableSegmentsMax, 65536)}] for ${segmentSizeBytes}-byte segments, got ${segmentsMax}`,
      );
    }
    this.segmentsMax = segmentsMax;
    // The largest block fills a segment minus its reserved first 8 bytes, rounded down to 8.
    this.classes = new SizeClasses(segmentSizeBytes - BLOCK_ALIGN_BYTES);
    this.liveBytesByClass = new Array<number>(this.classes.count).fill(0);
    this.peakLiveBytesByClass = new Array<number>(this.classes.count).fill(0);
    this.control = new SharedArrayBuffer((CONTROL.FREE_LIST_HEADS + this.classes.count) * 4);
    this.controlWords = new Uint32Array(this.control);
    const words = this.controlWords;
    words[CONTROL.MAGIC] = CONTROL_MAGIC;
    words[CONTROL.LAYOUT_VERSION] = CONTROL_LAYOUT_VERSION;
    words[CONTROL.SEGMENT_SIZE_BYTES] = segmentSizeBytes;
    words[CONTROL.SEGMENTS_MAX] = segmentsMax;
    this.view = new ArenaView(this.control, []);
    this.addSegment();
    words[CONTROL.BUMP_SEGMENT] = 0;
    words[CONTROL.BUMP_OFFSET_BYTES] = BLOCK_ALIGN_BYTES;
  }

  descriptor(): ArenaDescriptor {
    return { control: this.control, segments: [...this.segments] };
  }

  get controlBuffer(): SharedArrayBuffer {
    return this.control;
  }

  stats(): ArenaStats {
    return {
      segmentCount: this.segments.length,
      segmentSizeBytes: this.view.segmentSizeBytes,
      segmentsMax: this.segmentsMax,
      carvedBytes: this.carvedBytes,
      liveBytes: this.liveBytes,
      freeListBytes: this.freeListBytes,
      peakLiveBytesSumOverClasses: this.peakLiveBytesByClass.reduce((sum, bytes) => sum + bytes, 0),
      tailCarvedBytes: this.tailCarvedBytes,
    };
  }

  /** Size in bytes of the block a request of `sizeBytes` gets. */
  blockBytesFor(sizeBytes: number): number {
    return this.classes.blockBytes[this.classes.classFor(sizeBytes)]!;
  }

  /** A block of at least `sizeBytes`; its contents are unspecified. Throws ArenaFullError. */
  allocate(sizeBytes: number): number {
    const sizeClass = this.classes.classFor(sizeBytes < SMALLEST_BLOCK_BYTES ? SMALLEST_BLOCK_BYTES : sizeBytes);
    const blockBytes = this.classes.blockBytes[sizeClass]!;
    const words = this.controlWords;
    const freeHead = words[CONTROL.FREE_LIST_HEADS + sizeClass]!;
    if (freeHead !== NULL_REF) {
      words[CONTROL.FREE_LIST_HEADS + sizeClass] = this.word(freeHead, 0);
      this.freeListBytes -= blockBytes;
      this.countLive(sizeClass, blockBytes);
      return freeHead;
    }
    const segmentSizeBytes = this.view.segmentSizeBytes;
    let offset = words[CONTROL.BUMP_OFFSET_BYTES]!;
    let bumpSegment = words[CONTROL.BUMP_SEGMENT]!;
    if (offset + blockBytes > segmentSizeBytes) {
      const nextSegment = bumpSegment + 1;
      if (nextSegment >= this.segments.length && this.segments.length >= this.segmentsMax) {
        throw new ArenaFullError(blockBytes, this.segments.length, segmentSizeBytes);
      }
      const carvedBefore = this.carvedBytes;
      this.carveIntoFreeBlocks(bumpSegment, offset, segmentSizeBytes);
      this.tailCarvedBytes += this.carvedBytes - carvedBefore;
      if (nextSegment >= this.segments.length) this.addSegment();
      bumpSegment = nextSegment;
      offset = BLOCK_ALIGN_BYTES;
      words[CONTROL.BUMP_SEGMENT] = bumpSegment;
    }
    words[CONTROL.BUMP_OFFSET_BYTES] = offset + blockBytes;
    this.carvedBytes += blockBytes;
    this.countLive(sizeClass, blockBytes);
    return this.refOf(bumpSegment, offset);
  }

  /** Return a block obtained from allocate(sizeBytes) with the same sizeBytes. */
  free(ref: number, sizeBytes: number): void {
    const sizeClass = this.classes.classFor(sizeBytes < SMALLEST_BLOCK_BYTES ? SMALLEST_BLOCK_BYTES : sizeBytes);
    const blockBytes = this.classes.blockBytes[sizeClass]!;
    this.pushFree(ref, sizeClass);
    this.liveBytes -= blockBytes;
    this.liveBytesByClass[sizeClass]! -= blockBytes;
  }

  private countLive(sizeClass: number, blockBytes: number): void {
    this.liveBytes += blockBytes;
    const live = (this.liveBytesByClass[sizeClass]! += blockBytes);
    if (live > this.peakLiveBytesByClass[sizeClass]!) this.peakLiveBytesByClass[sizeClass] = live;
  }

  /** Forget every block: allocation restarts at the start of segment 0 (segments are kept). */
  reset(): void {
    const words = this.controlWords;
    for (let c = 0; c < this.classes.count; c++) words[CONTROL.FREE_LIST_HEADS + c] = NULL_REF;
    this.carvedBytes = 0;
    this.liveBytes = 0;
    this.freeListBytes = 0;
    this.tailCarvedBytes = 0;
    this.liveBytesByClass.fill(0);
    this.peakLiveBytesByClass.fill(0);
    words[CONTROL.BUMP_SEGMENT] = 0;
    words[CONTROL.BUMP_OFFSET_BYTES] = BLOCK_ALIGN_BYTES;
  }

  private addSegment(): void {
    const segment = new SharedArrayBuffer(this.view.segmentSizeBytes);
    const index = this.segments.length;
    this.segments.push(segment);
    this.view.attachSegment(segment);
    if (this.onSegmentAdded !== null) this.onSegmentAdded(index, segment);
    // Published after the announcement: a reader that sees the new count can already attach.
    this.controlWords[CONTROL.SEGMENT_COUNT] = this.segments.length;
  }

  private carveIntoFreeBlocks(segmentIndex: number, startOffset: number, endOffset: number): void {
    const sizes = this.classes.blockBytes;
    let offset = startOffset;
    let sizeClass = sizes.length - 1;
    // Bounded: each turn either carves a block (advancing offset by ≥ 16) or moves to a smaller
    // class; it stops when fewer than 16 bytes remain.
    while (endOffset - offset >= SMALLEST_BLOCK_BYTES && sizeClass >= 0) {
      const blockBytes = sizes[sizeClass]!;
      if (blockBytes <= endOffset - offset) {
        this.pushFree(this.refOf(segmentIndex, offset), sizeClass);
        this.carvedBytes += blockBytes;
        offset += blockBytes;
      } else {
        sizeClass--;
      }
    }
  }

  private pushFree(ref: number, sizeClass: number): void {
    const words = this.controlWords;
    this.setWord(ref, 0, words[CONTROL.FREE_LIST_HEADS + sizeClass]!);
    words[CONTROL.FREE_LIST_HEADS + sizeClass] = ref;
    this.freeListBytes += this.classes.blockBytes[sizeClass]!;
  }

  private refOf(segmentIndex: number, offsetBytes: number): number {
    return segmentIndex * 2 ** this.view.unitBits + offsetBytes / BLOCK_ALIGN_BYTES;
  }

  private word(ref: number, index: number): number {
    const view = this.view;
    return view.segmentWords[ref >>> view.unitBits]![((ref & view.unitMask) << 1) + index]!;
  }

  private setWord(ref: number, index: number, value: number): void {
    const view = this.view;
    view.segmentWords[ref >>> view.unitBits]![((ref & view.unitMask) << 1) + index] = value;
  }
}

// The shared-memory OrderedMap: a skip list (Pugh 1990) whose nodes, keys and values live in a
// SharedArrayBuffer arena (arena.ts, node-layout.ts), guarded by the `kv.lock` lock (lock.ts), so
// that reader worker threads (reader-pool.ts) can serve get and scan straight from shared memory.
//
// Threads and roles:
//   - One writer: the thread that created the map (the apply path, on the main thread). Only it
//     mutates. put / delete / clear take the write lock around the mutation, or writeBatch takes
//     it once around a whole apply batch (readers then see the batch whole); its own reads (get,
//     scan, entries, size) take no lock, because nothing else writes (readers only read), so the
//     writer always sees its own latest state.
//   - Any number of readers: SharedSkipListReader, built in another thread from `descriptor()`.
//     Each read takes the read lock for its whole duration, so a scan is one atomic snapshot.
//
// What the writer does outside the lock and why that is safe: the search for the insertion point
// (it only reads, and only the writer ever changes links). Allocation, writing a new node's fields
// and linking it all happen inside the write lock; a reader that later takes the lock sees the
// node complete, because the release/acquire pair on the lock's Atomics words orders the writer's
// plain stores before the reader's plain loads. A freed block is unlinked and freed in one
// critical section, so no reader can still be looking at it when it is reused.
//
// Levels: p = 1/4 (two bits of one Prng draw per level), at most 16 — the same choice as the heap
// skip list (src/kv/skiplist.ts) and for the same reasons; the Prng is injected so that the same
// inserts build the same list.
//
// Segment growth seen by readers: each reader attaches with its own MessagePort
// (`attachReader`). When the arena adds a segment, the writer posts it to every attached port
// before the new segment count or any reference into it is published (all inside the write
// lock). Posting enqueues synchronously, so a reader that meets the larger count under its read
// lock can take the segment with `receiveMessageOnPort` at once, without returning to its event
// loop.

import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ABSENT, type KeyValueVersion, type OrderedMap, type VersionedValue } from '../ordered-map.js';
import type { Prng } from '../../random/prng.js';
import { Arena, ArenaView, CONTROL, NULL_REF, type ArenaDescriptor, type ArenaStats } from './arena.js';
import { attachSharedLock, createSharedLock, type LockDescriptor, type LockKind, type SharedLock } from './lock.js';
import { hashKeyBytes } from '../key-hash.js';
import { PointIndex } from './point-index.js';
import {
  KEY_BYTES_MAX,
  LEVEL_MAX,
  NODE_FORWARD,
  NODE_META,
  NODE_VALUE_LENGTH,
  NODE_VALUE_REF,
  NODE_VERSION_HIGH,
  NODE_VERSION_LOW,
  NodeWalker,
  metaOf,
  nodeBytes,
} from './node-layout.js';

export interface SharedSkipListOptions {
  readonly lock: LockKind;
  /** Chooses node levels; the same seed and inserts build the same list. */
  readonly prng: Prng;
  /** Bytes per arena segment, a power of two in [64 KiB, 1 GiB] (default 16 MiB). */
  readonly segmentSizeBytes?: number;
  /** Most segments the arena may grow to (default 64, i.e. 1 GiB with the default segments). */
  readonly segmentsMax?: number;
}

/** Everything a reader thread needs, structured-cloneable (send it with postMessage). */
export interface SharedSkipListDescriptor {
  readonly arena: ArenaDescriptor;
  readonly lock: LockDescriptor;
}

/** A reader's attachment: the descriptor plus the port new segments arrive on (transfer it). */
export interface ReaderAttachment {
  readonly descriptor: SharedSkipListDescriptor;
  readonly segmentPort: MessagePort;
  /** Stop announcing segments to this reader (call when the reader is gone). */
  detach(): void;
}

interface SegmentAnnouncement {
  readonly type: 'segment';
  readonly index: number;
  readonly buffer: SharedArrayBuffer;
}

const DEFAULT_SEGMENT_SIZE_BYTES = 16 * 1024 * 1024;
const SEGMENTS_MAX_DEFAULT = 64;
const TWO_POW_32 = 4294967296;

function checkKey(key: Uint8Array, operation: string): void {
  if (!(key instanceof Uint8Array)) throw new TypeError(`shared skip list ${operation}: key must be a Uint8Array`);
  if (key.length > KEY_BYTES_MAX) {
    throw new RangeError(`shared skip list ${operation}: key is ${key.length} bytes, the limit is ${KEY_BYTES_MAX}`);
  }
}

export class SharedSkipList implements OrderedMap {
  readonly lock: SharedLock;
  private readonly arena: Arena;
  private readonly walker: NodeWalker;
  private readonly control: Uint32Array;
  private readonly prng: Prng;
  /** Search path of the last findPath; reused so mutations do not allocate it. */
  private readonly update = new Array<number>(LEVEL_MAX).fill(NULL_REF);
  /** Key → node for the writer's point operations (point-index.ts); readers search the list. */
  private readonly index: PointIndex;
  private readonly readerPorts = new Set<MessagePort>();
  /** > 0 inside writeBatch: mutations then run under the batch's single write-lock hold. */
  private batchDepth = 0;

  private constructor(options: SharedSkipListOptions) {
    this.lock = createSharedLock(options.lock);
    this.prng = options.prng;
    this.arena = new Arena({
      segmentSizeBytes: options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES,
      segmentsMax: options.segmentsMax ?? SEGMENTS_MAX_DEFAULT,
    });
    this.arena.onSegmentAdded = (index, buffer) => this.announceSegment(index, buffer);
    this.walker = new NodeWalker(this.arena.view);
    this.control = this.arena.view.controlWords;
    this.index = new PointIndex((ref, key) => this.walker.compareNodeKey(ref, key) === 0);
    this.initialiseHead();
  }

  static create(options: SharedSkipListOptions): SharedSkipList {
    return new SharedSkipList(options);
  }

  get lockKind(): LockKind {
    return this.lock.kind;
  }

  get size(): number {
    return this.walker.keyCount();
  }

  arenaStats(): ArenaStats {
    return this.arena.stats();
  }

  descriptor(): SharedSkipListDescriptor {
    return { arena: this.arena.descriptor(), lock: this.lock.descriptor() };
  }

  /** Register a reader thread; send `segmentPort` to it in the transfer list. */
  attachReader(): ReaderAttachment {
    const channel = new MessageChannel();
    const writerPort = channel.port1;
    this.readerPorts.add(writerPort);
    // The descriptor and the port registration happen in the same synchronous step, so no
    // segment can be added between them and missed.
    return {
      descriptor: this.descriptor(),
      segmentPort: channel.port2,
      detach: () => {
        if (this.readerPorts.delete(writerPort)) writerPort.close();
      },
    };
  }

  get(key: Uint8Array): VersionedValue | undefined {
    checkKey(key, 'get');
    const node = this.index.find(key, hashKeyBytes(key));
    return node === NULL_REF ? undefined : this.walker.versionedValue(node);
  }

  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[] {
    checkKey(startInclusive, 'scan');
    if (endExclusive !== null) checkKey(endExclusive, 'scan');
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`shared skip list scan: limit must be a non-negative integer, got ${limit}`);
    return this.walker.scan(startInclusive, endExclusive, limit);
  }

  *entries(): IterableIterator<KeyValueVersion> {
    const modificationsAtStart = this.control[CONTROL.MODIFICATION_COUNT];
    let node = this.walker.forward(this.walker.headRef(), 0);
    // Bounded by the list's length (checked against modification below).
    while (node !== NULL_REF) {
      const entry = this.walker.keyValueVersion(node);
      yield entry;
      if (this.control[CONTROL.MODIFICATION_COUNT] !== modificationsAtStart) {
        throw new Error('shared skip list entries(): the map was modified while iterating');
      }
      node = this.walker.forward(node, 0);
    }
  }

  put(key: Uint8Array, value: Uint8Array, version: number): number {
    checkKey(key, 'put');
    if (!(value instanceof Uint8Array)) throw new TypeError('shared skip list put: value must be a Uint8Array');
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new RangeError(`shared skip list put: version must be a positive safe integer, got ${version}`);
    }
    const hash = hashKeyBytes(key);
    const found = this.index.find(key, hash);
    // Only an insert needs the path (to link the node); a replace swaps the value in place.
    if (found === NULL_REF) this.findPath(key);
    this.acquireWrite();
    try {
      let previousLength = ABSENT;
      if (found !== NULL_REF) previousLength = this.replaceValue(found, value, version);
      else this.index.add(this.insert(key, value, version), hash);
      this.control[CONTROL.MODIFICATION_COUNT] = (this.control[CONTROL.MODIFICATION_COUNT]! + 1) >>> 0;
      return previousLength;
    } finally {
      this.releaseWrite();
    }
  }

  delete(key: Uint8Array): number {
    checkKey(key, 'delete');
    const hash = hashKeyBytes(key);
    if (this.index.find(key, hash) === NULL_REF) return ABSENT;
    const found = this.findPath(key);
    if (found === NULL_REF) throw new Error('shared skip list: a key in the point index is missing from the list');
    // Out of the index before its block is freed (a probe must never meet a reused block).
    this.index.remove(found, hash);
    let removedLength = ABSENT;
    const walker = this.walker;
    this.acquireWrite();
    try {
      const words = walker.wordsOf(found);
      const index = walker.wordIndexOf(found);
      const meta = words[index + NODE_META]!;
      const level = meta & 0xff;
      removedLength = words[index + NODE_VALUE_LENGTH]!;
      for (let i = 0; i < level; i++) {
        this.setForward(this.update[i]!, i, words[index + NODE_FORWARD + i]!);
      }
      let topLevel = walker.topLevel();
      const head = walker.headRef();
      while (topLevel > 1 && walker.forward(head, topLevel - 1) === NULL_REF) topLevel--;
      this.control[CONTROL.TOP_LEVEL] = topLevel;
      this.control[CONTROL.KEY_COUNT] = walker.keyCount() - 1;
      this.freeValue(words[index + NODE_VALUE_REF]!, words[index + NODE_VALUE_LENGTH]!);
      this.arena.free(found, nodeBytes(level, meta >>> 16));
      this.control[CONTROL.MODIFICATION_COUNT] = (this.control[CONTROL.MODIFICATION_COUNT]! + 1) >>> 0;
    } finally {
      this.releaseWrite();
    }
    return removedLength;
  }

  clear(): void {
    this.acquireWrite();
    try {
      this.arena.reset();
      this.index.clear();
      this.initialiseHead();
      this.control[CONTROL.MODIFICATION_COUNT] = (this.control[CONTROL.MODIFICATION_COUNT]! + 1) >>> 0;
    } finally {
      this.releaseWrite();
    }
  }

  /**
   * Runs `body` — a group of put / delete / clear calls, e.g. one apply batch of committed log
   * entries — under a single hold of the write lock: readers see all of it or none of it, and
   * the lock is taken once instead of once per write. Nested calls join the outer batch.
   */
  writeBatch<T>(body: () => T): T {
    this.acquireWrite();
    try {
      return body();
    } finally {
      this.releaseWrite();
    }
  }

  /** Stop announcing segments to every reader. The map stays usable from this thread. */
  detachAllReaders(): void {
    for (const port of this.readerPorts) port.close();
    this.readerPorts.clear();
  }

  // ---- internals (writer thread) ---------------------------------------------------------------

  private acquireWrite(): void {
    if (this.batchDepth++ === 0) this.lock.writeLock();
  }

  private releaseWrite(): void {
    if (--this.batchDepth === 0) this.lock.writeUnlock();
  }

  private initialiseHead(): void {
    const head = this.arena.allocate(nodeBytes(LEVEL_MAX, 0));
    const words = this.walker.wordsOf(head);
    const index = this.walker.wordIndexOf(head);
    words.fill(0, index, index + NODE_FORWARD + LEVEL_MAX);
    words[index + NODE_META] = metaOf(LEVEL_MAX, this.arena.classes.classFor(nodeBytes(LEVEL_MAX, 0)), 0);
    this.control[CONTROL.HEAD_REF] = head;
    this.control[CONTROL.TOP_LEVEL] = 1;
    this.control[CONTROL.KEY_COUNT] = 0;
  }

  /** Fills this.update with the last node before `key` at every level; returns the match or NULL_REF. */
  private findPath(key: Uint8Array): number {
    const walker = this.walker;
    const update = this.update;
    const head = walker.headRef();
    const topLevel = walker.topLevel();
    for (let level = LEVEL_MAX - 1; level >= topLevel; level--) update[level] = head;
    let node = head;
    for (let level = topLevel - 1; level >= 0; level--) {
      let next = walker.forward(node, level);
      while (next !== NULL_REF && walker.compareNodeKey(next, key) < 0) {
        node = next;
        next = walker.forward(node, level);
      }
      update[level] = node;
    }
    const candidate = walker.forward(node, 0);
    return candidate !== NULL_REF && walker.compareNodeKey(candidate, key) === 0 ? candidate : NULL_REF;
  }

  private randomLevel(): number {
    // Two bits per level: each further level with probability 1/4.
    let bits = this.prng.nextUint32();
    let level = 1;
    while (level < LEVEL_MAX && (bits & 3) === 0) {
      level++;
      bits >>>= 2;
    }
    return level;
  }

  /** Allocates and fills a value block; returns NULL_REF for an empty value. */
  private storeValue(value: Uint8Array): number {
    if (value.length === 0) return NULL_REF;
    const ref = this.arena.allocate(value.length);
    const view = this.arena.view;
    view.segmentBytes[ref >>> view.unitBits]!.set(value, (ref & view.unitMask) << 3);
    return ref;
  }

  private freeValue(ref: number, length: number): void {
    if (ref !== NULL_REF) this.arena.free(ref, length);
  }

  /** Returns the length of the value replaced. */
  private replaceValue(node: number, value: Uint8Array, version: number): number {
    const walker = this.walker;
    const words = walker.wordsOf(node);
    const index = walker.wordIndexOf(node);
    // Allocate first: if the arena is full nothing has changed yet.
    const newValueRef = this.storeValue(value);
    const previousLength = words[index + NODE_VALUE_LENGTH]!;
    this.freeValue(words[index + NODE_VALUE_REF]!, previousLength);
    words[index + NODE_VALUE_REF] = newValueRef;
    words[index + NODE_VALUE_LENGTH] = value.length;
    words[index + NODE_VERSION_LOW] = version % TWO_POW_32;
    words[index + NODE_VERSION_HIGH] = Math.floor(version / TWO_POW_32);
    return previousLength;
  }

  /** Links a new node for `key` at the path findPath left in `update`; returns the node. */
  private insert(key: Uint8Array, value: Uint8Array, version: number): number {
    const level = this.randomLevel();
    const sizeBytes = nodeBytes(level, key.length);
    const node = this.arena.allocate(sizeBytes);
    let valueRef: number;
    try {
      valueRef = this.storeValue(value);
    } catch (error) {
      this.arena.free(node, sizeBytes);
      throw error;
    }
    const walker = this.walker;
    const view = this.arena.view;
    const words = walker.wordsOf(node);
    const index = walker.wordIndexOf(node);
    words[index + NODE_VALUE_REF] = valueRef;
    words[index + NODE_VALUE_LENGTH] = value.length;
    words[index + NODE_VERSION_LOW] = version % TWO_POW_32;
    words[index + NODE_VERSION_HIGH] = Math.floor(version / TWO_POW_32);
    words[index + NODE_META] = metaOf(level, this.arena.classes.classFor(sizeBytes), key.length);
    view.segmentBytes[node >>> view.unitBits]!.set(key, (index + NODE_FORWARD + level) << 2);
    // Fill the node's own forward pointers before linking it into the list.
    for (let i = 0; i < level; i++) {
      const previous = this.update[i]!;
      words[index + NODE_FORWARD + i] = walker.forward(previous, i);
      this.setForward(previous, i, node);
    }
    if (level > walker.topLevel()) this.control[CONTROL.TOP_LEVEL] = level;
    this.control[CONTROL.KEY_COUNT] = walker.keyCount() + 1;
    return node;
  }

  private setForward(ref: number, level: number, target: number): void {
    this.walker.wordsOf(ref)[this.walker.wordIndexOf(ref) + NODE_FORWARD + level] = target;
  }

  private announceSegment(index: number, buffer: SharedArrayBuffer): void {
    const announcement: SegmentAnnouncement = { type: 'segment', index, buffer };
    for (const port of this.readerPorts) port.postMessage(announcement);
  }
}

/**
 * A reader thread's view of a SharedSkipList: every operation holds the read lock throughout.
 * Build it from an attachment's descriptor and segment port (after transferring them).
 */
export class SharedSkipListReader {
  readonly lock: SharedLock;
  private readonly view: ArenaView;
  private readonly walker: NodeWalker;

  /**
   * `participant`: a lock participant slot reserved for this thread (reserveParticipant), so that
   * whoever reserved it can release the lock's holds if this thread dies; by default the reader
   * claims a slot of its own.
   */
  constructor(
    descriptor: SharedSkipListDescriptor,
    private readonly segmentPort: MessagePort | null,
    participant?: number,
  ) {
    this.lock = attachSharedLock(descriptor.lock, participant);
    this.view = new ArenaView(descriptor.arena.control, descriptor.arena.segments);
    this.walker = new NodeWalker(this.view);
  }

  get(key: Uint8Array): VersionedValue | undefined {
    this.lock.readLock();
    try {
      this.attachNewSegments();
      return this.walker.get(key);
    } finally {
      this.lock.readUnlock();
    }
  }

  scan(startInclusive: Uint8Array, endExclusive: Uint8Array | null, limit: number): KeyValueVersion[] {
    this.lock.readLock();
    try {
      this.attachNewSegments();
      return this.walker.scan(startInclusive, endExclusive, limit);
    } finally {
      this.lock.readUnlock();
    }
  }

  /** Runs `body` with the read lock held and segments up to date (for batched work). */
  withReadLock<T>(body: (walker: NodeWalker) => T): T {
    this.lock.readLock();
    try {
      this.attachNewSegments();
      return body(this.walker);
    } finally {
      this.lock.readUnlock();
    }
  }

  get size(): number {
    this.lock.readLock();
    try {
      return this.walker.keyCount();
    } finally {
      this.lock.readUnlock();
    }
  }

  /** Called under the read lock: the writer posted every published segment before publishing. */
  private attachNewSegments(): void {
    const published = this.view.publishedSegmentCount();
    // Bounded by the number of published segments.
    while (this.view.attachedSegmentCount < published) {
      const received = this.segmentPort === null ? undefined : receiveMessageOnPort(this.segmentPort);
      if (received === undefined) {
        throw new Error(
          `shared skip list reader: segment ${this.view.attachedSegmentCount} is published but was not announced on the segment port`,
        );
      }
      const announcement = received.message as SegmentAnnouncement;
      if (announcement.type !== 'segment' || announcement.index !== this.view.attachedSegmentCount) {
        throw new Error(`shared skip list reader: expected segment ${this.view.attachedSegmentCount}, got ${JSON.stringify({ type: announcement.type, index: announcement.index })}`);
      }
      this.view.attachSegment(announcement.buffer);
    }
  }
}

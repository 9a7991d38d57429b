// The two locks behind the `kv.lock` switch, built on Atomics.wait / Atomics.notify over an
// Int32Array in a SharedArrayBuffer, so that the main thread (the apply path, the only writer)
// and reader worker threads exclude each other for real.
//
//   mutex  — a FIFO ticket lock. Readers and the writer all take it, so every access is serial.
//   rwlock — a phase-fair reader-writer lock (Brandenburg & Anderson, "Spin-based reader-writer
//            synchronization for multiprocessor real-time systems", 2010, the PF-T variant), with
//            sleeping instead of spinning. Many readers or one writer.
//
// Fairness policy, and why. Both locks are starvation-free, with bounds that do not depend on
// timing luck:
//   - mutex: tickets are served in the order they were drawn (FIFO), so a thread waits for at
//     most the holders that drew a ticket before it.
//   - rwlock: phase-fair. Reader and writer phases alternate. A writer that arrives announces
//     itself in `readersIn`; readers arriving after that wait, so a stream of readers cannot
//     starve the writer (it waits only for the readers already inside, then runs). When the
//     writer leaves it lets in every reader that queued behind it before the next writer can
//     start, so a busy writer (the apply path under a steady write stream) cannot starve readers
//     either: a reader waits for at most one writer phase. Writers among themselves are FIFO
//     (a ticket, as in the mutex). Plain writer preference would starve readers under a
//     continuous write stream, and reader preference would starve the apply path under a
//     continuous read stream; phase-fairness bounds both, and makes the mutex-vs-rwlock
//     comparison a comparison of parallelism, not of who gets to starve.
//
// Sleeping, after a short spin: the machine this runs on may have fewer cores than threads (4 readers
// and a writer on 2 cores), where a spinning waiter burns the very core the lock holder needs.
// A waiter re-checks the lock word, then sleeps in Atomics.wait on the word it waits for; the
// releaser calls Atomics.notify only when a sleeper count says someone may be asleep. The two
// sides follow the Dekker pattern under Atomics' sequentially consistent ordering: the sleeper
// increments its count and then re-reads the word; the releaser changes the word and then reads
// the count. Either the releaser sees the count and notifies, or the sleeper sees the change
// before it sleeps (Atomics.wait also refuses to sleep if the word no longer holds the value the
// sleeper saw). So no wake-up is lost.
//
// Memory visibility: every acquire and release is a sequentially consistent Atomics operation on
// the lock words, so all plain writes a writer makes to the shared skip list before its release
// happen-before every read a later holder makes after its acquire. That is what lets the skip
// list itself use plain typed-array reads and writes.
//
// Atomics.wait is allowed on Node's main thread (unlike in browsers), which is what lets the
// synchronous OrderedMap.put block while readers are inside.

export type LockKind = 'mutex' | 'rwlock';

// Before sleeping, a waiter re-checks the word this many times: critical sections here last a
// microsecond or two, so a holder running on another core usually releases within the spin and
// the waiter skips a futex sleep and wake (each several microseconds). Short, so that on an
// oversubscribed machine a spinning waiter gives the core back quickly.
const SPIN_CHECKS = 100;

export const LOCK_KINDS: readonly LockKind[] = ['mutex', 'rwlock'];

/** What a worker needs to attach to the same lock: structured-cloneable. */
export interface LockDescriptor {
  readonly kind: LockKind;
  readonly buffer: SharedArrayBuffer;
}

export interface SharedLock {
  readonly kind: LockKind;
  /** Shared access. For the mutex this is the exclusive lock. */
  readLock(): void;
  readUnlock(): void;
  /** Exclusive access. */
  writeLock(): void;
  writeUnlock(): void;
  descriptor(): LockDescriptor;
}

// ---- mutex: FIFO ticket lock -------------------------------------------------------------------

const MUTEX_NEXT_TICKET = 0;
const MUTEX_NOW_SERVING = 1;
const MUTEX_SLEEPERS = 2;
const MUTEX_WORDS = 3;

class TicketMutex implements SharedLock {
  readonly kind = 'mutex' as const;
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  readLock(): void {
    this.writeLock();
  }
  readUnlock(): void {
    this.writeUnlock();
  }

  writeLock(): void {
    const words = this.words;
    // Counters wrap modulo 2^32; only equality is ever tested, so wrapping is harmless as long as
    // fewer than 2^32 threads wait at once.
    const ticket = Atomics.add(words, MUTEX_NEXT_TICKET, 1);
    let serving = Atomics.load(words, MUTEX_NOW_SERVING);
    for (let spin = 0; spin < SPIN_CHECKS && serving !== ticket; spin++) serving = Atomics.load(words, MUTEX_NOW_SERVING);
    while (serving !== ticket) {
      Atomics.add(words, MUTEX_SLEEPERS, 1);
      serving = Atomics.load(words, MUTEX_NOW_SERVING);
      if (serving !== ticket) Atomics.wait(words, MUTEX_NOW_SERVING, serving);
      Atomics.sub(words, MUTEX_SLEEPERS, 1);
      serving = Atomics.load(words, MUTEX_NOW_SERVING);
    }
  }

  writeUnlock(): void {
    const words = this.words;
    Atomics.add(words, MUTEX_NOW_SERVING, 1);
    // Every sleeper waits for its own ticket, so all must be woken to find the next one; with a
    // handful of threads that costs less than per-ticket wait words.
    if (Atomics.load(words, MUTEX_SLEEPERS) !== 0) Atomics.notify(words, MUTEX_NOW_SERVING);
  }

  descriptor(): LockDescriptor {
    return { kind: this.kind, buffer: this.buffer };
  }
}

// ---- rwlock: phase-fair (PF-T) -----------------------------------------------------------------

// readersIn / readersOut count reader entries and exits in steps of READER_STEP; the low byte of
// readersIn is the writer's announcement: WRITER_PRESENT while a writer waits or holds the lock,
// and PHASE_ID, which alternates between consecutive writers so that a reader blocked by one
// writer is not confused by the next writer setting the same bits (the ABA case).
const RW_READERS_IN = 0;
const RW_READERS_OUT = 1;
const RW_WRITER_TICKET = 2;
const RW_WRITER_SERVING = 3;
const RW_READER_SLEEPERS = 4;
const RW_WRITER_SLEEPERS = 5;
const RW_WORDS = 6;

const READER_STEP = 0x100;
const WRITER_PRESENT = 0x2;
const PHASE_ID = 0x1;
const WRITER_BITS = WRITER_PRESENT | PHASE_ID;

class PhaseFairRwLock implements SharedLock {
  readonly kind = 'rwlock' as const;
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  readLock(): void {
    const words = this.words;
    const writerBits = Atomics.add(words, RW_READERS_IN, READER_STEP) & WRITER_BITS;
    if (writerBits === 0) return;
    // A writer is waiting or inside: wait until that writer's phase ends (its bits change). New
    // reader arrivals also change readersIn, which only makes Atomics.wait return early; the loop
    // re-checks.
    let current = Atomics.load(words, RW_READERS_IN);
    for (let spin = 0; spin < SPIN_CHECKS && (current & WRITER_BITS) === writerBits; spin++) current = Atomics.load(words, RW_READERS_IN);
    while ((current & WRITER_BITS) === writerBits) {
      Atomics.add(words, RW_READER_SLEEPERS, 1);
      current = Atomics.load(words, RW_READERS_IN);
      if ((current & WRITER_BITS) === writerBits) Atomics.wait(words, RW_READERS_IN, current);
      Atomics.sub(words, RW_READER_SLEEPERS, 1);
      current = Atomics.load(words, RW_READERS_IN);
    }
  }

  readUnlock(): void {
    const words = this.words;
    Atomics.add(words, RW_READERS_OUT, READER_STEP);
    // Only a writer ever sleeps on readersOut, and only after announcing itself in readersIn.
    if ((Atomics.load(words, RW_READERS_IN) & WRITER_PRESENT) !== 0 && Atomics.load(words, RW_WRITER_SLEEPERS) !== 0) {
      Atomics.notify(words, RW_READERS_OUT);
    }
  }

  writeLock(): void {
    const words = this.words;
    // FIFO among writers.
    const ticket = Atomics.add(words, RW_WRITER_TICKET, 1);
    let serving = Atomics.load(words, RW_WRITER_SERVING);
    for (let spin = 0; spin < SPIN_CHECKS && serving !== ticket; spin++) serving = Atomics.load(words, RW_WRITER_SERVING);
    while (serving !== ticket) {
      Atomics.add(words, RW_WRITER_SLEEPERS, 1);
      serving = Atomics.load(words, RW_WRITER_SERVING);
      if (serving !== ticket) Atomics.wait(words, RW_WRITER_SERVING, serving);
      Atomics.sub(words, RW_WRITER_SLEEPERS, 1);
      serving = Atomics.load(words, RW_WRITER_SERVING);
    }
    // Announce: from here on arriving readers wait. The value returned counts every reader that
    // entered before the announcement; wait until as many have left.
    const announcement = WRITER_PRESENT | (ticket & PHASE_ID);
    const readersBefore = Atomics.add(words, RW_READERS_IN, announcement) & ~0xff;
    let readersOut = Atomics.load(words, RW_READERS_OUT);
    for (let spin = 0; spin < SPIN_CHECKS && readersOut !== readersBefore; spin++) readersOut = Atomics.load(words, RW_READERS_OUT);
    while (readersOut !== readersBefore) {
      Atomics.add(words, RW_WRITER_SLEEPERS, 1);
      readersOut = Atomics.load(words, RW_READERS_OUT);
      if (readersOut !== readersBefore) Atomics.wait(words, RW_READERS_OUT, readersOut);
      Atomics.sub(words, RW_WRITER_SLEEPERS, 1);
      readersOut = Atomics.load(words, RW_READERS_OUT);
    }
  }

  writeUnlock(): void {
    const words = this.words;
    // First let in the readers that queued behind this writer, then pass the baton to the next
    // writer: the next writer's announcement then lands after those readers' entries, so they run
    // before it (phase-fairness).
    Atomics.and(words, RW_READERS_IN, ~WRITER_BITS);
    if (Atomics.load(words, RW_READER_SLEEPERS) !== 0) Atomics.notify(words, RW_READERS_IN);
    Atomics.add(words, RW_WRITER_SERVING, 1);
    if (Atomics.load(words, RW_WRITER_SLEEPERS) !== 0) Atomics.notify(words, RW_WRITER_SERVING);
  }

  descriptor(): LockDescriptor {
    return { kind: this.kind, buffer: this.buffer };
  }
}

/** A new lock of the given kind in its own SharedArrayBuffer. */
export function createSharedLock(kind: LockKind): SharedLock {
  switch (kind) {
    case 'mutex':
      return new TicketMutex(new SharedArrayBuffer(MUTEX_WORDS * Int32Array.BYTES_PER_ELEMENT));
    case 'rwlock':
      return new PhaseFairRwLock(new SharedArrayBuffer(RW_WORDS * Int32Array.BYTES_PER_ELEMENT));
    default:
      throw new TypeError(`kv.lock must be 'mutex' or 'rwlock', got ${JSON.stringify(kind)}`);
  }
}

/** The same lock, seen from another thread (or the same one). */
export function attachSharedLock(descriptor: LockDescriptor): SharedLock {
  if (!(descriptor.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError('lock descriptor: buffer must be a SharedArrayBuffer');
  }
  switch (descriptor.kind) {
    case 'mutex':
      if (descriptor.buffer.byteLength < MUTEX_WORDS * 4) throw new RangeError('lock descriptor: buffer too small for a mutex');
      return new TicketMutex(descriptor.buffer);
    case 'rwlock':
      if (descriptor.buffer.byteLength < RW_WORDS * 4) throw new RangeError('lock descriptor: buffer too small for an rwlock');
      return new PhaseFairRwLock(descriptor.buffer);
    default:
      throw new TypeError(`lock descriptor: kind must be 'mutex' or 'rwlock', got ${JSON.stringify(descriptor.kind)}`);
  }
}

export function parseLockKind(value: unknown, field = 'kv.lock'): LockKind {
  if (value === 'mutex' || value === 'rwlock') return value;
  throw new TypeError(`${field} must be 'mutex' or 'rwlock', got ${JSON.stringify(value)}`);
}

/** A racy snapshot of a lock's words, for tests and diagnostics (never for synchronisation). */
export type LockInspection =
  | { readonly kind: 'mutex'; readonly holdersAndWaiters: number }
  | {
      readonly kind: 'rwlock';
      /** Readers inside or waiting (entered readersIn, not yet left). */
      readonly readersInsideOrWaiting: number;
      /** A writer has announced itself (waiting for readers, or holding the lock). */
      readonly writerAnnounced: boolean;
      /** Writers holding or queued for the writer ticket. */
      readonly writersQueued: number;
    };

export function inspectLock(descriptor: LockDescriptor): LockInspection {
  const words = new Int32Array(descriptor.buffer);
  if (descriptor.kind === 'mutex') {
    return { kind: 'mutex', holdersAndWaiters: (Atomics.load(words, MUTEX_NEXT_TICKET) - Atomics.load(words, MUTEX_NOW_SERVING)) | 0 };
  }
  const readersIn = Atomics.load(words, RW_READERS_IN);
  const readersOut = Atomics.load(words, RW_READERS_OUT);
  return {
    kind: 'rwlock',
    readersInsideOrWaiting: (((readersIn & ~0xff) - readersOut) | 0) / READER_STEP,
    writerAnnounced: (readersIn & WRITER_PRESENT) !== 0,
    writersQueued: (Atomics.load(words, RW_WRITER_TICKET) - Atomics.load(words, RW_WRITER_SERVING)) | 0,
  };
}

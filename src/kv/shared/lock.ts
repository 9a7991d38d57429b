// The two locks behind the `kv.lock` switch, built on Atomics.wait / Atomics.notify over an
// Int32Array in a SharedArrayBuffer, so that the main thread (the apply path, the only writer)
// and reader worker threads exclude each other for real.
//
//   mutex  — a futex mutex (Drepper) with a starvation guard. Readers and the writer all take it,
//            so every access is serial.
//   rwlock — a phase-fair reader-writer lock (Brandenburg & Anderson, "Spin-based reader-writer
//            synchronization for multiprocessor real-time systems", 2010, the PF-T variant), with
//            sleeping instead of spinning. Many readers or one writer.
//
// Fairness policy, and why. Neither lock lets a thread starve:
//   - mutex: barging with a starvation guard (details below): normally whoever is running takes a
//     free lock, which keeps hand-overs cheap; a thread that has waited 1 ms takes an urgent
//     ticket, and then nobody else may take the lock before the urgent waiters, in ticket order.
//   - rwlock: phase-fair. Reader and writer phases alternate. A writer that arrives announces
//     itself in `readersIn`; readers arriving after that wait, so a stream of readers cannot
//     starve the writer (it waits only for the readers already inside, then runs). When the
//     writer leaves it lets in every reader that queued behind it before the next writer can
//     start, so a busy writer (the apply path under a steady write stream) cannot starve readers
//     either: a reader waits for at most one writer phase. Writers among themselves are FIFO
//     (a ticket). Plain writer preference would starve readers under a continuous write stream,
//     and reader preference would starve the apply path under a continuous read stream;
//     phase-fairness bounds both, in phases rather than in time — on an oversubscribed machine a
//     phase can last a scheduler time slice when a thread inside it is descheduled.
//
// Sleeping, after a short spin: the machine this runs on may have fewer cores than threads (4
// readers and a writer on 2 cores), where a spinning waiter burns the very core the lock holder
// needs. The rwlock's waiters re-check the lock word, then sleep in Atomics.wait on the word they
// wait for; the releaser calls Atomics.notify only when a sleeper count says someone may be
// asleep. The two sides follow the Dekker pattern under Atomics' sequentially consistent
// ordering: the sleeper increments its count and then re-reads the word; the releaser changes the
// word and then reads the count. Either the releaser sees the count and notifies, or the sleeper
// sees the change before it sleeps (Atomics.wait also refuses to sleep if the word no longer
// holds the value the sleeper saw). So no wake-up is lost. The mutex uses Drepper's protocol
// instead (the "2" state marks possible sleepers).
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

// ---- mutex: barging futex mutex with a starvation guard -----------------------------------------

// STATE is Drepper's three-state futex word ("Futexes are tricky", 2011): 0 free, 1 held, 2 held
// and someone may be asleep. Free means free for anyone: a running thread may take the lock ahead
// of one that was sleeping (barging), which keeps the lock with threads that are on a core and
// avoids a wake-up on every hand-over. Barging alone can starve a thread, so: a waiter that has
// waited STARVATION_MS draws an urgent ticket (URGENT_NEXT); while any urgent ticket is
// outstanding nobody else may take the lock, and urgent waiters take it in ticket order
// (URGENT_SERVING). So a thread waits at most about STARVATION_MS plus one hold per urgent waiter
// ahead of it. (Go's sync.Mutex has the same two modes for the same reason.) A pure FIFO ticket
// lock was tried first: with more runnable threads than cores its next ticket holder is often
// asleep or descheduled and nobody else may take the lock meanwhile (a convoy) — 4 readers on 2
// cores then served about 8× fewer gets than with this lock.
const MUTEX_STATE = 0;
const MUTEX_URGENT_NEXT = 1;
const MUTEX_URGENT_SERVING = 2;
const MUTEX_WORDS = 3;

const MUTEX_FREE = 0;
const MUTEX_HELD = 1;
const MUTEX_HELD_MAYBE_SLEEPERS = 2;
const STARVATION_MS = 1;

class GuardedMutex implements SharedLock {
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
    if (this.noUrgentWaiters() && Atomics.compareExchange(words, MUTEX_STATE, MUTEX_FREE, MUTEX_HELD) === MUTEX_FREE) return;
    for (let spin = 0; spin < SPIN_CHECKS; spin++) {
      if (Atomics.load(words, MUTEX_STATE) === MUTEX_FREE && this.noUrgentWaiters() && Atomics.compareExchange(words, MUTEX_STATE, MUTEX_FREE, MUTEX_HELD) === MUTEX_FREE) {
        return;
      }
    }
    const startedMs = performance.now();
    let urgentTicket = -1;
    // Bounded by the starvation guard: after STARVATION_MS this thread holds an urgent ticket,
    // and from then on only urgent waiters (in ticket order) can take the lock.
    for (;;) {
      if (urgentTicket < 0 && performance.now() - startedMs >= STARVATION_MS) urgentTicket = Atomics.add(words, MUTEX_URGENT_NEXT, 1);
      const serving = Atomics.load(words, MUTEX_URGENT_SERVING);
      const mayCompete = urgentTicket < 0 ? Atomics.load(words, MUTEX_URGENT_NEXT) === serving : urgentTicket === serving;
      if (mayCompete) {
        // Taking the lock as "held, maybe sleepers" is conservative: the unlock may notify in vain.
        if (Atomics.exchange(words, MUTEX_STATE, MUTEX_HELD_MAYBE_SLEEPERS) === MUTEX_FREE) {
          if (urgentTicket >= 0) {
            Atomics.add(words, MUTEX_URGENT_SERVING, 1);
            Atomics.notify(words, MUTEX_URGENT_SERVING);
          }
          return;
        }
        // Held (now marked 2): sleep until an unlock notifies, waking in time to turn urgent.
        Atomics.wait(words, MUTEX_STATE, MUTEX_HELD_MAYBE_SLEEPERS, urgentTicket < 0 ? STARVATION_MS : STARVATION_MS * 10);
      } else {
        // An urgent waiter (not this thread) goes first: wait for its turn to pass.
        Atomics.wait(words, MUTEX_URGENT_SERVING, serving, STARVATION_MS * 10);
      }
    }
  }

  writeUnlock(): void {
    const words = this.words;
    if (Atomics.sub(words, MUTEX_STATE, 1) !== MUTEX_HELD) {
      Atomics.store(words, MUTEX_STATE, MUTEX_FREE);
      // With urgent waiters, wake everyone: the one whose turn it is must not stay asleep behind
      // a woken non-urgent thread that may not take the lock.
      Atomics.notify(words, MUTEX_STATE, this.noUrgentWaiters() ? 1 : Infinity);
    }
  }

  private noUrgentWaiters(): boolean {
    return Atomics.load(this.words, MUTEX_URGENT_NEXT) === Atomics.load(this.words, MUTEX_URGENT_SERVING);
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
      return new GuardedMutex(new SharedArrayBuffer(MUTEX_WORDS * Int32Array.BYTES_PER_ELEMENT));
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
      return new GuardedMutex(descriptor.buffer);
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
  | {
      readonly kind: 'mutex';
      readonly held: boolean;
      /** Waiters that waited past the starvation threshold and hold urgent tickets. */
      readonly urgentWaiters: number;
    }
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
    return {
      kind: 'mutex',
      held: Atomics.load(words, MUTEX_STATE) !== MUTEX_FREE,
      urgentWaiters: (Atomics.load(words, MUTEX_URGENT_NEXT) - Atomics.load(words, MUTEX_URGENT_SERVING)) | 0,
    };
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

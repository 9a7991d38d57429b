// The two locks behind the `kv.lock` switch, built on Atomics.wait / Atomics.notify over an
// Int32Array in a SharedArrayBuffer, so that the main thread (the apply path, the only writer)
// and reader worker threads exclude each other for real.
//
//   mutex  — a futex mutex (Drepper) with a starvation guard. Readers and the writer all take it,
//            so every access is serial.
//   rwlock — a phase-fair reader-writer lock (Brandenburg & Anderson, "Spin-based reader-writer
//            synchronization for multiprocessor real-time systems", 2010, the PF-T variant), with
//            sleeping instead of spinning, and with its reader counters split per participant.
//
// The one subtle thing: a thread that dies holding the lock must not block the others for ever,
// so every thread's share of the lock lives in words that only it writes — its *participant
// slot* — and a single atomic operation both takes the lock and records who took it. Then
// `releaseParticipant` can undo exactly what a dead thread held, whatever instruction it died on:
//   - mutex: the lock word holds the owner's participant tag (as Linux robust futexes hold the
//     owner's thread id), so "is the dead thread the owner?" is one load, and the release one CAS.
//   - rwlock: each participant counts its own read entries and exits in its own slot (the
//     readers-in / readers-out pair of PF-T, one per participant, as in a distributed or
//     "big-reader" lock); a writer announces itself in every slot and waits for each slot's exits
//     to catch up with the entries it saw. A dead reader's unmatched entries are its slot's
//     entries minus its exits, so releasing them is one store: exits := entries. The price: a
//     read touches only its own slot's cache line (no line shared by all readers), but a write
//     lock touches every claimed slot — about 40 ns more per reader slot, uncontended.
// A separate "holds" counter next to one shared readers counter would not do: a thread killed
// between updating one and the other leaves them disagreeing, and the lock then either waits for
// a reader that is gone or lets a writer in beside a reader that is still inside.
// Readers are what gets released; an rwlock writer that dies holding its ticket cannot be (the
// only writer is the thread that owns the map, and the map dies with it).
//
// Fairness policy, and why. Neither lock lets a thread starve:
//   - mutex: barging with a starvation guard: normally whoever is running takes a free lock,
//     which keeps hand-overs cheap; a thread that has waited 1 ms takes an urgent ticket, and
//     then nobody else may take the lock before the urgent waiters, oldest ticket first.
//   - rwlock: phase-fair. Reader and writer phases alternate. A writer that arrives announces
//     itself in every slot; readers arriving after that wait, so a stream of readers cannot
//     starve the writer (it waits only for the readers already inside, then runs). When the
//     writer leaves it lets in every reader that queued behind it before the next writer can
//     announce, so a busy writer (the apply path under a steady write stream) cannot starve
//     readers either: a reader waits for at most one writer phase. Writers among themselves are
//     FIFO (a ticket). Plain writer preference would starve readers under a continuous write
//     stream, and reader preference would starve the apply path under a continuous read stream;
//     phase-fairness bounds both, in phases rather than in time — on an oversubscribed machine a
//     phase can last a scheduler time slice when a thread inside it is descheduled.
//
// Sleeping, after a short spin: the machine this runs on may have fewer cores than threads (4
// readers and a writer on 2 cores), where a spinning waiter burns the very core the lock holder
// needs. The rwlock's waiters re-check the word, then sleep in Atomics.wait on the word they wait
// for; the releaser calls Atomics.notify only when a sleeper count says someone may be asleep.
// The two sides follow the Dekker pattern under Atomics' sequentially consistent ordering: the
// sleeper increments its count and then re-reads the word; the releaser changes the word and then
// reads the count. Either the releaser sees the count and notifies, or the sleeper sees the
// change before it sleeps (Atomics.wait also refuses to sleep if the word no longer holds the
// value the sleeper saw). So no wake-up is lost. The mutex uses Drepper's protocol instead (a
// "maybe sleepers" bit in the lock word).
//
// Memory visibility: every acquire and release is a sequentially consistent Atomics operation on
// the lock words, so all plain writes a writer makes to the shared skip list before its release
// happen-before every read a later holder makes after its acquire. That is what lets the skip
// list itself use plain typed-array reads and writes.
//
// Atomics.wait is allowed on Node's main thread (unlike in browsers), which is what lets the
// synchronous OrderedMap.put block while readers are inside.

export type LockKind = 'mutex' | 'rwlock';

export const LOCK_KINDS: readonly LockKind[] = ['mutex', 'rwlock'];

// Before sleeping, a waiter re-checks the word this many times: critical sections here last a
// microsecond or two, so a holder running on another core usually releases within the spin and
// the waiter skips a futex sleep and wake (each several microseconds). Short, so that on an
// oversubscribed machine a spinning waiter gives the core back quickly.
const SPIN_CHECKS = 100;

/**
 * Threads (handles) that can use one lock at the same time. Each holds a participant slot of 64 B
 * for as long as it is attached; a slot is reused once its thread detached or was released.
 */
export const PARTICIPANTS_MAX = 128;

/** What a worker needs to attach to the same lock: structured-cloneable. */
export interface LockDescriptor {
  readonly kind: LockKind;
  readonly buffer: SharedArrayBuffer;
}

export interface SharedLock {
  readonly kind: LockKind;
  /** This handle's participant slot (0 for the handle that created the lock). */
  readonly participant: number;
  /** Shared access. For the mutex this is the exclusive lock. */
  readLock(): void;
  readUnlock(): void;
  /** Exclusive access. */
  writeLock(): void;
  writeUnlock(): void;
  descriptor(): LockDescriptor;
  /** Gives the participant slot back. The handle must not hold the lock, and is unusable after. */
  detach(): void;
}

/** What releaseParticipant found the dead participant holding. */
export interface ReleasedHolds {
  /** rwlock: read holds (or read waits) released — the participant's unmatched read entries. */
  readonly readHolds: number;
  /** mutex: the participant held it. */
  readonly mutexHeld: boolean;
}

// ---- layout -------------------------------------------------------------------------------------

// A header of global words, then PARTICIPANTS_MAX slots of SLOT_WORDS words each (64 B: a slot is
// written mostly by its own thread, so slots do not share cache lines).
const HEADER_WORDS = 16;
const SLOT_WORDS = 16;
const LOCK_WORDS = HEADER_WORDS + PARTICIPANTS_MAX * SLOT_WORDS;
const LOCK_BYTES = LOCK_WORDS * Int32Array.BYTES_PER_ELEMENT;

// Header, both kinds.
const H_KIND = 0; // KIND_MUTEX or KIND_RWLOCK: attaching with the wrong kind fails loudly
const H_SLOTS_HIGH = 1; // slots [0, high) have ever been claimed: the range writers and scans cover
const KIND_MUTEX = 0x6d757478; // "mutx"
const KIND_RWLOCK = 0x72776c6b; // "rwlk"
// Slot words, both kinds.
const S_CLAIMED = 0; // 1 while a thread is attached through this slot

/** Index of word `word` of participant `participant`'s slot. */
function slotWord(participant: number, word: number): number {
  return HEADER_WORDS + participant * SLOT_WORDS + word;
}

function checkParticipant(words: Int32Array, participant: number, what: string): void {
  if (!Number.isSafeInteger(participant) || participant < 0 || participant >= PARTICIPANTS_MAX) {
    throw new RangeError(`${what}: participant must be an integer in [0, ${PARTICIPANTS_MAX - 1}], got ${participant}`);
  }
  if (Atomics.load(words, slotWord(participant, S_CLAIMED)) !== 1) throw new Error(`${what}: participant ${participant} is not reserved`);
}

/** Claims the lowest free slot with a CAS and raises the high mark; used directly by the mutex. */
function claimSlot(words: Int32Array): number {
  for (let participant = 0; participant < PARTICIPANTS_MAX; participant++) {
    if (Atomics.compareExchange(words, slotWord(participant, S_CLAIMED), 0, 1) === 0) {
      // Bounded: the high mark only rises, and only to at most PARTICIPANTS_MAX.
      for (let high = Atomics.load(words, H_SLOTS_HIGH); high <= participant; high = Atomics.load(words, H_SLOTS_HIGH)) {
        Atomics.compareExchange(words, H_SLOTS_HIGH, high, participant + 1);
      }
      return participant;
    }
  }
  throw new Error(`shared lock: all ${PARTICIPANTS_MAX} participant slots are in use (PARTICIPANTS_MAX); detach handles that are done`);
}

// ---- mutex: barging futex mutex with a starvation guard -----------------------------------------

// M_STATE is Drepper's futex word ("Futexes are tricky", 2011) with the owner in it: bits 2… hold
// the owner's tag (participant + 1; 0 = free), bit 0 "someone may be asleep", bit 1 "an urgent
// waiter exists". Free means free for anyone: a running thread may take the lock ahead of one
// that was sleeping (barging), which keeps the lock with threads that are on a core and avoids a
// wake-up on every hand-over. Barging alone can starve a thread, so: a waiter that has waited
// STARVATION_MS draws an urgent ticket (M_URGENT_NEXT) and records it in its own slot; while the
// urgent bit is set nobody else may take the lock, and among urgent waiters the oldest recorded
// ticket goes first. So a thread waits at most about STARVATION_MS plus one hold per urgent
// waiter ahead of it. (Go's sync.Mutex has the same two modes for the same reason.) The urgent
// bit summarises the slots; when the last urgent waiter takes the lock it clears the bit, and an
// urgent waiter that finds the bit clear (a race with that clearing) sets it again — the bit only
// decides fairness, never exclusion, so such a repair costs at most a barging turn.
//
// A pure FIFO ticket lock was tried first: with more runnable threads than cores its next ticket
// holder is often asleep or descheduled and nobody else may take the lock meanwhile (a convoy) —
// 4 readers on 2 cores then served about 8× fewer gets than with this lock.
const M_STATE = 2;
const M_URGENT_NEXT = 3;
const S_URGENT_TICKET = 1; // 0: not urgent; else the ticket (never 0)

const SLEEPERS_BIT = 0x1;
const URGENT_BIT = 0x2;
const OWNER_SHIFT = 2;
const STARVATION_MS = 1;
/** An urgent waiter re-checks at least this often (its turn may come without a wake-up for it). */
const URGENT_RECHECK_MS = 10;

class GuardedMutex implements SharedLock {
  readonly kind = 'mutex' as const;
  private readonly words: Int32Array;
  private readonly ownerBits: number;
  private readonly urgentIndex: number;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly participant: number,
  ) {
    this.words = new Int32Array(buffer);
    this.ownerBits = (participant + 1) << OWNER_SHIFT;
    this.urgentIndex = slotWord(participant, S_URGENT_TICKET);
  }

  readLock(): void {
    this.writeLock();
  }
  readUnlock(): void {
    this.writeUnlock();
  }

  writeLock(): void {
    const words = this.words;
    // Fast path: free, nobody urgent, nobody asleep — the whole word is 0.
    if (Atomics.compareExchange(words, M_STATE, 0, this.ownerBits) === 0) return;
    for (let spin = 0; spin < SPIN_CHECKS; spin++) {
      if (Atomics.load(words, M_STATE) === 0 && Atomics.compareExchange(words, M_STATE, 0, this.ownerBits) === 0) return;
    }
    this.lockSlowly();
  }

  writeUnlock(): void {
    // Clears the owner and the sleepers bit in one step, keeping the urgent bit.
    const previous = Atomics.and(this.words, M_STATE, URGENT_BIT);
    // With urgent waiters, wake everyone: the one whose turn it is must not stay asleep behind a
    // woken non-urgent thread that may not take the lock.
    if ((previous & SLEEPERS_BIT) !== 0) Atomics.notify(this.words, M_STATE, (previous & URGENT_BIT) !== 0 ? Infinity : 1);
  }

  descriptor(): LockDescriptor {
    return { kind: this.kind, buffer: this.buffer };
  }

  detach(): void {
    if (Atomics.load(this.words, M_STATE) >>> OWNER_SHIFT === this.participant + 1) {
      throw new Error(`shared lock: participant ${this.participant} cannot detach while holding the mutex`);
    }
    Atomics.store(this.words, slotWord(this.participant, S_CLAIMED), 0);
  }

  private lockSlowly(): void {
    const words = this.words;
    const startedMs = performance.now();
    let ticket = 0;
    // Bounded by the starvation guard: after STARVATION_MS this thread holds an urgent ticket,
    // and from then on only urgent waiters (oldest first) can take the lock.
    for (;;) {
      if (ticket === 0 && performance.now() - startedMs >= STARVATION_MS) {
        ticket = (Atomics.add(words, M_URGENT_NEXT, 1) + 1) | 0;
        if (ticket === 0) ticket = (Atomics.add(words, M_URGENT_NEXT, 1) + 1) | 0;
        Atomics.store(words, this.urgentIndex, ticket);
        Atomics.or(words, M_STATE, URGENT_BIT);
      }
      const state = Atomics.load(words, M_STATE);
      if (ticket !== 0 && (state & URGENT_BIT) === 0) {
        // The last urgent holder cleared the bit while this thread was recording its ticket.
        Atomics.or(words, M_STATE, URGENT_BIT);
        continue;
      }
      if (state >>> OWNER_SHIFT === 0) {
        const myTurn = ticket === 0 ? (state & URGENT_BIT) === 0 : this.oldestUrgent(ticket);
        if (!myTurn) {
          // Free, but an urgent waiter goes first: sleep until it takes the lock and releases it
          // (or, not yet urgent, until this thread's own starvation threshold).
          Atomics.wait(words, M_STATE, state, ticket === 0 ? STARVATION_MS : URGENT_RECHECK_MS);
          continue;
        }
        // Taking the lock as "maybe sleepers" is conservative (Drepper): this thread may have
        // been one, so its unlock must wake the next; at worst that notify is in vain.
        if (Atomics.compareExchange(words, M_STATE, state, this.ownerBits | (state & URGENT_BIT) | SLEEPERS_BIT) === state) {
          if (ticket !== 0) this.dropUrgentTicket();
          return;
        }
        continue;
      }
      let expected = state;
      if ((state & SLEEPERS_BIT) === 0) {
        if (Atomics.compareExchange(words, M_STATE, state, state | SLEEPERS_BIT) !== state) continue;
        expected = state | SLEEPERS_BIT;
      }
      // Held: sleep until an unlock notifies, waking in time to turn urgent.
      Atomics.wait(words, M_STATE, expected, ticket === 0 ? STARVATION_MS : URGENT_RECHECK_MS);
    }
  }

  /** No other recorded urgent ticket is older than `ticket` (tickets compare modulo 2^32). */
  private oldestUrgent(ticket: number): boolean {
    const words = this.words;
    const high = Atomics.load(words, H_SLOTS_HIGH);
    for (let participant = 0; participant < high; participant++) {
      const other = Atomics.load(words, slotWord(participant, S_URGENT_TICKET));
      if (other !== 0 && participant !== this.participant && ((other - ticket) | 0) < 0) return false;
    }
    return true;
  }

  private dropUrgentTicket(): void {
    Atomics.store(this.words, this.urgentIndex, 0);
    if (countUrgent(this.words) === 0) Atomics.and(this.words, M_STATE, ~URGENT_BIT);
  }
}

function countUrgent(words: Int32Array): number {
  const high = Atomics.load(words, H_SLOTS_HIGH);
  let urgent = 0;
  for (let participant = 0; participant < high; participant++) if (Atomics.load(words, slotWord(participant, S_URGENT_TICKET)) !== 0) urgent++;
  return urgent;
}

function releaseMutexParticipant(words: Int32Array, participant: number): ReleasedHolds {
  const tag = participant + 1;
  let held = false;
  // Bounded: each failed CAS means another thread changed the word (a waiter set a bit); the
  // owner cannot change while it is the dead participant.
  for (let state = Atomics.load(words, M_STATE); state >>> OWNER_SHIFT === tag; state = Atomics.load(words, M_STATE)) {
    if (Atomics.compareExchange(words, M_STATE, state, state & URGENT_BIT) === state) {
      held = true;
      break;
    }
  }
  Atomics.store(words, slotWord(participant, S_URGENT_TICKET), 0);
  if (countUrgent(words) === 0) Atomics.and(words, M_STATE, ~URGENT_BIT);
  Atomics.notify(words, M_STATE, Infinity);
  return { readHolds: 0, mutexHeld: held };
}

// ---- rwlock: phase-fair (PF-T), reader counters per participant --------------------------------

// Per slot, readersIn / readersOut count that participant's read entries and exits in steps of
// READER_STEP; the low byte of readersIn is a writer's announcement: WRITER_PRESENT while a
// writer waits or holds the lock, and PHASE_ID, which alternates between consecutive writers so
// that a reader blocked by one writer is not confused by the next writer setting the same bits
// (the ABA case). A writer announces in every slot below the high mark, in turn; a reader's
// entry and the writer's announcement in the same slot are ordered by that word, which is all
// mutual exclusion needs. A slot above the high mark of a writer already in line would be missed
// by that writer, so claiming a new slot raises the mark and then waits until every writer that
// held a ticket by then is done (claimRwSlot) — claims never wait for readers.
const RW_WRITER_TICKET = 2;
const RW_WRITER_SERVING = 3;
const RW_WRITER_SLEEPERS = 4;
const S_READERS_IN = 1;
const S_READERS_OUT = 2;
const S_READER_SLEEPERS = 3;

const READER_STEP = 0x100;
const WRITER_PRESENT = 0x2;
const PHASE_ID = 0x1;
const WRITER_BITS = WRITER_PRESENT | PHASE_ID;
const COUNT_MASK = ~0xff;

class PhaseFairRwLock implements SharedLock {
  readonly kind = 'rwlock' as const;
  private readonly words: Int32Array;
  private readonly readersInIndex: number;
  private readonly readersOutIndex: number;
  private readonly readerSleepersIndex: number;
  /** Per slot, the readers that entered before this writer's announcement (writer side only). */
  private readonly readersBefore = new Int32Array(PARTICIPANTS_MAX);
  /** Slots this writer announced in; its unlock withdraws from the same ones. */
  private announcedSlots = 0;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly participant: number,
  ) {
    this.words = new Int32Array(buffer);
    this.readersInIndex = slotWord(participant, S_READERS_IN);
    this.readersOutIndex = slotWord(participant, S_READERS_OUT);
    this.readerSleepersIndex = slotWord(participant, S_READER_SLEEPERS);
  }

  readLock(): void {
    const writerBits = Atomics.add(this.words, this.readersInIndex, READER_STEP) & WRITER_BITS;
    if (writerBits === 0) return;
    this.waitForWriterPhaseEnd(writerBits);
  }

  readUnlock(): void {
    const words = this.words;
    Atomics.add(words, this.readersOutIndex, READER_STEP);
    // Only a writer ever sleeps on readersOut, and only after announcing itself in readersIn.
    if ((Atomics.load(words, this.readersInIndex) & WRITER_PRESENT) !== 0 && Atomics.load(words, RW_WRITER_SLEEPERS) !== 0) {
      Atomics.notify(words, this.readersOutIndex);
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
    // Announce in every slot: from here on readers arriving in that slot wait. The value returned
    // counts every entry made in the slot before the announcement; wait until as many exits.
    const announcement = WRITER_PRESENT | (ticket & PHASE_ID);
    const slots = Atomics.load(words, H_SLOTS_HIGH);
    this.announcedSlots = slots;
    const readersBefore = this.readersBefore;
    for (let participant = 0; participant < slots; participant++) {
      readersBefore[participant] = Atomics.or(words, slotWord(participant, S_READERS_IN), announcement) & COUNT_MASK;
    }
    for (let participant = 0; participant < slots; participant++) this.waitForExits(slotWord(participant, S_READERS_OUT), readersBefore[participant]!);
  }

  writeUnlock(): void {
    const words = this.words;
    // First let in the readers that queued behind this writer, then pass the baton to the next
    // writer: the next writer's announcement then lands after those readers' entries, so they run
    // before it (phase-fairness).
    for (let participant = 0; participant < this.announcedSlots; participant++) {
      const readersIn = slotWord(participant, S_READERS_IN);
      Atomics.and(words, readersIn, ~WRITER_BITS);
      if (Atomics.load(words, slotWord(participant, S_READER_SLEEPERS)) !== 0) Atomics.notify(words, readersIn);
    }
    Atomics.add(words, RW_WRITER_SERVING, 1);
    if (Atomics.load(words, RW_WRITER_SLEEPERS) !== 0) Atomics.notify(words, RW_WRITER_SERVING);
  }

  descriptor(): LockDescriptor {
    return { kind: this.kind, buffer: this.buffer };
  }

  detach(): void {
    const words = this.words;
    if (((Atomics.load(words, this.readersInIndex) & COUNT_MASK) - Atomics.load(words, this.readersOutIndex)) | 0) {
      throw new Error(`shared lock: participant ${this.participant} cannot detach while holding or waiting for the read lock`);
    }
    Atomics.store(words, slotWord(this.participant, S_CLAIMED), 0);
  }


  private waitForWriterPhaseEnd(writerBits: number): void {
    // A writer is waiting or inside: wait until that writer's phase ends (its bits change).
    const words = this.words;
    const readersIn = this.readersInIndex;
    let current = Atomics.load(words, readersIn);
    for (let spin = 0; spin < SPIN_CHECKS && (current & WRITER_BITS) === writerBits; spin++) current = Atomics.load(words, readersIn);
    while ((current & WRITER_BITS) === writerBits) {
      Atomics.add(words, this.readerSleepersIndex, 1);
      current = Atomics.load(words, readersIn);
      if ((current & WRITER_BITS) === writerBits) Atomics.wait(words, readersIn, current);
      Atomics.sub(words, this.readerSleepersIndex, 1);
      current = Atomics.load(words, readersIn);
    }
  }

  /**
   * Waits until the slot's exits reach `readersBefore`. "Reach", not "equal": a dead reader's
   * release may also count an entry made after the announcement (it was waiting behind this
   * writer), which puts exits past the mark; compared modulo 2^32, as the counters wrap.
   */
  private waitForExits(readersOutIndex: number, readersBefore: number): void {
    const words = this.words;
    let readersOut = Atomics.load(words, readersOutIndex);
    for (let spin = 0; spin < SPIN_CHECKS && ((readersOut - readersBefore) | 0) < 0; spin++) readersOut = Atomics.load(words, readersOutIndex);
    while (((readersOut - readersBefore) | 0) < 0) {
      Atomics.add(words, RW_WRITER_SLEEPERS, 1);
      readersOut = Atomics.load(words, readersOutIndex);
      if (((readersOut - readersBefore) | 0) < 0) Atomics.wait(words, readersOutIndex, readersOut);
      Atomics.sub(words, RW_WRITER_SLEEPERS, 1);
      readersOut = Atomics.load(words, readersOutIndex);
    }
  }
}

/** A claim waits at most this long for the writers already in line (they never take this long). */
const CLAIM_WAIT_MS_MAX = 10_000;

/**
 * Claims a slot, then waits until every writer that had taken a ticket when the high mark rose
 * has released the lock. Sequential consistency does the rest: a writer that takes its ticket
 * after this thread read the ticket counter reads the high mark after it rose, so it announces in
 * the new slot. The wait is a poll: claims are rare, and it must not disturb the writers' words.
 * It is bounded, so that a writer stuck for ever (a thread that died holding the write lock, or a
 * broken lock) makes the claim fail with the writers' state instead of hanging the caller.
 */
function claimRwSlot(words: Int32Array): number {
  const participant = claimSlot(words);
  const ticketsTaken = Atomics.load(words, RW_WRITER_TICKET);
  const deadlineMs = performance.now() + CLAIM_WAIT_MS_MAX;
  // Bounded by the deadline (a correct lock: by the writers already in line, each bounded by
  // phase-fairness).
  for (let serving = Atomics.load(words, RW_WRITER_SERVING); ((serving - ticketsTaken) | 0) < 0; serving = Atomics.load(words, RW_WRITER_SERVING)) {
    if (performance.now() > deadlineMs) {
      Atomics.store(words, slotWord(participant, S_CLAIMED), 0);
      throw new Error(
        `shared lock: a new participant waited ${CLAIM_WAIT_MS_MAX} ms for the writers in line (tickets ${serving} … ${ticketsTaken - 1}) to finish; ` +
          'is a writer stuck holding the lock?',
      );
    }
    Atomics.wait(words, RW_WRITER_SERVING, serving, 1);
  }
  return participant;
}

function releaseRwParticipant(words: Int32Array, participant: number): ReleasedHolds {
  const readersOut = slotWord(participant, S_READERS_OUT);
  // Only the dead participant ever moved its entry count, so it is final now; the writer bits in
  // the same word may still change, hence the mask.
  const entered = Atomics.load(words, slotWord(participant, S_READERS_IN)) & COUNT_MASK;
  const readHolds = ((entered - Atomics.load(words, readersOut)) | 0) / READER_STEP;
  Atomics.store(words, readersOut, entered);
  // A dead thread that slept here left its count behind; nobody else sleeps on this slot.
  Atomics.store(words, slotWord(participant, S_READER_SLEEPERS), 0);
  Atomics.notify(words, readersOut);
  return { readHolds, mutexHeld: false };
}

// ---- construction and attachment -----------------------------------------------------------------

/** A new lock of the given kind in its own SharedArrayBuffer; the returned handle is participant 0. */
export function createSharedLock(kind: LockKind): SharedLock {
  if (kind !== 'mutex' && kind !== 'rwlock') throw new TypeError(`kv.lock must be 'mutex' or 'rwlock', got ${JSON.stringify(kind)}`);
  const buffer = new SharedArrayBuffer(LOCK_BYTES);
  const words = new Int32Array(buffer);
  Atomics.store(words, H_KIND, kind === 'mutex' ? KIND_MUTEX : KIND_RWLOCK);
  const participant = claimSlot(words); // slot 0: nobody else can be using the lock yet
  return kind === 'mutex' ? new GuardedMutex(buffer, participant) : new PhaseFairRwLock(buffer, participant);
}

function checkedWords(descriptor: LockDescriptor, what: string): Int32Array {
  if (!(descriptor.buffer instanceof SharedArrayBuffer)) throw new TypeError(`${what}: buffer must be a SharedArrayBuffer`);
  if (descriptor.kind !== 'mutex' && descriptor.kind !== 'rwlock') {
    throw new TypeError(`${what}: kind must be 'mutex' or 'rwlock', got ${JSON.stringify(descriptor.kind)}`);
  }
  if (descriptor.buffer.byteLength < LOCK_BYTES) {
    const article = descriptor.kind === 'mutex' ? 'a' : 'an';
    throw new RangeError(`${what}: buffer of ${descriptor.buffer.byteLength} bytes is too small for ${article} ${descriptor.kind} (${LOCK_BYTES} bytes)`);
  }
  const words = new Int32Array(descriptor.buffer);
  const kindWord = Atomics.load(words, H_KIND);
  if (kindWord !== (descriptor.kind === 'mutex' ? KIND_MUTEX : KIND_RWLOCK)) {
    throw new TypeError(`${what}: the buffer does not hold a ${descriptor.kind} (kind word 0x${(kindWord >>> 0).toString(16)})`);
  }
  return words;
}

/**
 * Reserves a participant slot for a thread that will attach with attachSharedLock(descriptor,
 * participant). Lets the reserving thread know the slot before the other thread runs (a reader
 * pool hands it to the watcher that releases a dead reader's holds). For the rwlock it may wait
 * for the writers already in line, so a thread must not call it while holding the write lock.
 */
export function reserveParticipant(descriptor: LockDescriptor): number {
  const words = checkedWords(descriptor, 'reserveParticipant');
  return descriptor.kind === 'mutex' ? claimSlot(words) : claimRwSlot(words);
}

/**
 * The same lock, seen from another thread (or the same one), through its own participant slot:
 * `participant` if the caller reserved one, else a newly reserved one. One handle per thread: a
 * slot's words are written by its own thread only.
 */
export function attachSharedLock(descriptor: LockDescriptor, participant?: number): SharedLock {
  const words = checkedWords(descriptor, 'lock descriptor');
  const slot = participant ?? reserveParticipant(descriptor);
  checkParticipant(words, slot, 'attachSharedLock');
  return descriptor.kind === 'mutex' ? new GuardedMutex(descriptor.buffer, slot) : new PhaseFairRwLock(descriptor.buffer, slot);
}

/**
 * Releases whatever participant `participant` holds — read holds and read waits for the rwlock;
 * ownership and an urgent ticket for the mutex — wakes whoever waits for it, and frees the slot.
 * Only for a participant whose thread has ended (or never started): a live thread would go on
 * inside the lock as if it still held it. Exact, wherever the thread stopped (see the top of the
 * file). Calling it for a slot that holds nothing just frees the slot.
 */
export function releaseParticipant(descriptor: LockDescriptor, participant: number): ReleasedHolds {
  const words = checkedWords(descriptor, 'releaseParticipant');
  checkParticipant(words, participant, 'releaseParticipant');
  const released = descriptor.kind === 'mutex' ? releaseMutexParticipant(words, participant) : releaseRwParticipant(words, participant);
  Atomics.store(words, slotWord(participant, S_CLAIMED), 0);
  return released;
}

export function parseLockKind(value: unknown, field = 'kv.lock'): LockKind {
  if (value === 'mutex' || value === 'rwlock') return value;
  throw new TypeError(`${field} must be 'mutex' or 'rwlock', got ${JSON.stringify(value)}`);
}

// ---- inspection ------------------------------------------------------------------------------------

/** A racy snapshot of a lock's words, for tests and diagnostics (never for synchronisation). */
export type LockInspection =
  | {
      readonly kind: 'mutex';
      readonly held: boolean;
      /** The holder's participant slot, or null. */
      readonly holder: number | null;
      /** Waiters that waited past the starvation threshold and hold urgent tickets. */
      readonly urgentWaiters: number;
      /** The urgent bit is set: only urgent waiters may take the lock (newcomers are held back). */
      readonly urgentFirst: boolean;
      /** Slots claimed by attached threads. */
      readonly participants: number;
    }
  | {
      readonly kind: 'rwlock';
      /** Readers inside or waiting (entered readersIn, not yet left), over all slots. */
      readonly readersInsideOrWaiting: number;
      /** A writer has announced itself (waiting for readers, or holding the lock). */
      readonly writerAnnounced: boolean;
      /** Writers holding or queued for the writer ticket. */
      readonly writersQueued: number;
      /** Writer phases completed since the lock was created (modulo 2^32). */
      readonly writerPhases: number;
      /** Slots claimed by attached threads. */
      readonly participants: number;
    };

export function inspectLock(descriptor: LockDescriptor): LockInspection {
  const words = checkedWords(descriptor, 'inspectLock');
  const high = Atomics.load(words, H_SLOTS_HIGH);
  let participants = 0;
  for (let participant = 0; participant < high; participant++) participants += Atomics.load(words, slotWord(participant, S_CLAIMED));
  if (descriptor.kind === 'mutex') {
    const state = Atomics.load(words, M_STATE);
    const owner = state >>> OWNER_SHIFT;
    return {
      kind: 'mutex',
      held: owner !== 0,
      holder: owner === 0 ? null : owner - 1,
      urgentWaiters: countUrgent(words),
      urgentFirst: (state & URGENT_BIT) !== 0,
      participants,
    };
  }
  let readers = 0;
  let writerAnnounced = false;
  for (let participant = 0; participant < high; participant++) {
    // Exits first: a reader enters before it exits, so this order never shows a negative count.
    const readersOut = Atomics.load(words, slotWord(participant, S_READERS_OUT));
    const readersIn = Atomics.load(words, slotWord(participant, S_READERS_IN));
    readers += (((readersIn & COUNT_MASK) - readersOut) | 0) / READER_STEP;
    if ((readersIn & WRITER_PRESENT) !== 0) writerAnnounced = true;
  }
  const serving = Atomics.load(words, RW_WRITER_SERVING);
  return {
    kind: 'rwlock',
    readersInsideOrWaiting: readers,
    writerAnnounced,
    writersQueued: (Atomics.load(words, RW_WRITER_TICKET) - serving) | 0,
    writerPhases: serving >>> 0,
    participants,
  };
}

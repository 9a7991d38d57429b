// Which key numbers exist, shared by every client of one run, as YCSB's
// `transactioninsertkeysequence` (an AcknowledgedCounterGenerator): the load phase makes records
// 0 … recordCount − 1; an insert during the run reserves the next number, and once the store has
// answered it the driver acknowledges it. Key choosers pick only below `readableCount`, the end of
// the contiguous run of acknowledged numbers, so a read never names a key whose insert has not
// been answered (whatever order the answers come back in), and `latest` favours the newest of them.
//
// The subtle thing: an insert that fails must be acknowledged all the same (YCSB does the same),
// or the readable range stops growing at it; a later read of that key then finds nothing, which
// the driver counts as a miss. Reservations not yet acknowledged are bounded by
// INSERTS_IN_FLIGHT_MAX: one past that is an error rather than unbounded memory.

/** Inserts that may be reserved and not yet acknowledged. */
export const INSERTS_IN_FLIGHT_MAX = 65_536;

export class KeySpace {
  readonly recordCount: number;
  private nextKeyNumber: number;
  private readableEnd: number;
  /** Acknowledged flags for key numbers readableEnd … readableEnd + INSERTS_IN_FLIGHT_MAX − 1, by number modulo the size. */
  private readonly acknowledged = new Uint8Array(INSERTS_IN_FLIGHT_MAX);

  /** `recordCount` records exist (loaded, or present from an earlier load). */
  constructor(recordCount: number) {
    if (!Number.isSafeInteger(recordCount) || recordCount < 1) throw new RangeError(`recordCount must be a positive integer, got ${recordCount}`);
    this.recordCount = recordCount;
    this.nextKeyNumber = recordCount;
    this.readableEnd = recordCount;
  }

  /** Key numbers 0 … readableCount − 1 exist: loaded, or inserted and acknowledged. */
  get readableCount(): number {
    return this.readableEnd;
  }

  /** Key numbers handed out so far (loaded records plus reserved inserts). */
  get reservedCount(): number {
    return this.nextKeyNumber;
  }

  /** The key number for a new insert. */
  reserveInsert(): number {
    if (this.nextKeyNumber - this.readableEnd >= INSERTS_IN_FLIGHT_MAX) {
      throw new Error(
        `more than ${INSERTS_IN_FLIGHT_MAX} inserts reserved and not acknowledged (oldest: key number ${this.readableEnd}); ` +
          'acknowledge every insert once answered, failed ones too',
      );
    }
    return this.nextKeyNumber++;
  }

  /** Marks the insert of `keyNumber` answered (successfully or not). */
  acknowledgeInsert(keyNumber: number): void {
    if (!Number.isSafeInteger(keyNumber) || keyNumber < this.readableEnd || keyNumber >= this.nextKeyNumber) {
      throw new RangeError(
        `acknowledgeInsert(${keyNumber}): not an outstanding insert (reserved and unacknowledged numbers are ${this.readableEnd} … ${this.nextKeyNumber - 1})`,
      );
    }
    const slot = keyNumber % INSERTS_IN_FLIGHT_MAX;
    if (this.acknowledged[slot] === 1) throw new RangeError(`acknowledgeInsert(${keyNumber}): already acknowledged`);
    this.acknowledged[slot] = 1;
    // Bounded by the reserved count: every step consumes one acknowledged flag.
    while (this.readableEnd < this.nextKeyNumber) {
      const next = this.readableEnd % INSERTS_IN_FLIGHT_MAX;
      if (this.acknowledged[next] !== 1) break;
      this.acknowledged[next] = 0;
      this.readableEnd++;
    }
  }
}

// The window of AppendEntries messages a leader has outstanding to one follower in replicate
// state. Each slot holds the last index a message carried; an acknowledgement up to index i frees
// every slot at or below i. A fixed ring of `capacity` slots: the window can never grow past the
// configured inflightMax, so a slow follower cannot make the leader queue without bound.

export class Inflights {
  private readonly lastIndexes: number[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.lastIndexes = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.size;
  }

  full(): boolean {
    return this.size === this.capacity;
  }

  /** Record a message carrying entries up to `lastIndex`. Indexes must increase along the window. */
  add(lastIndex: number): void {
    if (this.full()) throw new RangeError(`inflight window full (${this.capacity})`);
    if (this.size > 0) {
      const newest = this.lastIndexes[(this.start + this.size - 1) % this.capacity]!;
      if (lastIndex <= newest) throw new RangeError(`inflight index ${lastIndex} not above ${newest}`);
    }
    this.lastIndexes[(this.start + this.size) % this.capacity] = lastIndex;
    this.size += 1;
  }

  /** Free every message whose entries are all at or below `index` (acknowledged). */
  freeUpTo(index: number): void {
    while (this.size > 0 && this.lastIndexes[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.size -= 1;
    }
  }

  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}

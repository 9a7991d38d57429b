// The simulation's only scheduler: a binary min-heap ordered by (time, insertion sequence). Ties
// in time are broken by the order events were scheduled, so a run depends only on the seed, never
// on object identity or Map/Set iteration order.

export interface ScheduledEvent<T> {
  readonly timeUs: number;
  readonly sequence: number;
  readonly payload: T;
}

export class EventQueue<T> {
  private readonly heap: ScheduledEvent<T>[] = [];
  private nextSequence = 0;

  /** @param capacity a bound: scheduling beyond it is a runaway simulation and throws. */
  constructor(readonly capacity: number = 1_000_000) {}

  get size(): number {
    return this.heap.length;
  }

  push(timeUs: number, payload: T): void {
    if (!Number.isSafeInteger(timeUs) || timeUs < 0) throw new RangeError(`event time must be a non-negative integer (µs), got ${timeUs}`);
    if (this.heap.length >= this.capacity) throw new RangeError(`event queue over its bound of ${this.capacity} events`);
    const event: ScheduledEvent<T> = { timeUs, sequence: this.nextSequence++, payload };
    const heap = this.heap;
    heap.push(event);
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!precedes(event, heap[parent]!)) break;
      heap[child] = heap[parent]!;
      child = parent;
    }
    heap[child] = event;
  }

  peekTimeUs(): number | undefined {
    return this.heap[0]?.timeUs;
  }

  pop(): ScheduledEvent<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let parent = 0;
      for (;;) {
        const left = 2 * parent + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const smaller = right < heap.length && precedes(heap[right]!, heap[left]!) ? right : left;
        if (!precedes(heap[smaller]!, last)) break;
        heap[parent] = heap[smaller]!;
        parent = smaller;
      }
      heap[parent] = last;
    }
    return top;
  }
}

function precedes<T>(a: ScheduledEvent<T>, b: ScheduledEvent<T>): boolean {
  return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.sequence < b.sequence);
}

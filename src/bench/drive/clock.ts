// The drivers' only view of time, so a test can run the production scheduler on a virtual clock
// (virtual-clock.ts) and get the same answer on any machine.
//
// The subtle thing is sleeping. Node's timers have 1 ms resolution and fire late under load, so a
// driver that needs µs-accurate issue times cannot sleep on a timer right up to its deadline. In
// 'precise' mode (the default) the system clock sleeps on a timer only until `spinUs` before the
// deadline, and from there yields with setImmediate (letting completions run) until the deadline
// has passed — accurate to a few µs, but at rates above ~1000/s the gaps are shorter than a timer
// tick and the loop keeps a core busy, which on a small machine is taken from the target. In
// 'frugal' mode it only ever sleeps on timers (≥ 1 ms): no spinning, but operations go out up to
// about a millisecond late, in batches. The open-loop driver measures latency from the due time,
// so that lateness is counted, never hidden — it shows in the latencies and in the scheduler lag.
// Every sleep yields to the event loop at least once, even when the deadline has already passed.

export interface Clock {
  /** Microseconds since an origin fixed when the clock was made; fractional, monotonic. */
  nowUs(): number;
  /**
   * Resolves at or after `deadlineUs` (a system clock may wake earlier than asked only by
   * yielding once and letting the caller look again). Resolves early when `signal` aborts.
   */
  sleepUntilUs(deadlineUs: number, signal?: AbortSignal): Promise<void>;
}

export type WakeMode = 'precise' | 'frugal';

export interface SystemClockOptions {
  /** Default 'precise'. */
  readonly wake?: WakeMode;
  /** 'precise': how long before a deadline to stop sleeping on a timer and start yielding. Default 1000 µs. */
  readonly spinUs?: number;
}

export const SPIN_US_DEFAULT = 1000;

export function createSystemClock(options: SystemClockOptions = {}): Clock {
  const wake = options.wake ?? 'precise';
  if (wake !== 'precise' && wake !== 'frugal') throw new RangeError(`system clock: wake must be 'precise' or 'frugal', got ${String(wake)}`);
  const spinUs = options.spinUs ?? SPIN_US_DEFAULT;
  if (!(spinUs >= 0)) throw new RangeError(`system clock: spinUs must be ≥ 0, got ${spinUs}`);
  const originNs = process.hrtime.bigint();
  const nowUs = (): number => Number(process.hrtime.bigint() - originNs) / 1000;
  return {
    nowUs,
    sleepUntilUs(deadlineUs: number, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        let immediate: NodeJS.Immediate | undefined;
        const finish = (): void => {
          if (timer !== undefined) clearTimeout(timer);
          if (immediate !== undefined) clearImmediate(immediate);
          signal?.removeEventListener('abort', finish);
          resolve();
        };
        const remainingUs = deadlineUs - nowUs();
        const timerMs = wake === 'precise' ? Math.floor((remainingUs - spinUs) / 1000) : remainingUs > 0 ? Math.max(1, Math.round(remainingUs / 1000)) : 0;
        if (timerMs >= 1 && signal?.aborted !== true) timer = setTimeout(finish, timerMs);
        else immediate = setImmediate(finish);
        signal?.addEventListener('abort', finish, { once: true });
      });
    },
  };
}

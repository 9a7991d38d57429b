// When an open-loop driver's operations are due: evenly spaced at the target rate, or a Poisson
// process (exponential gaps with that mean, from the seeded PRNG, so a seed fixes the schedule).
// Evenly spaced times are computed as start + k · interval, not by adding intervals up, so a long
// run does not drift by accumulated rounding.

import { createPrng } from '../../random/prng.js';

export type ArrivalProcess = 'uniform' | 'poisson';

export interface ArrivalSchedule {
  /** When the next operation is due (driver clock, µs). */
  readonly nextUs: number;
  advance(): void;
}

export interface ArrivalOptions {
  readonly ratePerSecond: number;
  readonly process: ArrivalProcess;
  readonly startUs: number;
  /** Seed of the Poisson gaps. */
  readonly seed: number;
}

export function createArrivalSchedule(options: ArrivalOptions): ArrivalSchedule {
  const { ratePerSecond, startUs } = options;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
  const intervalUs = 1e6 / ratePerSecond;
  switch (options.process) {
    case 'uniform': {
      let index = 0;
      return {
        get nextUs() {
          return startUs + index * intervalUs;
        },
        advance() {
          index++;
        },
      };
    }
    case 'poisson': {
      const prng = createPrng(options.seed);
      // 1 − u is in (0, 1], so the logarithm is finite.
      const gapUs = (): number => -Math.log(1 - prng.nextFloat()) * intervalUs;
      let nextUs = startUs + gapUs();
      return {
        get nextUs() {
          return nextUs;
        },
        advance() {
          nextUs += gapUs();
        },
      };
    }
    default: {
      const unknown: never = options.process;
      throw new RangeError(`arrivals must be 'uniform' or 'poisson', got ${String(unknown)}`);
    }
  }
}

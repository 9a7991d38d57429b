// Liveness where it is due: once the fault injector stops (network healed, a majority up), a
// leader must emerge and a proposal must commit within a bound. The bound is the caller's to
// state and justify; this class only enforces it against the simulated clock.

import { InvariantViolation } from './violation.js';

export class LivenessDeadline {
  private satisfiedAtUs: number | null = null;

  constructor(
    /** What must happen, e.g. "a leader is elected and a probe proposal commits". */
    readonly goal: string,
    readonly startUs: number,
    readonly boundUs: number,
  ) {
    if (!(boundUs > 0)) throw new RangeError(`liveness bound must be positive, got ${boundUs}`);
  }

  get deadlineUs(): number {
    return this.startUs + this.boundUs;
  }

  get satisfied(): boolean {
    return this.satisfiedAtUs !== null;
  }

  /** Time from start to the goal, or null if not (yet) reached. */
  get elapsedUs(): number | null {
    return this.satisfiedAtUs === null ? null : this.satisfiedAtUs - this.startUs;
  }

  /** Call whenever the goal may have been reached or time advanced; throws once the deadline passed unmet. */
  check(nowUs: number, goalReached: boolean, describeState: () => string): void {
    if (this.satisfiedAtUs !== null) return;
    if (goalReached) {
      this.satisfiedAtUs = nowUs;
      return;
    }
    if (nowUs > this.deadlineUs) {
      throw new InvariantViolation(
        'liveness',
        [],
        `${this.goal} did not happen within ${(this.boundUs / 1000).toFixed(0)} ms of simulated time ` +
          `(from ${(this.startUs / 1000).toFixed(1)} ms); state: ${describeState()}`,
      );
    }
  }
}

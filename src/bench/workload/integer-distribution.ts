// Samplers for the small integer distributions of a workload: value sizes and scan lengths, as
// YCSB's fieldlengthdistribution and scanlengthdistribution (constant, uniform min..max, zipfian
// min..max favouring min). The subtle thing: a sampler is a closure built once per stream, so the
// per-operation call is one indirect call with no allocation; the zipfian one reuses the rank
// generator (ζ is computed once, at construction).

import type { Prng } from '../../random/prng.js';
import { ZipfianGenerator } from './zipfian.js';

export type IntegerDistribution =
  | { readonly type: 'constant'; readonly value: number }
  | { readonly type: 'uniform'; readonly min: number; readonly max: number }
  | { readonly type: 'zipfian'; readonly min: number; readonly max: number; readonly theta: number };

/** A function returning the next integer drawn from `distribution` (bounds inclusive). */
export function createIntegerSampler(distribution: IntegerDistribution, prng: Prng): () => number {
  switch (distribution.type) {
    case 'constant': {
      const value = distribution.value;
      return () => value;
    }
    case 'uniform': {
      const min = distribution.min;
      const maxExclusive = distribution.max + 1;
      return () => prng.nextInt(min, maxExclusive);
    }
    case 'zipfian': {
      const min = distribution.min;
      const ranks = new ZipfianGenerator(prng, distribution.max - distribution.min + 1, distribution.theta);
      return () => min + ranks.next();
    }
  }
}

/** The largest value `distribution` can produce. */
export function integerDistributionMax(distribution: IntegerDistribution): number {
  return distribution.type === 'constant' ? distribution.value : distribution.max;
}

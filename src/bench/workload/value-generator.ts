// Values for inserts and updates: a size drawn from `values.sizeBytes`, filled with
// `values.content`. The subtle thing: sizes and content draw from separate forks of the stream's
// generator, so switching a workload from text to random content changes the bytes and nothing
// else (the sizes, and the key and operation streams, which have their own forks, stay the same).

import type { Prng } from '../../random/prng.js';
import { createIntegerSampler } from './integer-distribution.js';
import type { Workload } from './schema.js';
import { generateValue, type ValueKind } from './value-content.js';

export class ValueGenerator {
  private readonly nextSize: () => number;
  private readonly content: ValueKind;
  private readonly contentPrng: Prng;

  constructor(values: Workload['values'], prng: Prng) {
    this.nextSize = createIntegerSampler(values.sizeBytes, prng.fork());
    this.contentPrng = prng.fork();
    this.content = values.content;
  }

  /** A fresh value. */
  next(): Uint8Array {
    return generateValue(this.content, this.contentPrng, this.nextSize());
  }
}

// Workload → a deterministic stream of operations, one stream per client.
//
//   LoadStream       the load phase: client c of load.concurrency inserts record numbers
//                    c, c + C, c + 2C … below recordCount, so the clients together insert each
//                    record exactly once, in any interleaving
//   OperationStream  the run phase: an endless stream drawn from the mix; the driver stops it
//                    (durationSeconds, or its share of operationCount)
//
// Every random choice comes from the seeded PRNG (src/random/prng.ts). The run seed gives a root
// generator; the load phase and the run phase each take a fork of it, each client the
// (index + 1)-th fork of its phase, and within a client the operation type, the key, the scan
// length and the value each have their own fork, so that changing one setting (say, the value
// size) leaves the other choices of the stream as they were.
//
// The subtle thing: the run-phase clients share one KeySpace. An insert reserves the next key
// number and the driver must call `keySpace.acknowledgeInsert(op.keyNumber)` once it is answered;
// key choices depend on how many inserts have been acknowledged. A client's stream is therefore a
// pure function of (seed, client index) when the workload has no inserts or runs one client that
// acknowledges each insert before asking for the next operation, and otherwise also of the order
// in which the driver acknowledged inserts — which is what the run really did.
//
// Cost: `next()` allocates the operation object, the key bytes and, for writes, the value bytes;
// nothing else (no strings, closures or iterator results). README.md has the measured rates.

import { createPrng, type Prng } from '../../random/prng.js';
import { createKeyChooser, type KeyChooser } from './key-choosers.js';
import { KeySpace } from './key-space.js';
import { KeyEncoder } from './keys.js';
import { createIntegerSampler } from './integer-distribution.js';
import { expectedInsertCount, OPERATION_TYPES, type OperationType, type Workload } from './schema.js';
import { ValueGenerator } from './value-generator.js';

/** One operation; `keyNumber` is the record number the key was made from. */
export type Operation =
  | { readonly type: 'read'; readonly key: Uint8Array; readonly keyNumber: number }
  | { readonly type: 'update'; readonly key: Uint8Array; readonly keyNumber: number; readonly value: Uint8Array }
  | { readonly type: 'insert'; readonly key: Uint8Array; readonly keyNumber: number; readonly value: Uint8Array }
  | { readonly type: 'scan'; readonly key: Uint8Array; readonly keyNumber: number; readonly scanLength: number }
  | { readonly type: 'readModifyWrite'; readonly key: Uint8Array; readonly keyNumber: number; readonly value: Uint8Array }
  | { readonly type: 'delete'; readonly key: Uint8Array; readonly keyNumber: number };

export type InsertOperation = Extract<Operation, { type: 'insert' }>;

/** A key space for a run of `workload`: its records exist (loaded, or present from before). */
export function createKeySpace(workload: Workload): KeySpace {
  return new KeySpace(workload.keys.recordCount);
}

type Phase = 'load' | 'run';

/** The generator of client `clientIndex` in `phase`, derived from `seed` (see the file header). */
function clientPrng(seed: number, phase: Phase, clientIndex: number, clientCount: number): Prng {
  if (!Number.isSafeInteger(clientIndex) || clientIndex < 0 || clientIndex >= clientCount) {
    throw new RangeError(`client index must be an integer in [0, ${clientCount}) (the ${phase} concurrency), got ${clientIndex}`);
  }
  const root = createPrng(seed);
  const loadRoot = root.fork();
  const phaseRoot = phase === 'load' ? loadRoot : root.fork();
  let client = phaseRoot.fork();
  for (let i = 0; i < clientIndex; i++) client = phaseRoot.fork();
  return client;
}

export class LoadStream {
  private readonly keys: KeyEncoder;
  private readonly values: ValueGenerator;
  private readonly stride: number;
  private readonly recordCount: number;
  private nextKeyNumber: number;

  constructor(workload: Workload, clientIndex: number, seed: number = workload.run.seed) {
    const prng = clientPrng(seed, 'load', clientIndex, workload.load.concurrency);
    this.keys = new KeyEncoder(workload.keys);
    this.values = new ValueGenerator(workload.values, prng.fork());
    this.stride = workload.load.concurrency;
    this.recordCount = workload.keys.recordCount;
    this.nextKeyNumber = clientIndex;
  }

  /** Records this client has left to insert. */
  get remaining(): number {
    return this.nextKeyNumber >= this.recordCount ? 0 : Math.ceil((this.recordCount - this.nextKeyNumber) / this.stride);
  }

  /** The next insert of this client's share, or undefined when its share is done. */
  next(): InsertOperation | undefined {
    if (this.nextKeyNumber >= this.recordCount) return undefined;
    const keyNumber = this.nextKeyNumber;
    this.nextKeyNumber += this.stride;
    return { type: 'insert', key: this.keys.encode(keyNumber), keyNumber, value: this.values.next() };
  }
}

const TYPE_COUNT = OPERATION_TYPES.length;

export class OperationStream {
  readonly keySpace: KeySpace;
  private readonly typePrng: Prng;
  private readonly keyChooser: KeyChooser;
  private readonly keys: KeyEncoder;
  private readonly values: ValueGenerator;
  private readonly nextScanLength: () => number;
  /** Cumulative proportions in OPERATION_TYPES order; the last positive one is raised to cover rounding. */
  private readonly thresholds = new Float64Array(TYPE_COUNT);

  constructor(workload: Workload, keySpace: KeySpace, clientIndex: number, seed: number = workload.run.seed) {
    if (keySpace.recordCount !== workload.keys.recordCount) {
      throw new RangeError(`key space holds ${keySpace.recordCount} records but the workload loads ${workload.keys.recordCount}`);
    }
    const prng = clientPrng(seed, 'run', clientIndex, workload.run.concurrency);
    this.keySpace = keySpace;
    this.typePrng = prng.fork();
    this.keyChooser = createKeyChooser({
      distribution: workload.keys.distribution,
      keySpace,
      zipfianItems: workload.keys.recordCount + expectedInsertCount(workload),
      prng: prng.fork(),
    });
    this.nextScanLength = createIntegerSampler(workload.scanLength, prng.fork());
    this.values = new ValueGenerator(workload.values, prng.fork());
    this.keys = new KeyEncoder(workload.keys);
    let cumulative = 0;
    let lastPositive = -1;
    OPERATION_TYPES.forEach((type, i) => {
      cumulative += workload.operations[type];
      this.thresholds[i] = cumulative;
      if (workload.operations[type] > 0) lastPositive = i;
    });
    if (lastPositive < 0) throw new RangeError('the operation mix has no positive proportion');
    for (let i = lastPositive; i < TYPE_COUNT; i++) this.thresholds[i] = Infinity;
  }

  /** The type of the next operation, from the mix. */
  private nextType(): OperationType {
    const draw = this.typePrng.nextFloat();
    let i = 0;
    while (draw >= this.thresholds[i]!) i++;
    return OPERATION_TYPES[i]!;
  }

  /** The next operation; for an insert, acknowledge `keyNumber` on the key space once answered. */
  next(): Operation {
    const type = this.nextType();
    if (type === 'insert') {
      const keyNumber = this.keySpace.reserveInsert();
      return { type, key: this.keys.encode(keyNumber), keyNumber, value: this.values.next() };
    }
    const keyNumber = this.keyChooser.next();
    const key = this.keys.encode(keyNumber);
    switch (type) {
      case 'read':
      case 'delete':
        return { type, key, keyNumber };
      case 'update':
      case 'readModifyWrite':
        return { type, key, keyNumber, value: this.values.next() };
      case 'scan':
        return { type, key, keyNumber, scanLength: this.nextScanLength() };
    }
  }
}

// The workload file format (`workloads/*.json`) as a zod schema, and the resolved `Workload` it
// turns into: every default filled in and every shorthand expanded, so the generators never see
// an optional field. README.md beside this file documents each field and its default.
//
// The subtle thing: cross-field rules (the mix sums to 1, the key width holds the record count,
// open mode needs a rate, a hot set has at least one key …) are checks on the enclosing object,
// and zod runs those only once every field inside it is well-typed. A file with a mistyped field
// therefore reports that first, and its cross-field mistakes on the next attempt; every issue
// still names the path of the field to fix.

import * as z from 'zod';
import type { IntegerDistribution } from './integer-distribution.js';
import { HASH_MODULUS_MAX } from './fnv.js';
import { keyDigitsRequired, utf8Length } from './keys.js';

export const OPERATION_TYPES = ['read', 'update', 'insert', 'scan', 'readModifyWrite', 'delete'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const VALUE_CONTENTS = ['random', 'text', 'json'] as const;
export type ValueContent = (typeof VALUE_CONTENTS)[number];

export type KeyOrder = 'hashed' | 'ordered';

export type KeyDistribution =
  | { readonly type: 'uniform' }
  | { readonly type: 'zipfian'; readonly theta: number }
  | { readonly type: 'latest'; readonly theta: number }
  | { readonly type: 'hotspot'; readonly hotSetFraction: number; readonly hotOperationFraction: number };

/** A workload with every default filled in: what the generators and the harness consume. */
export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Proportions of each operation type; they sum to 1. */
  readonly operations: Readonly<Record<OperationType, number>>;
  /** Records per scan (used when operations.scan > 0). */
  readonly scanLength: IntegerDistribution;
  readonly keys: {
    /** Records inserted by the load phase: key numbers 0 … recordCount − 1. */
    readonly recordCount: number;
    readonly prefix: string;
    /** Total key length in bytes: the prefix, then the key number in zero-padded decimal. */
    readonly keyBytes: number;
    readonly order: KeyOrder;
    readonly distribution: KeyDistribution;
  };
  readonly values: {
    readonly sizeBytes: IntegerDistribution;
    readonly content: ValueContent;
  };
  readonly load: {
    readonly enabled: boolean;
    readonly concurrency: number;
  };
  readonly run: RunSettings;
}

export type RunSettings = {
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seed: number;
} & ({ readonly mode: 'closed' } | { readonly mode: 'open'; readonly rateOpsPerSecond: number }) &
  (
    | { readonly durationSeconds: number; readonly operationCount?: undefined }
    | { readonly operationCount: number; readonly durationSeconds?: undefined }
  );

// Limits on everything: a workload outside them is a typo, or a machine this harness is not for.
export const RECORD_COUNT_MAX = 2 ** 32;
export const KEY_BYTES_MAX = 1024;
export const VALUE_BYTES_MAX = 16 * 1024 * 1024;
export const SCAN_LENGTH_MAX = 100_000;
export const CONCURRENCY_MAX = 10_000;
const PROPORTION_SUM_TOLERANCE = 1e-9;

const DEFAULT_DURATION_SECONDS = 20;
const DEFAULT_THETA = 0.99;

const theta = z
  .number()
  .refine((value) => value > 0 && value !== 1, 'must be > 0 and != 1')
  .default(DEFAULT_THETA);
const fraction = z.number().min(0).max(1);
const positiveInteger = (max: number) => z.number().int().min(1).max(max);

/** Constant, uniform or zipfian integers in [minimum, maximum]; a bare number means constant. */
function integerDistribution(minimum: number, maximum: number) {
  const bound = z.number().int().min(minimum).max(maximum);
  const ordered = (value: { min: number; max: number }, ctx: z.RefinementCtx): void => {
    if (value.min > value.max) ctx.addIssue({ code: 'custom', path: ['max'], message: `must be >= min (${value.min})` });
  };
  return z.preprocess(
    (value) => (typeof value === 'number' ? { type: 'constant', value } : value),
    z.discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('constant'), value: bound }),
        z.strictObject({ type: z.literal('uniform'), min: bound.default(Math.max(minimum, 1)), max: bound }).superRefine(ordered),
        z
          .strictObject({ type: z.literal('zipfian'), min: bound.default(Math.max(minimum, 1)), max: bound, theta })
          .superRefine(ordered),
      ],
      { error: 'must be a number or an object {"type": "constant" | "uniform" | "zipfian", …}' },
    ),
  );
}

const keyDistribution = z.preprocess(
  (value) => (typeof value === 'string' ? { type: value } : value),
  z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('uniform') }),
      z.strictObject({ type: z.literal('zipfian'), theta }),
      z.strictObject({ type: z.literal('latest'), theta }),
      z.strictObject({
        type: z.literal('hotspot'),
        hotSetFraction: z.number().gt(0).max(1).default(0.2),
        hotOperationFraction: fraction.default(0.8),
      }),
    ],
    { error: 'must be "uniform", "zipfian", "latest", "hotspot" or an object {"type": …}' },
  ),
);

const proportion = fraction.default(0);
const operations = z
  .strictObject({
    read: proportion,
    update: proportion,
    insert: proportion,
    scan: proportion,
    readModifyWrite: proportion,
    delete: proportion,
  })
  .superRefine((mix, ctx) => {
    const sum = OPERATION_TYPES.reduce((total, type) => total + mix[type], 0);
    if (Math.abs(sum - 1) > PROPORTION_SUM_TOLERANCE) {
      const terms = OPERATION_TYPES.filter((type) => mix[type] > 0).map((type) => `${type} ${mix[type]}`);
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `proportions must sum to 1 (± ${PROPORTION_SUM_TOLERANCE}), got ${sum} (${terms.join(' + ') || 'all 0'})`,
        params: { showsInput: true },
      });
    }
  });

const keys = z
  .strictObject({
    recordCount: positiveInteger(RECORD_COUNT_MAX).default(100_000),
    prefix: z.string().default('user'),
    keyBytes: positiveInteger(KEY_BYTES_MAX).default(23),
    order: z.enum(['hashed', 'ordered']).default('hashed'),
    distribution: keyDistribution.default({ type: 'zipfian', theta: DEFAULT_THETA }),
  })
  .superRefine((value, ctx) => {
    const digits = value.keyBytes - utf8Length(value.prefix);
    const needed = keyDigitsRequired(value.recordCount);
    if (digits < needed) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyBytes'],
        message: `must leave at least ${needed} digits after the ${utf8Length(value.prefix)}-byte prefix "${value.prefix}" to number ${value.recordCount} records`,
      });
    }
    const distribution = value.distribution;
    if (distribution.type === 'hotspot' && Math.floor(value.recordCount * distribution.hotSetFraction) < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['distribution', 'hotSetFraction'],
        message: `must cover at least one of the ${value.recordCount} records (recordCount × hotSetFraction >= 1)`,
      });
    }
  });

const values = z.strictObject({
  sizeBytes: integerDistribution(0, VALUE_BYTES_MAX).default({ type: 'constant', value: 1000 }),
  content: z.enum(VALUE_CONTENTS).default('text'),
});

const load = z.strictObject({
  enabled: z.boolean().default(true),
  concurrency: positiveInteger(CONCURRENCY_MAX).default(8),
});

const run = z
  .strictObject({
    concurrency: positiveInteger(CONCURRENCY_MAX).default(8),
    mode: z.enum(['closed', 'open']).default('closed'),
    rateOpsPerSecond: z.number().gt(0).max(1e9).optional(),
    warmupSeconds: z.number().min(0).max(86_400).default(5),
    durationSeconds: z.number().gt(0).max(86_400 * 7).optional(),
    operationCount: positiveInteger(Number.MAX_SAFE_INTEGER).optional(),
    seed: z.number().int().default(1),
  })
  .superRefine((value, ctx) => {
    if (value.mode === 'open' && value.rateOpsPerSecond === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rateOpsPerSecond'], message: 'required when run.mode is "open"' });
    }
    if (value.mode === 'closed' && value.rateOpsPerSecond !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['rateOpsPerSecond'], message: 'only applies when run.mode is "open" (closed clients send as fast as answers come)' });
    }
    if (value.durationSeconds !== undefined && value.operationCount !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['operationCount'], message: 'give durationSeconds or operationCount, not both' });
    }
  })
  .transform((value): RunSettings => {
    const common = { concurrency: value.concurrency, warmupSeconds: value.warmupSeconds, seed: value.seed };
    const pacing =
      value.mode === 'open' ? { mode: 'open' as const, rateOpsPerSecond: value.rateOpsPerSecond ?? 0 } : { mode: 'closed' as const };
    const end =
      value.operationCount !== undefined
        ? { operationCount: value.operationCount }
        : { durationSeconds: value.durationSeconds ?? DEFAULT_DURATION_SECONDS };
    return { ...common, ...pacing, ...end };
  });

export const workloadSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    operations,
    scanLength: integerDistribution(1, SCAN_LENGTH_MAX).default({ type: 'uniform', min: 1, max: 1000 }),
    keys: keys.prefault({}),
    values: values.prefault({}),
    load: load.prefault({}),
    run: run.prefault({}),
  })
  .superRefine((value, ctx) => {
    // The scrambled zipfian hashes ranks modulo its item count (records plus expected inserts).
    if (value.keys.recordCount + expectedInsertCount(value) > HASH_MODULUS_MAX) {
      ctx.addIssue({ code: 'custom', path: ['run', 'operationCount'], message: `records plus expected inserts exceed ${HASH_MODULUS_MAX}` });
    }
  })
  .transform((value): Workload => value);

/** What a workload file may hold (optional fields, shorthands), as inferred from the schema. */
export type WorkloadFile = z.input<typeof workloadSchema>;

/**
 * Inserts the run is expected to make, for sizing the zipfian key space as YCSB does:
 * 2 × insert proportion × operationCount (2 being YCSB's fudge factor); 0 for a run bounded by
 * time, whose operation count is not known in advance.
 */
export function expectedInsertCount(workload: Pick<Workload, 'operations'> & { run: { operationCount?: number | undefined } }): number {
  const operationCount = workload.run.operationCount;
  if (operationCount === undefined) return 0;
  return Math.floor(operationCount * workload.operations.insert * 2);
}

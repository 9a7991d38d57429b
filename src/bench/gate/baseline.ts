// The committed baseline of the gate's exact counters (results/gate-baseline.json) and the
// comparison against it. The counters come from seeded simulation runs, so on unchanged code they
// are equal to the last digit; the tolerance only absorbs floating-point noise in the ratios, and
// anything beyond it is a real change in what the write path spends — a regression to fix, or an
// improvement to record with `raftbench gate --update-baseline`.

import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { formatIssues } from '../../schema/issues.js';
import { COUNTER_NAMES, type CounterName, type CounterSet, type CounterValues } from './counters.js';

export const BASELINE_PATH_DEFAULT = 'results/gate-baseline.json';
export const BASELINE_FORMAT = 'raftbench-gate-baseline/1';
/** Relative tolerance, percent: far below any real change (one byte more per put is ≥ 0.15 %). */
export const COUNTER_TOLERANCE_PERCENT_DEFAULT = 0.01;

const CounterValuesSchema = z.strictObject(Object.fromEntries(COUNTER_NAMES.map((name) => [name, z.number().finite()])) as Record<CounterName, z.ZodNumber>);

const BaselineSchema = z.strictObject({
  format: z.literal(BASELINE_FORMAT),
  note: z.string(),
  configurations: z.record(z.string(), z.strictObject({ description: z.string(), counters: CounterValuesSchema })),
});
export type Baseline = z.infer<typeof BaselineSchema>;

export class BaselineError extends Error {
  override readonly name = 'BaselineError';
}

export async function loadBaseline(path: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BaselineError(`${path}: cannot read the gate baseline (${code ?? String(error)}); create it with 'raftbench gate --update-baseline'`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BaselineError(`${path}: not JSON (${(error as Error).message})`);
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success) throw new BaselineError(`${path}: not a gate baseline: ${formatIssues(parsed.error.issues, json).join("; ")}`);
  return parsed.data;
}

export function baselineOf(measured: CounterSet, descriptions: Readonly<Record<string, string>>): Baseline {
  const configurations: Baseline['configurations'] = {};
  for (const [name, counters] of Object.entries(measured)) configurations[name] = { description: descriptions[name] ?? '', counters };
  return {
    format: BASELINE_FORMAT,
    note: 'Exact cost counters of fixed seeded simulation runs (raftbench gate). Machine-independent. Rewrite with: raftbench gate --update-baseline',
    configurations,
  };
}

export async function saveBaseline(path: string, baseline: Baseline): Promise<void> {
  await writeFile(path, `${JSON.stringify(baseline, null, 2)}\n`);
}

export interface CounterDelta {
  readonly configuration: string;
  readonly counter: CounterName;
  readonly baseline: number;
  readonly measured: number;
  /** (measured − baseline) / baseline · 100; ±Infinity when the baseline is 0 and measured is not. */
  readonly deltaPercent: number;
  readonly withinTolerance: boolean;
}

export interface CounterVerdict {
  readonly pass: boolean;
  readonly tolerancePercent: number;
  readonly deltas: readonly CounterDelta[];
  /** One sentence per problem: a counter that moved (from what to what) or a configuration missing. */
  readonly problems: readonly string[];
}

function deltaPercentOf(baseline: number, measured: number): number {
  if (baseline === measured) return 0;
  if (baseline === 0) return measured > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return ((measured - baseline) / Math.abs(baseline)) * 100;
}

export function formatCounter(value: number): string {
  return Number.isInteger(value) ? String(value) : Number(value.toPrecision(6)).toString();
}

export function formatPercent(percent: number): string {
  if (!Number.isFinite(percent)) return percent > 0 ? '+∞ %' : '−∞ %';
  return `${percent >= 0 ? '+' : '−'}${Math.abs(percent).toFixed(Math.abs(percent) < 1 ? 2 : 1)} %`;
}

/** Compares measured counters with the baseline; every counter that moved beyond the tolerance is a problem. */
export function compareCounters(baseline: Baseline, measured: CounterSet, tolerancePercent = COUNTER_TOLERANCE_PERCENT_DEFAULT): CounterVerdict {
  const deltas: CounterDelta[] = [];
  const problems: string[] = [];
  for (const [configuration, values] of Object.entries(measured)) {
    const expected = baseline.configurations[configuration];
    if (expected === undefined) {
      problems.push(`configuration '${configuration}' has no baseline: record it with 'raftbench gate --update-baseline'`);
      continue;
    }
    for (const counter of COUNTER_NAMES) {
      const before = expected.counters[counter];
      const after = (values as CounterValues)[counter];
      const deltaPercent = deltaPercentOf(before, after);
      const withinTolerance = Math.abs(deltaPercent) <= tolerancePercent;
      deltas.push({ configuration, counter, baseline: before, measured: after, deltaPercent, withinTolerance });
      if (!withinTolerance) {
        problems.push(`${configuration}: ${counter} moved from ${formatCounter(before)} to ${formatCounter(after)} (${formatPercent(deltaPercent)}; tolerance ±${tolerancePercent} %)`);
      }
    }
  }
  for (const configuration of Object.keys(baseline.configurations)) {
    if (!(configuration in measured)) problems.push(`configuration '${configuration}' is in the baseline but was not measured: update the baseline if it was removed on purpose`);
  }
  return { pass: problems.length === 0, tolerancePercent, deltas, problems };
}

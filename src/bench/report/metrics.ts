// The metrics a report compares — each with its unit and which direction is better, so a renderer
// can say "faster" or "slower" — and how to read one repetition's value of each.
//
// The subtle thing: a value that does not exist must not become a number. A repetition with no
// successful operation of a type has an empty histogram, which reads 0 µs at every percentile; a
// run without snapshots has no snapshot compression ratio. Such a repetition gives *no sample*
// (null) for that metric, never a 0 that would read as the fastest or best run.

import type { RepetitionData } from './model.js';

export type MetricKind = 'throughput' | 'latency' | 'error-rate' | 'cost';
/** Which way is an improvement; 'neither' for figures that describe rather than cost (batch sizes). */
export type Better = 'higher' | 'lower' | 'neither';
export type MetricUnit = 'ops/s' | 'us' | 'percent' | 'count/op' | 'bytes/op' | 'count' | 'ratio';

export const LATENCY_METRIC_NAMES = ['p50', 'p90', 'p99', 'p99.9', 'max'] as const;
export type LatencyMetricName = (typeof LATENCY_METRIC_NAMES)[number];

/** Metrics measured per operation type as well as over all operations. */
export const OPERATION_METRIC_NAMES = ['throughput', ...LATENCY_METRIC_NAMES, 'error-rate'] as const;
export type OperationMetricName = (typeof OPERATION_METRIC_NAMES)[number];

/** Cost counters, measured over all operations only. */
export const COST_METRIC_NAMES = [
  'fsyncs/op',
  'bytes-written/op',
  'messages/op',
  'wire-bytes/op',
  'entries/append',
  'proposals/batch',
  'log-compression',
  'snapshot-compression',
] as const;
export type CostMetricName = (typeof COST_METRIC_NAMES)[number];

export type MetricName = OperationMetricName | CostMetricName;
export const METRIC_NAMES: readonly MetricName[] = [...OPERATION_METRIC_NAMES, ...COST_METRIC_NAMES];

export interface MetricDefinition {
  /** `name` over all operations, `name:type` for one operation type (e.g. `p99:read`). */
  readonly id: string;
  readonly name: MetricName;
  /** null: all operations together. */
  readonly operationType: string | null;
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly better: Better;
  /** A short title to head a table, e.g. "p99 latency", "Messages per operation". */
  readonly title: string;
}

interface NameInfo {
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly better: Better;
  readonly title: string;
}

const NAME_INFO: Readonly<Record<MetricName, NameInfo>> = {
  throughput: { kind: 'throughput', unit: 'ops/s', better: 'higher', title: 'Throughput' },
  p50: { kind: 'latency', unit: 'us', better: 'lower', title: 'p50 latency' },
  p90: { kind: 'latency', unit: 'us', better: 'lower', title: 'p90 latency' },
  p99: { kind: 'latency', unit: 'us', better: 'lower', title: 'p99 latency' },
  'p99.9': { kind: 'latency', unit: 'us', better: 'lower', title: 'p99.9 latency' },
  max: { kind: 'latency', unit: 'us', better: 'lower', title: 'Max latency' },
  'error-rate': { kind: 'error-rate', unit: 'percent', better: 'lower', title: 'Error rate' },
  'fsyncs/op': { kind: 'cost', unit: 'count/op', better: 'lower', title: 'fsyncs per operation' },
  'bytes-written/op': { kind: 'cost', unit: 'bytes/op', better: 'lower', title: 'Bytes written to disk per operation' },
  'messages/op': { kind: 'cost', unit: 'count/op', better: 'lower', title: 'Messages per operation' },
  'wire-bytes/op': { kind: 'cost', unit: 'bytes/op', better: 'lower', title: 'Bytes on the wire per operation' },
  'entries/append': { kind: 'cost', unit: 'count', better: 'neither', title: 'Entries per AppendEntries' },
  'proposals/batch': { kind: 'cost', unit: 'count', better: 'neither', title: 'Proposals per batch' },
  // raw / stored: 2.2 means the log takes 1 / 2.2 of its raw size on disk.
  'log-compression': { kind: 'cost', unit: 'ratio', better: 'higher', title: 'Log compression ratio (raw / stored)' },
  'snapshot-compression': { kind: 'cost', unit: 'ratio', better: 'higher', title: 'Snapshot compression ratio (raw / stored)' },
};

function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(NAME_INFO, name);
}

function isOperationMetricName(name: MetricName): name is OperationMetricName {
  return (OPERATION_METRIC_NAMES as readonly string[]).includes(name);
}

export function metricDefinition(name: MetricName, operationType: string | null = null): MetricDefinition {
  if (operationType !== null && !isOperationMetricName(name)) throw new RangeError(`metric ${name} is measured over all operations only, not per type`);
  const info = NAME_INFO[name];
  return {
    id: operationType === null ? name : `${name}:${operationType}`,
    name,
    operationType,
    ...info,
    title: operationType === null ? info.title : `${info.title} (${operationType})`,
  };
}

export type MetricSelectorParse = { readonly ok: true; readonly name: MetricName; readonly operationType: string | null } | { readonly ok: false; readonly problem: string };

/** Parses `p99` or `p99:read` as a user writes it (--metric). */
export function parseMetricSelector(text: string): MetricSelectorParse {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const operationType = colon < 0 ? null : text.slice(colon + 1);
  if (!isMetricName(name)) return { ok: false, problem: `unknown metric '${text}'; metrics are ${METRIC_NAMES.join(', ')} (per operation type: NAME:TYPE, e.g. p99:read)` };
  if (operationType !== null && operationType.length === 0) return { ok: false, problem: `metric '${text}' names no operation type after ':'` };
  if (operationType !== null && !isOperationMetricName(name)) return { ok: false, problem: `metric '${name}' is measured over all operations only; '${text}' cannot name a type` };
  return { ok: true, name, operationType };
}

/** One repetition's value of a metric, or null when the repetition has none (see the header). */
export function repetitionValue(repetition: RepetitionData, metric: MetricDefinition): number | null {
  if (isOperationMetricName(metric.name)) {
    const figures = metric.operationType === null ? repetition.total : repetition.byType[metric.operationType];
    if (figures === undefined) return null;
    switch (metric.name) {
      case 'throughput':
        return figures.throughputPerSecond;
      case 'error-rate':
        return figures.errorRatePercent;
      case 'p50':
        return figures.latencyUs?.p50 ?? null;
      case 'p90':
        return figures.latencyUs?.p90 ?? null;
      case 'p99':
        return figures.latencyUs?.p99 ?? null;
      case 'p99.9':
        return figures.latencyUs?.p999 ?? null;
      case 'max':
        return figures.latencyUs?.max ?? null;
    }
  }
  const costs = repetition.costs;
  if (costs === null) return null;
  switch (metric.name) {
    case 'fsyncs/op':
      return costs.fsyncsPerOperation;
    case 'bytes-written/op':
      return costs.bytesWrittenPerOperation;
    case 'messages/op':
      return costs.messagesPerOperation;
    case 'wire-bytes/op':
      return costs.bytesOnWirePerOperation;
    case 'entries/append':
      return costs.entriesPerAppend;
    case 'proposals/batch':
      return costs.proposalsPerBatch;
    case 'log-compression':
      return costs.logCompressionRatio;
    case 'snapshot-compression':
      return costs.snapshotCompressionRatio;
  }
  return null;
}

/** The metrics a set of repetitions can have, in reading order: all operations, then per type, then costs. */
export function metricsFor(operationTypes: readonly string[], withCosts: boolean): MetricDefinition[] {
  const metrics = OPERATION_METRIC_NAMES.map((name) => metricDefinition(name));
  for (const type of operationTypes) for (const name of OPERATION_METRIC_NAMES) metrics.push(metricDefinition(name, type));
  if (withCosts) for (const name of COST_METRIC_NAMES) metrics.push(metricDefinition(name));
  return metrics;
}

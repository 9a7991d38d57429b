// What the HTML report's charts draw, as plain JSON taken from the report data (model.ts): per
// workload the throughput per configuration with the comparison's confidence interval, the latency
// percentile spectrum, throughput over time within a run, p99 run by run, and the main counters per
// operation. The page's script
// only draws these numbers; nothing is computed in the browser, so what a chart shows is what the
// tables say.
//
// The subtle things:
// - The whiskers (throughput, counters) are the verdict's own interval: the 95 % bootstrap interval of
//   median(candidate) / median(reference), times the reference's median. The reference has none
//   (it is the yardstick), and a chart never invents a second interval the tables do not print.
// - The spectrum is HDR style: x = 1 / (1 − p) on a log axis, so 90 %, 99 %, 99.9 % … are equally
//   spaced decades. It is read from each configuration's merged histogram at five points per decade
//   and at the tables' points (50, 75, 90, 99 … %), up to the decade the largest operation count
//   resolves (at most 99.9999 %); past its own count a
//   configuration's line is flat at its maximum, as HdrHistogram's plots are.
// - raftbench.run/1 records per-second throughput but no per-second latency: the p99 chart is one
//   point per run in run order (repetitions are interleaved, so it shows drift across the runs).

import { decodeLatencyHistogram } from '../record/latency-histogram.js';
import { latencyUnitFor, type LatencyUnit } from './format.js';
import type { ConfigurationData, WorkloadData } from './model.js';
import { SPECTRUM_PERCENTILES } from './spectrum.js';
import { median } from './tables.js';

export type ChartKind = 'bars' | 'spectrum' | 'lines';

export interface ChartSeries {
  readonly label: string;
  readonly unsafe: boolean;
  /** Latencies suffer from coordinated omission (closed loop, autocannon): marked † on latency charts. */
  readonly coordinatedOmission: boolean;
  /** Index of the configuration in its workload, so a configuration keeps its colour on every chart. */
  readonly colorIndex: number;
}

export interface Chart {
  /** Unique within the page; also the element's id. */
  readonly id: string;
  readonly kind: ChartKind;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** A latency chart: series driven with coordinated omission are marked † on it. */
  readonly latency: boolean;
  readonly series: readonly ChartSeries[];
  readonly x: readonly number[];
  /** One array per series, aligned with x; null where a series has no value. */
  readonly y: readonly (readonly (number | null)[])[];
  /** bars: per series, the interval drawn as a whisker (null for the reference). */
  readonly whiskers?: readonly ({ readonly low: number; readonly high: number } | null)[];
  /** bars: per series, each run's value, drawn as dots over the bar. */
  readonly runs?: readonly (readonly number[])[];
}

export interface WorkloadCharts {
  readonly workload: string;
  readonly throughput: Chart;
  readonly spectrum: Chart;
  readonly overTime: Chart;
  readonly p99ByRun: Chart;
  /** Counters per operation (fsyncs, bytes written, messages, bytes on the wire); none when no run had counters. */
  readonly costs: readonly Chart[];
}

const LATENCY_DIVISOR: Readonly<Record<LatencyUnit, number>> = { µs: 1, ms: 1000, s: 1_000_000 };
const SPECTRUM_POINTS_PER_DECADE = 5;
/** 99.9999 %: past it even a million operations say nothing. */
const SPECTRUM_DECADES_MAX = 6;

function seriesOf(workload: WorkloadData): ChartSeries[] {
  return workload.configurations.map((configuration, index) => ({
    label: configuration.label,
    unsafe: configuration.unsafe,
    coordinatedOmission: configuration.latencyCaveat !== null,
    colorIndex: index,
  }));
}

/** The latency unit of a chart, chosen once from its typical value (as a table's is). */
function typicalUnit(valuesUs: readonly number[]): LatencyUnit {
  return latencyUnitFor(valuesUs.length === 0 ? 0 : median(valuesUs));
}

function roundTo(value: number, digits: number): number {
  return Number(value.toPrecision(digits));
}

/** A bar per configuration at the median of its runs, the verdict's interval as a whisker, the runs as dots. */
function barChart(workload: WorkloadData, metricId: string, id: string, title: string, yLabel: string): Chart {
  const rowOf = new Map(workload.rows.map((row) => [row.configuration, row]));
  const byLabel = new Map(workload.configurations.map((configuration) => [configuration.label, configuration]));
  const medians = workload.configurations.map((configuration) => configuration.samples[metricId]?.summary.median ?? null);
  const whiskers = workload.configurations.map((configuration) => {
    const row = rowOf.get(configuration.label);
    const comparison = row?.metrics[metricId];
    if (row === undefined || comparison?.status !== 'compared' || comparison.interval === null) return null;
    const referenceMedian = byLabel.get(row.reference)?.samples[metricId]?.summary.median;
    if (referenceMedian === undefined) return null;
    return { low: referenceMedian * comparison.interval.low, high: referenceMedian * comparison.interval.high };
  });
  return {
    id,
    kind: 'bars',
    latency: false,
    title,
    xLabel: 'configuration',
    yLabel,
    series: seriesOf(workload),
    x: workload.configurations.map((_, index) => index),
    // One series per configuration, with its value at its own x only: each bar keeps its colour and legend entry.
    y: medians.map((value, series) => medians.map((_, index) => (index === series ? value : null))),
    whiskers,
    runs: workload.configurations.map((configuration) => [...(configuration.samples[metricId]?.values ?? [])]),
  };
}

/** The counters per operation that get a chart (a table shows them all). */
const COST_CHARTS: readonly { readonly metricId: string; readonly yLabel: string }[] = [
  { metricId: 'fsyncs/op', yLabel: 'fsyncs per operation' },
  { metricId: 'bytes-written/op', yLabel: 'bytes written per operation' },
  { metricId: 'messages/op', yLabel: 'messages per operation' },
  { metricId: 'wire-bytes/op', yLabel: 'bytes on the wire per operation' },
];

function costCharts(workload: WorkloadData, prefix: string): Chart[] {
  return COST_CHARTS.flatMap(({ metricId, yLabel }) => {
    const metric = workload.metrics.find((candidate) => candidate.id === metricId);
    if (metric === undefined) return [];
    return [barChart(workload, metricId, `${prefix}-cost-${metricId.replace(/[^a-z]+/g, '-')}`, `${metric.title}: median of the runs; whiskers: 95 % interval of the ratio to the reference`, yLabel)];
  });
}

function spectrumChart(workload: WorkloadData, id: string): Chart {
  const measured = workload.configurations.filter((configuration) => configuration.latency.total.count > 0);
  const countMax = Math.max(1, ...measured.map((configuration) => configuration.latency.total.count));
  const decades = Math.min(SPECTRUM_DECADES_MAX, Math.max(1, Math.ceil(Math.log10(countMax))));
  const even = Array.from({ length: decades * SPECTRUM_POINTS_PER_DECADE + 1 }, (_, step) => 10 ** (step / SPECTRUM_POINTS_PER_DECADE));
  // The tables' points (50 %, 75 % …) too, so the curve passes through the numbers printed beside it.
  const tablePoints = SPECTRUM_PERCENTILES.filter((percentile) => percentile < 100).map((percentile) => 1 / (1 - percentile / 100));
  const x = [...new Set([...even, ...tablePoints].map((point) => roundTo(point, 6)))].filter((point) => point <= 10 ** decades * 1.000001).sort((a, b) => a - b);
  const unit = typicalUnit(measured.map((configuration) => configuration.latency.total.p50Us));
  const y = workload.configurations.map((configuration): (number | null)[] => {
    if (configuration.latency.total.count === 0) return x.map(() => null);
    const histogram = decodeLatencyHistogram(configuration.latency.total.encoded);
    return x.map((point) => roundTo(histogram.getValueAtPercentile(100 * (1 - 1 / point)) / LATENCY_DIVISOR[unit], 6));
  });
  return {
    id,
    kind: 'spectrum',
    latency: true,
    title: 'Latency by percentile: every run’s histogram merged (HDR style)',
    xLabel: 'percentile',
    yLabel: `latency (${unit})`,
    series: seriesOf(workload),
    x,
    y,
  };
}

/** Operations per second in each bucket of one run; the last bucket may be cut short by the window. */
function ratesOf(repetition: ConfigurationData['repetitions'][number]): number[] {
  const bucketUs = repetition.seriesBucketUs;
  return repetition.total.series.completed.map((count, bucket) => {
    const widthUs = Math.min(bucketUs, repetition.drive.windowUs - bucket * bucketUs);
    return widthUs > 0 ? count / (widthUs / 1e6) : count / (bucketUs / 1e6);
  });
}

function overTimeChart(workload: WorkloadData, id: string): Chart {
  const bucketUs = workload.configurations[0]?.repetitions[0]?.seriesBucketUs ?? 1_000_000;
  const rates = workload.configurations.map((configuration) => configuration.repetitions.map(ratesOf));
  const buckets = Math.max(0, ...rates.flatMap((perRun) => perRun.map((run) => run.length)));
  const x = Array.from({ length: buckets }, (_, bucket) => roundTo((bucket * bucketUs) / 1e6, 6));
  const y = rates.map((perRun) =>
    x.map((_, bucket) => {
      const values = perRun.flatMap((run) => (bucket < run.length ? [run[bucket]!] : []));
      return values.length === 0 ? null : roundTo(median(values), 6);
    }),
  );
  return {
    id,
    kind: 'lines',
    title: `Throughput over time: operations completed per ${bucketUs / 1e6} s since the measurement began, median of the runs`,
    xLabel: 'seconds into the run',
    latency: false,
    yLabel: 'ops/s',
    series: seriesOf(workload),
    x,
    y,
  };
}

function p99ByRunChart(workload: WorkloadData, id: string): Chart {
  const samples = workload.configurations.map((configuration) => configuration.samples['p99']);
  const x = [...new Set(samples.flatMap((sample) => sample?.repetitions ?? []))].sort((a, b) => a - b);
  const unit = typicalUnit(samples.flatMap((sample) => (sample === undefined ? [] : [sample.summary.median])));
  const y = samples.map((sample) =>
    x.map((repetition) => {
      const index = sample?.repetitions.indexOf(repetition) ?? -1;
      return index < 0 ? null : roundTo(sample!.values[index]! / LATENCY_DIVISOR[unit], 6);
    }),
  );
  return {
    id,
    kind: 'lines',
    title: 'p99 latency run by run, in the order the runs ran (the results file records no per-second latency)',
    xLabel: 'run',
    latency: true,
    yLabel: `p99 (${unit})`,
    series: seriesOf(workload),
    x,
    y,
  };
}

export function workloadCharts(workload: WorkloadData, index: number): WorkloadCharts {
  const prefix = `w${index}`;
  return {
    workload: workload.workload,
    throughput: barChart(workload, 'throughput', `${prefix}-throughput`, 'Throughput: median of the runs; whiskers: 95 % interval of the ratio to the reference, dots: the runs', 'ops/s'),
    spectrum: spectrumChart(workload, `${prefix}-spectrum`),
    overTime: overTimeChart(workload, `${prefix}-over-time`),
    p99ByRun: p99ByRunChart(workload, `${prefix}-p99-by-run`),
    costs: costCharts(workload, prefix),
  };
}

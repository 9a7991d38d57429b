// The report as CSV, for a spreadsheet or a notebook: `renderRunsCsv` has one row per (workload,
// configuration, repetition, operation type) with the raw numbers of that run; `renderSummaryCsv`
// one row per (workload, configuration, metric) with the median, range, and the comparison with the
// reference (ratio, interval, p, verdict).
//
// The subtle thing is that the numbers are raw: full precision (JavaScript's shortest round-trip
// form), latency in µs, rates per second, percentages as percent, and an empty field — never 0 —
// where a value does not exist (no latency for a type with no success, no costs for a target
// without counters). Quoting follows RFC 4180: a field with a comma, quote, line break or edge
// space is quoted and its quotes doubled. Lines end in LF (every CSV reader takes it).

import type { ConfigurationData, OperationFigures, ReportData, RepetitionData } from './model.js';

type Field = string | number | boolean | null;

export function csvField(value: Field): string {
  if (value === null) return '';
  const text = typeof value === 'number' && !Number.isFinite(value) ? '' : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csv(header: readonly string[], rows: readonly (readonly Field[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

export const RUNS_CSV_COLUMNS = [
  'source',
  'workload',
  'profile',
  'configuration',
  'repetition',
  'operation',
  'unsafe',
  'drive_mode',
  'coordinated_omission',
  'driver',
  'target',
  'rate_per_second',
  'clients',
  'window_us',
  'count',
  'error_count',
  'error_rate_percent',
  'throughput_per_second',
  'latency_min_us',
  'latency_mean_us',
  'latency_p50_us',
  'latency_p90_us',
  'latency_p99_us',
  'latency_p999_us',
  'latency_max_us',
  'fsyncs_per_op',
  'bytes_written_per_op',
  'messages_per_op',
  'bytes_on_wire_per_op',
  'entries_per_append',
  'proposals_per_batch',
  'log_compression_ratio',
  'snapshot_compression_ratio',
] as const;

function runRow(workload: string, configuration: ConfigurationData, repetition: RepetitionData, operation: string, figures: OperationFigures): Field[] {
  const { drive } = repetition;
  const latency = figures.latencyUs;
  // Costs are counted over all operations; they belong on the 'all' row only.
  const costs = operation === 'all' ? repetition.costs : null;
  return [
    configuration.source,
    workload,
    configuration.profile,
    configuration.label,
    repetition.repetition,
    operation,
    configuration.unsafe,
    drive.mode,
    drive.coordinatedOmission,
    drive.driver,
    drive.targetKind,
    drive.ratePerSecond,
    drive.clients,
    drive.windowUs,
    figures.count,
    figures.errorCount,
    figures.errorRatePercent,
    figures.throughputPerSecond,
    latency?.min ?? null,
    latency?.mean ?? null,
    latency?.p50 ?? null,
    latency?.p90 ?? null,
    latency?.p99 ?? null,
    latency?.p999 ?? null,
    latency?.max ?? null,
    costs?.fsyncsPerOperation ?? null,
    costs?.bytesWrittenPerOperation ?? null,
    costs?.messagesPerOperation ?? null,
    costs?.bytesOnWirePerOperation ?? null,
    costs?.entriesPerAppend ?? null,
    costs?.proposalsPerBatch ?? null,
    costs?.logCompressionRatio ?? null,
    costs?.snapshotCompressionRatio ?? null,
  ];
}

/** One row per (workload, configuration, repetition, operation type — 'all' first). */
export function renderRunsCsv(report: ReportData): string {
  const rows: Field[][] = [];
  for (const workload of report.workloads) {
    for (const configuration of workload.configurations) {
      for (const repetition of configuration.repetitions) {
        rows.push(runRow(workload.workload, configuration, repetition, 'all', repetition.total));
        for (const [type, figures] of Object.entries(repetition.byType)) rows.push(runRow(workload.workload, configuration, repetition, type, figures));
      }
    }
  }
  return csv(RUNS_CSV_COLUMNS, rows);
}

export const SUMMARY_CSV_COLUMNS = [
  'workload',
  'configuration',
  'profile',
  'source',
  'unsafe',
  'coordinated_omission',
  'metric',
  'operation',
  'unit',
  'better',
  'n',
  'median',
  'min',
  'max',
  'mad',
  'spread_relative',
  'reference',
  'ratio',
  'ci_low',
  'ci_high',
  'delta_percent',
  'p',
  'significant',
  'assessment',
  'verdict',
  'warnings',
] as const;

/** One row per (workload, configuration, metric it has); the comparison fields empty for a reference. */
export function renderSummaryCsv(report: ReportData): string {
  const rows: Field[][] = [];
  for (const workload of report.workloads) {
    const rowOf = new Map(workload.rows.map((row) => [row.configuration, row]));
    for (const configuration of workload.configurations) {
      const row = rowOf.get(configuration.label);
      for (const metric of workload.metrics) {
        const samples = configuration.samples[metric.id];
        if (samples === undefined) continue;
        const { summary } = samples;
        const comparison = row?.metrics[metric.id];
        const compared = comparison?.status === 'compared' ? comparison : null;
        rows.push([
          workload.workload,
          configuration.label,
          configuration.profile,
          configuration.source,
          configuration.unsafe,
          configuration.latencyCaveat !== null,
          metric.id,
          metric.operationType ?? 'all',
          metric.unit,
          metric.better,
          summary.n,
          summary.median,
          summary.min,
          summary.max,
          summary.mad,
          summary.spreadRelative,
          row?.reference ?? null,
          compared?.ratio ?? null,
          compared?.interval?.low ?? null,
          compared?.interval?.high ?? null,
          compared?.deltaPercent ?? null,
          compared?.p ?? null,
          compared?.significant ?? null,
          compared?.assessment ?? null,
          compared?.verdict ?? (comparison?.status === 'unavailable' ? `n/a: ${comparison.reason}` : null),
          compared === null ? null : compared.warnings.join('; '),
        ]);
      }
    }
  }
  return csv(SUMMARY_CSV_COLUMNS, rows);
}

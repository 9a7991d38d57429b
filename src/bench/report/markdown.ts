// The report as Markdown, for a terminal and for a pull request: the environment and what was run,
// then per workload a hyperfine-style summary line per profile, one narrow comparison table per
// metric (median, min … max, relative spread, ratio with its interval, benchstat verdict), the
// merged latency percentiles, the costs per operation and the errors.
//
// The subtle thing is what must never be dropped to save space: every row of an unsafe profile
// says UNSAFE and the reasons are printed in the section, and every latency table whose
// configuration was driven with coordinated omission carries the mark and its caveat — a
// closed-loop p99 without that label is a wrong number, not a short one. Tables are split by
// metric rather than widened so that each stays within 120 columns.

import {
  COORDINATED_OMISSION_MARK,
  comparisonTable,
  costTables,
  describeRuns,
  environmentTable,
  errorTable,
  howToRead,
  percentileTable,
  selectedMetrics,
  SUMMARY_INTRODUCTION,
  summaryItems,
  unsafeStatements,
  UNSAFE_MARK,
  type Align,
  type TextTable,
} from './tables.js';
import type { MetricDefinition } from './metrics.js';
import type { ConfigurationData, ReportData, WorkloadData } from './model.js';

export { COORDINATED_OMISSION_MARK, UNSAFE_MARK } from './tables.js';

export interface MarkdownOptions {
  /** First heading. Default "raftbench report". */
  readonly title?: string;
  /**
   * The metrics that get a comparison table, as `name` or `name:type` (see metrics.ts). Default:
   * throughput, p50, p99, p99.9, and p99 per operation type when a workload has several.
   */
  readonly metrics?: readonly string[];
}

// ——— tables ———

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Code points, which is what a terminal shows for everything this report prints. */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, size: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'left' ? text + fill : fill + text;
}

/** A Markdown table padded to its column widths, so it reads as a table in a terminal too. */
function table(headers: readonly string[], aligns: readonly Align[], rows: readonly (readonly string[])[]): string[] {
  const cells = [headers, ...rows].map((row) => row.map(escapeCell));
  const widths = headers.map((_, column) => Math.max(3, ...cells.map((row) => width(row[column] ?? ''))));
  const line = (row: readonly string[]): string => `| ${row.map((cell, column) => pad(cell, widths[column]!, aligns[column] ?? 'left')).join(' | ')} |`;
  const rule = `| ${widths.map((size, column) => (aligns[column] === 'right' ? `${'-'.repeat(size - 1)}:` : '-'.repeat(size))).join(' | ')} |`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)];
}

/** A titled table with its warnings underneath. */
function titledTable(text: TextTable): string[] {
  const lines = [`**${text.name}** (${text.detail})`, '', ...table(text.headers, text.aligns, text.rows)];
  if (text.warnings.length > 0) lines.push('', ...text.warnings.map((warning) => `⚠ ${warning}`));
  return lines;
}

// ——— sections ———

function environmentSection(report: ReportData): string[] {
  const lines = ['## Environment', ''];
  const environment = environmentTable(report);
  lines.push(...table(environment.headers, environment.headers.map((): Align => 'left'), environment.rows));
  lines.push('');
  for (const source of report.sources) lines.push(`- ${source.label} (${source.path}) was made by: \`${source.command}\``);
  return lines;
}

function profilesSection(report: ReportData): string[] {
  const seen = new Map<string, ConfigurationData>();
  for (const workload of report.workloads) for (const configuration of workload.configurations) if (!seen.has(configuration.label)) seen.set(configuration.label, configuration);
  if (seen.size === 0) return [];
  const lines = ['## Profiles', ''];
  for (const configuration of seen.values()) {
    const unsafe = configuration.unsafe ? ` ${UNSAFE_MARK}` : '';
    lines.push(`- **${configuration.label}**${unsafe}${configuration.description === null ? '' : `: ${configuration.description}`}`);
  }
  return lines;
}

function unsafeLines(report: ReportData, labels: ReadonlySet<string>): string[] {
  return unsafeStatements(report, labels).map(({ label, text }) => `> ⚠ **${label}** ${text}`);
}

function summaryLines(workload: WorkloadData): string[] {
  const items = summaryItems(workload);
  if (items.length === 0) return [];
  return [SUMMARY_INTRODUCTION, '', ...items.map(({ name, text }) => `- **${name}**: ${text}`)];
}

function noteLines(workload: WorkloadData): string[] {
  const lines = workload.configurations.flatMap((configuration) => configuration.notes.map((note) => `- ${configuration.label}: ${note}`));
  return lines.length === 0 ? [] : ['**Notes from the runs**', '', ...lines];
}

function workloadSection(report: ReportData, workload: WorkloadData, options: MarkdownOptions): string[] {
  const lines = [`## Workload ${workload.workload}`, '', `${describeRuns(workload)} Baseline: **${workload.baseline}**.`];
  if (workload.baselineNote !== null) lines.push('', `⚠ ${workload.baselineNote}`);
  const unsafe = unsafeLines(report, new Set(workload.configurations.map((configuration) => configuration.label)));
  if (unsafe.length > 0) lines.push('', ...unsafe);
  const metrics = selectedMetrics(workload, options.metrics);
  const tables = (chosen: readonly MetricDefinition[]): string[] =>
    chosen.flatMap((metric) => {
      const text = comparisonTable(workload, metric);
      return text === null ? [] : ['', ...titledTable(text)];
    });
  const summary = summaryLines(workload);
  const throughputTables = tables(metrics.filter((metric) => metric.kind === 'throughput'));
  if (summary.length > 0 || throughputTables.length > 0) lines.push('', '### Throughput', ...(summary.length > 0 ? ['', ...summary] : []), ...throughputTables);
  const otherTables = tables(metrics.filter((metric) => metric.kind === 'error-rate' || metric.kind === 'cost'));
  if (otherTables.length > 0) lines.push('', '### Errors and costs compared', ...otherTables);

  const caveats = workload.configurations.filter((configuration) => configuration.latencyCaveat !== null);
  const percentiles = percentileTable(workload);
  const latencyTables = [...tables(metrics.filter((metric) => metric.kind === 'latency')), ...(percentiles === null ? [] : ['', ...titledTable(percentiles)])];
  if (latencyTables.length > 0) {
    lines.push('', '### Latency');
    if (caveats.length > 0) {
      lines.push('', ...caveats.map((configuration) => `> ${COORDINATED_OMISSION_MARK} **${configuration.label}**: ${configuration.latencyCaveat}`));
    }
    lines.push(...latencyTables);
  }
  const costs = costTables(workload);
  if (costs.length > 0) lines.push('', '### Costs', '', ...costs.flatMap((text, index) => [...(index > 0 ? [''] : []), ...titledTable(text)]));
  const errors = errorTable(workload);
  if (errors !== null) lines.push('', '### Errors', '', ...titledTable(errors));
  const notes = noteLines(workload);
  if (notes.length > 0) lines.push('', ...notes);
  return lines;
}

export function renderMarkdown(report: ReportData, options: MarkdownOptions = {}): string {
  const lines = [`# ${options.title ?? 'raftbench report'}`, ''];
  lines.push(...environmentSection(report));
  if (report.warnings.length > 0) lines.push('', '## Warnings', '', ...report.warnings.map((warning) => `- ⚠ ${warning}`));
  const profiles = profilesSection(report);
  if (profiles.length > 0) lines.push('', ...profiles);
  if (report.unsafe.length > 0) lines.push('', ...unsafeLines(report, new Set(report.unsafe.map((profile) => profile.label))));
  lines.push('', howToRead(report));
  if (report.workloads.length === 0) lines.push('', 'No cells were recorded: there is nothing to compare.');
  for (const workload of report.workloads) lines.push('', ...workloadSection(report, workload, options));
  return `${lines.join('\n')}\n`;
}

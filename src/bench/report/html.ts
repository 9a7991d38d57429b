// The report as one self-contained HTML page (`raftbench report --html`): the same sections, tables
// and verdicts as the Markdown report (they come from tables.ts, so the two cannot disagree), plus
// charts — throughput per configuration with the verdict's interval as whiskers, the HDR latency
// percentile spectrum, throughput over time and p99 run by run. Everything is inline: the styles,
// the chart library (uPlot, read from node_modules when the report is rendered), the page's script
// and the chart data; the file opens from disk with no network.
//
// The subtle thing is that a report embeds names users chose (profiles, workloads, file paths,
// the command line, error kinds): every one goes through html-escape.ts — text escaped for HTML,
// the chart data as JSON with `<` escaped — so a profile named `</script>` is a name, not markup.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workloadCharts, type Chart, type WorkloadCharts } from './html-charts.js';
import { codeForScript, escapeHtml, jsonForScript, styleForElement } from './html-escape.js';
import type { MetricDefinition } from './metrics.js';
import type { ConfigurationData, ReportData, WorkloadData } from './model.js';
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
  type TextTable,
} from './tables.js';

export interface HtmlOptions {
  /** First heading and the page title. Default "raftbench report". */
  readonly title?: string;
  /** The metrics that get a comparison table, as for the Markdown report. */
  readonly metrics?: readonly string[];
}

/** The element that holds the chart data; the page's script reads it. */
export const DATA_ELEMENT_ID = 'raftbench-data';

export interface HtmlPageData {
  readonly charts: readonly WorkloadCharts[];
}

interface Assets {
  /** uPlot's MIT licence, which must travel with every copy of it (each report is one). */
  readonly chartLicense: string;
  readonly chartLibrary: string;
  readonly chartStyle: string;
  readonly pageScript: string;
  readonly pageStyle: string;
}

const require = createRequire(import.meta.url);
/** The page's own script and styles live in the source tree (tsc copies no assets), beside this file's source. */
const ASSETS_FOLDER = fileURLToPath(new URL('../../../../src/bench/report/html-assets/', import.meta.url));

let assetsCache: Assets | undefined;

function assets(): Assets {
  assetsCache ??= {
    chartLicense: readFileSync(require.resolve('uplot/LICENSE'), 'utf8'),
    chartLibrary: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    chartStyle: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    pageScript: readFileSync(`${ASSETS_FOLDER}report.js`, 'utf8'),
    pageStyle: readFileSync(`${ASSETS_FOLDER}report.css`, 'utf8'),
  };
  return assetsCache;
}

// ——— markup ———

function element(tag: string, text: string, attributes: Readonly<Record<string, string>> = {}): string {
  const attributeText = Object.entries(attributes).map(([name, value]) => ` ${name}="${escapeHtml(value)}"`).join('');
  return `<${tag}${attributeText}>${escapeHtml(text)}</${tag}>`;
}

function hasMark(cell: string, mark: string): boolean {
  return cell.split(' ').includes(mark);
}

function tableHtml(table: TextTable, className = ''): string {
  const cell = (tag: 'th' | 'td', text: string, column: number): string => element(tag, text, table.aligns[column] === 'right' ? { class: 'number' } : {});
  const head = `<tr>${table.headers.map((header, column) => cell('th', header, column)).join('')}</tr>`;
  const rows = table.rows.map((row) => {
    const unsafe = row[0] !== undefined && hasMark(row[0], UNSAFE_MARK);
    return `<tr${unsafe ? ' class="unsafe"' : ''}>${row.map((text, column) => cell('td', text, column)).join('')}</tr>`;
  });
  const warnings = table.warnings.map((warning) => element('p', `⚠ ${warning}`, { class: 'warning' }));
  return [
    `<div class="table${className === '' ? '' : ` ${className}`}"><table>`,
    `<caption><strong>${escapeHtml(table.name)}</strong> (${escapeHtml(table.detail)})</caption>`,
    `<thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`,
    ...warnings,
    '</div>',
  ].join('');
}

function chartHtml(chart: Chart): string {
  return `<figure class="chart" id="${escapeHtml(chart.id)}" data-kind="${chart.kind}">${element('figcaption', chart.title)}<div class="plot"></div></figure>`;
}

function unsafeHtml(report: ReportData, labels: ReadonlySet<string>): string[] {
  return unsafeStatements(report, labels).map(({ label, text }) => `<p class="unsafe-notice">⚠ <strong>${escapeHtml(label)}</strong> ${escapeHtml(text)}</p>`);
}

// ——— sections ———

function environmentHtml(report: ReportData): string[] {
  const environment = environmentTable(report);
  const table = `<div class="table"><table><thead><tr>${environment.headers.map((header) => element('th', header)).join('')}</tr></thead><tbody>${environment.rows
    .map((row) => `<tr>${row.map((text, column) => element(column === 0 ? 'th' : 'td', text)).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
  const commands = report.sources.map((source) => `<li>${escapeHtml(`${source.label} (${source.path}) was made by: `)}${element('code', source.command)}</li>`);
  return ['<section id="environment">', element('h2', 'Environment'), table, `<ul>${commands.join('')}</ul>`, '</section>'];
}

function profilesHtml(report: ReportData): string[] {
  const seen = new Map<string, ConfigurationData>();
  for (const workload of report.workloads) for (const configuration of workload.configurations) if (!seen.has(configuration.label)) seen.set(configuration.label, configuration);
  if (seen.size === 0) return [];
  const items = [...seen.values()].map((configuration) => {
    const unsafe = configuration.unsafe ? ` <span class="mark unsafe">${UNSAFE_MARK}</span>` : '';
    return `<li><strong>${escapeHtml(configuration.label)}</strong>${unsafe}${configuration.description === null ? '' : `: ${escapeHtml(configuration.description)}`}</li>`;
  });
  return [element('h2', 'Profiles'), `<ul>${items.join('')}</ul>`];
}

function tablesOf(workload: WorkloadData, metrics: readonly MetricDefinition[]): string[] {
  return metrics.flatMap((metric) => {
    const table = comparisonTable(workload, metric);
    return table === null ? [] : [tableHtml(table, 'verdicts')];
  });
}

function workloadHtml(report: ReportData, workload: WorkloadData, charts: WorkloadCharts, index: number, options: HtmlOptions): string[] {
  const html = [`<section class="workload" id="workload-${index}">`, element('h2', `Workload ${workload.workload}`)];
  html.push(`<p>${escapeHtml(describeRuns(workload))} Baseline: <strong>${escapeHtml(workload.baseline)}</strong>.</p>`);
  if (workload.baselineNote !== null) html.push(element('p', `⚠ ${workload.baselineNote}`, { class: 'warning' }));
  html.push(...unsafeHtml(report, new Set(workload.configurations.map((configuration) => configuration.label))));
  const metrics = selectedMetrics(workload, options.metrics);

  html.push(element('h3', 'Throughput'));
  const summary = summaryItems(workload);
  if (summary.length > 0) {
    html.push(element('p', SUMMARY_INTRODUCTION), `<ul class="summary">${summary.map(({ name, text }) => `<li><strong>${escapeHtml(name)}</strong>: ${escapeHtml(text)}</li>`).join('')}</ul>`);
  }
  html.push(chartHtml(charts.throughput), ...tablesOf(workload, metrics.filter((metric) => metric.kind === 'throughput')));
  const otherTables = tablesOf(workload, metrics.filter((metric) => metric.kind === 'error-rate' || metric.kind === 'cost'));
  if (otherTables.length > 0) html.push(element('h3', 'Errors and costs compared'), ...otherTables);

  html.push(element('h3', 'Latency'));
  for (const configuration of workload.configurations) {
    if (configuration.latencyCaveat !== null) html.push(`<p class="caveat">${COORDINATED_OMISSION_MARK} <strong>${escapeHtml(configuration.label)}</strong>: ${escapeHtml(configuration.latencyCaveat)}</p>`);
  }
  html.push(chartHtml(charts.spectrum), ...tablesOf(workload, metrics.filter((metric) => metric.kind === 'latency')));
  const percentiles = percentileTable(workload);
  if (percentiles !== null) html.push(tableHtml(percentiles));

  html.push(element('h3', 'Over time'), `<div class="chart-pair">${chartHtml(charts.overTime)}${chartHtml(charts.p99ByRun)}</div>`);
  const costs = costTables(workload);
  if (costs.length > 0 || charts.costs.length > 0) html.push(element('h3', 'Costs per operation'));
  if (charts.costs.length > 0) html.push(`<div class="chart-pair">${charts.costs.map(chartHtml).join('')}</div>`);
  html.push(...costs.map((table) => tableHtml(table)));
  const errors = errorTable(workload);
  if (errors !== null) html.push(element('h3', 'Errors'), tableHtml(errors));
  const notes = workload.configurations.flatMap((configuration) => configuration.notes.map((note) => element('li', `${configuration.label}: ${note}`)));
  if (notes.length > 0) html.push(element('h3', 'Notes from the runs'), `<ul>${notes.join('')}</ul>`);
  html.push('</section>');
  return html;
}

/** The chart data the page's script draws (also what a test compares the drawn charts with). */
export function htmlPageData(report: ReportData): HtmlPageData {
  return { charts: report.workloads.map((workload, index) => workloadCharts(workload, index)) };
}

export function renderHtml(report: ReportData, options: HtmlOptions = {}): string {
  const title = options.title ?? 'raftbench report';
  const { chartLicense, chartLibrary, chartStyle, pageScript, pageStyle } = assets();
  const data = htmlPageData(report);
  const body = [element('h1', title)];
  if (report.workloads.length > 0) {
    const links = report.workloads.map((workload, index) => `<li><a href="#workload-${index}">${escapeHtml(`Workload ${workload.workload}`)}</a></li>`);
    body.push(`<nav><ul><li><a href="#environment">Environment</a></li>${links.join('')}</ul></nav>`);
  }
  body.push(...environmentHtml(report));
  if (report.warnings.length > 0) body.push(element('h2', 'Warnings'), `<ul class="warnings">${report.warnings.map((warning) => element('li', `⚠ ${warning}`)).join('')}</ul>`);
  body.push(...profilesHtml(report), ...unsafeHtml(report, new Set(report.unsafe.map((profile) => profile.label))));
  body.push(element('p', howToRead(report), { class: 'how-to-read' }));
  if (report.workloads.length === 0) body.push(element('p', 'No cells were recorded: there is nothing to compare.'));
  report.workloads.forEach((workload, index) => body.push(...workloadHtml(report, workload, data.charts[index]!, index, options)));
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    element('title', title),
    `<style>${styleForElement(chartStyle)}</style>`,
    `<style>${styleForElement(pageStyle)}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    `<script type="application/json" id="${DATA_ELEMENT_ID}">${jsonForScript(data)}</script>`,
    `<script>${codeForScript(`/*! uPlot, inlined from node_modules/uplot. ${chartLicense.replace(/\*\//g, '* /')} */\n${chartLibrary}`)}</script>`,
    `<script>${codeForScript(pageScript)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

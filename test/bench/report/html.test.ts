// The HTML report without a browser: one self-contained file (no external URL anywhere a browser
// would fetch one), the chart data embedded and readable back, every verdict cell of the Markdown
// report present in the page, hostile names inert, and `raftbench report --html` as a user runs it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_ELEMENT_ID, htmlPageData, renderHtml } from '../../../src/bench/report/html.js';
import { escapeHtml, jsonForScript } from '../../../src/bench/report/html-escape.js';
import { renderMarkdown } from '../../../src/bench/report/markdown.js';
import { buildReport } from '../../../src/bench/report/model.js';
import { HOSTILE_PROFILE, HOSTILE_WORKLOAD, hostileRun } from './hostile-run.js';
import { mainScenarioCells, makeRun, writeRun } from './run-fixture.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'raftbench-html-'));
after(() => rmSync(directory, { recursive: true, force: true }));

const report = buildReport([{ path: 'results/run-1.json', run: makeRun(mainScenarioCells()) }], { bootstrapResamples: 300 });
const html = renderHtml(report);

/** The text of the page's data block, as the browser hands it to JSON.parse. */
function dataBlock(page: string): string {
  const match = new RegExp(`<script type="application/json" id="${DATA_ELEMENT_ID}">([\\s\\S]*?)</script>`).exec(page);
  assert.ok(match !== null, 'no data block');
  return match[1]!;
}

test('the page fetches nothing: no src/href/url()/@import to another host, no <link>, no external script', () => {
  assert.doesNotMatch(html, /\b(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i);
  assert.doesNotMatch(html, /url\(\s*["']?\s*(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /<script\b[^>]*\bsrc\s*=/i);
  // Every href is an anchor within the page.
  for (const [, target] of html.matchAll(/\bhref="([^"]*)"/g)) assert.match(target!, /^#workload-\d+$|^#environment$/);
  // The chart library is inside: uPlot's constructor and its stylesheet's classes.
  assert.match(html, /var uPlot=function\(\)/);
  assert.match(html, /\.u-legend/);
});

test('the chart data is embedded and reads back exactly: four charts per workload and four of counters where there are counters, one series per configuration', () => {
  const embedded = JSON.parse(dataBlock(html)) as ReturnType<typeof htmlPageData>;
  assert.deepEqual(embedded, JSON.parse(JSON.stringify(htmlPageData(report))));
  assert.equal(embedded.charts.length, report.workloads.length);
  report.workloads.forEach((workload, index) => {
    const charts = embedded.charts[index]!;
    const withCounters = workload.configurations.some((configuration) => configuration.samples['fsyncs/op'] !== undefined);
    assert.deepEqual(charts.costs.map((chart) => chart.yLabel), withCounters ? ['fsyncs per operation', 'bytes written per operation', 'messages per operation', 'bytes on the wire per operation'] : [], workload.workload);
    for (const chart of [charts.throughput, charts.spectrum, charts.overTime, charts.p99ByRun, ...charts.costs]) {
      assert.equal(chart.series.length, workload.configurations.length, chart.id);
      assert.equal(chart.y.length, chart.series.length, chart.id);
      for (const values of chart.y) assert.equal(values.length, chart.x.length, chart.id);
      assert.ok(html.includes(`id="${chart.id}"`), `no element for ${chart.id}`);
    }
    assert.deepEqual(charts.spectrum.series.filter((series) => series.unsafe).map((series) => series.label), workload.configurations.filter((configuration) => configuration.unsafe).map((configuration) => configuration.label));
  });
});

test('the throughput whiskers are the verdict’s interval times the reference median; the reference has none', () => {
  const mix = htmlPageData(report).charts.find((charts) => charts.workload === 'kv-mix')!.throughput;
  const workload = report.workloads.find((candidate) => candidate.workload === 'kv-mix')!;
  const baselineMedian = workload.configurations.find((configuration) => configuration.label === 'baseline')!.samples['throughput']!.summary.median;
  workload.configurations.forEach((configuration, index) => {
    const whisker = mix.whiskers![index]!;
    const comparison = workload.rows.find((row) => row.configuration === configuration.label)?.metrics['throughput'];
    if (comparison === undefined) {
      assert.equal(whisker, null, 'the reference is the yardstick');
      return;
    }
    assert.ok(comparison.status === 'compared' && comparison.interval !== null);
    assert.ok(whisker !== null);
    assert.ok(Math.abs(whisker.low - baselineMedian * comparison.interval.low) < 1e-9);
    assert.ok(Math.abs(whisker.high - baselineMedian * comparison.interval.high) < 1e-9);
    assert.deepEqual(mix.runs![index], configuration.samples['throughput']!.values);
  });
});

test('the spectrum reads the merged histogram: its p50 and p99 points are the Markdown percentile table’s', () => {
  const spectrum = htmlPageData(report).charts.find((charts) => charts.workload === 'kv-mix')!.spectrum;
  const workload = report.workloads.find((candidate) => candidate.workload === 'kv-mix')!;
  assert.match(spectrum.yLabel, /\(µs\)|\(ms\)/);
  const divisor = spectrum.yLabel.includes('(ms)') ? 1000 : 1;
  for (const [x, percentile] of [[2, 50], [100, 99]] as const) {
    const column = spectrum.x.indexOf(x);
    assert.ok(column >= 0, `no point at x=${x}`);
    workload.configurations.forEach((configuration, series) => {
      const expected = configuration.latency.total.spectrum.find((point) => point.percentile === percentile)!.valueUs / divisor;
      assert.equal(spectrum.y[series]![column], Number(expected.toPrecision(6)), `${configuration.label} p${percentile}`);
    });
  }
});

test('every cell of every Markdown table is a cell of the HTML page: the same verdicts, marks and numbers', () => {
  const markdown = renderMarkdown(report);
  const rows = markdown.split('\n').filter((line) => line.startsWith('| ') && !/^\| -/.test(line));
  assert.ok(rows.length > 40, `only ${rows.length} table rows`);
  const cells = new Set(rows.flatMap((row) => row.slice(2, -2).split(' | ').map((cell) => cell.trim().replace(/\\\|/g, '|'))).filter((cell) => cell !== ''));
  for (const cell of cells) assert.ok(html.includes(`>${escapeHtml(cell)}</t`), `missing cell "${cell}"`);
  assert.ok(html.includes('<tr class="unsafe"><td>fsync-none UNSAFE</td>'), 'unsafe rows are marked');
});

test('hostile names are text: a profile named </script>… and a workload named <img …> neither end the script nor become markup', () => {
  const hostile = buildReport([{ path: 'results/<b>evil</b>.json', run: hostileRun() }], { bootstrapResamples: 200 });
  const page = renderHtml(hostile);
  // The page's own three scripts and nothing more.
  assert.equal(page.match(/<script\b/gi)?.length, 3);
  assert.equal(page.match(/<\/script/gi)?.length, 3);
  assert.ok(!page.includes(HOSTILE_PROFILE) && !page.includes(HOSTILE_WORKLOAD) && !page.includes('<b>evil'), 'a raw hostile name is in the page');
  assert.ok(page.includes(escapeHtml(`Workload ${HOSTILE_WORKLOAD}`)));
  assert.ok(page.includes(`<tr class="unsafe"><td>${escapeHtml(`${HOSTILE_PROFILE} UNSAFE`)}</td>`));
  const embedded = JSON.parse(dataBlock(page)) as ReturnType<typeof htmlPageData>;
  assert.equal(embedded.charts[0]!.workload, HOSTILE_WORKLOAD);
  assert.ok(embedded.charts[0]!.spectrum.series.some((series) => series.label === HOSTILE_PROFILE));
  // The escaping itself: still JSON, no '<', and line separators escaped.
  assert.equal(jsonForScript({ a: '</script>\u2028&' }), '{"a":"\\u003c/script\\u003e\\u2028\\u0026"}');
});

test('raftbench report --html writes RUN.html beside the run; --out chooses the file; --html with another --format is a usage error', { timeout: 120_000 }, () => {
  const runPath = writeRun(directory, 'run-html.json', makeRun(mainScenarioCells()));
  const beside = spawnSync(process.execPath, [MAIN, 'report', runPath, '--html', '--resamples', '200'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(beside.status, 0, beside.stderr);
  const besidePath = join(directory, 'run-html.html');
  assert.match(beside.stdout, /raftbench report: wrote .*run-html\.html/);
  assert.ok(readFileSync(besidePath, 'utf8').startsWith('<!DOCTYPE html>'));

  const out = join(directory, 'pages', 'chosen.html');
  const chosen = spawnSync(process.execPath, [MAIN, 'report', runPath, '--format', 'html', '--out', out, '--resamples', '200'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.ok(existsSync(out));

  const both = spawnSync(process.execPath, [MAIN, 'report', runPath, '--html', '--format', 'csv'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--html and --format csv ask for two formats/);

  const markdown = spawnSync(process.execPath, [MAIN, 'report', runPath, '--resamples', '200'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(markdown.status, 0, markdown.stderr);
  assert.ok(markdown.stdout.startsWith('# raftbench report\n'), 'Markdown on standard output stays the default');
});

// The HTML report in a real browser: headless Chromium from Debian's package, driven by
// playwright-core (which never downloads a browser). A small real run — an embedded 3-node cluster,
// baseline, all-on and the unsafe fsync-none, two runs each — is reported with
// `raftbench report --html`, opened from disk (file://), and checked: no console error, no page
// error, no request that leaves the file; every chart drawn by uPlot with one series per
// configuration (the four main ones and four of counters per operation), each series' colour actually on the canvas, the unsafe configuration labelled
// UNSAFE on every chart. A page with hostile names is opened too: its names stay text.
// The screenshot goes to results/report-screenshot.png (git-ignored).
//
// Chromium missing: scripts/ensure-chromium.mjs installs it under CI as root and otherwise fails
// this test with the command that installs it — never a silent skip.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { htmlPageData, renderHtml } from '../../../src/bench/report/html.js';
import { buildReport } from '../../../src/bench/report/model.js';
import { loadRunFile } from '../../../src/bench/results/load.js';
import { runCli } from '../cli-process.js';
import { HOSTILE_WORKLOAD, hostileRun } from './hostile-run.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SCREENSHOT = join(ROOT, 'results/report-screenshot.png');
const PROFILES = ['baseline', 'all-on', 'fsync-none'];
const RUN_TIMEOUT_MS = 180_000;
/** Installing Chromium under CI (apt-get update + install) may take minutes. */
const ENSURE_TIMEOUT_MS = 20 * 60_000;
const BROWSER_TIMEOUT_MS = 60_000;

const directory = mkdtempSync(join(tmpdir(), 'raftbench-html-browser-'));
let browser: Browser | undefined;
let runFile = '';
let reportFile = '';

function chromiumPath(): string {
  const ensured = spawnSync(process.execPath, [join(ROOT, 'scripts/ensure-chromium.mjs')], { encoding: 'utf8', timeout: ENSURE_TIMEOUT_MS });
  if (ensured.status !== 0) assert.fail(`no Chromium for the HTML report's browser test:\n${ensured.stderr}${ensured.error?.message ?? ''}`);
  return ensured.stdout.trim();
}

before(async () => {
  const executablePath = chromiumPath();
  runFile = join(directory, 'small-run.json');
  const run = await runCli(['run', '--profiles', PROFILES.join(','), '--workloads', 'ycsb-a', '--repetitions', '2', '--duration', '1.5', '--warmup', '0.1', '--records', '40', '--concurrency', '8', '--no-progress', '--no-report', '--out', runFile], RUN_TIMEOUT_MS);
  assert.equal(run.code, 0, run.stderr);
  reportFile = join(directory, 'small-run.html');
  const report = await runCli(['report', runFile, '--html', '--out', reportFile, '--resamples', '1000'], RUN_TIMEOUT_MS);
  assert.equal(report.code, 0, report.stderr);
  // Root (CI, containers) cannot use Chromium's sandbox.
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  browser = await chromium.launch({ executablePath, args: root ? ['--no-sandbox'] : [], timeout: BROWSER_TIMEOUT_MS });
}, { timeout: ENSURE_TIMEOUT_MS + 2 * RUN_TIMEOUT_MS });

after(async () => {
  await browser?.close();
  rmSync(directory, { recursive: true, force: true });
});

interface Opened {
  readonly page: Page;
  readonly problems: string[];
  readonly requests: string[];
}

/** Opens a report from disk, collecting console errors, page errors and every request. */
async function open(file: string): Promise<Opened> {
  assert.ok(browser !== undefined, 'the browser did not start');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  // The page's scripts are inline and synchronous: by 'load' they have run (or thrown).
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems, requests };
}

interface DrawnChart {
  readonly id: string;
  readonly rendered: string | null;
  readonly seriesCount: number;
  readonly legend: string[];
  /** Per series colour: canvas pixels within a small distance of it. */
  readonly pixelsOfColor: number[];
}

/**
 * What each <figure class="chart"> holds after the page's script ran. Page code, so plain
 * JavaScript in a string: this project compiles without the DOM's types.
 */
const DRAWN_CHARTS = `[...document.querySelectorAll('figure.chart')].map((figure) => {
  const canvas = figure.querySelector('canvas');
  const colors = (figure.dataset.seriesColors || '').split(' ').filter((color) => color !== '');
  const pixelsOfColor = colors.map(() => 0);
  if (canvas !== null) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb = colors.map((color) => [1, 3, 5].map((start) => parseInt(color.slice(start, start + 2), 16)));
    for (let index = 0; index < pixels.length; index += 4) {
      if (pixels[index + 3] < 200) continue;
      rgb.forEach(([red, green, blue], series) => {
        if (Math.abs(pixels[index] - red) + Math.abs(pixels[index + 1] - green) + Math.abs(pixels[index + 2] - blue) < 40) pixelsOfColor[series] += 1;
      });
    }
  }
  return {
    id: figure.id,
    rendered: figure.dataset.rendered ?? null,
    seriesCount: Number(figure.dataset.seriesCount ?? -1),
    legend: [...figure.querySelectorAll('.u-legend .u-series .u-label')].map((label) => label.textContent ?? ''),
    pixelsOfColor,
  };
})`;

function drawnCharts(page: Page): Promise<DrawnChart[]> {
  return page.evaluate(DRAWN_CHARTS) as Promise<DrawnChart[]>;
}

test('the report of a small real run opens from disk in Chromium: no errors, nothing fetched, every chart drawn with one series per configuration, UNSAFE marked', { timeout: 120_000 }, async () => {
  const expected = buildReport([{ path: runFile, run: loadRunFile(runFile) }], { bootstrapResamples: 200 });
  assert.equal(expected.workloads.length, 1);
  const configurations = expected.workloads[0]!.configurations;
  assert.deepEqual(configurations.map((configuration) => configuration.label), PROFILES);
  assert.ok(configurations.some((configuration) => configuration.latency.total.count > 0), 'the run measured no operation at all');
  const { page, problems, requests } = await open(reportFile);
  assert.deepEqual(problems, []);
  assert.deepEqual(requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:')), [], 'the page fetched something from elsewhere');

  const charts = await drawnCharts(page);
  const costCharts = ['fsyncs-op', 'bytes-written-op', 'messages-op', 'wire-bytes-op'].map((name) => `w0-cost-${name}`);
  assert.deepEqual(charts.map((chart) => chart.id), ['w0-throughput', 'w0-spectrum', 'w0-over-time', 'w0-p99-by-run', ...costCharts]);
  // A series with no value above 0 leaves nothing to see (a busy machine can starve a short run): only
  // the others must show on the canvas.
  const data = htmlPageData(expected).charts[0]!;
  const visible = new Map([data.throughput, data.spectrum, data.overTime, data.p99ByRun, ...data.costs].map((chart) => [chart.id, chart.y.map((values) => values.some((value) => value !== null && value > 0))]));
  for (const chart of charts) {
    assert.equal(chart.rendered, 'true', `${chart.id} was not drawn`);
    assert.equal(chart.seriesCount, configurations.length, `${chart.id} series`);
    assert.equal(chart.legend.length, configurations.length + 1, `${chart.id} legend: ${chart.legend.join(', ')}`);
    configurations.forEach((configuration, index) => {
      const label = chart.legend[index + 1]!;
      assert.ok(label.startsWith(configuration.label), `${chart.id}: legend ${label} for ${configuration.label}`);
      assert.equal(label.includes('UNSAFE'), configuration.unsafe, `${chart.id}: ${label} UNSAFE mark`);
      if (visible.get(chart.id)![index]!) assert.ok(chart.pixelsOfColor[index]! >= 10, `${chart.id}: ${configuration.label} has ${chart.pixelsOfColor[index]} pixels of its colour on the canvas`);
    });
  }
  const unsafeRows = await page.locator('tr.unsafe td:first-child').allTextContents();
  assert.ok(unsafeRows.length >= 5 && unsafeRows.every((text) => text.startsWith('fsync-none UNSAFE')), unsafeRows.join(' | '));

  mkdirSync(join(ROOT, 'results'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await page.close();
});

test('hostile names stay text in the browser: no injected script runs, the workload heading shows the name, the charts still draw', { timeout: 60_000 }, async () => {
  const file = join(directory, 'hostile.html');
  writeFileSync(file, renderHtml(buildReport([{ path: 'results/<b>evil</b>.json', run: hostileRun() }], { bootstrapResamples: 200 })));
  const { page, problems, requests } = await open(file);
  assert.deepEqual(problems, []);
  assert.deepEqual(requests, [pathToFileURL(file).href], 'only the page itself is loaded (an <img src=x> would be a request)');
  assert.equal(await page.evaluate('typeof window.__raftbenchPwned'), 'undefined');
  assert.equal(await page.locator('section.workload h2').textContent(), `Workload ${HOSTILE_WORKLOAD}`);
  const charts = await drawnCharts(page);
  assert.equal(charts.length, 4 + 4, 'throughput, spectrum, over time, p99 by run, and four counters');
  for (const chart of charts) {
    assert.equal(chart.rendered, 'true', chart.id);
    assert.equal(chart.seriesCount, 2, chart.id);
  }
  await page.close();
});

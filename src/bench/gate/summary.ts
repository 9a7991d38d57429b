// The gate's Markdown summary, fit for a pull-request comment: the verdict first, then each leg
// with the reason for its verdict, then the figures behind it.

import { quantile } from 'simple-statistics';
import { formatCounter, formatPercent, type CounterVerdict } from './baseline.js';
import type { TimingVerdict } from './timing.js';

export interface GateReport {
  readonly counters: CounterVerdict | null;
  readonly timing: TimingVerdict | null;
  /** Why the timing leg did not run, when it did not. */
  readonly timingSkipped: string | null;
  readonly baseRef: string | null;
  readonly baseSha: string | null;
  readonly headSha: string | null;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly cores: number;
}

export function gatePasses(report: GateReport): boolean {
  return (report.counters?.pass ?? true) && (report.timing?.pass ?? true);
}

const mark = (pass: boolean): string => (pass ? '✅' : '❌');
const loads = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(' ');

function countersSection(verdict: CounterVerdict): string[] {
  const lines = [`### ${mark(verdict.pass)} Exact counters`, ''];
  lines.push(
    verdict.pass
      ? `Every counter equals the committed baseline (results/gate-baseline.json, tolerance ±${verdict.tolerancePercent} %).`
      : `**${verdict.problems.length} problem${verdict.problems.length === 1 ? '' : 's'}** against results/gate-baseline.json (tolerance ±${verdict.tolerancePercent} %):`,
  );
  if (!verdict.pass) {
    lines.push('');
    for (const problem of verdict.problems) lines.push(`- ${problem}`);
    lines.push('', "If the change is intended (a cheaper or deliberately different write path), record it: `raftbench gate --update-baseline` and commit the file.");
  }
  lines.push('', '| configuration | counter | baseline | measured | Δ |', '| --- | --- | ---: | ---: | ---: |');
  for (const delta of verdict.deltas) {
    const bold = delta.withinTolerance ? (text: string): string => text : (text: string): string => `**${text}**`;
    lines.push(`| ${delta.configuration} | ${bold(delta.counter)} | ${formatCounter(delta.baseline)} | ${bold(formatCounter(delta.measured))} | ${bold(formatPercent(delta.deltaPercent))} |`);
  }
  lines.push('', 'Per acknowledged put, summed over the 3 nodes, from seeded runs of the deterministic simulation (the same on every machine).');
  return lines;
}

function spread(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${quantile(sorted, 0.5).toFixed(2)} (IQR ${quantile(sorted, 0.25).toFixed(2)}–${quantile(sorted, 0.75).toFixed(2)})`;
}

function timingSection(verdict: TimingVerdict, baseRef: string | null, baseSha: string | null): string[] {
  const { comparison, options } = verdict;
  const interval = comparison.interval;
  const lines = [`### ${mark(verdict.pass)} Timing A/B: the apply path, base vs head`, ''];
  lines.push(`${verdict.outcome === 'regression' ? '**Regression**: ' : ''}${verdict.explanation}.`, '');
  lines.push('| | base | head | Δ median | p (Mann–Whitney) | 95 % interval (head / base) | floor |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  lines.push(
    `| CPU ms per ${verdict.entriesPerRepetition.toLocaleString('en-US')} entries applied | ${spread(verdict.baseCpuMs)} | ${spread(verdict.headCpuMs)} | ${formatPercent(comparison.deltaPercent)} | ${comparison.test.p.toPrecision(2)} | ${interval === null ? '—' : `×${interval.low.toFixed(3)} … ×${interval.high.toFixed(3)}`} | +${options.floorPercent} % |`,
  );
  lines.push(
    '',
    `Base \`${baseRef ?? '?'}\` (${baseSha?.slice(0, 12) ?? '?'}) against the head, ${options.processes} processes × ${options.rounds} rounds, interleaved (A B A B …, alternate processes start with the head); ` +
      `${comparison.test.n1} + ${comparison.test.n2} samples; red only when the head is significantly slower (p < ${options.alpha}), the interval lies above ×1 and the median ratio above 1 + floor. ${(verdict.elapsedMs / 1000).toFixed(0)} s.`,
  );
  for (const warning of comparison.warnings) lines.push('', `⚠ ${warning}`);
  return lines;
}

export function renderSummary(report: GateReport): string {
  const pass = gatePasses(report);
  const lines = [`## ${mark(pass)} raftbench gate: ${pass ? 'pass' : 'FAIL'}`, ''];
  if (report.counters !== null) lines.push(...countersSection(report.counters), '');
  if (report.timing !== null) lines.push(...timingSection(report.timing, report.baseRef, report.baseSha), '');
  else lines.push('### Timing A/B', '', `Not run: ${report.timingSkipped ?? 'not asked for'}.`, '');
  lines.push(
    `Machine: ${report.cores} cores; load average (1, 5, 15 min) ${loads(report.loadAverage.start)} at the start, ${loads(report.loadAverage.end)} at the end` +
      `${report.headSha === null ? '' : `; head ${report.headSha.slice(0, 12)}`}.`,
  );
  return `${lines.join('\n')}\n`;
}

// The measured window of a cell, marked on the monotonic clock for a profiler outside the process.
// `raftbench profile` sets RAFTBENCH_PHASE_MARKS to a file path; the cell appends one JSON line
// when the drive starts (with its warm-up) and one when it ends, and the profiler keeps only the
// samples taken in between, so start-up, the load phase and the warm-up do not crowd the hotspots
// of the run itself. process.hrtime is CLOCK_MONOTONIC in µs, the clock of V8's profile timestamps.
// Unset (every other run): nothing is written.

import { appendFileSync, readFileSync } from 'node:fs';

export const PHASE_MARKS_ENV = 'RAFTBENCH_PHASE_MARKS';

export interface PhaseMark {
  readonly phase: 'drive-start' | 'drive-end';
  readonly monotonicUs: number;
  /** On drive-start: the warm-up at the start of the drive, not part of the measured window. */
  readonly warmupUs?: number;
}

export function markPhase(phase: PhaseMark['phase'], warmupUs?: number): void {
  const path = process.env[PHASE_MARKS_ENV];
  if (path === undefined || path === '') return;
  const mark: PhaseMark = { phase, monotonicUs: Number(process.hrtime.bigint() / 1000n), ...(warmupUs === undefined ? {} : { warmupUs }) };
  appendFileSync(path, `${JSON.stringify(mark)}\n`); // twice per cell: synchronous is fine
}

/** The measured window (after the warm-up, to the end of the drive) from a marks file; null if it holds no whole pair. */
export function readMeasuredWindow(path: string): { readonly startUs: number; readonly endUs: number } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const marks = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PhaseMark);
  const start = marks.findIndex((mark) => mark.phase === 'drive-start');
  const end = marks.findIndex((mark, index) => index > start && mark.phase === 'drive-end');
  if (start < 0 || end < 0) return null;
  return { startUs: marks[start]!.monotonicUs + (marks[start]!.warmupUs ?? 0), endUs: marks[end]!.monotonicUs };
}

// The matrix: every profile × workload, `repetitions` times, each cell in a fresh data directory,
// repetitions INTERLEAVED (A B A B … rather than A A B B) so that drift in the machine — a noisy
// neighbour, thermal throttling, a page cache filling — hits every configuration alike. A progress
// bar with an ETA shows where the run is; an abort (Ctrl-C) stops the cell in flight and keeps
// every cell that finished, in a results file marked interrupted.

import { tmpdir } from 'node:os';
import cliProgress from 'cli-progress';
import type { CellResult, RunFile } from '../results/schema.js';
import { RUN_SCHEMA } from '../results/schema.js';
import type { Workload } from '../workload/index.js';
import type { ResolvedProfile } from '../../server/profile.js';
import { runCell, type CellPlan } from './cell.js';
import { captureEnvironment } from './environment.js';

/** What a cell runs against: a profile (an embedded cluster), or an external target by name. */
export interface CellSubject {
  readonly name: string;
  readonly unsafe: boolean;
}

export interface SubjectCellPlan<S extends CellSubject> {
  readonly profile: S;
  readonly workload: Workload;
  readonly repetition: number;
}

export interface RunPlan<S extends CellSubject = ResolvedProfile> {
  readonly profiles: readonly S[];
  readonly workloads: readonly Workload[];
  readonly repetitions: number;
  /** The command line, recorded in the results file. */
  readonly command: string;
}

export interface RunnerOptions<S extends CellSubject = ResolvedProfile> {
  readonly dataRoot?: string;
  /** How one cell runs; default: an embedded cluster from the profile (runCell). */
  readonly runCell?: (cell: SubjectCellPlan<S>, options: { dataRoot: string; signal?: AbortSignal }) => Promise<CellResult>;
  readonly signal?: AbortSignal;
  /** Draw a progress bar on this stream (a terminal); null for none. */
  readonly progress?: NodeJS.WriteStream | null;
  /** Called after each cell (tests, logs). */
  readonly onCell?: (cell: CellResult, done: number, total: number) => void;
}

/** The order cells run in: repetition-major, then workload, then profile (interleaved). */
export function cellOrder<S extends CellSubject>(plan: RunPlan<S>): SubjectCellPlan<S>[] {
  const cells: SubjectCellPlan<S>[] = [];
  for (let repetition = 1; repetition <= plan.repetitions; repetition++) {
    for (const workload of plan.workloads) {
      for (const profile of plan.profiles) cells.push({ profile, workload, repetition });
    }
  }
  return cells;
}

/** A rough cell duration for the ETA before the first cell has finished: warm-up + run + start-up. */
function estimatedCellSeconds(cell: SubjectCellPlan<CellSubject>): number {
  const run = cell.workload.run;
  return run.warmupSeconds + (run.durationSeconds ?? 10) + 2;
}

export async function runMatrix<S extends CellSubject = ResolvedProfile>(plan: RunPlan<S>, options: RunnerOptions<S> = {}): Promise<RunFile> {
  const environment = captureEnvironment();
  const cells = cellOrder(plan);
  const results: CellResult[] = [];
  const bar =
    options.progress === null || options.progress === undefined
      ? null
      : new cliProgress.SingleBar(
          {
            stream: options.progress,
            format: ' {bar} {value}/{total} cells | ETA {eta_formatted} | {cell}',
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 8,
            fps: 4,
          },
          cliProgress.Presets.shades_classic,
        );
  bar?.start(cells.length, 0, { cell: cells[0] === undefined ? '' : describeCell(cells[0]) });
  // The ETA needs a time per cell before any cell finished: seed it with the plan's estimate.
  const estimateSeconds = cells.reduce((sum, cell) => sum + estimatedCellSeconds(cell), 0);
  if (bar !== null) bar.update(0, { cell: `${cells.length} cells, about ${Math.ceil(estimateSeconds)} s` });
  let interrupted = false;
  const aborted = (): boolean => options.signal?.aborted === true;
  try {
    for (const [position, cell] of cells.entries()) {
      if (aborted()) {
        interrupted = true;
        break;
      }
      bar?.update(position, { cell: describeCell(cell) });
      const cellOptions = { dataRoot: options.dataRoot ?? tmpdir(), ...(options.signal === undefined ? {} : { signal: options.signal }) };
      // Without a runCell of its own, a plan's subjects are profiles (the default type parameter).
      const result = options.runCell === undefined ? await runCell(cell as unknown as CellPlan, cellOptions) : await options.runCell(cell, cellOptions);
      if (aborted()) {
        // The cell was cut short: its numbers are not comparable with the others'.
        interrupted = true;
        break;
      }
      results.push(result);
      bar?.update(position + 1, { cell: describeCell(cell) });
      options.onCell?.(result, position + 1, cells.length);
    }
  } finally {
    bar?.stop();
  }
  return { schema: RUN_SCHEMA, environment, command: plan.command, cells: results, interrupted };
}

function describeCell(cell: SubjectCellPlan<CellSubject>): string {
  return `${cell.profile.name} × ${cell.workload.name} #${cell.repetition}${cell.profile.unsafe ? ' (UNSAFE)' : ''}`;
}

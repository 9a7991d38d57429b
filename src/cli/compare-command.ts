// `raftbench compare A.json B.json [more …]`: comparisons across run files, printed as Markdown.
// Cells are matched by workload and profile; a profile present in several files is labelled by
// file (`all-on@A`, `all-on@B`) and compared with itself in the first file that has it —
// benchstat's old → new. A profile in one file only is compared with the baseline profile.
// With --baseline every configuration is compared with that one instead.
//
// Exit codes as for `raftbench report`: 0, or 2 for a usage error (including a missing or
// unreadable file, or one of another schema version).

import { BOOTSTRAP_RESAMPLES_DEFAULT } from '../bench/stats/bootstrap.js';
import { buildOrExplain, emit, loadSources, METRIC_HELP, metricListOption, renderReport, RESAMPLES_HELP, resamplesOption } from './report-command.js';
import { Command, parseOptions } from './options.js';

interface CompareCommandOptions {
  out?: string;
  baseline?: string;
  metric?: string[];
  resamples: number;
}

export async function compareCommand(argv: string[]): Promise<number> {
  const name = 'raftbench compare';
  const program = new Command(name)
    .description(
      'Compare run files: per workload, each profile found in several files against its run in the first file (old → new), and each other ' +
        'profile against the baseline; median, spread, ratio with a 95 % bootstrap interval and the Mann–Whitney verdict per metric, as Markdown.',
    )
    .argument('<runs...>', 'two or more results files written by raftbench run; the first is the reference')
    .option('--baseline <profile>', "compare every configuration with this profile (or profile@file) instead of pairing profiles across files")
    .option('--metric <names>', METRIC_HELP, metricListOption)
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--resamples <n>', RESAMPLES_HELP, resamplesOption, BOOTSTRAP_RESAMPLES_DEFAULT);
  const parsed = parseOptions<CompareCommandOptions>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { options } = parsed;
  if (program.args.length < 2) {
    console.error(`${name}: needs at least two results files to compare, got ${program.args.length} (for one file use raftbench report)`);
    return 2;
  }
  const loaded = loadSources(name, program.args);
  if (!loaded.ok) return loaded.exitCode;
  const pairing = options.baseline === undefined ? ({ pairing: 'across-files' } as const) : ({ baseline: options.baseline, pairing: 'baseline' } as const);
  const report = buildOrExplain(name, loaded.sources, { ...pairing, bootstrapResamples: options.resamples });
  if (report === null) return 2;
  emit(name, renderReport(report, 'markdown', options.metric, `raftbench compare: ${program.args.join(' → ')}`), options.out);
  return 0;
}

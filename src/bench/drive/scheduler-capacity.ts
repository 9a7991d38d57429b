// The highest rate the open-loop scheduler sustains on this machine: it drives a no-op target
// (answers at once) at rising rates and reports, for each, the rate achieved and how late the
// scheduler sent operations (its lag, in µs, from due time to send). A rate counts as sustained
// when nothing was dropped, at least 99 % of the target rate completed, and the p99 lag stayed
// under 1 ms. It also prints the process's CPU time per operation, which other jobs on the
// machine disturb much less than the lag. The figure is the driver's own ceiling: against a real target, which costs CPU in
// the same process, it is lower.
//
//   npm run build && node dist/src/bench/drive/scheduler-capacity.js [--seconds N] [--rates 10000,50000,…]
//
// Needs an idle machine: with other processes on the cores the lag measures them, not us.

import { cpus, loadavg } from 'node:os';
import { Command, integerListOption, integerOption, parseOptions, runMain } from '../../cli/options.js';
import { createSystemClock, type WakeMode } from './clock.js';
import { runOpenLoop } from './open-loop.js';
import { OUTCOME_OK, type KvTarget, type Operation } from './target.js';

const RATES_DEFAULT = [10_000, 25_000, 50_000, 100_000, 200_000, 400_000];
const LAG_P99_US_MAX = 1000;
const ACHIEVED_FRACTION_MIN = 0.99;

interface Row {
  readonly ratePerSecond: number;
  readonly achievedPerSecond: number;
  readonly lagP50Us: number;
  readonly lagP99Us: number;
  readonly lagMaxUs: number;
  readonly dropped: number;
  /** Process CPU time (user + system) per operation sent: less sensitive to other jobs than the lag. */
  readonly cpuUsPerOperation: number;
  /** Process CPU time over wall time: how much of a core the driver took (fixed costs included). */
  readonly cpuShareOfCore: number;
  readonly sustained: boolean;
}

async function measure(ratePerSecond: number, seconds: number, wake: WakeMode): Promise<Row> {
  const target: KvTarget = { execute: () => Promise.resolve(OUTCOME_OK) };
  const operation: Operation = { type: 'noop' };
  const cpuBefore = process.cpuUsage();
  const wallBeforeNs = process.hrtime.bigint();
  const result = await runOpenLoop({
    target,
    source: { next: () => operation },
    clock: createSystemClock({ wake }),
    ratePerSecond,
    durationMs: seconds * 1000,
    warmupMs: 500,
    outstandingMax: 100_000,
  });
  const cpu = process.cpuUsage(cpuBefore);
  const wallUs = Number(process.hrtime.bigint() - wallBeforeNs) / 1000;
  const lag = result.schedulerLagUs!;
  const achievedPerSecond = result.recording.total.throughputPerSecond;
  return {
    ratePerSecond,
    achievedPerSecond,
    lagP50Us: lag.p50,
    lagP99Us: lag.p99,
    lagMaxUs: lag.max,
    dropped: result.dropped,
    cpuUsPerOperation: (cpu.user + cpu.system) / Math.max(1, result.issued),
    cpuShareOfCore: (cpu.user + cpu.system) / wallUs,
    sustained: result.dropped === 0 && achievedPerSecond >= ACHIEVED_FRACTION_MIN * ratePerSecond && lag.p99 < LAG_P99_US_MAX,
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('node dist/src/bench/drive/scheduler-capacity.js')
    .description('The open-loop scheduler against a no-op target at rising rates: achieved rate and scheduler lag.')
    .option('--seconds <n>', 'seconds per rate (after a 0.5 s warm-up)', integerOption('--seconds', 1, 600), 3)
    .option('--rates <list>', 'comma-separated target rates per second', integerListOption('--rates', 1, 10_000_000), RATES_DEFAULT)
    .option('--wake <mode>', "the system clock's wake mode: precise (spins below 1 ms) or frugal (timers only)", 'precise');
  const parsed = parseOptions<{ seconds: number; rates: number[]; wake: string }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { seconds, rates } = parsed.options;
  const wake = parsed.options.wake;
  if (wake !== 'precise' && wake !== 'frugal') {
    console.error(`--wake must be precise or frugal, got '${wake}'`);
    return 2;
  }

  console.log('## Open-loop scheduler capacity (no-op target)\n');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}, load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`wake: ${wake}; ${seconds} s per rate; sustained = no drops, ≥ ${ACHIEVED_FRACTION_MIN * 100} % of the rate completed, p99 lag < ${LAG_P99_US_MAX} µs\n`);
  console.log('| target /s | achieved /s | lag p50 µs | lag p99 µs | lag max µs | dropped | CPU µs / op | CPU % of a core | sustained |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  let best: number | null = null;
  for (const rate of rates) {
    const row = await measure(rate, seconds, wake);
    if (row.sustained) best = Math.max(best ?? 0, rate);
    console.log(
      `| ${rate} | ${row.achievedPerSecond.toFixed(0)} | ${row.lagP50Us} | ${row.lagP99Us} | ${row.lagMaxUs} | ${row.dropped} | ${row.cpuUsPerOperation.toFixed(2)} | ${(row.cpuShareOfCore * 100).toFixed(0)} | ${row.sustained ? 'yes' : 'NOT met'} |`,
    );
  }
  console.log(`\nhighest sustained rate: ${best === null ? 'none of those tried' : `${best} /s`}; load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  return 0;
}

runMain('scheduler-capacity', () => main(process.argv.slice(2)));

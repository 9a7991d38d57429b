// How fast OperationStream.next() produces operations for the shipped workloads, single-threaded:
// the ceiling the load generator puts on a run (the driver's own work and the store come on top).
//
//   npm run bench:workload-generator               (about 30 s)
//   npm run bench:workload-generator -- --quick    (about 8 s)
//
// The subtle thing: on a shared 2-core machine wall time measures the neighbours as much as the
// code, so each run is timed in CPU time of this process (process.cpuUsage) as well as wall time,
// and the table reports both; inserts are acknowledged at once, as a closed-loop client would.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Command, parseOptions, runMain } from '../../cli/options.js';
import { loadWorkload } from './parse.js';
import { createKeySpace, OperationStream } from './operation-stream.js';

const WORKLOADS = ['mixed', 'ycsb-a', 'ycsb-c', 'ycsb-d', 'ycsb-e', 'write-only', 'hot-key', 'large-values'];
const BATCH_OPS = 1000;

interface Row {
  readonly workload: string;
  readonly opsPerCpuSecondMedian: number;
  readonly opsPerCpuSecondMin: number;
  readonly opsPerCpuSecondMax: number;
  readonly opsPerWallSecondMedian: number;
  readonly megabytesPerCpuSecond: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function measure(name: string, runs: number, runMs: number): Row {
  const workload = loadWorkload(`workloads/${name}.json`);
  const stream = new OperationStream(workload, createKeySpace(workload), 0);
  let sink = 0;
  const step = (): number => {
    let bytes = 0;
    for (let i = 0; i < BATCH_OPS; i++) {
      const op = stream.next();
      bytes += op.key.byteLength;
      if (op.type === 'insert') stream.keySpace.acknowledgeInsert(op.keyNumber);
      if (op.type === 'insert' || op.type === 'update' || op.type === 'readModifyWrite') bytes += op.value.byteLength;
    }
    return bytes;
  };
  // Warm-up: let the JIT settle.
  for (const end = performance.now() + runMs / 2; performance.now() < end; ) sink += step();
  const cpuRates: number[] = [];
  const wallRates: number[] = [];
  const byteRates: number[] = [];
  for (let run = 0; run < runs; run++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    let ops = 0;
    let bytes = 0;
    while (performance.now() - wallStart < runMs) {
      bytes += step();
      ops += BATCH_OPS;
    }
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    cpuRates.push(ops / cpuSeconds);
    wallRates.push(ops / wallSeconds);
    byteRates.push(bytes / cpuSeconds / 1e6);
  }
  if (sink < 0) console.log(sink);
  return {
    workload: name,
    opsPerCpuSecondMedian: median(cpuRates),
    opsPerCpuSecondMin: Math.min(...cpuRates),
    opsPerCpuSecondMax: Math.max(...cpuRates),
    opsPerWallSecondMedian: median(wallRates),
    megabytesPerCpuSecond: median(byteRates),
  };
}

function thousands(value: number): string {
  return `${Math.round(value / 1000).toLocaleString('en-US')} k`;
}

async function main(): Promise<number> {
  const program = new Command('npm run bench:workload-generator --')
    .description('Operations per second of the workload generator (OperationStream.next) for the shipped workloads, one thread.')
    .option('--quick', 'shorter runs (about 8 s)');
  const parsed = parseOptions<{ quick?: boolean }>(program, process.argv.slice(2));
  if (!parsed.ok) return parsed.exitCode;
  const quick = parsed.options.quick === true;
  const runs = quick ? 3 : 7;
  const runMs = quick ? 250 : 500;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Workload generator, one client stream, ${runs} runs of ${runMs} ms each after a warm-up; ${cpu}, ${cpus().length} cores, Node ${process.version}.`);
  console.log('Rates per CPU second of this process (median, min … max), and per wall second (median).\n');
  console.log('| workload | ops/s (CPU) | min … max | ops/s (wall) | MB/s generated (CPU) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const name of WORKLOADS) {
    const row = measure(name, runs, runMs);
    console.log(
      `| ${row.workload} | ${thousands(row.opsPerCpuSecondMedian)} | ${thousands(row.opsPerCpuSecondMin)} … ${thousands(row.opsPerCpuSecondMax)} | ` +
        `${thousands(row.opsPerWallSecondMedian)} | ${row.megabytesPerCpuSecond.toFixed(0)} |`,
    );
  }
  return 0;
}

runMain('bench:workload-generator', main);

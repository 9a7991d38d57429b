// How much recording one operation costs: the Recorder must stay well under a microsecond per
// operation, or it would distort the latencies it records at high rates.
//
//   npm run build && node dist/src/bench/record/record-cost.js
//
// Records 2 million operations over four types (latencies spread over 10 µs … 100 ms so the
// histogram touches many buckets, 1 % errors), five times; prints ns per operation (median and
// range of the five) with the machine's load, which must be low for the figure to mean anything.

import { cpus, loadavg } from 'node:os';
import { createPrng } from '../../random/prng.js';
import { Recorder } from './recorder.js';

const OPERATIONS = 2_000_000;
const REPEATS = 5;
const TYPES = ['get', 'put', 'delete', 'scan'] as const;

function oneRun(): number {
  const prng = createPrng(42);
  // Inputs drawn before timing, so the figure is the recorder's alone.
  const types = new Array<string>(OPERATIONS);
  const latencies = new Float64Array(OPERATIONS);
  const failures = new Uint8Array(OPERATIONS);
  for (let i = 0; i < OPERATIONS; i++) {
    types[i] = TYPES[i & 3]!;
    latencies[i] = 10 * Math.exp(prng.nextFloat() * Math.log(10_000));
    failures[i] = prng.chance(0.01) ? 1 : 0;
  }
  const recorder = new Recorder({ measureFromUs: 0, latencyFrom: 'intended-start' });
  const started = process.hrtime.bigint();
  let startUs = 0;
  for (let i = 0; i < OPERATIONS; i++) {
    // 100 000 operations per second of simulated time: series of 20 buckets.
    startUs += 10;
    if (failures[i] === 1) recorder.recordError(types[i]!, 'timeout', startUs, startUs + latencies[i]!);
    else recorder.recordSuccess(types[i]!, startUs, startUs + latencies[i]!);
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  if (recorder.result(startUs).total.count + recorder.result(startUs).total.errorCount !== OPERATIONS) throw new Error('lost operations');
  return elapsedNs / OPERATIONS;
}

function main(): void {
  oneRun(); // warm the JIT
  const costs = Array.from({ length: REPEATS }, oneRun).sort((x, y) => x - y);
  const median = costs[Math.floor(REPEATS / 2)]!;
  console.log('## Recorder cost per operation\n');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  console.log('| operations per run | runs | ns per operation (median) | min … max |');
  console.log('| ---: | ---: | ---: | --- |');
  console.log(`| ${OPERATIONS} | ${REPEATS} | ${median.toFixed(0)} | ${costs[0]!.toFixed(0)} … ${costs[REPEATS - 1]!.toFixed(0)} |`);
}

main();

// Micro-benchmark of the transport's message codec (src/transport/codec.ts): encode, decode and
// both, for a heartbeat and for an AppendEntries of 64 × 256 B entries — the batch a busy leader
// sends — under codec none and lz4, on text-like values (lz4 helps) and random ones (lz4 is tried
// and its output dropped: the worst case, paid for nothing). Also the cost of validateMessage
// alone, which the decoder runs as its guard.
//
//   npx tsc -p tsconfig.json && node dist/src/bench/micro/codec.js [--quick]
//
// Each tinybench iteration runs a batch of operations (one sub-microsecond call would measure the
// clock), so messages/s = batch / mean iteration time. MB/s counts entry payload bytes (16 KiB
// per AppendEntries), the figure comparable to a network link; the wire size is shown beside it.
// Prints Markdown with the machine and the load average (timings taken while the machine is busy
// are not comparable), and writes results/micro-codec-<timestamp>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import type { Entry, Message } from '../../raft/types.js';
import { validateMessage } from '../../raft/validate.js';
import { createPrng } from '../../random/prng.js';
import type { CodecSpec } from '../../storage/codec.js';
import { decodeMessage, encodeMessage, encodedMessageBytes } from '../../transport/codec.js';
import { Command, parseOptions, runMain } from '../../cli/options.js';
import { generateValues, type ValueKind } from './values.js';

const SEED = 42;
const ENTRIES = 64;
const ENTRY_BYTES = 256;
/** The entries codec byte of an AppendEntries (the table at the top of codec.ts). */
const ENTRIES_CODEC_OFFSET = 54;

interface Settings {
  readonly quick: boolean;
  readonly taskTimeMs: number;
  readonly warmupTimeMs: number;
}

interface Row {
  readonly message: string;
  readonly codec: string;
  /** What the entries block was actually stored as: the codec, or none when compressing did not pay. */
  readonly storedAs: string;
  readonly operation: 'encode' | 'decode' | 'encode + decode' | 'validateMessage';
  readonly wireBytes: number;
  readonly payloadBytes: number;
  readonly messagesPerSecond: number;
  /** From the fastest sample: the least disturbed by other load on the machine. */
  readonly messagesPerSecondBest: number;
  readonly payloadMegabytesPerSecond: number;
  /** 95 % relative margin of error of the mean iteration time. */
  readonly rmePercent: number;
  readonly samples: number;
}

interface Case {
  readonly name: string;
  readonly message: Message;
  readonly codec: CodecSpec;
  readonly batch: number;
}

function parseSettings(argv: readonly string[]): Settings | number {
  const program = new Command('node dist/src/bench/micro/codec.js')
    .description(
      'Transport codec micro-benchmark: encode / decode / both for a heartbeat and a 64 × 256 B AppendEntries, codec none and lz4, ' +
        'text-like and random values; messages/s and payload MB/s. Prints Markdown and writes raw JSON to results/.',
    )
    .option('--quick', 'shorter timings (about 10 s)');
  const parsed = parseOptions<{ quick?: boolean }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const quick = parsed.options.quick === true;
  return quick ? { quick, taskTimeMs: 150, warmupTimeMs: 50 } : { quick, taskTimeMs: 800, warmupTimeMs: 200 };
}

function appendEntries(kind: ValueKind): Message {
  const values = generateValues(kind, createPrng(SEED), ENTRIES, ENTRY_BYTES);
  const entries: Entry[] = values.map((data, i) => ({ term: 7, index: 1001 + i, data }));
  return { type: 'AppendEntries', from: 1, to: 2, term: 7, prevLogIndex: 1000, prevLogTerm: 7, entries, commit: 990 };
}

function payloadBytesOf(message: Message): number {
  return message.type === 'AppendEntries' ? message.entries.reduce((sum, entry) => sum + entry.data.length, 0) : 0;
}

async function measure(settings: Settings, cases: readonly Case[]): Promise<Row[]> {
  const bench = new Bench({ time: settings.taskTimeMs, warmupTime: settings.warmupTimeMs, throws: true });
  const meta: Omit<Row, 'messagesPerSecond' | 'messagesPerSecondBest' | 'payloadMegabytesPerSecond' | 'rmePercent' | 'samples'>[] = [];
  const batches: number[] = [];
  let sink = 0;
  for (const { name, message, codec, batch } of cases) {
    const options = { codec };
    const encoded = encodeMessage(message, options);
    // Decoding returns views into its input, so every decode gets the same bytes back — fine, nothing writes to them.
    const decoded = decodeMessage(encoded);
    const storedAs = message.type === 'AppendEntries' ? (['none', 'lz4', 'zstd'][encoded[ENTRIES_CODEC_OFFSET]!] ?? '?') : '—';
    const common = { message: name, codec: codec.kind, storedAs, wireBytes: encoded.byteLength, payloadBytes: payloadBytesOf(message) };
    const add = (operation: Row['operation'], run: () => void): void => {
      bench.add(`${name} / ${codec.kind} / ${operation}`, run);
      meta.push({ ...common, operation });
      batches.push(batch);
    };
    add('encode', () => {
      for (let i = 0; i < batch; i++) sink += encodeMessage(message, options).byteLength;
    });
    add('decode', () => {
      for (let i = 0; i < batch; i++) sink += decodeMessage(encoded).term;
    });
    add('encode + decode', () => {
      for (let i = 0; i < batch; i++) sink += decodeMessage(encodeMessage(message, options)).term;
    });
    if (codec.kind === 'none') {
      add('validateMessage', () => {
        for (let i = 0; i < batch; i++) sink += validateMessage(decoded).term;
      });
    }
  }
  await bench.run();
  if (sink === 0) console.log('(sink)');
  return bench.tasks.map((task, i) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`task ${task.name} ended in state ${result.state}`);
    const row = meta[i]!;
    const messagesPerSecond = (batches[i]! * 1000) / result.latency.mean;
    return {
      ...row,
      messagesPerSecond,
      messagesPerSecondBest: (batches[i]! * 1000) / Math.max(result.latency.min, 1e-9),
      payloadMegabytesPerSecond: (messagesPerSecond * row.payloadBytes) / 1e6,
      rmePercent: result.latency.rme,
      samples: result.latency.samplesCount,
    };
  });
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(0);
}

function table(rows: readonly Row[]): string {
  const lines = [
    '| message | codec | stored as | operation | wire bytes | messages/s | payload MB/s | ± rme | best messages/s | samples |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const megabytes = row.payloadBytes === 0 ? '—' : row.payloadMegabytesPerSecond.toFixed(0);
    lines.push(
      `| ${row.message} | ${row.codec} | ${row.storedAs} | ${row.operation} | ${row.wireBytes} | ${formatRate(row.messagesPerSecond)} | ${megabytes} | ${row.rmePercent.toFixed(1)} % | ${formatRate(row.messagesPerSecondBest)} | ${row.samples} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const settings = parseSettings(process.argv.slice(2));
  if (typeof settings === 'number') return settings;
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const machine = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  console.log(`# Transport codec micro-benchmark${settings.quick ? ' (--quick)' : ''}\n`);
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load average ${loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start\n`);

  const heartbeat: Message = { type: 'Heartbeat', from: 1, to: 2, term: 7, commit: 990, round: 12345 };
  const text = appendEntries('text');
  const random = appendEntries('random');
  const appendName = (kind: string): string => `AppendEntries ${ENTRIES} × ${ENTRY_BYTES} B ${kind}`;
  const cases: Case[] = [
    { name: 'Heartbeat', message: heartbeat, codec: { kind: 'none' }, batch: 1000 },
    { name: appendName('text'), message: text, codec: { kind: 'none' }, batch: 50 },
    { name: appendName('text'), message: text, codec: { kind: 'lz4' }, batch: 50 },
    { name: appendName('random'), message: random, codec: { kind: 'none' }, batch: 50 },
    { name: appendName('random'), message: random, codec: { kind: 'lz4' }, batch: 50 },
  ];
  const rows = await measure(settings, cases);
  const loadAverageAtEnd = loadavg();
  console.log(table(rows));
  console.log(
    `\nUncompressed sizes (encodedMessageBytes): heartbeat ${encodedMessageBytes(heartbeat)} B, AppendEntries ${encodedMessageBytes(text)} B ` +
      `for ${payloadBytesOf(text)} B of entry data. 'stored as': what the entries block went out as (lz4 output is kept only when at least 1/16 smaller).`,
  );
  console.log(`rme: 95 % relative margin of error of the mean; best: the fastest sample, the least disturbed by other load. Load average at end ${loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')} (this machine has ${machine.cores} cores).`);

  mkdirSync('results', { recursive: true });
  const path = join('results', `micro-codec-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const document = {
    schema: 'raftbench.micro-codec/1',
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: { ...machine, loadAverageAtStart, loadAverageAtEnd },
    settings: { ...settings, entries: ENTRIES, entryBytes: ENTRY_BYTES, seed: SEED },
    rows,
  };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`\nwrote ${path}`);
  return 0;
}

runMain('bench:micro:codec', main);

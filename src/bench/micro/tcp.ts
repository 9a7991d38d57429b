// Micro-benchmark of the TCP transport (src/transport/tcp.ts): AppendEntries from one transport to
// another in this process, over a real loopback socket — encoding, framing, corked writes, the
// kernel's loopback, frame decoding and message decoding, end to end. A plain timed loop: the
// sender keeps at most `window` messages in flight (counted at the receiver), like a leader with a
// bounded inflight window, so the figure is what the pipe carries and not how fast a queue fills.
//
//   npx tsc -p tsconfig.json && node dist/src/bench/micro/tcp.js [--seconds S]   (npm run bench:micro:tcp)
//
// Messages/s counts messages delivered to the receiving handler; MB/s counts entry payload bytes
// (what a network link would be sized for); drops must be 0 (printed). Both ends share this
// process's one thread, so this is a floor for two processes on two cores. The load average is
// printed: on a busy machine the figures are not comparable.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AppendEntriesRequest, Entry } from '../../raft/types.js';
import { parseCodecName } from '../../storage/codec.js';
import { TcpTransport } from '../../transport/tcp.js';
import { Command, integerOption, parseOptions, runMain } from '../../cli/options.js';

interface Case {
  readonly name: string;
  readonly entries: number;
  readonly entryBytes: number;
  readonly codec: string;
  readonly window: number;
}

const CASES: readonly Case[] = [
  { name: '1 × 128 B (a single small write)', entries: 1, entryBytes: 128, codec: 'none', window: 256 },
  { name: '64 × 256 B (a busy leader’s batch)', entries: 64, entryBytes: 256, codec: 'none', window: 64 },
  { name: '64 × 256 B, lz4 (text-like values)', entries: 64, entryBytes: 256, codec: 'lz4', window: 64 },
  { name: '256 × 4 KiB (1 MiB appends)', entries: 256, entryBytes: 4096, codec: 'none', window: 8 },
];

interface Row {
  readonly case: string;
  readonly messagesPerSecond: number;
  readonly payloadMegabytesPerSecond: number;
  readonly wireMegabytesPerSecond: number;
  readonly messages: number;
  readonly dropped: number;
}

function entriesOf(count: number, bytes: number): Entry[] {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789 '.repeat(Math.ceil(bytes / 55)).slice(0, bytes));
  return Array.from({ length: count }, (_, k) => ({ term: 1, index: k + 1, data: text }));
}

async function measure(benchCase: Case, seconds: number): Promise<Row> {
  let received = 0;
  const sender = new TcpTransport({ id: 1, peers: new Map([[2, null]]), codec: parseCodecName(benchCase.codec), sendQueueBytesMax: 1024 ** 3, log: () => undefined });
  const receiver = new TcpTransport({ id: 2, peers: new Map([[1, null]]), log: () => undefined });
  const noop = (): void => undefined;
  try {
    sender.setPeerAddress(2, await receiver.listen());
    receiver.start({ message: () => void (received += 1), snapshot: noop, unreachable: noop });
    sender.start({ message: noop, snapshot: noop, unreachable: noop });
    const deadline = performance.now() + 10_000;
    while (sender.socketOf(2) === null) {
      if (performance.now() > deadline) throw new Error('the transports did not connect within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const entries = entriesOf(benchCase.entries, benchCase.entryBytes);
    const message: AppendEntriesRequest = { type: 'AppendEntries', from: 1, to: 2, term: 1, prevLogIndex: 0, prevLogTerm: 0, commit: 0, entries };
    let sent = 0;
    const startMs = performance.now();
    const endMs = startMs + seconds * 1000;
    const bytesAtStart = sender.counters().bytesSent;
    while (performance.now() < endMs) {
      while (sent - received < benchCase.window) {
        sender.send(message);
        sent += 1;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const drainDeadline = performance.now() + 10_000;
    while (received + sender.counters().messagesDropped < sent && performance.now() < drainDeadline) await new Promise((resolve) => setImmediate(resolve));
    const elapsedS = (performance.now() - startMs) / 1000;
    const counters = sender.counters();
    return {
      case: benchCase.name,
      messagesPerSecond: received / elapsedS,
      payloadMegabytesPerSecond: (received * benchCase.entries * benchCase.entryBytes) / elapsedS / 1e6,
      wireMegabytesPerSecond: (counters.bytesSent - bytesAtStart) / elapsedS / 1e6,
      messages: received,
      dropped: counters.messagesDropped,
    };
  } finally {
    await sender.close();
    await receiver.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('bench:micro:tcp')
    .description('AppendEntries through TcpTransport between two transports in this process over loopback: messages/s and MB/s per message size and codec.')
    .option('--seconds <s>', 'measured seconds per case', integerOption('--seconds', 1, 600), 3);
  const parsed = parseOptions<{ seconds: number }>(program, argv);
  if (!parsed.ok) return parsed.exitCode;
  const loadAtStart = loadavg();
  const rows: Row[] = [];
  for (const benchCase of CASES) rows.push(await measure(benchCase, parsed.options.seconds));
  const loadAtEnd = loadavg();
  console.log('# TCP transport micro-benchmark\n');
  console.log(`${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; load average ${loadAtStart.map((value) => value.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((value) => value.toFixed(2)).join(' ')} at end${loadAtStart[0]! > cpus().length * 0.5 ? ' — BUSY machine: not comparable figures' : ''}\n`);
  console.log('| AppendEntries | messages/s | payload MB/s | wire MB/s | messages | dropped |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.case} | ${row.messagesPerSecond.toFixed(0)} | ${row.payloadMegabytesPerSecond.toFixed(1)} | ${row.wireMegabytesPerSecond.toFixed(1)} | ${row.messages} | ${row.dropped} |`);
  }
  mkdirSync('results', { recursive: true });
  const path = join('results', `micro-tcp-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ benchmark: 'micro-tcp', node: process.version, cpus: cpus().length, loadAverage: { start: loadAtStart, end: loadAtEnd }, seconds: parsed.options.seconds, rows }, null, 2)}\n`);
  console.log(`\nRaw figures: ${path}`);
  return 0;
}

runMain('bench:micro:tcp', () => main(process.argv.slice(2)));

// One timing run of the gate, in a process of its own: applies a fixed put-heavy log to a fresh
// state machine, several times, with the compiled code of one tree (`--tree DIR`: the head's or
// the base's checkout, built), and prints the times as one JSON line. The driver is the head's;
// only the code under test comes from the tree, loaded by path — so the base commit need not
// contain this file, only the modules it imports (KvStateMachine, SkipList, encodeRequest,
// createPrng), whose interfaces have been stable since the state machine was written.
//
// What it measures is the apply path the node runs for every committed entry
// (KvStateMachine.applyBatch: decode, session bookkeeping, the skip list put, the encoded
// response), in the node's batch size. Each repetition's CPU time (user + system of this process)
// is a sample: CPU time leaves out the time the process waited for a core, which on a shared
// machine is most of the noise in wall time.

import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

interface Entry {
  readonly term: number;
  readonly index: number;
  readonly data: Uint8Array;
}
interface StateMachineModule {
  KvStateMachine: new (map: unknown) => { applyBatch(entries: readonly Entry[]): unknown[] };
}
interface SkipListModule {
  SkipList: new (prng: unknown) => unknown;
}
interface CommandsModule {
  encodeRequest(request: unknown): Uint8Array;
}
interface PrngModule {
  createPrng(seed: number): { nextInt(min: number, max: number): number; nextFloat(): number };
}

export interface TimingSide {
  readonly tree: string;
  /** CPU milliseconds per repetition (after the warm-up rounds). */
  readonly cpuMs: number[];
  readonly wallMs: number[];
}

export interface TimingWorkerOutput {
  /** In the order of --trees. */
  readonly sides: TimingSide[];
  readonly entries: number;
}

const SESSIONS = 200;
const KEYS = 10_000;
const VALUE_BYTES = 100;
const APPLY_BATCH_ENTRIES = 64;
const WARMUP_ROUNDS = 2;

function argument(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

async function load<T>(tree: string, path: string): Promise<T> {
  return (await import(pathToFileURL(join(tree, 'dist', 'src', path)).href)) as T;
}

type ApplyRun = () => void;

/** Loads one tree's modules, builds its log, and returns a function that applies it to a fresh state machine. */
async function prepare(tree: string, entryCount: number): Promise<{ entries: number; run: ApplyRun }> {
  const { KvStateMachine } = await load<StateMachineModule>(tree, 'kv/state-machine.js');
  const { SkipList } = await load<SkipListModule>(tree, 'kv/skiplist.js');
  const { encodeRequest } = await load<CommandsModule>(tree, 'kv/commands.js');
  const { createPrng } = await load<PrngModule>(tree, 'random/prng.js');
  // The log: SESSIONS registrations, then puts (90 %) and gets (10 %) from those sessions over
  // KEYS keys, each session keeping a few responses unacknowledged, as the client library does.
  const prng = createPrng(11);
  const encoder = new TextEncoder();
  const keys = Array.from({ length: KEYS }, (_, k) => encoder.encode(`user${String((k * 2_654_435_761) % 1_000_000_007).padStart(10, '0')}`));
  const value = new Uint8Array(VALUE_BYTES).map((_, k) => 97 + (k % 26));
  const sequences = new Array<number>(SESSIONS).fill(0);
  const log: Entry[] = [];
  for (let index = 1; index <= SESSIONS; index++) log.push({ term: 1, index, data: encodeRequest({ type: 'register-session' }) });
  for (let index = SESSIONS + 1; index <= SESSIONS + entryCount; index++) {
    const session = prng.nextInt(0, SESSIONS);
    const sequence = (sequences[session]! += 1);
    const key = keys[prng.nextInt(0, KEYS)]!;
    const command = prng.nextFloat() < 0.9 ? { type: 'put', key, value } : { type: 'get', key };
    log.push({ term: 1, index, data: encodeRequest({ type: 'command', sessionId: session + 1, sequence, lowestUnacknowledged: Math.max(1, sequence - 3), command }) });
  }
  const batches: Entry[][] = [];
  for (let start = 0; start < log.length; start += APPLY_BATCH_ENTRIES) batches.push(log.slice(start, start + APPLY_BATCH_ENTRIES));
  let repetition = 0;
  return {
    entries: log.length,
    run: () => {
      const machine = new KvStateMachine(new SkipList(createPrng((repetition += 1))));
      for (const batch of batches) machine.applyBatch(batch);
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const trees = (argument(argv, '--trees') ?? '').split(',').filter((tree) => tree !== '').map((tree) => resolve(tree));
  const rounds = Number(argument(argv, '--rounds') ?? '30');
  const entryCount = Number(argument(argv, '--entries') ?? '2500');
  if (trees.length === 0 || !Number.isInteger(rounds) || rounds < 1 || rounds > 1000 || !Number.isInteger(entryCount) || entryCount < 1 || entryCount > 1_000_000) {
    console.error('usage: timing-worker --trees DIR[,DIR…] [--rounds N (1..1000)] [--entries N (1..1000000)]');
    return 2;
  }
  const prepared = [];
  for (const tree of trees) prepared.push(await prepare(tree, entryCount));
  const sides: TimingSide[] = trees.map((tree) => ({ tree, cpuMs: [], wallMs: [] }));
  // Round by round, every tree once, in the order given: the sides see the same machine, moment
  // by moment, so load from other processes falls on both alike.
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    for (let side = 0; side < trees.length; side++) {
      // Collect the previous repetition's machine now, so no repetition pays for another's garbage.
      (globalThis as { gc?: () => void }).gc?.();
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      prepared[side]!.run();
      const wall = performance.now() - wallBefore;
      const cpu = process.cpuUsage(cpuBefore);
      if (round >= WARMUP_ROUNDS) {
        sides[side]!.cpuMs.push((cpu.user + cpu.system) / 1000);
        sides[side]!.wallMs.push(wall);
      }
    }
  }
  const output: TimingWorkerOutput = { sides, entries: prepared[0]!.entries };
  process.stdout.write(`${JSON.stringify(output)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`timing-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);

// The summary of a V8 CPU profile on a profile whose answer is known by construction: a small call
// tree with fixed sample times in every layer, so each function's self time, each layer's share
// and the by-caller charging can be checked exactly; and the source mapping on this build's own
// compiled files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { LAYERS, layerOf, summarizeCpuProfile, type CpuProfile, type CpuProfileNode } from '../../../src/bench/profile/cpu-profile.js';
import { sourceMappedLocator } from '../../../src/bench/profile/source-location.js';
import { markPhase, PHASE_MARKS_ENV, readMeasuredWindow } from '../../../src/bench/run/phase-marks.js';

const root = pathToFileURL(process.cwd()).href;
const frame = (id: number, functionName: string, url: string, children: number[] = []): CpuProfileNode => ({
  id,
  callFrame: { functionName, url, lineNumber: 9, columnNumber: 0 },
  children,
});

// (root) ─┬─ (idle)                      400 µs
//         ├─ (garbage collector)         100 µs
//         ├─ (program)                    50 µs
//         ├─ tick        src/raft         200 µs ─── encode   src/transport   60 µs
//         ├─ append      src/storage      30 µs ─── write node:fs 150 µs ── writeBuffer (native) 250 µs
//         ├─ get         src/kv           90 µs ─── crc dependency 40 µs
//         ├─ serve       src/server       20 µs
//         ├─ request     src/client       25 µs
//         ├─ drive       src/bench        35 µs
//         └─ main        src/cli          10 µs
const nodes: CpuProfileNode[] = [
  frame(1, '(root)', '', [2, 3, 4, 5, 7, 10, 12, 13, 14, 15]),
  frame(2, '(idle)', ''),
  frame(3, '(garbage collector)', ''),
  frame(4, '(program)', ''),
  frame(5, 'tick', `${root}/dist/src/raft/raft.js`, [6]),
  frame(6, 'encode', `${root}/dist/src/transport/codec.js`),
  frame(7, 'append', `${root}/dist/src/storage/wal.js`, [8]),
  frame(8, 'write', 'node:fs', [9]),
  frame(9, 'writeBuffer', ''),
  frame(10, 'get', `${root}/dist/src/kv/store.js`, [11]),
  frame(11, 'crc', `${root}/node_modules/@node-rs/crc32/index.js`),
  frame(12, 'serve', `${root}/dist/src/server/node.js`),
  frame(13, 'request', `${root}/dist/src/client/client.js`),
  frame(14, 'drive', `${root}/dist/src/bench/drive/closed-loop.js`),
  frame(15, 'main', `${root}/dist/src/cli/main.js`),
];
const selfUs: Record<number, number> = { 2: 400, 3: 100, 4: 50, 5: 200, 6: 60, 7: 30, 8: 150, 9: 250, 10: 90, 11: 40, 12: 20, 13: 25, 14: 35, 15: 10 };
// Ten samples per node of a tenth of its time each, interleaved, as a real profile interleaves them.
const samples: number[] = [];
const timeDeltas: number[] = [];
for (let round = 0; round < 10; round++) {
  for (const [id, us] of Object.entries(selfUs)) {
    samples.push(Number(id));
    timeDeltas.push(us / 10);
  }
}
const profile: CpuProfile = { nodes, startTime: 0, endTime: 1455, samples, timeDeltas };
const totalUs = Object.values(selfUs).reduce((sum, us) => sum + us, 0);

test('layerOf: folders under src/ by URL (compiled or not), node_modules, node: and natives, GC and idle by name', () => {
  const at = (url: string, functionName = 'f') => layerOf({ functionName, url, lineNumber: 0, columnNumber: 0 });
  assert.equal(at(`${root}/dist/src/raft/raft.js`), 'src/raft');
  assert.equal(at(`${root}/src/storage/wal.ts`), 'src/storage');
  assert.equal(at(`${root}/dist/src/bench/workload/zipfian.js`), 'src/bench');
  assert.equal(at(`${root}/dist/src/sim/cluster.js`), 'src/other');
  assert.equal(at(`${root}/node_modules/lz4-napi/index.js`), 'dependencies');
  assert.equal(at(`${root}/node_modules/some-lib/src/raft/x.js`), 'dependencies', 'a dependency with a src/raft folder is still a dependency');
  assert.equal(at('node:internal/fs/promises'), 'node internals');
  assert.equal(at('', 'fdatasync'), 'node internals');
  assert.equal(at('', '(program)'), 'node internals');
  assert.equal(at('', '(garbage collector)'), 'GC');
  assert.equal(at('', '(idle)'), 'idle');
});

test('summarizeCpuProfile: self time per function, the top N in order, % of all and % of busy', () => {
  const summary = summarizeCpuProfile(profile, 3);
  assert.equal(summary.totalMs, totalUs / 1000);
  assert.equal(summary.idleMs, 0.4);
  assert.deepEqual(
    summary.top.map((row) => [row.functionName, row.layer, Math.round(row.selfMs * 1000)]),
    [['(idle)', 'idle', 400], ['writeBuffer', 'node internals', 250], ['tick', 'src/raft', 200]],
  );
  const tick = summary.top[2]!;
  assert.ok(Math.abs(tick.selfPercent - (200 / totalUs) * 100) < 1e-9);
  assert.ok(Math.abs(tick.busyPercent - (200 / (totalUs - 400)) * 100) < 1e-9);
  assert.equal(summary.top[0]!.busyPercent, 0, 'idle is no share of the busy time');
});

test('the layer rollup: every layer listed once, self and by-caller each sum to 100 %, natives charged to the raftbench caller', () => {
  const summary = summarizeCpuProfile(profile, 5);
  assert.deepEqual(summary.layers.map((share) => share.layer), [...LAYERS]);
  const byLayer = new Map(summary.layers.map((share) => [share.layer, share]));
  const us = (layer: (typeof LAYERS)[number], column: 'selfMs' | 'byCallerMs'): number => Math.round(byLayer.get(layer)![column] * 1000);
  const expectedSelf = { 'src/raft': 200, 'src/storage': 30, 'src/kv': 90, 'src/transport': 60, 'src/server': 20, 'src/client': 25, 'src/bench': 35, 'src/other': 10, dependencies: 40, 'node internals': 450, GC: 100, idle: 400 };
  // node:fs write and the native writeBuffer under the WAL's append are the WAL's cost; the
  // dependency under kv is kv's; (program) has no raftbench caller and stays node internals.
  const expectedByCaller = { ...expectedSelf, 'src/storage': 430, 'src/kv': 130, dependencies: 0, 'node internals': 50 };
  for (const layer of LAYERS) {
    assert.equal(us(layer, 'selfMs'), expectedSelf[layer], `${layer} self`);
    assert.equal(us(layer, 'byCallerMs'), expectedByCaller[layer], `${layer} by caller`);
  }
  const selfSum = summary.layers.reduce((sum, share) => sum + share.selfPercent, 0);
  const callerSum = summary.layers.reduce((sum, share) => sum + share.byCallerPercent, 0);
  assert.ok(Math.abs(selfSum - 100) < 1e-9, `self sums to ${selfSum}`);
  assert.ok(Math.abs(callerSum - 100) < 1e-9, `by caller sums to ${callerSum}`);
});

test('a window keeps only the samples taken in it (the profile clock: startTime + the deltas so far)', () => {
  // Each round of samples takes a tenth of totalUs; rounds 3 to 5 (three tenths of every node's time) fall in this window.
  const roundUs = totalUs / 10;
  const summary = summarizeCpuProfile(profile, 20, { windowUs: { startUs: profile.startTime + 3 * roundUs + 1, endUs: profile.startTime + 6 * roundUs } });
  assert.ok(Math.abs(summary.totalMs - (3 * totalUs) / 10_000) < 1e-9, `${summary.totalMs} ms`);
  const tick = summary.top.find((row) => row.functionName === 'tick')!;
  assert.ok(Math.abs(tick.selfMs - 0.06) < 1e-9, `tick ${tick.selfMs} ms: three of its ten 20 µs samples`);
  assert.equal(summarizeCpuProfile(profile, 5, { windowUs: { startUs: -2, endUs: -1 } }).totalMs, 0, 'a window before the profile holds nothing');
});

test('phase marks: the measured window runs from the drive start plus its warm-up to the drive end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftbench-phase-marks-'));
  const path = join(dir, 'phases.jsonl');
  const saved = process.env[PHASE_MARKS_ENV];
  try {
    assert.equal(readMeasuredWindow(path), null, 'no file, no window');
    process.env[PHASE_MARKS_ENV] = path;
    markPhase('drive-start', 250_000);
    assert.equal(readMeasuredWindow(path), null, 'a start without an end is no window');
    markPhase('drive-end');
    const marks = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { monotonicUs: number });
    assert.deepEqual(readMeasuredWindow(path), { startUs: marks[0]!.monotonicUs + 250_000, endUs: marks[1]!.monotonicUs });
  } finally {
    if (saved === undefined) delete process.env[PHASE_MARKS_ENV];
    else process.env[PHASE_MARKS_ENV] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty profile summarises to zeros, not NaN', () => {
  const summary = summarizeCpuProfile({ nodes: [frame(1, '(root)', '')], startTime: 0, endTime: 0 }, 5);
  assert.equal(summary.totalMs, 0);
  assert.equal(summary.top.length, 0);
  for (const share of summary.layers) assert.equal(share.selfPercent, 0);
});

test('sourceMappedLocator: a compiled function maps to its line in src/*.ts; files without a map keep their own location', () => {
  const locate = sourceMappedLocator();
  // summarizeCpuProfile is declared in cpu-profile.ts; find the compiled line of its declaration.
  const compiled = join(process.cwd(), 'dist/src/bench/profile/cpu-profile.js');
  const compiledLines = readFileSync(compiled, 'utf8').split('\n');
  const jsLine = compiledLines.findIndex((line) => line.startsWith('export function summarizeCpuProfile('));
  const tsLines = readFileSync(join(process.cwd(), 'src/bench/profile/cpu-profile.ts'), 'utf8').split('\n');
  const tsLine = tsLines.findIndex((line) => line.startsWith('export function summarizeCpuProfile('));
  assert.ok(jsLine >= 0 && tsLine >= 0);
  assert.equal(locate(pathToFileURL(compiled).href, jsLine, 0), `src/bench/profile/cpu-profile.ts:${tsLine + 1}`);
  assert.equal(locate('node:internal/fs/promises', 714, 3), 'node:internal/fs/promises:715');
  assert.equal(locate(`${root}/node_modules/hdr-histogram-js/dist/formatters.js`, 28, 0), 'node_modules/hdr-histogram-js/dist/formatters.js:29');
});

// Reading a V8 CPU profile (the .cpuprofile JSON that `node --cpu-prof` and the inspector's
// Profiler domain write) down to the few lines a terminal or a CI log can show: the functions
// with the most self time, and the time rolled up by layer of the code base. Self time of a node =
// the time of the samples taken while it was the innermost frame, so self time is where the CPU
// actually was (or, for `(idle)`, where it was not).
//
// Pure: no file access. Where a frame's file:line should point into the TypeScript source rather
// than the compiled JavaScript, the caller passes a `locate` function (source-location.ts).

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface HotFunction {
  readonly functionName: string;
  /** file:line (1-based), relative to the working directory when inside it. */
  readonly location: string;
  readonly layer: Layer;
  readonly selfMs: number;
  /** Share of all sampled time, idle included. */
  readonly selfPercent: number;
  /** Share of the busy (non-idle) sampled time. */
  readonly busyPercent: number;
}

/**
 * Where time is charged. The raftbench layers are the folders under src/ (ARCHITECTURE.md); the
 * rest are what a Node process spends time in besides our code. `(program)` — native code with no
 * JavaScript on the stack (libuv, V8's compiler, C++ bindings) — counts as node internals.
 */
export const LAYERS = [
  'src/raft',
  'src/storage',
  'src/kv',
  'src/transport',
  'src/server',
  'src/client',
  'src/bench',
  'src/other',
  'dependencies',
  'node internals',
  'GC',
  'idle',
] as const;
export type Layer = (typeof LAYERS)[number];

const SOURCE_LAYERS: ReadonlySet<string> = new Set(['raft', 'storage', 'kv', 'transport', 'server', 'client', 'bench']);

/** The layer a frame's own code belongs to, from its script URL (or its name for V8's pseudo-frames). */
export function layerOf(frame: CpuProfileNode['callFrame']): Layer {
  if (frame.url === '') {
    if (frame.functionName === '(garbage collector)') return 'GC';
    if (frame.functionName === '(idle)') return 'idle';
    return 'node internals'; // (program), (root) and natives (bindings such as fs writeBuffer)
  }
  if (frame.url.includes('/node_modules/')) return 'dependencies';
  if (!frame.url.startsWith('file://')) return 'node internals'; // node:fs, node:internal/…
  // Compiled code lives in dist/src/<layer>/ (tests in dist/test/); a run from sources in src/<layer>/.
  const match = /\/src\/([^/]+)\//.exec(frame.url);
  if (match === null) return 'src/other';
  return SOURCE_LAYERS.has(match[1]!) ? (`src/${match[1]!}` as Layer) : 'src/other';
}

const isRaftbenchLayer = (layer: Layer): boolean => layer.startsWith('src/');

export interface LayerShare {
  readonly layer: Layer;
  /** Self time of frames in this layer. */
  readonly selfMs: number;
  readonly selfPercent: number;
  /**
   * Time charged to the innermost raftbench frame on the stack: node internals and dependencies
   * called from src/storage count as src/storage (a write syscall is the WAL's cost). Samples
   * with no raftbench frame on the stack (idle, GC, event-loop plumbing) keep their own layer.
   */
  readonly byCallerMs: number;
  readonly byCallerPercent: number;
}

export interface CpuProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly top: readonly HotFunction[];
  /** Every layer, in LAYERS order; each column sums to totalMs (100 %). */
  readonly layers: readonly LayerShare[];
}

export interface SummaryOptions {
  /** Turns a frame's URL and 0-based line and column into the file:line shown. */
  readonly locate?: (url: string, lineNumber: number, columnNumber: number) => string;
  /** Only samples taken in [startUs, endUs] (the profile's clock: monotonic µs); all when absent. */
  readonly windowUs?: { readonly startUs: number; readonly endUs: number };
}

/** Location relative to the working directory, line 1-based; no source mapping. */
export function plainLocation(url: string, lineNumber: number): string {
  const cwd = `file://${process.cwd()}/`;
  const relative = url.startsWith(cwd) ? url.slice(cwd.length) : url;
  return relative === '' ? '(native)' : `${relative}:${lineNumber + 1}`;
}

/** The `limit` functions with the most self time and the rollup by layer; idle, GC and program frames are kept (they are real time too). */
export function summarizeCpuProfile(profile: CpuProfile, limit: number, options: SummaryOptions = {}): CpuProfileSummary {
  const locate = options.locate ?? ((url: string, line: number) => plainLocation(url, line));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  const window = options.windowUs;
  // timeDeltas[k] is the time since the previous sample; it belongs to sample k, taken at startTime + Σ deltas[0..k].
  let sampledAtUs = profile.startTime;
  for (let k = 0; k < samples.length; k++) {
    sampledAtUs += deltas[k] ?? 0;
    if (window !== undefined && (sampledAtUs < window.startUs || sampledAtUs > window.endUs)) continue;
    selfUs.set(samples[k]!, (selfUs.get(samples[k]!) ?? 0) + Math.max(0, deltas[k] ?? 0));
  }

  const callerLayer = callerLayers(profile.nodes);
  const layerSelfUs = new Map<Layer, number>();
  const layerCallerUs = new Map<Layer, number>();
  const byFunction = new Map<string, { functionName: string; location: string; layer: Layer; selfUs: number }>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    if (us === undefined || us === 0) continue;
    const frame = node.callFrame;
    const layer = layerOf(frame);
    layerSelfUs.set(layer, (layerSelfUs.get(layer) ?? 0) + us);
    const charged = callerLayer.get(node.id) ?? layer;
    layerCallerUs.set(charged, (layerCallerUs.get(charged) ?? 0) + us);
    const location = frame.url === '' ? '(native)' : locate(frame.url, frame.lineNumber, frame.columnNumber);
    const functionName = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const key = `${functionName}@${location}`;
    const entry = byFunction.get(key) ?? { functionName, location, layer, selfUs: 0 };
    entry.selfUs += us;
    byFunction.set(key, entry);
  }
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const idleUs = layerSelfUs.get('idle') ?? 0;
  const percent = (us: number, of: number): number => (of === 0 ? 0 : (us / of) * 100);
  const top = [...byFunction.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, limit)
    .map((entry) => ({
      functionName: entry.functionName,
      location: entry.location,
      layer: entry.layer,
      selfMs: entry.selfUs / 1000,
      selfPercent: percent(entry.selfUs, totalUs),
      busyPercent: entry.layer === 'idle' ? 0 : percent(entry.selfUs, totalUs - idleUs),
    }));
  const layers = LAYERS.map((layer) => {
    const self = layerSelfUs.get(layer) ?? 0;
    const byCaller = layerCallerUs.get(layer) ?? 0;
    return { layer, selfMs: self / 1000, selfPercent: percent(self, totalUs), byCallerMs: byCaller / 1000, byCallerPercent: percent(byCaller, totalUs) };
  });
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top, layers };
}

/** For each node, the layer of the innermost raftbench frame at or above it, if any (walked from the root down). */
function callerLayers(nodes: readonly CpuProfileNode[]): Map<number, Layer> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const isChild = new Set(nodes.flatMap((node) => node.children ?? []));
  const owner = new Map<number, Layer>();
  // Iterative depth-first walk: stacks can be thousands of frames deep (recursion would overflow).
  const pending: { id: number; inherited: Layer | undefined }[] = nodes.filter((node) => !isChild.has(node.id)).map((node) => ({ id: node.id, inherited: undefined }));
  while (pending.length > 0) {
    const { id, inherited } = pending.pop()!;
    const node = byId.get(id);
    if (node === undefined || owner.has(id)) continue;
    const own = layerOf(node.callFrame);
    const charged = isRaftbenchLayer(own) ? own : inherited;
    if (charged !== undefined) owner.set(id, charged);
    for (const child of node.children ?? []) pending.push({ id: child, inherited: charged });
  }
  return owner;
}

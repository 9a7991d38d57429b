// Reading a V8 CPU profile (the .cpuprofile JSON that `node --cpu-prof` and the inspector's
// Profiler domain write) down to the few lines a terminal or a CI log can show: the functions
// with the most self time. Self time of a node = its sample count × the sampling interval; samples
// are attributed to the innermost frame, so self time is where the CPU actually was.

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
  readonly selfMs: number;
  readonly selfPercent: number;
}

export interface CpuProfileSummary {
  readonly totalMs: number;
  readonly top: readonly HotFunction[];
}

/** The `limit` functions with the most self time; idle, GC and program frames are kept (they are real time too). */
export function summarizeCpuProfile(profile: CpuProfile, limit: number): CpuProfileSummary {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  // timeDeltas[k] is the time since the previous sample; it belongs to sample k.
  for (let k = 0; k < samples.length; k++) selfUs.set(samples[k]!, (selfUs.get(samples[k]!) ?? 0) + Math.max(0, deltas[k] ?? 0));
  const byFunction = new Map<string, { functionName: string; location: string; selfUs: number }>();
  const cwd = `file://${process.cwd()}/`;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    if (us === undefined || us === 0) continue;
    const frame = node.callFrame;
    const url = frame.url.startsWith(cwd) ? frame.url.slice(cwd.length) : frame.url;
    const location = url === '' ? '(native)' : `${url}:${frame.lineNumber + 1}`;
    const functionName = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const key = `${functionName}@${location}`;
    const entry = byFunction.get(key) ?? { functionName, location, selfUs: 0 };
    entry.selfUs += us;
    byFunction.set(key, entry);
  }
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const top = [...byFunction.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, limit)
    .map((entry) => ({
      functionName: entry.functionName,
      location: entry.location,
      selfMs: entry.selfUs / 1000,
      selfPercent: totalUs === 0 ? 0 : (entry.selfUs / totalUs) * 100,
    }));
  return { totalMs: totalUs / 1000, top };
}

// What a run records about where it ran: the numbers mean little without the machine, its load
// when the run began, the Node version, and the exact code (commit, and whether the tree had
// uncommitted changes).

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import type { Environment } from '../results/schema.js';

function git(args: readonly string[]): string | null {
  try {
    return execFileSync('git', [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
  } catch {
    return null;
  }
}

export function captureEnvironment(): Environment {
  const commit = git(['rev-parse', 'HEAD']);
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    os: `${platform()} ${release()}`,
    gitCommit: commit ?? 'unknown (not a git checkout)',
    gitDirty: status !== null && status.length > 0,
    startedAt: new Date().toISOString(),
  };
}

/** One line: "AMD EPYC, 2 cores, 24 GiB, Node v20.20.2, load 0.42, git 1a2b3c4 (dirty)". */
export function describeEnvironment(environment: Environment): string {
  return (
    `${environment.cpuModel}, ${environment.cores} cores, ${(environment.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${environment.node}, ` +
    `load ${environment.loadAverageAtStart[0]?.toFixed(2) ?? '?'} at start, git ${environment.gitCommit.slice(0, 10)}${environment.gitDirty ? ' (dirty)' : ''}`
  );
}

// Reading workload files: JSON → validated, resolved Workload, or a WorkloadError whose message
// has one line per problem, each naming the file and the path of the bad field:
//
//   workloads/foo.json: keys.distribution.theta: must be > 0 and != 1, got 1
//
// The lines come from src/schema/issues.ts, shared with profiles.

import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { formatIssues } from '../../schema/issues.js';
import { workloadSchema, type Workload } from './schema.js';

export class WorkloadError extends Error {
  /** One line per problem, each starting with the source name. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'WorkloadError';
    this.problems = problems;
  }
}

/** Validates a parsed JSON value as a workload; `sourceName` (usually the path) names it in errors and gives the default name. */
export function parseWorkload(json: unknown, sourceName: string): Workload {
  const input = isRecord(json) && json['name'] === undefined ? { ...json, name: defaultName(sourceName) } : json;
  const result = workloadSchema.safeParse(input);
  if (result.success) return result.data;
  throw new WorkloadError(formatIssues(result.error.issues, input).map((line) => `${sourceName}: ${line}`));
}

/** Reads, parses and validates the workload file at `path`. */
export function loadWorkload(path: string): Workload {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new WorkloadError([`${path}: cannot read: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new WorkloadError([`${path}: not valid JSON: ${(error as Error).message}`]);
  }
  return parseWorkload(json, path);
}

/** The file name without its extension: `workloads/ycsb-a.json` → `ycsb-a`. */
export function defaultName(sourceName: string): string {
  const base = basename(sourceName);
  return base.slice(0, base.length - extname(base).length) || base;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Reading workload files: JSON → validated, resolved Workload, or a WorkloadError whose message
// has one line per problem, each naming the file and the path of the bad field:
//
//   workloads/foo.json: keys.distribution.theta: must be > 0 and != 1, got 1
//
// The subtle thing: zod's issues do not reliably carry the offending value (zod 4 reports it
// only on request, and not for every issue kind), so the "got …" part is looked up in the input
// by the issue's path; a field that is missing gets "required" instead.

import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type * as z from 'zod';
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
  throw new WorkloadError(formatIssues(result.error.issues, input, sourceName));
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

/** Zod issues as lines `source: path: message[, got value]`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown, sourceName: string): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${sourceName}: ${formatPath([...issue.path, key])}: unknown field`);
      continue;
    }
    const path = formatPath(issue.path);
    const found = lookup(input, issue.path);
    let message = describe(issue, found.present);
    if (found.present && !(issue.code === 'custom' && issue.params?.['showsInput'] === true)) message += `, got ${show(found.value)}`;
    lines.push(`${sourceName}: ${path}: ${message}`);
  }
  return lines;
}

function describe(issue: z.core.$ZodIssue, present: boolean): string {
  switch (issue.code) {
    case 'invalid_type':
      if (!present) return 'required';
      // Schemas that accept a shorthand say so in their own message (all of ours start "must").
      if (issue.message.startsWith('must ')) return issue.message;
      return issue.expected === 'int' ? 'must be an integer' : `must be ${article(issue.expected)} ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_union': {
      // A discriminated union whose `type` matched no option.
      const options = (issue as { options?: unknown }).options;
      if (Array.isArray(options)) {
        const list = options.map((option) => JSON.stringify(option)).join(', ');
        return present ? `must be one of ${list}` : `required (one of ${list})`;
      }
      return issue.message;
    }
    case 'too_small':
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must not be shorter than ${issue.minimum} characters`;
      return `must be ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must not be longer than ${issue.maximum} characters`;
      return `must be ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}`;
    default:
      return issue.message;
  }
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? 'an' : 'a';
}

/** `keys.distribution.theta`; array indexes as `[i]`; the whole document as `(root)`. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/**
 * The input's value at `path`. When the path runs into a string or number it is that value: the
 * user wrote a shorthand (`"distribution": "zipf"`) that the schema expanded into an object.
 */
function lookup(input: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let value = input;
  for (const segment of path) {
    if (value === undefined || value === null) return { present: false, value: undefined };
    if (typeof value !== 'object') return { present: true, value };
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return { present: value !== undefined, value };
}

function show(value: unknown): string {
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// Schema-validation issues (zod) as one line each, path first — the form in which every file a
// user writes (profiles, workloads) is refused:
//
//   replication.inflightMax: must be >= 1, got 0
//
// The subtle thing: zod's issues do not reliably carry the offending value (zod 4 reports it
// only on request, and not for every issue kind), so the "got …" part is looked up in the input
// by the issue's path; a field that is missing gets "required" instead.

import type * as z from 'zod';

/** Zod issues as lines `path: message[, got value]` (the caller prefixes the file). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown field`);
      continue;
    }
    const path = formatPath(issue.path);
    const found = lookup(input, issue.path);
    let message = describe(issue, found.present);
    if (found.present && !(issue.code === 'custom' && issue.params?.['showsInput'] === true)) message += `, got ${show(found.value)}`;
    lines.push(`${path}: ${message}`);
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
export function formatPath(path: readonly PropertyKey[]): string {
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
